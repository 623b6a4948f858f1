package diskqueue_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const crashDirEnv = "DISKQUEUE_CRASH_CHILD_DIR"

// TestCrashChild is the child of TestCrashSIGKILL: it appends numbered
// records until it is killed, AppendSync'ing every tenth and printing
// "durable N" once record N (and so every record before it) is on disk.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrashSIGKILL")
	}
	q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: 1 << 30, BufferSize: 1 << 16})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		rec := []byte(fmt.Sprintf("%08d", i))
		if i%10 == 9 {
			if err := q.AppendSync(ctx, diskqueue.Normal, rec); err != nil {
				fmt.Println("append failed:", err)
				os.Exit(2)
			}
			fmt.Printf("durable %d\n", i)
			continue
		}
		for q.Append(diskqueue.Normal, rec) != nil {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestCrashSIGKILL kills a child that is appending, at a random moment,
// repeatedly; after each kill every record the child reported durable must
// be there, in order, with no gap before the last one.
func TestCrashSIGKILL(t *testing.T) {
	rounds, budget := 20, 40*time.Second
	if testing.Short() {
		rounds = 5
	}
	deadline := time.Now().Add(budget)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		var mu sync.Mutex
		last := -1
		started := make(chan struct{})
		var once sync.Once
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				if n, ok := strings.CutPrefix(line, "durable "); ok {
					v, err := strconv.Atoi(n)
					if err == nil {
						mu.Lock()
						last = v
						mu.Unlock()
						once.Do(func() { close(started) })
					}
				}
			}
		}()
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child reported nothing durable")
		}
		time.Sleep(time.Duration(5+rng.IntN(150)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		<-readDone
		_ = cmd.Wait()

		mu.Lock()
		reported := last
		mu.Unlock()
		q, err := diskqueue.Open(dir, nil)
		require.NoError(t, err, "round %d: reopen after SIGKILL", round)
		items, err := q.Peek(1<<30, 1<<40)
		require.NoError(t, err)
		require.NoError(t, q.Close(context.Background()))
		for i, it := range items {
			require.Equal(t, fmt.Sprintf("%08d", i), string(it.Data), "round %d: record %d out of order or missing", round, i)
		}
		assert.Greater(t, len(items), reported, "round %d: reported %d durable, found %d records", round, reported, len(items))
		t.Logf("round %d: child reported %d durable, %d records survived", round, reported, len(items))
	}
}
