package rum

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/logrecord"
)

// Transport returns a RoundTripper that measures each call made through
// base (http.DefaultTransport when nil), from the request until the
// response headers arrive; reading the body is the caller's time.
//
// Calls are counted per host and method. A call that fails — a transport
// error (classed as timeout, refused, dns, tls, reset or other) or a 5xx
// answer — or that takes SlowCall or longer is logged at warning (metric
// http.client.request) with the method, host, path without its query,
// status, error class and the error, at most Options.Warnings per host per
// summary window. A call canceled by its caller is counted, not warned
// about. When debug is enabled for the "http.client" logger every other
// call is logged at debug. Records carry the breadcrumb category
// "network".
//
// Requests made by fieldlog itself (see backendsink.IsOwnRequest) pass
// through unmeasured, so shipping logs never makes more logs to ship.
func (m *Monitor) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if m == nil {
		return base
	}
	return &transport{m: m, base: base}
}

type transport struct {
	m    *Monitor
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.m.closed.Load() || ownreq.Is(req.Context()) {
		return t.base.RoundTrip(req)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	t.m.finishCall(req, resp, err, time.Since(start))
	return resp, err
}

// CloseIdleConnections closes the idle connections of the wrapped
// transport, for http.Client.CloseIdleConnections.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (m *Monitor) finishCall(req *http.Request, resp *http.Response, err error, d time.Duration) {
	class := classNone
	status := 0
	if err != nil {
		class = classify(req.Context(), err)
	} else if resp != nil {
		status = resp.StatusCode
	}
	s := m.hosts.get(seriesKey{method: methodName(req.Method), name: req.URL.Host})
	s.observe(d)
	if class != classNone {
		s.classes[class].Add(1)
	}
	if status >= 500 {
		s.status5xx.Add(1)
	}
	slow := d >= m.opts.SlowCall
	if slow {
		s.slow.Add(1)
	}
	failed := (class != classNone && class != classCanceled) || status >= 500
	level, ok := s.levelFor(slow || failed, m.opts.Warnings, m.clientLog)
	if !ok {
		return
	}
	msg := "call"
	switch {
	case failed:
		msg = "call failed"
	case slow:
		msg = "slow call"
	}
	args := []any{
		"metric", metricClientRequest,
		"ms", millis(d),
		"method", req.Method,
		"host", req.URL.Host,
		"path", req.URL.Path,
	}
	if status != 0 {
		args = append(args, "status", status)
	}
	if class != classNone {
		args = append(args, "error_class", classNames[class])
	}
	args = append(args, logrecord.CategoryKey, logrecord.CategoryNetwork)
	m.clientLog.Log(req.Context(), level, msg, err, args...)
}

// classify returns the error class of a call that failed with err. When
// the call's deadline has passed or its caller canceled it, that is the
// cause, whatever the transport made of it: http.Client reports its
// Timeout to a wrapped transport as a plain "request canceled", sometimes
// before the context's own timer has fired.
func classify(ctx context.Context, err error) int {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	deadline, hasDeadline := ctx.Deadline()
	switch {
	case hasDeadline && !time.Now().Before(deadline), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return classTimeout
	case ctx.Err() != nil:
		return classCanceled
	case errors.As(err, &dnsErr):
		return classDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return classRefused
	case isTLS(err):
		return classTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return classReset
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return classTimeout
	case errors.Is(err, context.Canceled):
		return classCanceled
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// A TLS alert from the peer; crypto/tls does not export its type.
		return classTLS
	}
	return classOther
}

// isTLS reports whether err comes from the TLS handshake or record layer.
func isTLS(err error) bool {
	var (
		recordErr    tls.RecordHeaderError
		verifyErr    *tls.CertificateVerificationError
		alertErr     tls.AlertError
		echErr       *tls.ECHRejectionError
		authorityErr x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidErr   x509.CertificateInvalidError
	)
	return errors.As(err, &recordErr) || errors.As(err, &verifyErr) || errors.As(err, &alertErr) ||
		errors.As(err, &echErr) || errors.As(err, &authorityErr) || errors.As(err, &hostnameErr) ||
		errors.As(err, &invalidErr)
}
