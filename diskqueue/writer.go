package diskqueue

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds the records in one transaction, so that one commit
// cannot hold a huge burst in memory twice.
const maxGroup = 16384

// commitRetryDelays are the waits before each retry of a failed commit.
// Past the last, the group's records are counted as DropDiskError: memory
// stays bounded by the buffer, and a disk that stays full does not stall
// the queue. Once a group has failed for good, later groups get one try
// each until a commit works again.
var commitRetryDelays = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 800 * time.Millisecond}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// writeLoop is the only goroutine that writes to the file. It commits in
// groups: it blocks for the first request (or for confirmations to
// commit), takes everything else already waiting, and commits it all in
// one transaction.
func (q *Queue) writeLoop() {
	defer close(q.done)
	group := make([]request, 0, 256)
	for {
		select {
		case r := <-q.reqs:
			group = q.gather(append(group[:0], r))
		case <-q.wake:
			group = q.gather(group[:0])
		case <-q.stop:
			// Close: commit what is left, once; a failing disk drops the
			// rest at once rather than holding Close through retries.
			for {
				group = q.gather(group[:0])
				if len(group) == 0 && !q.hasWork() {
					return
				}
				if err := q.commitGroup(group, true); err != nil {
					q.failRest(err)
					return
				}
			}
		}
		_ = q.commitGroup(group, false)
	}
}

// gather adds the requests already waiting to group, up to maxGroup; a
// Clear ends a group.
func (q *Queue) gather(group []request) []request {
	for len(group) < maxGroup && (len(group) == 0 || !group[len(group)-1].clear) {
		select {
		case r := <-q.reqs:
			group = append(group, r)
		default:
			return group
		}
	}
	return group
}

// hasWork reports whether confirmations or drop counts wait for a commit.
func (q *Queue) hasWork() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.deleting) > 0 || len(q.damaged) > 0 || q.drops.dirty()
}

// A delta is what one commit changed, applied to the counters once it is
// on disk.
type delta struct {
	seq                      uint64
	added, removed           [2]int
	addedBytes, removedBytes int64
	drops                    []dropEvent
	cleared                  bool
	ledgerSaved              bool // the ledger was written, as it was at change count ledgerChanges
	ledgerChanges            uint64
}

func (d *delta) drop(reason string, c Class, n int64) {
	for i := range d.drops {
		if d.drops[i].reason == reason && d.drops[i].class == c {
			d.drops[i].n += n
			return
		}
	}
	d.drops = append(d.drops, dropEvent{reason, c, n})
}

// commitGroup commits group with the confirmations waiting, retrying a
// failed commit unless final, and tells the waiters.
func (q *Queue) commitGroup(group []request, final bool) error {
	q.mu.Lock()
	dels := q.deleting
	var discards map[uint64]string
	if len(q.discards) > 0 {
		discards = make(map[uint64]string, len(q.discards))
		for _, id := range dels {
			if reason, ok := q.discards[id]; ok {
				discards[id] = reason
			}
		}
	}
	damaged := q.damaged
	dirty := q.drops.dirty()
	q.mu.Unlock()
	records := 0
	for _, r := range group {
		if r.data != nil || r.clear {
			records++
		}
	}
	if records == 0 && len(dels) == 0 && len(damaged) == 0 && !dirty {
		reply(group, nil) // barriers only: everything before them is done
		return nil
	}
	start := time.Now()
	var err error
	for attempt := 0; ; attempt++ {
		var d delta
		if err = q.commit(group, dels, discards, damaged, &d); err == nil {
			q.apply(&d, dels, damaged)
			break
		}
		if final || q.diskFailing || attempt == len(commitRetryDelays) {
			break
		}
		t := time.NewTimer(commitRetryDelays[attempt])
		select {
		case <-t.C:
		case <-q.stop:
			t.Stop()
			final = true
		}
	}
	q.diskFailing = err != nil
	if err != nil {
		err = fmt.Errorf("diskqueue: commit: %w", err)
		q.fail(group, err)
	}
	d := time.Since(start)
	q.commits.Add(1)
	q.commitNanos.Add(int64(d))
	q.lastCommitDur.Store(int64(d))
	reply(group, err)
	return err
}

func reply(group []request, err error) {
	for _, r := range group {
		if r.done != nil {
			r.done <- err
		}
	}
}

// fail counts the records of a group whose commit failed for good.
func (q *Queue) fail(group []request, err error) {
	var n [2]int64
	for _, r := range group {
		if r.data != nil {
			n[r.class]++
		}
	}
	now := time.Now()
	q.mu.Lock()
	q.lastErr = err
	for c := range n {
		q.drops.add(DropDiskError, Class(c), n[c], now)
	}
	if n[0]+n[1] > 0 {
		q.loud.note(DropDiskError, n[0]+n[1], now, q.path)
	}
	q.mu.Unlock()
	if n[0]+n[1] == 0 {
		q.opts.OnError(err)
		return
	}
	q.opts.OnError(fmt.Errorf("%w; %d record(s) dropped and counted (%s)", err, n[0]+n[1], DropDiskError))
}

// failRest counts what is left in the buffer when Close meets a failing
// disk.
func (q *Queue) failRest(err error) {
	var rest []request
	for {
		select {
		case r := <-q.reqs:
			rest = append(rest, r)
			continue
		default:
		}
		break
	}
	if len(rest) > 0 {
		q.fail(rest, err)
		reply(rest, err)
	}
}

