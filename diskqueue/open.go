package diskqueue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	buckets    = [2][]byte{Normal: []byte("normal"), High: []byte("high")}
	metaBucket = []byte("meta")
)

// Open opens the queue in dir for reading and writing, creating the
// directory (0700) and the file (0600) when needed. opts may be nil.
//
// A file that is proven damaged (bbolt's invalid, checksum and version
// errors, or the queue's own validation of the meta pages, the file size
// and the page tree, done before bbolt maps the file) is renamed aside with a timestamp
// and a fresh queue is started; that is reported through Options.OnError
// and Stats.Quarantined, and Open succeeds. Any other error (permission,
// descriptors, a read-only file system, I/O) is returned and the file is
// left as it was. Another holder of the queue makes Open return ErrLocked
// after Options.LockTimeout.
func Open(dir string, opts *Options) (*Queue, error) {
	o := opts.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("diskqueue: open %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	q, err := openQueue(path, o, false)
	var bad *corruptError
	if !errors.As(err, &bad) {
		return q, err
	}
	// Proven damaged: keep it for a person to look at, and start afresh
	// so that the application keeps logging.
	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, fmt.Errorf("diskqueue: open %s: %w (and moving it aside failed: %v)", path, err, rerr)
	}
	o.OnError(fmt.Errorf("diskqueue: %s is damaged (%v); moved to %s and started a new queue", path, bad.err, aside))
	if q, err = openQueue(path, o, false); err != nil {
		return nil, err
	}
	q.quarantined = aside
	return q, nil
}

// OpenReadOnly opens the queue in dir for inspection: Peek, Pending, Stats
// and Unreported work; the methods that write return ErrReadOnly. It never
// writes, deletes or creates anything: a missing directory or file is
// ErrNotExist, a damaged file an error wrapping ErrCorrupt, and damaged
// records are skipped and counted in Stats but stay in the file. It waits
// for a writer holding the queue up to Options.LockTimeout, then returns
// ErrLocked.
func OpenReadOnly(dir string, opts *Options) (*Queue, error) {
	o := opts.withDefaults()
	path := filepath.Join(dir, FileName)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, path)
	}
	if err != nil {
		return nil, fmt.Errorf("diskqueue: open %s: %w", path, err)
	}
	if info.Size() == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrNotExist, path)
	}
	q, err := openQueue(path, o, true)
	var bad *corruptError
	if errors.As(err, &bad) {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, bad.err)
	}
	return q, err
}

// A corruptError says the file is proven damaged.
type corruptError struct{ err error }

func (e *corruptError) Error() string { return "diskqueue: damaged queue file: " + e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

func corrupt(format string, args ...any) error {
	return &corruptError{fmt.Errorf(format, args...)}
}

// openQueue validates, opens and loads the file at path.
func openQueue(path string, o Options, readOnly bool) (*Queue, error) {
	metaDamaged, err := checkFile(path, o.LockTimeout, readOnly)
	if err != nil {
		return nil, wrapOpenErr(path, err)
	}
	if metaDamaged {
		// A power loss can tear the meta page of a commit that was never
		// acknowledged; damage can also hit the newest one. Either way
		// the file opens as of the commit before, and whether a later one
		// held records cannot be known: say so.
		o.OnError(fmt.Errorf("diskqueue: %s: one of its two meta pages is damaged (a write torn by a power loss, or damage to the file); opened as of the last intact commit: the records of a later commit, if there was one, are lost", path))
	}
	db, err := openDB(path, o, readOnly)
	if err != nil {
		return nil, wrapOpenErr(path, err)
	}
	q := &Queue{
		db:       db,
		opts:     o,
		path:     path,
		readOnly: readOnly,
		reqs:     make(chan request, o.BufferSize),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		discards: map[uint64]string{},
	}
	if err := guard(q.load); err != nil {
		_ = db.Close()
		return nil, wrapOpenErr(path, err)
	}
	if !readOnly {
		go q.writeLoop()
	}
	return q, nil
}

func wrapOpenErr(path string, err error) error {
	var bad *corruptError
	switch {
	case errors.As(err, &bad):
		return err
	case errors.Is(err, ErrLocked):
		return fmt.Errorf("%w: %s", ErrLocked, filepath.Dir(path))
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("%w: %s: %w", ErrLocked, filepath.Dir(path), err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		return &corruptError{err}
	}
	return fmt.Errorf("diskqueue: open %s: %w", path, err)
}

// openDB opens the bbolt file and, unless read-only, makes sure the
// buckets exist.
func openDB(path string, o Options, readOnly bool) (db *bolt.DB, err error) {
	err = guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:      o.LockTimeout,
			NoSync:       o.NoSync,
			ReadOnly:     readOnly,
			FreelistType: bolt.FreelistMapType,
			// The freelist is written with each commit, so that opening
			// a file never walks its whole tree (bbolt does that walk on a
			// goroutine of its own, where a damaged page would crash the
			// process).
			NoFreelistSync: false,
		})
		if err != nil || readOnly {
			return err
		}
		return db.Update(func(tx *bolt.Tx) error {
			for _, b := range append(buckets[:], metaBucket) {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil && db != nil {
		_ = db.Close()
		db = nil
	}
	return db, err
}

// guard runs f, turning a panic inside it, or a memory fault while reading
// bbolt's mapping of a damaged file, into a corruptError.
func guard(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = corrupt("bbolt: %v", p)
		}
	}()
	return f()
}

// load reads the drop ledger, counts what is stored and finds the last id.
func (q *Queue) load() error {
	return q.db.View(func(tx *bolt.Tx) error {
		q.drops = loadLedger(tx.Bucket(metaBucket))
		for c, name := range buckets {
			b := tx.Bucket(name)
			if b == nil {
				continue
			}
			// A damaged key longer than an id still starts with its id:
			// ids stay unique whatever the last key is.
			if k, _ := b.Cursor().Last(); len(k) >= 8 {
				q.seq = max(q.seq, binary.BigEndian.Uint64(k))
			}
			err := b.ForEach(func(k, v []byte) error {
				q.pending[c]++
				q.bytes += int64(max(len(v)-4, 0))
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
