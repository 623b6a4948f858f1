package diskqueue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestRandomDamageNeverStalls damages a queue file at random, many times
// over: each Open answers (opens or quarantines) within seconds, and a
// queue that opened can commit.
func TestRandomDamageNeverStalls(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, &Options{OnError: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		_ = q.Append(Class(i%2), fmt.Appendf(nil, "record %d", i))
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for it := range 400 {
		data := append([]byte(nil), whole...)
		for range 1 + rng.IntN(8) {
			data[rng.IntN(len(data))] = byte(rng.IntN(256))
		}
		if rng.IntN(4) == 0 {
			data = data[:rng.IntN(len(data))]
		}
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			q, err := Open(d, &Options{OnError: func(error) {}})
			if err != nil {
				return
			}
			_, _ = q.Peek(1000, 1<<20)
			_ = q.Append(Normal, []byte("after"))
			if err := q.Sync(context.Background()); err != nil {
				t.Errorf("damage %d: a queue that opened cannot commit: %v", it, err)
			}
			_ = q.Close(context.Background())
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("damage %d: Open stalled:\n%s", it, buf[:n])
		}
	}
}
