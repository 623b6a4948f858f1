package diskqueue

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Drop reasons, as in Stats.Dropped, Queue.Lost and Unreported.
const (
	DropBufferFull = "buffer_full" // Append found the buffer full
	DropCap        = "queue_cap"   // evicted to keep the queue under its cap
	DropCorrupt    = "corrupt"     // a stored record failed its checksum, or its key was damaged
	DropDiskError  = "disk_error"  // its group commit failed every retry
	DropCleared    = "cleared"     // removed by Clear
)

// A DropCount is how many records of one class were dropped for one
// reason.
type DropCount struct {
	Reason string
	Class  Class
	N      int64
}

// Unreported is what the queue dropped and nobody has yet reported to the
// ingest server: counts by reason and class, kept in the queue file across
// restarts until MarkReported says they were delivered.
type Unreported struct {
	Counts []DropCount // sorted by reason, then class; every N > 0
	From   time.Time   // when the first of these drops happened
	To     time.Time   // when the last of them happened
}

// Total returns the number of records in u.
func (u Unreported) Total() int64 {
	var n int64
	for _, c := range u.Counts {
		n += c.N
	}
	return n
}

type dropKey struct {
	reason string
	class  Class
}

// ledger is the drop arithmetic of a queue: what was dropped since Open,
// over the file's life, and what has not been reported yet, by reason and
// class, with the period of the unreported drops. It is not safe for
// concurrent use; the Queue guards it.
type ledger struct {
	sinceOpen  map[dropKey]int64
	total      map[dropKey]int64
	unreported map[dropKey]int64
	from, to   time.Time
	// changes counts add and markReported calls; saved is the value it had
	// when the ledger last reached the file.
	changes, saved uint64
}

// dirty reports whether the ledger changed since it last reached the file.
func (l *ledger) dirty() bool { return l.changes != l.saved }

func newLedger() ledger {
	return ledger{sinceOpen: map[dropKey]int64{}, total: map[dropKey]int64{}, unreported: map[dropKey]int64{}}
}

// add counts n records of class c dropped for reason at now.
func (l *ledger) add(reason string, c Class, n int64, now time.Time) {
	if n > 0 {
		l.count(reason, c, n, now)
		l.changes++
	}
}

// count is add for drops that are already in the file: it does not make
// the ledger dirty.
func (l *ledger) count(reason string, c Class, n int64, now time.Time) {
	if n <= 0 {
		return
	}
	k := dropKey{reason, c & 1}
	l.sinceOpen[k] += n
	l.total[k] += n
	l.unreported[k] += n
	if l.from.IsZero() || now.Before(l.from) {
		l.from = now
	}
	if now.After(l.to) {
		l.to = now
	}
}

// pending returns the unreported drops.
func (l *ledger) pending() Unreported {
	u := Unreported{From: l.from, To: l.to}
	for k, n := range l.unreported {
		if n > 0 {
			u.Counts = append(u.Counts, DropCount{Reason: k.reason, Class: k.class, N: n})
		}
	}
	slices.SortFunc(u.Counts, func(a, b DropCount) int {
		return cmp.Or(strings.Compare(a.Reason, b.Reason), cmp.Compare(a.Class, b.Class))
	})
	if len(u.Counts) == 0 {
		return Unreported{}
	}
	return u
}

// markReported takes what u lists off the unreported counts. Drops counted
// after u was taken stay unreported; their period starts where u's ended.
func (l *ledger) markReported(u Unreported) {
	if len(u.Counts) == 0 {
		return
	}
	left := false
	for _, c := range u.Counts {
		k := dropKey{c.Reason, c.Class & 1}
		l.unreported[k] = max(l.unreported[k]-c.N, 0)
	}
	for _, n := range l.unreported {
		left = left || n > 0
	}
	if left {
		if u.To.After(l.from) {
			l.from = u.To
		}
	} else {
		l.from, l.to = time.Time{}, time.Time{}
	}
	l.changes++
}

func byReason(m map[dropKey]int64) map[string]int64 {
	out := map[string]int64{}
	for k, n := range m {
		if n > 0 {
			out[k.reason] += n
		}
	}
	return out
}

// clone returns a copy that shares nothing with l.
func (l *ledger) clone() ledger {
	return ledger{
		sinceOpen:  maps.Clone(l.sinceOpen),
		total:      maps.Clone(l.total),
		unreported: maps.Clone(l.unreported),
		from:       l.from,
		to:         l.to,
	}
}

