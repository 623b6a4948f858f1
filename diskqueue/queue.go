package diskqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/internal/report"
	bolt "go.etcd.io/bbolt"
)

// FileName is the name of the queue's database file inside its directory.
const FileName = "queue.db"

// Defaults of Options.
const (
	// DefaultMaxBytes is sized for a field device. A service with disk to
	// spare sets Options.MaxBytes to what an outage of the ingest server
	// should survive (e.g. ServiceMaxBytes).
	DefaultMaxBytes = 10 << 20
	// ServiceMaxBytes is a cap suggested for a server-side service: about
	// a day of logging at a few records per second, several hours of a
	// busy one.
	ServiceMaxBytes    = 1 << 30
	DefaultBufferSize  = 2048
	DefaultLockTimeout = time.Second
)

// A Class is a record's priority class.
type Class uint8

// The classes: the reader takes High records first.
const (
	Normal Class = iota
	High
)

func (c Class) String() string {
	if c == High {
		return "high"
	}
	return "normal"
}

// Errors.
var (
	// ErrLocked is returned by Open and OpenReadOnly when another Queue, in
	// this process or another, holds the directory past the lock timeout.
	// It also wraps bbolt's timeout error when that is what was seen.
	ErrLocked = errors.New("diskqueue: locked by another process")
	// ErrClosed is returned when a closed Queue is used.
	ErrClosed = errors.New("diskqueue: closed")
	// ErrFull is returned by Append when the in-memory buffer is full; the
	// record was dropped and counted as DropBufferFull.
	ErrFull = errors.New("diskqueue: buffer full, record dropped")
	// ErrTooLarge is returned when one record is larger than the cap; the
	// record was dropped and counted as DropCap.
	ErrTooLarge = errors.New("diskqueue: record larger than the queue cap")
	// ErrReadOnly is returned by the methods that write when the queue was
	// opened with OpenReadOnly.
	ErrReadOnly = errors.New("diskqueue: opened read-only")
	// ErrCorrupt is wrapped by the error OpenReadOnly returns for a file
	// that is proven damaged (Open moves such a file aside instead).
	ErrCorrupt = errors.New("diskqueue: queue file is damaged")
	// ErrNotExist is returned by OpenReadOnly when there is no queue in the
	// directory.
	ErrNotExist = errors.New("diskqueue: no queue here")
)

// Options configures a Queue. The zero value, and a nil *Options, mean the
// defaults in the comments.
type Options struct {
	MaxBytes    int64         // cap on pending record bytes; default DefaultMaxBytes (10 MB)
	BufferSize  int           // records waiting for the writer; default DefaultBufferSize (2048)
	LockTimeout time.Duration // wait for another holder of the lock; default 1 s, never forever
	// OnError hears of the queue's own trouble: a damaged file moved
	// aside, damaged records skipped, failed commits, and dropped records
	// (the first drop at once, later ones rate-limited). It must not block.
	// Default: rate-limited lines on stderr.
	OnError func(error)

	// NoSync skips fsync. It is for tests and benchmarks of everything
	// but durability.
	NoSync bool
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.MaxBytes <= 0 {
		out.MaxBytes = DefaultMaxBytes
	}
	if out.BufferSize <= 0 {
		out.BufferSize = DefaultBufferSize
	}
	if out.LockTimeout <= 0 {
		out.LockTimeout = DefaultLockTimeout
	}
	if out.OnError == nil {
		out.OnError = report.NewLimited("fieldlog: ", nil).Report
	}
	return out
}

// An Item is one stored record as Peek returns it.
type Item struct {
	ID    uint64 // unique, increasing in append order
	Class Class
	Data  []byte // a copy; the caller may keep it
}

// A Queue is a durable FIFO of byte records. Its methods are safe for
// concurrent use. Only its writer goroutine writes to the file.
type Queue struct {
	db          *bolt.DB
	opts        Options
	path        string
	readOnly    bool
	quarantined string // where a damaged file was moved by Open, if it was

	diskFailing bool // the last commit failed for good; owned by the writer

	reqs    chan request
	wake    chan struct{} // size 1: confirmations or discards are waiting
	stop    chan struct{}
	done    chan struct{}
	closeMu sync.RWMutex // held for reading while handing over; for writing to close
	closed  bool

	mu       sync.Mutex // guards the fields below
	seq      uint64     // last id given
	deleting []uint64   // ids confirmed or discarded, waiting for a commit; sorted; replaced, never changed in place
	discards map[uint64]string
	damaged  map[rawKey]struct{} // entries with damaged keys: waiting for the writer, or (read-only) counted; replaced, never changed in place
	pending  [2]int              // records per class, stored on disk
	bytes    int64               // stored record bytes (data only)
	drops    ledger
	lastErr  error // the last failed commit, nil after a successful one
	loud     dropAlarm

	failCommit atomic.Pointer[func() error] // tests: makes commits fail

	appended      atomic.Int64
	committed     atomic.Int64
	commits       atomic.Int64
	commitNanos   atomic.Int64
	lastCommitDur atomic.Int64
}

// request is a record, a clear, or (with neither) a barrier for the
// writer.
type request struct {
	class Class
	data  []byte
	clear bool
	done  chan error // AppendSync, Sync and Clear: told when committed
}

func (q *Queue) isClosed() bool {
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	return q.closed
}

// Close commits what is buffered and the confirmations not yet on disk,
// stops the writer and closes the file. If ctx ends first, the writer
// still finishes its commit before the file is closed (nothing outlives
// Close), and ctx's error is returned. A second Close returns nil.
func (q *Queue) Close(ctx context.Context) error {
	q.closeMu.Lock()
	if q.closed {
		q.closeMu.Unlock()
		return nil
	}
	q.closed = true
	q.closeMu.Unlock()
	var err error
	if !q.readOnly {
		close(q.stop)
		select {
		case <-q.done:
		case <-ctx.Done():
			err = ctx.Err()
			<-q.done
		}
	}
	if cerr := q.db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("diskqueue: close %s: %w", q.path, cerr))
	}
	return err
}
