package backendsink

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what the sink has done: what a status page shows
// as the connection status.
type Stats struct {
	Written     int64            // records handed to Write and accepted
	Pending     int              // records on disk, not yet confirmed
	Sent        int64            // records sent in requests, retries included
	Requests    int64            // requests made
	Confirmed   int64            // records the server confirmed
	Retries     int64            // times the sink backed off
	Dropped     map[string]int64 // records dropped since the queue was opened, by reason (the Drop constants here and in diskqueue)
	Paused      string           // "", PausedAuth or PausedEndpoint
	LastError   string           // the last failed request, "" after a success
	LastSuccess time.Time        // the last confirmed request
	BackoffTill time.Time        // when the next retry is allowed; zero when not backing off

	// Set by Close.
	DeliveredDuringClose int64 // records confirmed by Close's final upload
	PendingAtClose       int   // records left on disk by Close
}

type statsState struct {
	written, sent, requests, confirmed, retries atomic.Int64

	mu                   sync.Mutex
	paused               string
	lastErr              error
	lastSuccess          time.Time
	backoffUntil         time.Time
	deliveredDuringClose int64
	pendingAtClose       int
}

// Stats returns a snapshot. It may be called at any time, also after
// Close.
func (s *Sink) Stats() Stats {
	out := Stats{
		Written:   s.stats.written.Load(),
		Pending:   s.store.Pending(),
		Sent:      s.stats.sent.Load(),
		Requests:  s.stats.requests.Load(),
		Confirmed: s.stats.confirmed.Load(),
		Retries:   s.stats.retries.Load(),
	}
	out.Dropped = s.store.Lost()
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out.Paused = s.stats.paused
	if s.stats.lastErr != nil {
		out.LastError = s.stats.lastErr.Error()
	}
	out.LastSuccess = s.stats.lastSuccess
	out.BackoffTill = s.stats.backoffUntil
	out.DeliveredDuringClose = s.stats.deliveredDuringClose
	out.PendingAtClose = s.stats.pendingAtClose
	return out
}