// commit writes one group in one transaction: confirmations, discards
// and damaged entries first, then the new records, then the cap, then the
// drop ledger.
func (q *Queue) commit(group []request, dels []uint64, discards map[uint64]string, damaged map[rawKey]struct{}, d *delta) error {
	q.mu.Lock()
	d.seq = q.seq
	storedBytes, stored := q.bytes, q.pending
	var snap ledger
	q.mu.Unlock()
	return guard(func() error {
		return q.db.Update(func(tx *bolt.Tx) error {
			if f := q.failCommit.Load(); f != nil {
				if err := (*f)(); err != nil {
					return err
				}
			}
			bs := [2]*bolt.Bucket{tx.Bucket(buckets[Normal]), tx.Bucket(buckets[High])}
			for _, b := range bs {
				b.FillPercent = 1 // keys only ever grow: fill each page
			}
			var key [8]byte
			for _, id := range dels {
				binary.BigEndian.PutUint64(key[:], id)
				for c, b := range bs {
					v := b.Get(key[:])
					if v == nil {
						continue
					}
					d.removedBytes += int64(max(len(v)-4, 0))
					d.removed[c]++
					if reason, ok := discards[id]; ok {
						d.drop(reason, Class(c), 1)
					}
					if err := b.Delete(key[:]); err != nil {
						return err
					}
					break
				}
			}
			for k := range damaged {
				// Get is nil for a nested bucket under this key too
				// (never written by the queue), which Delete would
				// refuse: it is left alone.
				key := []byte(k.key)
				v := bs[k.class].Get(key)
				if v == nil {
					continue
				}
				d.removedBytes += int64(max(len(v)-4, 0))
				d.removed[k.class]++
				d.drop(DropCorrupt, k.class, 1)
				if err := bs[k.class].Delete(key); err != nil {
					return err
				}
			}
			clearAll := false
			for _, r := range group {
				if r.clear {
					clearAll = true
				}
				if r.data == nil {
					continue
				}
				d.seq++
				binary.BigEndian.PutUint64(key[:], d.seq)
				if err := bs[r.class].Put(key[:], seal(r.data)); err != nil {
					return err
				}
				d.added[r.class]++
				d.addedBytes += int64(len(r.data))
			}
			if clearAll {
				for c, name := range buckets {
					d.drop(DropCleared, Class(c), int64(stored[c]+d.added[c]-d.removed[c]))
					if err := tx.DeleteBucket(name); err != nil {
						return err
					}
					if _, err := tx.CreateBucket(name); err != nil {
						return err
					}
				}
				d.cleared = true
			} else if err := q.enforceCap(bs, storedBytes+d.addedBytes-d.removedBytes, d); err != nil {
				return err
			}
			q.mu.Lock()
			dirty := q.drops.dirty()
			if dirty || len(d.drops) > 0 {
				snap = q.drops.clone()
				d.ledgerSaved, d.ledgerChanges = true, q.drops.changes
			}
			q.mu.Unlock()
			if !dirty && len(d.drops) == 0 {
				return nil
			}
			now := time.Now()
			for _, e := range d.drops {
				snap.add(e.reason, e.class, e.n, now)
			}
			return snap.save(tx.Bucket(metaBucket))
		})
	})
}

// enforceCap drops the oldest Normal records, then High ones when no
// Normal record is left, until the stored bytes are within the cap.
func (q *Queue) enforceCap(bs [2]*bolt.Bucket, stored int64, d *delta) error {
	over := stored - q.opts.MaxBytes
	for _, c := range []Class{Normal, High} {
		if over <= 0 {
			return nil
		}
		var victims [][]byte
		cur := bs[c].Cursor()
		for k, v := cur.First(); over > 0 && k != nil; k, v = cur.Next() {
			n := int64(max(len(v)-4, 0))
			over -= n
			d.removedBytes += n
			d.removed[c]++
			victims = append(victims, append([]byte(nil), k...))
		}
		for _, k := range victims {
			if err := bs[c].Delete(k); err != nil {
				return err
			}
		}
		d.drop(DropCap, c, int64(len(victims)))
	}
	return nil
}

// apply updates the counters after a successful commit.
func (q *Queue) apply(d *delta, dels []uint64, damaged map[rawKey]struct{}) {
	now := time.Now()
	q.mu.Lock()
	q.seq = d.seq
	for c := range 2 {
		q.pending[c] += d.added[c] - d.removed[c]
	}
	q.bytes += d.addedBytes - d.removedBytes
	if d.cleared {
		q.pending, q.bytes = [2]int{}, 0
	}
	var alarms []error
	for _, e := range d.drops {
		q.drops.count(e.reason, e.class, e.n, now) // in the saved snapshot already
		if e.reason != DropCleared {
			if a := q.loud.note(e.reason, e.n, now, q.path); a != nil {
				alarms = append(alarms, a)
			}
		}
	}
	if d.ledgerSaved {
		q.drops.saved = d.ledgerChanges
	}
	if len(dels) > 0 {
		q.deleting = without(q.deleting, dels)
		for _, id := range dels {
			delete(q.discards, id)
		}
	}
	if len(damaged) > 0 {
		rest := map[rawKey]struct{}{}
		for k := range q.damaged {
			if _, done := damaged[k]; !done {
				rest[k] = struct{}{}
			}
		}
		q.damaged = rest
	}
	q.lastErr = nil
	q.mu.Unlock()
	q.committed.Add(int64(d.added[Normal] + d.added[High]))
	for _, a := range alarms {
		q.opts.OnError(a)
	}
}

// seal prefixes data with its checksum.
func seal(data []byte) []byte {
	out := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(out, crc32.Checksum(data, crcTable))
	copy(out[4:], data)
	return out
}

// unseal verifies a stored value and returns its data.
func unseal(v []byte) ([]byte, bool) {
	if len(v) < 4 {
		return nil, false
	}
	data := v[4:]
	return data, binary.BigEndian.Uint32(v) == crc32.Checksum(data, crcTable)
}
