//go:build unix

package diskqueue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Child processes: TestChild runs one of these modes when started by a
// test below with childModeEnv set; otherwise it skips.
const (
	childModeEnv = "DISKQUEUE_CHILD_MODE"
	childDirEnv  = "DISKQUEUE_CHILD_DIR"
)

var childModes = map[string]func(dir string) error{
	"fsize":  childFileSizeLimit,
	"emfile": childNoDescriptors,
	"open":   childOpen,
}

func TestChild(t *testing.T) {
	mode := os.Getenv(childModeEnv)
	if mode == "" {
		t.Skip("run by the tests that start child processes")
	}
	if err := childModes[mode](os.Getenv(childDirEnv)); err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// runChild runs the test binary (bin, or this one) in mode on dir and
// returns what it printed and how it ended.
func runChild(t *testing.T, bin, mode, dir string, cred *syscall.Credential) (string, *os.ProcessState) {
	t.Helper()
	if bin == "" {
		bin = os.Args[0]
	}
	cmd := exec.Command(bin, "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childDirEnv+"="+dir)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("start child: %v", err)
	}
	return out.String(), cmd.ProcessState
}

const (
	fsizeBefore = 6000 // records appended while the file size limit holds
	fsizeAfter  = 200  // records appended once it is lifted
)

// childFileSizeLimit appends numbered records under a file size limit far
// below what they need, lifts the limit, appends more, and closes.
func childFileSizeLimit(dir string) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return err
	}
	low := lim
	low.Cur = 128 << 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &low); err != nil {
		return err
	}
	q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: 1 << 30, OnError: func(error) {}})
	if err != nil {
		return err
	}
	ctx := context.Background()
	failed := 0
	for i := range fsizeBefore {
		if err := q.AppendWait(ctx, diskqueue.Class(i%3/2), numbered(i)); err != nil {
			return err
		}
		if i%500 == 499 && q.Sync(ctx) != nil {
			failed++
		}
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return err
	}
	for i := fsizeBefore; i < fsizeBefore+fsizeAfter; i++ {
		if err := q.AppendWait(ctx, diskqueue.Normal, numbered(i)); err != nil {
			return err
		}
	}
	if err := q.Sync(ctx); err != nil {
		return fmt.Errorf("after the limit was lifted: %w", err)
	}
	st := q.Stats()
	fmt.Printf("failed syncs %d, dropped %v\n", failed, st.Dropped)
	return q.Close(ctx)
}

// TestFileSizeLimitNeverLosesSilently: under RLIMIT_FSIZE every record is
// afterwards either in the queue or counted as dropped with a reason, and
// the queue works again once the limit is lifted.
func TestFileSizeLimitNeverLosesSilently(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	out, state := runChild(t, "", "fsize", dir, nil)
	require.True(t, state.Success(), "child: %s", out)
	t.Log(strings.TrimSpace(out))

	q, err := diskqueue.OpenReadOnly(dir, nil)
	require.NoError(t, err)
	defer q.Close(context.Background())
	items, err := q.Peek(1<<30, 1<<40)
	require.NoError(t, err)
	present := map[int]bool{}
	for _, it := range items {
		n, err := strconv.Atoi(string(it.Data[:8]))
		require.NoError(t, err)
		require.Equal(t, numbered(n), it.Data, "intact")
		require.False(t, present[n], "no duplicates")
		present[n] = true
	}
	var dropped int64
	for _, c := range q.Unreported().Counts {
		assert.Equal(t, diskqueue.DropDiskError, c.Reason, "the only reason here")
		dropped += c.N
	}
	assert.Positive(t, dropped, "the limit made commits fail")
	assert.EqualValues(t, fsizeBefore+fsizeAfter, int64(len(present))+dropped, "every record is stored or counted, never neither")
	for i := fsizeBefore; i < fsizeBefore+fsizeAfter; i++ {
		assert.True(t, present[i], "record %d, appended after the limit was lifted, is stored", i)
	}
}

