// Package report holds the default error reporter shared by fieldlog's
// components: errors go to a writer (stderr by default), rate-limited so a
// failing sink or backend cannot flood the program's output.
package report

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Burst is how many reports pass in a row before the limiter starts to
// allow one per Interval.
const (
	Burst    = 10
	Interval = time.Second
)

// A Limited writes one line per reported error to an io.Writer, at most Burst
// lines at once and then one per Interval; it counts what it suppresses and
// says so on the next line it writes. It is safe for concurrent use.
type Limited struct {
	prefix string
	w      io.Writer

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

// NewLimited returns a reporter that writes to w (os.Stderr when nil), each
// line starting with prefix.
func NewLimited(prefix string, w io.Writer) *Limited {
	if w == nil {
		w = os.Stderr
	}
	return &Limited{prefix: prefix, w: w, tokens: Burst}
}

// Report writes err unless the rate limit is exhausted, in which case it
// counts it.
func (l *Limited) Report(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens = min(Burst, l.tokens+float64(now.Sub(l.last))/float64(Interval))
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return
	}
	l.tokens--
	if l.suppressed > 0 {
		fmt.Fprintf(l.w, "%s%v (%d similar reports suppressed)\n", l.prefix, err, l.suppressed)
		l.suppressed = 0
		return
	}
	fmt.Fprintf(l.w, "%s%v\n", l.prefix, err)
}
