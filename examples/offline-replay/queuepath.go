package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/soliplex/fieldlog/diskqueue"
)

// queueSubdir is where fieldlog.New keeps the queue inside its
// directory; replay and inspect accept that directory too.
const queueSubdir = "queue"

// findQueue returns the directory that holds the queue file: dir itself,
// or dir/queue, where fieldlog.New keeps its queue. A path with no queue
// is an error that says so, never a new empty queue.
func findQueue(dir string) (string, error) {
	if d, ok := queueIn(dir); ok {
		return d, nil
	}
	return "", noQueue(dir)
}

func queueIn(dir string) (string, bool) {
	for _, d := range []string{dir, filepath.Join(dir, queueSubdir)} {
		if fi, err := os.Stat(filepath.Join(d, diskqueue.FileName)); err == nil && fi.Mode().IsRegular() {
			return d, true
		}
	}
	return "", false
}

// logQueue is the directory log writes to: like findQueue, but a path
// with no queue yet gets a new one.
func logQueue(dir string) string {
	if d, ok := queueIn(dir); ok {
		return d
	}
	return dir
}

// A noQueueError says that a path holds no queue, and where there are
// queues that may have been meant.
type noQueueError struct {
	dir     string
	missing bool     // the directory itself does not exist
	nearby  []string // sibling directories that hold a queue
}

func (e *noQueueError) Error() string {
	s := "no queue at " + e.dir
	if e.missing {
		s += " (no such directory)"
	} else {
		s += " (the directory holds no " + diskqueue.FileName + ")"
	}
	switch len(e.nearby) {
	case 0:
		return s + "; check --queue"
	case 1:
		return s + "; did you mean " + e.nearby[0] + "?"
	}
	return s + "; queues nearby: " + strings.Join(e.nearby, ", ")
}

func noQueue(dir string) error {
	e := &noQueueError{dir: dir}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		e.missing = true
	}
	parent, base := filepath.Dir(filepath.Clean(dir)), filepath.Base(filepath.Clean(dir))
	entries, err := os.ReadDir(parent)
	if err != nil {
		return e
	}
	best := 0
	var scored []string
	for i, en := range entries {
		if i >= 500 || len(scored) >= 50 {
			break
		}
		if !en.IsDir() || en.Name() == base {
			continue
		}
		cand := filepath.Join(parent, en.Name())
		if _, ok := queueIn(cand); !ok {
			continue
		}
		n := commonPrefix(en.Name(), base)
		switch {
		case n > best:
			best, scored = n, []string{cand}
		case n == best:
			scored = append(scored, cand)
		}
	}
	if len(scored) > 3 {
		scored = scored[:3]
	}
	e.nearby = scored
	return e
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// openError explains an error opening a queue, once.
func openError(dir string, err error) error {
	switch {
	case errors.Is(err, diskqueue.ErrLocked):
		return fmt.Errorf("queue %s is in use by another process (is a log or replay still running?)", dir)
	case errors.Is(err, diskqueue.ErrNotExist):
		return noQueue(dir)
	case errors.Is(err, diskqueue.ErrCorrupt):
		return fmt.Errorf("the queue file in %s is damaged: %s", dir, describe(err))
	}
	return fmt.Errorf("cannot open the queue in %s: %s", dir, describe(err))
}
