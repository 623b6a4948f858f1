package diskqueue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the queue's database file inside its directory.
const FileName = "queue.db"

// Defaults of Options.
const (
	DefaultMaxBytes    = 10 << 20
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
	// ErrLocked is returned by Open when another Queue, in this process or
	// another, holds the directory past the lock timeout. It wraps bbolt's
	// timeout error.
	ErrLocked = errors.New("diskqueue: locked by another process")
	// ErrClosed is returned when a closed Queue is used.
	ErrClosed = errors.New("diskqueue: closed")
	// ErrFull is returned by Append when the in-memory buffer is full; the
	// record was dropped and counted.
	ErrFull = errors.New("diskqueue: buffer full, record dropped")
	// ErrTooLarge is returned when one record is larger than the cap.
	ErrTooLarge = errors.New("diskqueue: record larger than the queue cap")
)

// Drop reasons, as in Stats.Dropped and Queue.Lost.
const (
	DropBufferFull = "buffer_full"
	DropCap        = "queue_cap"
	DropCorrupt    = "corrupt"
)

// Options configures a Queue. The zero value, and a nil *Options, mean the
// defaults in the comments.
type Options struct {
	MaxBytes    int64         // cap on pending record bytes; default 10 MB
	BufferSize  int           // records waiting for the writer; default 8192
	LockTimeout time.Duration // wait for another holder of the lock; default 1 s
	OnError     func(error)   // corruption and quarantine reports; default: ignored

	// NoSync skips fsync. It is for tests and benchmarks of everything
	// but durability.
	NoSync bool
}

// An Item is one stored record as Peek returns it.
type Item struct {
	ID    uint64 // unique, increasing in append order
	Class Class
	Data  []byte // a copy; the caller may keep it
}

// A Queue is a durable FIFO of byte records. Its methods are safe for
// concurrent use.
type Queue struct {
	db   *bolt.DB
	opts Options
	path string

	reqs    chan request
	stop    chan struct{}
	done    chan struct{}
	closeMu sync.RWMutex // held for reading while handing over; for writing to close
	closed  bool

	mu       sync.Mutex // guards the counters below
	seq      uint64     // last id given
	deleting []uint64   // confirmed ids waiting for the next commit, sorted; replaced, never changed in place
	pending  [2]int     // records per class, stored on disk
	bytes    int64      // stored record bytes (data only)
	dropped  map[string]int64
	byClass  map[Class]int64  // cap drops by class
	total    map[string]int64 // drops over the file's life, as last committed
	unsaved  map[string]int64 // drops not yet added to total

	appended      atomic.Int64
	committed     atomic.Int64
	commits       atomic.Int64
	commitNanos   atomic.Int64
	lastCommitDur atomic.Int64
}

// request is one record, a set of deletions, or (with neither) a barrier
// for the writer.
type request struct {
	class   Class
	data    []byte
	deletes []uint64
	done    chan error // AppendSync and Sync: told when committed
}

var (
	buckets    = [2][]byte{Normal: []byte("normal"), High: []byte("high")}
	metaBucket = []byte("meta")
)

const droppedPrefix = "dropped/"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Open opens the queue in dir, creating the directory (0700) and the file
// (0600) when needed. opts may be nil.
func Open(dir string, opts *Options) (*Queue, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.OnError == nil {
		o.OnError = func(error) {}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("diskqueue: open %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := openDB(path, &o)
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s: %w", ErrLocked, dir, err)
		}
		// The file is there but bbolt refuses it: keep it for a person to
		// look at, and start afresh so the application keeps logging.
		aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("diskqueue: open %s: %w (and moving it aside failed: %v)", path, err, rerr)
		}
		o.OnError(fmt.Errorf("diskqueue: %s could not be opened (%v); moved to %s and started a new queue", path, err, aside))
		if db, err = openDB(path, &o); err != nil {
			return nil, fmt.Errorf("diskqueue: open %s: %w", path, err)
		}
	}
	q := &Queue{
		db:      db,
		opts:    o,
		path:    path,
		reqs:    make(chan request, o.BufferSize),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		dropped: map[string]int64{},
		byClass: map[Class]int64{},
		total:   map[string]int64{},
		unsaved: map[string]int64{},
	}
	if err := q.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("diskqueue: open %s: %w", path, err)
	}
	go q.writeLoop()
	return q, nil
}

