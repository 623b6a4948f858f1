package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/ingest"
)

// How delivery ended.
type endKind int

const (
	endDone        endKind = iota // the queue is empty
	endTimeout                    // --timeout passed; msg says what was in the way
	endStopped                    // a permanent answer; msg says what to fix
	endInterrupted                // a signal; sig says which
	endFailed                     // the queue failed; msg says how
)

type delivery struct {
	kind endKind
	msg  string
	sig  os.Signal
}

// pollInterval is how often delivery asks the sink for progress and
// redraws the status line.
const pollInterval = 200 * time.Millisecond

// deliver flushes until the queue is empty, a permanent answer stops it,
// the timeout passes or ctx ends, showing progress and trouble on d.
func deliver(ctx context.Context, p *pipeline, f *shipFlags, d *display) delivery {
	deadline := time.Now().Add(f.timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	st := p.sink.Stats()
	base := st.Confirmed
	total := int64(st.Pending)
	var trouble string
	for {
		err := p.sink.Flush(dctx)
		st = p.sink.Stats()
		total = max(total, st.Confirmed-base+int64(st.Pending))
		if sig, ok := interrupted(ctx); ok {
			d.done()
			return delivery{kind: endInterrupted, sig: sig}
		}
		switch {
		case err == nil && st.Pending == 0:
			d.delivered(st.Confirmed-base, total)
			d.done()
			return delivery{kind: endDone}
		case dctx.Err() != nil:
			// the timeout passed during the upload: not progress, not trouble
		case errors.Is(err, backendsink.ErrPaused):
			d.done()
			return delivery{kind: endStopped, msg: permanent(err, f)}
		case errors.Is(err, backendsink.ErrBackoff):
			key, text := transient(err)
			trouble = text
			d.status(key, fmt.Sprintf("%s, retrying in %s — %s queued", text, retryIn(st.BackoffTill), num(st.Pending)))
		case err == nil:
			d.delivered(st.Confirmed-base, total)
		default:
			d.done()
			return delivery{kind: endFailed, msg: "reading the queue failed: " + describe(err)}
		}
		if !time.Now().Before(deadline) {
			d.done()
			return delivery{kind: endTimeout, msg: trouble}
		}
		t := time.NewTimer(min(pollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// retryIn writes how long until t, rounded up to whole seconds past one.
func retryIn(t time.Time) string {
	d := time.Until(t)
	switch {
	case d <= 0:
		return "a moment"
	case d < time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d s", int((d+time.Second-1)/time.Second))
}

// transient describes trouble the sink retries: a key that changes only
// when the kind of trouble does, and the text.
func transient(err error) (key, text string) {
	var se *backendsink.StatusError
	if errors.As(err, &se) {
		status := fmt.Sprintf("%d %s", se.Code, http.StatusText(se.Code))
		switch {
		case se.Code == http.StatusTooManyRequests:
			return status, "the server is rate limiting (" + status + ")"
		case se.Code == http.StatusBadGateway || se.Code == http.StatusServiceUnavailable || se.Code == http.StatusGatewayTimeout:
			return status, "the server is unavailable (" + status + ")"
		case se.Code >= 200 && se.Code < 300:
			return status, "the server answered " + status + " without acknowledging the records (a proxy or captive portal?)"
		}
		return status, "the server answered " + status
	}
	cause := netCause(err)
	return cause, "server unreachable (" + cause + ")"
}

// netCause names why a request got no answer.
func netCause(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host " + dns.Name
	case errors.As(err, &dns):
		return "DNS lookup of " + dns.Name + " failed"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection closed without an answer"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return describe(ue.Err)
	}
	var stop interface{ Unwrap() error }
	if errors.As(err, &stop) && stop.Unwrap() != nil {
		return describe(stop.Unwrap())
	}
	return describe(err)
}

// permanent turns a pause (an answer the sink will not retry as it is)
// into what to fix.
func permanent(err error, f *shipFlags) string {
	var se *backendsink.StatusError
	if !errors.As(err, &se) {
		return "export paused: " + describe(err)
	}
	status := fmt.Sprintf("%d %s", se.Code, http.StatusText(se.Code))
	switch {
	case se.Code == http.StatusUnauthorized && f.token == "":
		return "the ingest server requires a token (" + status + "): pass --token"
	case se.Code == http.StatusUnauthorized:
		return "the ingest server rejected the token (" + status + "): check --token"
	case se.Code == http.StatusForbidden:
		return "the ingest server refused the token (" + status + "): check --token and what it is allowed to do"
	case se.Code == http.StatusNotFound:
		return "the ingest server has no ingest endpoint at " + f.endpoint + " (" + status + "): check the --endpoint path (usually " + ingest.LogsPath + ")"
	case se.Code >= 300 && se.Code < 400 && se.Location != "":
		loc := se.Location
		if base, err := url.Parse(f.endpoint); err == nil {
			if u, err := base.Parse(loc); err == nil {
				loc = u.String()
			}
		}
		return "the ingest server answered " + status + ", moved to " + loc + "; uploads never follow redirects: use --endpoint " + loc
	case se.Code >= 300 && se.Code < 400:
		return "the ingest server answered " + status + " without saying where to: check --endpoint"
	}
	return "the ingest server answered " + status + ": check --endpoint and --token"
}
