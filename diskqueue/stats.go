package diskqueue

import "time"

// Stats is a snapshot of a Queue's counters.
type Stats struct {
	Appended      int64            // records accepted by Append, AppendWait and AppendSync
	Committed     int64            // records committed to disk, in append order
	Pending       int              // records stored and not deleted
	PendingHigh   int              // of which High class
	Bytes         int64            // data bytes stored
	Buffered      int              // records waiting for the writer
	Dropped       map[string]int64 // by reason, since Open
	DroppedHigh   map[string]int64 // of Dropped, the High class records
	DroppedTotal  map[string]int64 // by reason, over the queue file's life
	Unreported    int64            // drops not yet reported to the server (see Unreported)
	Commits       int64            // transactions committed or failed
	CommitLatency time.Duration    // mean time of a commit, fsync included
	LastCommit    time.Duration    // time of the latest commit
	LastError     string           // the last failed commit; "" once one succeeds
	Quarantined   string           // where Open moved a damaged file; "" if it did not
}

// Stats returns a snapshot of the counters.
func (q *Queue) Stats() Stats {
	s := Stats{
		Appended:    q.appended.Load(),
		Committed:   q.committed.Load(),
		Buffered:    len(q.reqs),
		Commits:     q.commits.Load(),
		LastCommit:  time.Duration(q.lastCommitDur.Load()),
		Quarantined: q.quarantined,
		DroppedHigh: map[string]int64{},
	}
	if s.Commits > 0 {
		s.CommitLatency = time.Duration(q.commitNanos.Load() / s.Commits)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s.Pending = max(q.pending[0]+q.pending[1]-len(q.deleting), 0)
	s.PendingHigh = q.pending[High]
	s.Bytes = q.bytes
	s.Dropped = byReason(q.drops.sinceOpen)
	s.DroppedTotal = byReason(q.drops.total)
	for k, n := range q.drops.sinceOpen {
		if k.class == High && n > 0 {
			s.DroppedHigh[k.reason] += n
		}
	}
	s.Unreported = q.drops.pending().Total()
	if q.lastErr != nil {
		s.LastError = q.lastErr.Error()
	}
	return s
}

// Pending returns the number of committed records not yet deleted.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return max(q.pending[0]+q.pending[1]-len(q.deleting), 0)
}

// Lost returns how many records the queue dropped since it was opened, by
// reason (the Drop constants, and reasons given to CountDrop and Discard).
func (q *Queue) Lost() map[string]int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return byReason(q.drops.sinceOpen)
}

// Unreported returns the drops, over the file's life, that nobody has yet
// marked reported: what a sink ships in a "records dropped" entry.
func (q *Queue) Unreported() Unreported {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.drops.pending()
}

// MarkReported takes u, as Unreported returned it, off the unreported
// drops: call it once the server has confirmed the entry that reported
// them. Drops counted since u was taken stay unreported. The change
// reaches the file with the next commit; a crash before that reports
// them again, never not at all.
func (q *Queue) MarkReported(u Unreported) {
	if len(u.Counts) == 0 {
		return
	}
	q.mu.Lock()
	q.drops.markReported(u)
	q.mu.Unlock()
	if !q.readOnly {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}
