//go:build unix

package reliability_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Child processes: the test binary started again with childEnv set runs
// one child mode (see runChildMode) with its arguments, JSON in
// childArgsEnv, instead of the tests.
const (
	childEnv     = "RELIABILITY_CHILD"
	childArgsEnv = "RELIABILITY_CHILD_ARGS"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := runChildMode(mode, []byte(os.Getenv(childArgsEnv))); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChildMode(mode string, args []byte) error {
	switch mode {
	case "queue-crash":
		return childQueueCrash(args)
	case "sink-crash":
		return childSinkCrash(args)
	case "soak":
		return childSoak(args)
	case "fsize":
		return childFileSizeLimit(args)
	case "open":
		return childOpen(args)
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

// param returns the environment variable RELIABILITY_<name> as an
// integer, or def when it is unset.
func param(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv("RELIABILITY_" + name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("RELIABILITY_%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// parallel runs the short versions side by side; the long ones run one at
// a time so that their timings and memory figures are their own.
func parallel(t *testing.T) {
	if !long {
		t.Parallel()
	}
}

// getenv returns the environment variable name.
func getenv(name string) string { return os.Getenv(name) }

// newRand returns a generator seeded by RELIABILITY_SEED, or by the clock,
// and the seed, which results report so that a failing run can be replayed.
func newRand(t *testing.T, stream uint64) (*rand.Rand, uint64) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RELIABILITY_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RELIABILITY_SEED=%q: %v", v, err)
		}
		seed = s
	}
	return rand.New(rand.NewPCG(seed, stream)), seed
}

// emit logs a result and, when RELIABILITY_OUT names a file, appends it
// there as one JSON line: run.sh builds docs/RELIABILITY.md from them.
func emit(t *testing.T, result any) {
	t.Helper()
	line, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RELIABILITY %s", line)
	path := os.Getenv("RELIABILITY_OUT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
}

// A child is a running child process whose complete stdout lines are
// collected as they arrive.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{} // closed when stdout ends

	mu      sync.Mutex
	lines   []string
	waitFor string        // a line prefix that closes seen
	seen    chan struct{} // closed at the first line starting with waitFor
}

// startChild starts the test binary in mode with args. Lines starting
// with waitFor close c.seen.
func startChild(t *testing.T, mode string, args any, waitFor string) *child {
	t.Helper()
	js, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	c := &child{done: make(chan struct{}), waitFor: waitFor, seen: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childEnv+"="+mode, childArgsEnv+"="+string(js))
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.read(out)
	return c
}

// read collects stdout. A line cut short by the kill (no newline) is left
// out: only complete lines count.
func (c *child) read(out io.Reader) {
	defer close(c.done)
	r := bufio.NewReaderSize(out, 1<<16)
	seen := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		c.mu.Lock()
		c.lines = append(c.lines, line)
		c.mu.Unlock()
		if !seen && c.waitFor != "" && strings.HasPrefix(line, c.waitFor) {
			seen = true
			close(c.seen)
		}
	}
}

// wait waits for the child to end and returns its stdout lines.
func (c *child) wait() ([]string, *os.ProcessState) {
	<-c.done
	_ = c.cmd.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines, c.cmd.ProcessState
}

// runChild runs a child to its end, bounded by limit, and returns its
// stdout lines.
func runChild(t *testing.T, mode string, args any, limit time.Duration) ([]string, *os.ProcessState, string) {
	t.Helper()
	c := startChild(t, mode, args, "")
	timer := time.AfterFunc(limit, func() { _ = c.cmd.Process.Kill() })
	lines, state := c.wait()
	timer.Stop()
	return lines, state, c.stderr.String()
}

// resultLine decodes the last line starting with "RESULT " into v.
func resultLine(lines []string, v any) error {
	for i := len(lines) - 1; i >= 0; i-- {
		if js, ok := strings.CutPrefix(lines[i], "RESULT "); ok {
			return json.Unmarshal([]byte(js), v)
		}
	}
	return fmt.Errorf("no RESULT line among %d lines", len(lines))
}

// out writes whole lines to stdout, one write per call, so that a line
// the parent reads was complete when written.
type out struct {
	mu sync.Mutex
}

func (o *out) write(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = os.Stdout.Write(b)
}

func (o *out) printf(format string, args ...any) {
	o.write(fmt.Appendf(nil, format, args...))
}

func (o *out) result(v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	o.write(append(append([]byte("RESULT "), js...), '\n'))
	return nil
}

// numbered is record i of the disk-full and damage sweeps: its number,
// then padding of a length and letter that depend on it.
func numbered(i int) []byte {
	b := fmt.Appendf(nil, "%08d|", i)
	return append(b, bytes.Repeat([]byte{byte('a' + i%26)}, 20+i*31%150)...)
}

// numberOf returns the number of a record made by numbered, and whether
// the record is exactly that.
func numberOf(data []byte) (int, bool) {
	if len(data) < 9 {
		return 0, false
	}
	n, err := strconv.Atoi(string(data[:8]))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, bytes.Equal(data, numbered(n))
}

// sumValues returns the sum of m's values.
func sumValues(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
