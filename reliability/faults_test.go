//go:build unix

package reliability_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Poison records: the fault injector answers every request that carries
// one of these markers with the same refusal, for good.
const (
	poison500 = "poison-500" // 500: the poison pill the sink isolates and drops
	poison422 = "poison-422" // 422: rejected data, bisected and dropped
	poison413 = "poison-413" // 413: too large even alone, dropped
)

// altPrefix and movedPrefix are paths the injector serves besides the
// ingest server's own: altPrefix+LogsPath is a second endpoint (the sink
// is moved there when a redirect paused it), movedPrefix is where
// redirects point, which the sink must never request.
const (
	altPrefix   = "/alt"
	movedPrefix = "/moved"
)

// A fault is what the injector does to one request.
type fault string

const (
	pass          fault = ""
	fault500      fault = "500"
	fault503      fault = "503"
	fault502      fault = "502"
	fault504      fault = "504"
	faultDrop     fault = "connection dropped before the answer"
	faultAckLost  fault = "accepted, then connection dropped (answer lost)"
	fault429      fault = "429, Retry-After: 1"
	fault429Date  fault = "429, Retry-After: HTTP date"
	faultRedirect fault = "redirect (301/302/307/308)"
	faultStall    fault = "short stall, then answer"
	faultHang     fault = "stall before reading (client times out)"
	faultHangAck  fault = "accepted, answer held (client times out)"
	faultPortal   fault = "200 without acknowledgement (captive portal)"
)

// faultMix is the share of requests each fault gets, in the order drawn,
// times faultRate.
var faultMix = []struct {
	f fault
	p float64
}{
	{fault500, 0.03}, {fault503, 0.015}, {fault502, 0.005}, {fault504, 0.005},
	{faultDrop, 0.02}, {faultAckLost, 0.01},
	{fault429, 0.007}, {fault429Date, 0.003},
	{faultRedirect, 0.005},
	{faultStall, 0.01}, {faultHang, 0.005}, {faultHangAck, 0.005},
	{faultPortal, 0.005},
}

// An injector wraps the ingest server: the first requests get each fault
// once (every other request), later ones at random by faultMix, and the
// poison records their refusals. Its randomness is seeded.
type injector struct {
	next http.Handler

	mu        sync.Mutex
	rng       *rand.Rand
	requests  int
	counts    map[string]int
	redirects int
}

func newInjector(next http.Handler, seed uint64) *injector {
	return &injector{next: next, rng: rand.New(rand.NewPCG(seed, 3)), counts: map[string]int{}}
}

// pick chooses the fault for the next request.
func (in *injector) pick() fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.requests++
	if n := in.requests; n%2 == 0 && n/2 <= len(faultMix) {
		return faultMix[n/2-1].f
	}
	x := in.rng.Float64() / faultRate
	for _, m := range faultMix {
		if x < m.p {
			return m.f
		}
		x -= m.p
	}
	return pass
}

func (in *injector) count(what string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counts[what]++
}

// snapshot returns the number of times each fault and refusal was served.
func (in *injector) snapshot() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]int, len(in.counts))
	for k, v := range in.counts {
		out[k] = v
	}
	return out
}

func (in *injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, movedPrefix) {
		in.count("redirect followed")
		http.Error(w, "redirects must not be followed", http.StatusGone)
		return
	}
	r.URL.Path = strings.TrimPrefix(r.URL.Path, altPrefix)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2<<20))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f := in.pick()
	if f != pass {
		in.count(string(f))
	}
	switch f {
	case fault500, fault503, fault502, fault504:
		code := map[fault]int{fault500: 500, fault503: 503, fault502: 502, fault504: 504}[f]
		http.Error(w, `{"detail":"injected"}`, code)
		return
	case faultDrop:
		resetConn(w)
		return
	case faultAckLost:
		in.forward(httptest.NewRecorder(), r, body)
		resetConn(w)
		return
	case fault429:
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"detail":"slow down"}`, http.StatusTooManyRequests)
		return
	case fault429Date:
		w.Header().Set("Retry-After", time.Now().Add(time.Second).UTC().Format(http.TimeFormat))
		http.Error(w, `{"detail":"slow down"}`, http.StatusTooManyRequests)
		return
	case faultRedirect:
		in.mu.Lock()
		code := []int{301, 302, 307, 308}[in.redirects%4]
		in.redirects++
		in.mu.Unlock()
		w.Header().Set("Location", movedPrefix+r.URL.Path)
		w.WriteHeader(code)
		return
	case faultStall:
		if !wait(r, shortStall) {
			return
		}
	case faultHang:
		if !wait(r, stallFor) {
			return // the client gave up: nothing was accepted
		}
	case faultHangAck:
		rec := httptest.NewRecorder()
		in.forward(rec, r, body)
		wait(r, stallFor)
		copyAnswer(w, rec)
		return
	case faultPortal:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Sign in to the network</body></html>"))
		return
	}
	in.forward(w, r, body)
}

// forward hands the request to the ingest server, unless it carries a
// poison record: then it refuses it.
func (in *injector) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case bytes.Contains(body, []byte(poison500)):
		in.count("poison record: 500")
		http.Error(w, `{"detail":"internal error"}`, http.StatusInternalServerError)
	case bytes.Contains(body, []byte(poison422)):
		in.count("poison record: 422")
		http.Error(w, `{"detail":"unprocessable"}`, http.StatusUnprocessableEntity)
	case bytes.Contains(body, []byte(poison413)):
		in.count("poison record: 413")
		http.Error(w, `{"detail":"too large"}`, http.StatusRequestEntityTooLarge)
	default:
		in.next.ServeHTTP(w, r)
	}
}

// wait holds the request for d, or until its client goes away; it
// reports whether the client is still there.
func wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// resetConn closes the request's connection with a reset, without an
// answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func copyAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
