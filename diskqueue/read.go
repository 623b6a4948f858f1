package diskqueue

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Peek returns the oldest committed records, High class first, at most
// maxCount of them and at most maxBytes of data, but always at least one
// when any is stored. It removes nothing. A damaged record (its checksum
// fails) is skipped and counted as DropCorrupt; the writer deletes it with
// its next commit (a read-only queue leaves it in the file).
func (q *Queue) Peek(maxCount, maxBytes int) ([]Item, error) {
	return q.PeekExcluding(maxCount, maxBytes, nil)
}

// PeekExcluding is Peek that also skips the records whose ids are in
// exclude, a sorted list: the batches already in flight, say, so that
// several uploads can run at once without sending a record twice.
func (q *Queue) PeekExcluding(maxCount, maxBytes int, exclude []uint64) ([]Item, error) {
	if q.isClosed() {
		return nil, ErrClosed
	}
	if maxCount <= 0 {
		return nil, nil
	}
	q.mu.Lock()
	skip := q.deleting // immutable: replaced, never changed in place
	known := q.damaged // likewise
	q.mu.Unlock()
	if len(exclude) > 0 {
		skip = merged(skip, exclude)
	}
	var items []Item
	var bad [2][]uint64
	var badKeys []rawKey
	err := guard(func() error {
		return q.db.View(func(tx *bolt.Tx) error {
			size := 0
			for _, c := range []Class{High, Normal} {
				b := tx.Bucket(buckets[c])
				if b == nil {
					continue
				}
				cur := b.Cursor()
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
							if len(k) == 8 && isIn(skip, binary.BigEndian.Uint64(k)) {
								// Another run follows at once: go round
								// again from the key before it.
								cur.Prev()
								continue
							}
						}
					}
					if len(k) != 8 {
						// Not an id: a damaged key. A nil value is a nested
						// bucket, which the queue never writes and bbolt
						// does not hold as a record either.
						if _, seen := known[rawKey{c, string(k)}]; !seen && v != nil {
							badKeys = append(badKeys, rawKey{c, string(k)})
						}
						continue
					}
					data, ok := unseal(v)
					if !ok {
						bad[c] = append(bad[c], binary.BigEndian.Uint64(k))
						continue
					}
					if len(items) > 0 && size+len(data) > maxBytes {
						return nil
					}
					items = append(items, Item{ID: binary.BigEndian.Uint64(k), Class: c, Data: slices.Clone(data)})
					size += len(data)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("diskqueue: read %s: %w", q.path, err)
	}
	if n := len(bad[Normal]) + len(bad[High]) + len(badKeys); n > 0 {
		q.skipDamaged(bad, badKeys)
	}
	return items, nil
}

// isIn reports whether id is in the sorted list.
func isIn(sorted []uint64, id uint64) bool {
	_, found := slices.BinarySearch(sorted, id)
	return found
}

// A rawKey is a stored entry of a class whose key is not an id: damage
// to its page changed the key's length.
type rawKey struct {
	class Class
	key   string
}

// skipDamaged counts damaged records once and hands them to the writer
// for deletion: those with an id through Discard, those whose key is
// damaged by that key.
func (q *Queue) skipDamaged(bad [2][]uint64, badKeys []rawKey) {
	n := q.skipDamagedKeys(badKeys)
	if q.readOnly {
		// Nothing may be deleted: count each one once.
		q.mu.Lock()
		if q.discards == nil {
			q.discards = map[uint64]string{}
		}
		var fresh [2]int
		for c, ids := range bad {
			for _, id := range ids {
				if _, seen := q.discards[id]; !seen {
					q.discards[id] = DropCorrupt
					fresh[c]++
				}
			}
		}
		q.mu.Unlock()
		for c, k := range fresh {
			q.CountDrop(DropCorrupt, Class(c), k)
			n += k
		}
	} else {
		for _, ids := range bad {
			n += len(ids)
			_ = q.Discard(DropCorrupt, ids...)
		}
	}
	if n > 0 {
		q.opts.OnError(fmt.Errorf("diskqueue: skipped %d damaged record(s) in %s", n, q.path))
	}
}

// skipDamagedKeys notes entries with damaged keys, each once, and returns
// how many were new. A read-only queue counts them at once as DropCorrupt
// and keeps them noted, so that they are counted once however often they
// are read; otherwise the writer deletes them with its next commit and
// counts them in the same transaction.
func (q *Queue) skipDamagedKeys(keys []rawKey) int {
	if len(keys) == 0 {
		return 0
	}
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	if q.closed {
		return 0
	}
	var fresh [2]int
	q.mu.Lock()
	next := maps.Clone(q.damaged)
	if next == nil {
		next = map[rawKey]struct{}{}
	}
	for _, k := range keys {
		if _, seen := next[k]; !seen {
			next[k] = struct{}{}
			fresh[k.class]++
		}
	}
	q.damaged = next
	q.mu.Unlock()
	if q.readOnly {
		for c, k := range fresh {
			q.CountDrop(DropCorrupt, Class(c), k)
		}
	} else {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return fresh[Normal] + fresh[High]
}

// Delete removes the records with these ids, from either class: at once
// from what Peek returns, and from disk with the writer's next group
// commit, so confirming a batch costs no fsync of its own (a crash before
// that commit only means the batch is sent again). Ids that are not stored
// are ignored. Use Sync to wait until the deletion is durable.
func (q *Queue) Delete(ids ...uint64) error {
	return q.remove("", ids)
}

// Discard is Delete for records that will not be delivered: each one
// still stored when the deletion commits is counted as dropped for
// reason, in the same transaction, so that it is never both gone and
// uncounted.
func (q *Queue) Discard(reason string, ids ...uint64) error {
	if reason == "" {
		return fmt.Errorf("diskqueue: discard: no reason given")
	}
	return q.remove(reason, ids)
}

func (q *Queue) remove(reason string, ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	switch {
	case q.closed:
		return ErrClosed
	case q.readOnly:
		return ErrReadOnly
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	q.mu.Lock()
	q.deleting = merged(q.deleting, ids)
	if reason != "" {
		for _, id := range ids {
			q.discards[id] = reason
		}
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

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

// Clear removes every stored record, counting them as DropCleared, and
// returns once that is committed. Records appended after it are kept.
func (q *Queue) Clear() error {
	q.closeMu.RLock()
	ro := q.readOnly
	q.closeMu.RUnlock()
	if ro {
		return ErrReadOnly
	}
	done := make(chan error, 1)
	q.closeMu.RLock()
	if q.closed {
		q.closeMu.RUnlock()
		return ErrClosed
	}
	q.reqs <- request{clear: true, done: done}
	q.closeMu.RUnlock()
	if err := <-done; err != nil {
		return fmt.Errorf("diskqueue: clear: %w", err)
	}
	return nil
}