// childNoDescriptors opens the queue with no file descriptor left.
func childNoDescriptors(dir string) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	low := lim
	low.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		return err
	}
	var fillers []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		fillers = append(fillers, f)
	}
	_, err := diskqueue.Open(dir, &diskqueue.Options{OnError: func(err error) { fmt.Println("reported:", err) }})
	fmt.Printf("first open: %v\n", err)
	if err == nil || !errors.Is(err, syscall.EMFILE) {
		return fmt.Errorf("want EMFILE, got %v", err)
	}
	for _, f := range fillers {
		f.Close()
	}
	return nil
}

// TestOpenWithoutDescriptorsLeavesTheFile: EMFILE is an error returned to
// the caller, not a reason to move the queue aside.
func TestOpenWithoutDescriptorsLeavesTheFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	fillQueue(t, dir, 100)
	before := fileBytes(t, filepath.Join(dir, diskqueue.FileName))
	out, state := runChild(t, "", "emfile", dir, nil)
	require.True(t, state.Success(), "child: %s", out)
	assert.Contains(t, out, "too many open files")
	assert.NotContains(t, out, "reported:")
	aside, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*"))
	assert.Empty(t, aside)
	assert.Equal(t, before, fileBytes(t, filepath.Join(dir, diskqueue.FileName)), "untouched")
	q, err := diskqueue.Open(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, 100, q.Pending(), "the records are still there")
	require.NoError(t, q.Close(t.Context()))
}

// childOpen opens the queue in dir and prints what it found. With dir
// naming a file instead, it does so for each directory listed in it, one
// per line, saying "begin DIR" before each.
func childOpen(dir string) error {
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		list, err := os.ReadFile(dir)
		if err != nil {
			return err
		}
		for _, d := range strings.Fields(string(list)) {
			fmt.Printf("begin %s\n", d)
			if err := childOpen(d); err != nil {
				fmt.Printf("result {\"error\": %q}\n", err.Error())
			}
		}
		return nil
	}
	var mu sync.Mutex
	var reports []string
	q, err := diskqueue.Open(dir, &diskqueue.Options{OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, err.Error())
	}})
	if err != nil {
		return err
	}
	defer q.Close(context.Background())
	items, err := q.Peek(1<<30, 1<<40)
	if err != nil {
		return err
	}
	var bad int
	for _, it := range items {
		n, err := strconv.Atoi(string(it.Data[:min(8, len(it.Data))]))
		if err != nil || !bytes.Equal(it.Data, numbered(n)) {
			bad++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out, _ := json.Marshal(map[string]any{"records": len(items), "bad": bad, "quarantined": q.Stats().Quarantined != "", "reports": reports})
	fmt.Printf("result %s\n", out)
	return nil
}

// TestUnreadableFileIsLeftAlone: a queue file the process may not read is
// an error, never a reason to move it aside. As root, the child runs as
// nobody.
func TestUnreadableFileIsLeftAlone(t *testing.T) {
	base, err := os.MkdirTemp("", "diskqueue-perm")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755))
	dir := filepath.Join(base, "q")
	fillQueue(t, dir, 10)
	path := filepath.Join(dir, diskqueue.FileName)
	require.NoError(t, os.Chmod(dir, 0o777)) // moving the file aside would be allowed
	before := fileBytes(t, path)

	if os.Geteuid() != 0 {
		require.NoError(t, os.Chmod(path, 0))
		defer os.Chmod(path, 0o600)
		_, err := diskqueue.Open(dir, &diskqueue.Options{OnError: func(err error) { t.Errorf("reported: %v", err) }})
		require.ErrorIs(t, err, os.ErrPermission)
		_, err = diskqueue.OpenReadOnly(dir, nil)
		require.ErrorIs(t, err, os.ErrPermission)
	} else {
		// The test binary, where nobody may run it.
		bin := filepath.Join(base, "diskqueue.test")
		src, err := os.ReadFile(os.Args[0])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(bin, src, 0o755))
		out, state := runChild(t, bin, "open", dir, &syscall.Credential{Uid: 65534, Gid: 65534})
		require.False(t, state.Success(), "the child cannot open it: %s", out)
		assert.Contains(t, out, "permission denied")
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*"))
	assert.Empty(t, aside, "nothing moved aside")
	require.NoError(t, os.Chmod(path, 0o600))
	assert.Equal(t, before, fileBytes(t, path))
	q, err := diskqueue.Open(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, 10, q.Pending(), "the records are still there")
	require.NoError(t, q.Close(t.Context()))
}