// A dropEvent is n records of one class dropped for one reason.
type dropEvent struct {
	reason string
	class  Class
	n      int64
}

// The ledger's keys in the meta bucket: counts are 8-byte big-endian
// under "drops/total/<class>/<reason>" and "drops/unreported/<class>/<reason>";
// the period is two Unix nanosecond times under "drops/period". Files
// written before classes were kept have "dropped/<reason>" totals, read as
// Normal and rewritten.
const (
	totalPrefix      = "drops/total/"
	unreportedPrefix = "drops/unreported/"
	periodKey        = "drops/period"
	legacyPrefix     = "dropped/"
)

func ledgerKey(prefix string, k dropKey) []byte {
	return fmt.Appendf(nil, "%s%d/%s", prefix, k.class, k.reason)
}

func parseLedgerKey(rest string) (dropKey, bool) {
	c, reason, ok := strings.Cut(rest, "/")
	if !ok || (c != "0" && c != "1") || reason == "" {
		return dropKey{}, false
	}
	return dropKey{reason, Class(c[0] - '0')}, true
}

// save writes l into the meta bucket.
func (l *ledger) save(b *bolt.Bucket) error {
	var legacy [][]byte
	c := b.Cursor()
	for k, _ := c.Seek([]byte(legacyPrefix)); k != nil && strings.HasPrefix(string(k), legacyPrefix); k, _ = c.Next() {
		legacy = append(legacy, append([]byte(nil), k...))
	}
	for _, k := range legacy {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	// bbolt keeps the slices it is given until the commit: each value
	// gets its own.
	for _, m := range []struct {
		prefix string
		counts map[dropKey]int64
	}{{totalPrefix, l.total}, {unreportedPrefix, l.unreported}} {
		for k, n := range m.counts {
			if err := b.Put(ledgerKey(m.prefix, k), binary.BigEndian.AppendUint64(nil, uint64(n))); err != nil {
				return err
			}
		}
	}
	period := binary.BigEndian.AppendUint64(nil, uint64(unixNano(l.from)))
	period = binary.BigEndian.AppendUint64(period, uint64(unixNano(l.to)))
	return b.Put([]byte(periodKey), period)
}

// load reads a ledger saved in the meta bucket b (nil: an empty ledger).
func loadLedger(b *bolt.Bucket) ledger {
	l := newLedger()
	if b == nil {
		return l
	}
	_ = b.ForEach(func(k, v []byte) error {
		key := string(k)
		switch {
		case key == periodKey && len(v) == 16:
			l.from = fromUnixNano(int64(binary.BigEndian.Uint64(v[:8])))
			l.to = fromUnixNano(int64(binary.BigEndian.Uint64(v[8:])))
		case len(v) != 8:
		case strings.HasPrefix(key, totalPrefix):
			if dk, ok := parseLedgerKey(key[len(totalPrefix):]); ok {
				l.total[dk] += int64(binary.BigEndian.Uint64(v))
			}
		case strings.HasPrefix(key, unreportedPrefix):
			if dk, ok := parseLedgerKey(key[len(unreportedPrefix):]); ok {
				l.unreported[dk] += int64(binary.BigEndian.Uint64(v))
			}
		case strings.HasPrefix(key, legacyPrefix):
			l.total[dropKey{key[len(legacyPrefix):], Normal}] += int64(binary.BigEndian.Uint64(v))
			l.changes++ // rewrite in the current form
		}
		return nil
	})
	return l
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// dropAlarmInterval is the least time between two reports of drops after
// the first one of a run.
const dropAlarmInterval = time.Minute

// dropAlarm makes drops loud without flooding: the first drop of a run is
// reported at once, later ones at most once per dropAlarmInterval, with
// the counts since the last report.
type dropAlarm struct {
	last   time.Time
	counts map[string]int64
}

// note counts n drops for reason and returns the report to make now, if
// any.
func (a *dropAlarm) note(reason string, n int64, now time.Time, path string) error {
	if a.counts == nil {
		a.counts = map[string]int64{}
	}
	a.counts[reason] += n
	first := a.last.IsZero()
	if !first && now.Sub(a.last) < dropAlarmInterval {
		return nil
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(a.counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", a.counts[r], r))
	}
	clear(a.counts)
	a.last = now
	what := "dropped records"
	if first {
		what = "started dropping records"
	}
	return fmt.Errorf("diskqueue: %s %s (%s); they are counted and reported to the server", path, what, strings.Join(parts, ", "))
}