// openDB opens the bbolt file and makes sure both buckets exist. A panic
// inside bbolt on a damaged file becomes an error.
func openDB(path string, o *Options) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				_ = db.Close()
			}
			db, err = nil, fmt.Errorf("bbolt panicked: %v", p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        o.LockTimeout,
		NoSync:         o.NoSync,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range append(buckets[:], metaBucket) {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// load counts what is stored and finds the last id.
func (q *Queue) load() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bbolt panicked while reading: %v", p)
		}
	}()
	return q.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(metaBucket).ForEach(func(k, v []byte) error {
			if reason, ok := strings.CutPrefix(string(k), droppedPrefix); ok && len(v) == 8 {
				q.total[reason] = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for c, name := range buckets {
			b := tx.Bucket(name)
			if k, _ := b.Cursor().Last(); len(k) == 8 {
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

// Append hands data to the writer without waiting for disk; the queue
// keeps the slice, so the caller must not change it afterwards. It returns
// ErrFull (the record is dropped and counted) when the buffer is full,
// ErrClosed after Close.
func (q *Queue) Append(class Class, data []byte) error {
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	if int64(len(data)) > q.opts.MaxBytes {
		q.countDrop(DropCap, class, 1)
		return ErrTooLarge
	}
	select {
	case q.reqs <- request{class: class & 1, data: data}:
		q.appended.Add(1)
		return nil
	default:
		q.countDrop(DropBufferFull, class, 1)
		return ErrFull
	}
}

// AppendWait is Append for a producer that can afford to wait: when the
// buffer is full it waits for room (or for ctx to end) instead of
// dropping. It does not wait for the record to be committed.
func (q *Queue) AppendWait(ctx context.Context, class Class, data []byte) error {
	if int64(len(data)) > q.opts.MaxBytes {
		q.countDrop(DropCap, class, 1)
		return ErrTooLarge
	}
	if data == nil {
		data = []byte{}
	}
	return q.handOver(ctx, request{class: class & 1, data: data})
}

// AppendSync appends data and returns once it, and everything appended
// before it, is committed and fsynced. If ctx ends first it returns ctx's
// error; the record is still committed.
func (q *Queue) AppendSync(ctx context.Context, class Class, data []byte) error {
	if int64(len(data)) > q.opts.MaxBytes {
		q.countDrop(DropCap, class, 1)
		return ErrTooLarge
	}
	if data == nil {
		data = []byte{}
	}
	return q.handOver(ctx, request{class: class & 1, data: data, done: make(chan error, 1)})
}

// Sync returns once everything appended before it is committed.
func (q *Queue) Sync(ctx context.Context) error {
	return q.handOver(ctx, request{done: make(chan error, 1)})
}

func (q *Queue) handOver(ctx context.Context, r request) error {
	q.closeMu.RLock()
	if q.closed {
		q.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case q.reqs <- r:
		if r.data != nil {
			q.appended.Add(1)
		}
	case <-ctx.Done():
		q.closeMu.RUnlock()
		return ctx.Err()
	}
	q.closeMu.RUnlock()
	if r.done == nil {
		return nil
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxGroup bounds the records in one transaction, so that one commit
// cannot hold a huge burst in memory twice.
const maxGroup = 16384

// writeLoop commits requests in groups: it blocks for the first, takes
// everything else already waiting, and commits them in one transaction.
func (q *Queue) writeLoop() {
	defer close(q.done)
	group := make([]request, 0, 256)
	for {
		select {
		case r := <-q.reqs:
			group = append(group[:0], r)
		case <-q.stop:
			// Close: commit what is left, then stop.
			for {
				group = group[:0]
				for len(group) < maxGroup {
					select {
					case r := <-q.reqs:
						group = append(group, r)
						continue
					default:
					}
					break
				}
				if len(group) == 0 {
					return
				}
				q.commit(group)
			}
		}
		for more := true; more && len(group) < maxGroup; {
			select {
			case r := <-q.reqs:
				group = append(group, r)
			default:
				more = false
			}
		}
		q.commit(group)
	}
}

// commit writes one group in one transaction and tells the waiters:
// deletions first, then the new records, then the cap.
func (q *Queue) commit(group []request) {
	start := time.Now()
	var added, removed, capDrops [2]int
	var addedBytes, removedBytes, capBytes int64
	var deleted []uint64
	var savedTotals map[string]int64
	err := q.update(func(tx *bolt.Tx) error {
		bs := [2]*bolt.Bucket{tx.Bucket(buckets[Normal]), tx.Bucket(buckets[High])}
		var key [8]byte
		for _, r := range group {
			for _, id := range r.deletes {
				deleted = append(deleted, id)
				binary.BigEndian.PutUint64(key[:], id)
				for c, b := range bs {
					if v := b.Get(key[:]); v != nil {
						removedBytes += int64(max(len(v)-4, 0))
						removed[c]++
						if err := b.Delete(key[:]); err != nil {
							return err
						}
						break
					}
				}
			}
		}
		q.mu.Lock()
		seq := q.seq
		q.mu.Unlock()
		for _, r := range group {
			if r.data == nil {
				continue
			}
			seq++
			binary.BigEndian.PutUint64(key[:], seq)
			if err := bs[r.class].Put(key[:], seal(r.data)); err != nil {
				return err
			}
			added[r.class]++
			addedBytes += int64(len(r.data))
		}
		// Enforce the cap: oldest normal records first, high ones only
		// when no normal record is left. Records already confirmed but not
		// yet deleted are not counted as drops.
		q.mu.Lock()
		over := q.bytes + addedBytes - removedBytes - q.opts.MaxBytes
		q.mu.Unlock()
		for _, c := range []Class{Normal, High} {
			if over <= 0 {
				break
			}
			var victims [][]byte
			cur := bs[c].Cursor()
			for k, v := cur.First(); over > 0 && k != nil; k, v = cur.Next() {
				n := int64(max(len(v)-4, 0))
				over -= n
				capBytes += n
				victims = append(victims, append([]byte(nil), k...))
			}
			for _, k := range victims {
				if err := bs[c].Delete(k); err != nil {
					return err
				}
			}
			capDrops[c] += len(victims)
		}
		q.mu.Lock()
		q.seq = seq
		totals := make(map[string]int64, len(q.total)+len(q.unsaved)+1)
		for k, v := range q.total {
			totals[k] = v
		}
		for k, v := range q.unsaved {
			totals[k] += v
		}
		q.mu.Unlock()
		if n := capDrops[Normal] + capDrops[High]; n > 0 {
			totals[DropCap] += int64(n)
		}
		meta := tx.Bucket(metaBucket)
		var v [8]byte
		for k, n := range totals {
			binary.BigEndian.PutUint64(v[:], uint64(n))
			if err := meta.Put([]byte(droppedPrefix+k), v[:]); err != nil {
				return err
			}
		}
		savedTotals = totals
		return nil
	})
	if err != nil {
		q.opts.OnError(fmt.Errorf("diskqueue: commit %d requests: %w", len(group), err))
	} else {
		q.mu.Lock()
		for c := range 2 {
			q.pending[c] += added[c] - removed[c] - capDrops[c]
			if capDrops[c] > 0 {
				q.dropped[DropCap] += int64(capDrops[c])
				q.byClass[Class(c)] += int64(capDrops[c])
			}
		}
		q.bytes += addedBytes - removedBytes - capBytes
		// The unsaved drops counted before the transaction are in
		// savedTotals now; any counted since stay unsaved.
		for k, v := range savedTotals {
			q.unsaved[k] -= v - q.total[k] - cond(k == DropCap, int64(capDrops[Normal]+capDrops[High]), 0)
			if q.unsaved[k] <= 0 {
				delete(q.unsaved, k)
			}
		}
		q.total = savedTotals
		q.mu.Unlock()
		q.committed.Add(int64(added[Normal] + added[High]))
	}
	if len(deleted) > 0 {
		slices.Sort(deleted)
		q.mu.Lock()
		q.deleting = without(q.deleting, deleted)
		q.mu.Unlock()
	}
	d := time.Since(start)
	q.commits.Add(1)
	q.commitNanos.Add(int64(d))
	q.lastCommitDur.Store(int64(d))
	for _, r := range group {
		if r.done != nil {
			r.done <- err
		}
	}
}

// update is db.Update with bbolt panics turned into errors.
func (q *Queue) update(f func(*bolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bbolt panicked: %v", p)
		}
	}()
	return q.db.Update(f)
}

// seal prefixes data with its checksum.
func seal(data []byte) []byte {
	out := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(out, crc32.Checksum(data, crcTable))
	copy(out[4:], data)
	return out
}

// open verifies a stored value and returns its data.
func unseal(v []byte) ([]byte, bool) {
	if len(v) < 4 {
		return nil, false
	}
	data := v[4:]
	return data, binary.BigEndian.Uint32(v) == crc32.Checksum(data, crcTable)
}

// Peek returns the oldest committed records, High class first, at most
// maxCount of them and at most maxBytes of data, but always at least one
// when any is stored. It removes nothing. Damaged records are deleted,
// counted and skipped.
func (q *Queue) Peek(maxCount, maxBytes int) (items []Item, err error) {
	if q.isClosed() {
		return nil, ErrClosed
	}
	if maxCount <= 0 {
		return nil, nil
	}
	var bad [2][][]byte
	defer func() {
		if p := recover(); p != nil {
			items, err = nil, fmt.Errorf("diskqueue: read: bbolt panicked: %v", p)
		}
	}()
	q.mu.Lock()
	skip := q.deleting // immutable: replaced, never changed in place
	q.mu.Unlock()
	err = q.db.View(func(tx *bolt.Tx) error {
		size := 0
		for _, c := range []Class{High, Normal} {
			cur := tx.Bucket(buckets[c]).Cursor()
			var seek [8]byte
			for k, v := cur.First(); k != nil; k, v = cur.Next() {
				if len(items) >= maxCount {
					return nil
				}
				if len(k) == 8 && len(skip) > 0 {
					if i, gone := slices.BinarySearch(skip, binary.BigEndian.Uint64(k)); gone {
						// Confirmed records come in runs of consecutive
						// ids: jump over the whole run at once.
						for i+1 < len(skip) && skip[i+1] == skip[i]+1 {
							i++
						}
						binary.BigEndian.PutUint64(seek[:], skip[i]+1)
						if k, v = cur.Seek(seek[:]); k == nil {
							break
						}
						if _, gone := slices.BinarySearch(skip, binary.BigEndian.Uint64(k)); gone {
							// Another run follows at once: go round again
							// from the key before it.
							cur.Prev()
							continue
						}
					}
				}
				data, ok := unseal(v)
				if !ok || len(k) != 8 {
					bad[c] = append(bad[c], append([]byte(nil), k...))
					continue
				}
				if len(items) > 0 && size+len(data) > maxBytes {
					return nil
				}
				items = append(items, Item{ID: binary.BigEndian.Uint64(k), Class: c, Data: append([]byte(nil), data...)})
				size += len(data)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("diskqueue: read: %w", err)
	}
	if n := len(bad[Normal]) + len(bad[High]); n > 0 {
		q.removeCorrupt(bad)
	}
	return items, nil
}

func (q *Queue) removeCorrupt(bad [2][][]byte) {
	var sizes [2]int
	var gone int64
	err := q.update(func(tx *bolt.Tx) error {
		for c, keys := range bad {
			b := tx.Bucket(buckets[c])
			for _, k := range keys {
				if v := b.Get(k); v != nil {
					gone += int64(max(len(v)-4, 0))
					sizes[c]++
					if err := b.Delete(k); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		q.opts.OnError(fmt.Errorf("diskqueue: remove damaged records: %w", err))
		return
	}
	q.mu.Lock()
	for c := range 2 {
		q.pending[c] -= sizes[c]
	}
	q.bytes -= gone
	q.dropped[DropCorrupt] += int64(sizes[0] + sizes[1])
	q.unsaved[DropCorrupt] += int64(sizes[0] + sizes[1])
	q.mu.Unlock()
	q.opts.OnError(fmt.Errorf("diskqueue: skipped %d damaged record(s) in %s", sizes[0]+sizes[1], q.path))
}

// Delete removes the records with these ids, from either class: at once
// from what Peek returns, and from disk with the writer's next group
// commit, so confirming a batch costs no fsync of its own (a crash before
// that commit only means the batch is sent again). When more than a few
// thousand confirmed ids are waiting, Delete waits for their commit. Ids
// that are not stored are ignored. Use Sync to wait until the deletion is
// durable.
func (q *Queue) Delete(ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	q.mu.Lock()
	q.deleting = merged(q.deleting, ids)
	backlog := len(q.deleting)
	q.mu.Unlock()
	if backlog <= maxPendingDeletes {
		q.reqs <- request{deletes: ids}
		return nil
	}
	// The writer is behind: wait for this deletion to commit, so that
	// confirmed ids cannot pile up in memory.
	done := make(chan error, 1)
	q.reqs <- request{deletes: ids, done: done}
	return <-done
}

// maxPendingDeletes bounds the confirmed ids waiting for a commit.
const maxPendingDeletes = 4096

// merged returns the sorted union of two sorted id lists, as a new slice.
func merged(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case a[0] > b[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// without returns the sorted list a less the sorted ids in b, as a new
// slice.
func without(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a))
	for _, id := range a {
		for len(b) > 0 && b[0] < id {
			b = b[1:]
		}
		if len(b) > 0 && b[0] == id {
			continue
		}
		out = append(out, id)
	}
	return out
}

// Clear removes every stored record. Records still in the buffer are
// committed afterwards as usual.
func (q *Queue) Clear() error {
	if q.isClosed() {
		return ErrClosed
	}
	err := q.update(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("diskqueue: clear: %w", err)
	}
	q.mu.Lock()
	q.pending = [2]int{}
	q.bytes = 0
	q.deleting = nil
	q.mu.Unlock()
	return nil
}

// Pending returns the number of committed records not yet deleted.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return max(q.pending[0]+q.pending[1]-len(q.deleting), 0)
}

// Lost returns how many records the queue dropped since it was opened, by
// reason (DropBufferFull, DropCap, DropCorrupt).
func (q *Queue) Lost() map[string]int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]int64, len(q.dropped))
	for k, v := range q.dropped {
		out[k] = v
	}
	return out
}

func cond(ok bool, a, b int64) int64 {
	if ok {
		return a
	}
	return b
}

func (q *Queue) countDrop(reason string, class Class, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dropped[reason] += int64(n)
	q.unsaved[reason] += int64(n)
	if reason == DropCap {
		q.byClass[class&1] += int64(n)
	}
}

// Stats is a snapshot of a Queue's counters.
type Stats struct {
	Appended       int64            // records accepted by Append and AppendSync
	Committed      int64            // records committed to disk, in append order
	Pending        int              // records stored and not deleted
	PendingHigh    int              // of which High class
	Bytes          int64            // data bytes stored
	Buffered       int              // records waiting for the writer
	Dropped        map[string]int64 // by reason, since Open
	DroppedTotal   map[string]int64 // by reason, over the queue file's life
	DroppedCapHigh int64            // cap drops of High records (the rest were Normal)
	Commits        int64            // transactions committed
	CommitLatency  time.Duration    // mean time of a commit, fsync included
	LastCommit     time.Duration    // time of the latest commit
}

// Stats returns a snapshot of the counters.
func (q *Queue) Stats() Stats {
	s := Stats{
		Appended:   q.appended.Load(),
		Committed:  q.committed.Load(),
		Buffered:   len(q.reqs),
		Commits:    q.commits.Load(),
		LastCommit: time.Duration(q.lastCommitDur.Load()),
		Dropped:    q.Lost(),
	}
	if s.Commits > 0 {
		s.CommitLatency = time.Duration(q.commitNanos.Load() / s.Commits)
	}
	q.mu.Lock()
	s.Pending = max(q.pending[0]+q.pending[1]-len(q.deleting), 0)
	s.PendingHigh = q.pending[High]
	s.Bytes = q.bytes
	s.DroppedCapHigh = q.byClass[High]
	s.DroppedTotal = make(map[string]int64, len(q.total))
	for k, v := range q.total {
		s.DroppedTotal[k] = v
	}
	for k, v := range q.unsaved {
		s.DroppedTotal[k] += v
	}
	q.mu.Unlock()
	return s
}

func (q *Queue) isClosed() bool {
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	return q.closed
}

// Close commits what is buffered, stops the writer and closes the file.
// If ctx ends first, the writer still finishes its commit before the file
// is closed (nothing outlives Close), and ctx's error is returned. A second
// Close returns nil.
func (q *Queue) Close(ctx context.Context) error {
	q.closeMu.Lock()
	if q.closed {
		q.closeMu.Unlock()
		return nil
	}
	q.closed = true
	q.closeMu.Unlock()
	close(q.stop)
	var err error
	select {
	case <-q.done:
	case <-ctx.Done():
		err = ctx.Err()
		<-q.done
	}
	return errors.Join(err, q.db.Close())
}
