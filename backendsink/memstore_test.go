package backendsink

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/soliplex/fieldlog/diskqueue"
)

// memStore is an in-memory store for tests: appends are visible at once.
type memStore struct {
	mu       sync.Mutex
	next     uint64
	high     []item
	normal   []item
	lost     map[string]int64              // drops by reason since the store was made
	unrep    map[diskqueue.DropCount]int64 // keyed with N zero
	syncs    int
	appendFn func(data []byte) error // fault injection
	closed   bool
}

func newMemStore() *memStore {
	return &memStore{lost: map[string]int64{}, unrep: map[diskqueue.DropCount]int64{}}
}

func (m *memStore) countLocked(reason string, high bool, n int) {
	c := diskqueue.Normal
	if high {
		c = diskqueue.High
	}
	m.lost[reason] += int64(n)
	m.unrep[diskqueue.DropCount{Reason: reason, Class: c}] += int64(n)
}

func (m *memStore) CountDrop(reason string, high bool, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.countLocked(reason, high, n)
}

func (m *memStore) Discard(reason string, ids []uint64) error {
	m.mu.Lock()
	for _, id := range ids {
		for _, it := range m.high {
			if it.id == id {
				m.countLocked(reason, true, 1)
			}
		}
		for _, it := range m.normal {
			if it.id == id {
				m.countLocked(reason, false, 1)
			}
		}
	}
	m.mu.Unlock()
	return m.Delete(ids)
}

func (m *memStore) Unreported() diskqueue.Unreported {
	m.mu.Lock()
	defer m.mu.Unlock()
	var u diskqueue.Unreported
	for k, n := range m.unrep {
		if n > 0 {
			k.N = n
			u.Counts = append(u.Counts, k)
		}
	}
	slices.SortFunc(u.Counts, func(a, b diskqueue.DropCount) int {
		return cmp.Or(cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Class, b.Class))
	})
	return u
}

func (m *memStore) MarkReported(u diskqueue.Unreported) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range u.Counts {
		k := c
		k.N = 0
		m.unrep[k] = max(m.unrep[k]-c.N, 0)
	}
}

func (m *memStore) Append(_ context.Context, high bool, data []byte) error {
	m.mu.Lock()
	fn := m.appendFn
	m.mu.Unlock()
	if fn != nil {
		if err := fn(data); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("memstore: closed")
	}
	m.next++
	it := item{id: m.next, data: data}
	if high {
		m.high = append(m.high, it)
	} else {
		m.normal = append(m.normal, it)
	}
	return nil
}

func (m *memStore) AppendSync(_ context.Context, high bool, data []byte) error {
	if err := m.Append(context.Background(), high, data); err != nil {
		return err
	}
	m.mu.Lock()
	m.syncs++
	m.mu.Unlock()
	return nil
}

func (m *memStore) Sync(context.Context) error { return nil }

func (m *memStore) Peek(maxCount, maxBytes int) ([]item, error) {
	return m.PeekExcluding(maxCount, maxBytes, nil)
}

func (m *memStore) PeekExcluding(maxCount, maxBytes int, exclude []uint64) ([]item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []item
	size := 0
	for _, list := range [][]item{m.high, m.normal} {
		for _, it := range list {
			if _, skip := slices.BinarySearch(exclude, it.id); skip {
				continue
			}
			if len(out) == maxCount || (len(out) > 0 && size+len(it.data) > maxBytes) {
				return out, nil
			}
			out = append(out, it)
			size += len(it.data)
		}
	}
	return out, nil
}

func (m *memStore) Delete(ids []uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gone := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	del := func(list []item) []item {
		return slices.DeleteFunc(list, func(it item) bool { return gone[it.id] })
	}
	m.high, m.normal = del(m.high), del(m.normal)
	return nil
}

func (m *memStore) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.high) + len(m.normal)
}

func (m *memStore) Lost() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{}
	for k, v := range m.lost {
		out[k] = v
	}
	return out
}

func (m *memStore) Close(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
