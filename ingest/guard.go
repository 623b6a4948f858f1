package ingest

import (
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// guard bounds what reading bodies costs the whole server: how many are
// read at once and how many of their bytes are in memory. Neither waits:
// a request over a bound is answered 503 at once, which clients take as
// "back off and retry".
type guard struct {
	maxReads int64
	maxBytes int64

	mu    sync.Mutex
	reads int64
	bytes int64
}

// startRead takes a read slot and n bytes of the budget, or nothing.
func (g *guard) startRead(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reads >= g.maxReads || g.bytes+n > g.maxBytes {
		return false
	}
	g.reads++
	g.bytes += n
	return true
}

// endRead gives the read slot back; the bytes stay taken until release.
func (g *guard) endRead() {
	g.mu.Lock()
	g.reads--
	g.mu.Unlock()
}

func (g *guard) release(n int64) {
	g.mu.Lock()
	g.bytes -= n
	g.mu.Unlock()
}

// deadline sets how long reading the request may take and, after it,
// writing the answer. A ResponseWriter that cannot (a test recorder) is
// left alone.
func deadline(w http.ResponseWriter, read time.Duration) {
	rc := http.NewResponseController(w)
	now := time.Now()
	_ = rc.SetReadDeadline(now.Add(read))
	_ = rc.SetWriteDeadline(now.Add(read + responseTimeout))
}

// timedOut reports whether a read failed at its deadline.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// connLimiter keeps the number of open connections at most max: when one
// more arrives it closes the connection that has been idle longest, or,
// when none is idle, the new one. Idle keep-alive connections cannot pile
// up past the descriptors the process has.
type connLimiter struct {
	max int

	mu   sync.Mutex
	open int
	idle map[connKey]time.Time
}

// connKey identifies a connection in the idle set.
type connKey struct{ c net.Conn }

func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch state {
	case http.StateNew:
		l.open++
		if l.open <= l.max {
			return
		}
		var oldest connKey
		var since time.Time
		for k, t := range l.idle {
			if oldest.c == nil || t.Before(since) {
				oldest, since = k, t
			}
		}
		if oldest.c == nil {
			_ = c.Close() // its StateClosed follows
			return
		}
		delete(l.idle, oldest)
		_ = oldest.c.Close()
	case http.StateIdle:
		l.idle[connKey{c}] = time.Now()
	case http.StateActive:
		delete(l.idle, connKey{c})
	case http.StateClosed, http.StateHijacked:
		delete(l.idle, connKey{c})
		l.open--
	}
}
