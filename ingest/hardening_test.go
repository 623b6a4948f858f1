package ingest_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// live serves a Server through its HTTPServer on a 127.0.0.1 listener,
// with token "secret" and a memory exporter unless opts says otherwise.
type live struct {
	addr string
	s    *ingest.Server
	exp  *ingest.MemoryExporter
}

func startLive(t *testing.T, opts ingest.ServerOptions) *live {
	t.Helper()
	l := &live{exp: &ingest.MemoryExporter{}}
	if opts.Exporter == nil {
		opts.Exporter = l.exp
	}
	if opts.Verifier == nil && !opts.AllowAnonymous {
		opts.Verifier = ingest.BearerToken("secret")
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond, opts.RateBurst = 1e9, 1e9
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {} // dropped connections are expected here
	}
	s, err := ingest.NewServer(opts)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := s.HTTPServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	l.addr, l.s = ln.Addr().String(), s
	return l
}

// client returns a client that keeps no idle connections, so each test
// counts only the connections it means to open.
func (l *live) client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
}

func (l *live) post(t *testing.T, path string, body []byte, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+l.addr+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := l.client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(out)
}

func (l *live) get(t *testing.T, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+l.addr+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := l.client().Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// slowRequest opens a connection and sends a request's headers and the
// first bytes of a body of the given length, and no more.
func slowRequest(t *testing.T, addr, path, token string, length int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, addr, length)
	if token != "" {
		fmt.Fprintf(&head, "Authorization: Bearer %s\r\n", token)
	}
	head.WriteString("\r\n{\"logs\":")
	_, err = io.WriteString(c, head.String())
	require.NoError(t, err)
	return c
}

// answer reads the response on c and then waits for the server to close
// the connection, for at most within; it returns the status and how long
// the close took.
func answer(t *testing.T, c net.Conn, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(within)))
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err, "no answer within %s", within)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	_, err = r.ReadByte()
	require.ErrorIs(t, err, io.EOF, "the server closes the connection")
	return resp.StatusCode, time.Since(start)
}

// A client that sends a body slowly gets 408 at the body deadline and
// loses its connection, for logs and for attachments.
func TestSlowBodyIsCutAtTheDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	dir := t.TempDir()
	l := startLive(t, ingest.ServerOptions{BodyTimeout: timeout, AttachmentTimeout: timeout, AttachmentsDir: dir})
	for _, path := range []string{ingest.LogsPath, ingest.AttachmentsPath} {
		t.Run(path, func(t *testing.T) {
			c := slowRequest(t, l.addr, path, "secret", 1000)
			status, took := answer(t, c, 5*time.Second)
			assert.Equal(t, http.StatusRequestTimeout, status)
			assert.Less(t, took, timeout+time.Second, "cut at the deadline")
		})
	}
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, files, "the partial attachment is removed")
}

// Without a token the body is never read: the answer and the close come
// at once, whatever the body deadline.
func TestUnauthorizedBodyIsNotRead(t *testing.T) {
	l := startLive(t, ingest.ServerOptions{BodyTimeout: time.Minute})
	c := slowRequest(t, l.addr, ingest.LogsPath, "", 1000)
	status, took := answer(t, c, 5*time.Second)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Less(t, took, 2*time.Second)
}

// Many slow clients, most without a token, do not stop a normal request
// or the health check: the tokenless ones are closed at once, the others
// hold a read slot each until the body deadline.
func TestSlowClientsDoNotStopOthers(t *testing.T) {
	const timeout = 500 * time.Millisecond
	l := startLive(t, ingest.ServerOptions{BodyTimeout: timeout, MaxConcurrentReads: 64})
	var slow []net.Conn
	for i := range 240 {
		token := ""
		if i%6 == 0 {
			token = "secret" // 40 with a token
		}
		slow = append(slow, slowRequest(t, l.addr, ingest.LogsPath, token, 100_000))
	}
	assert.Equal(t, http.StatusOK, l.get(t, ingest.HealthPath))
	resp, got := l.post(t, ingest.LogsPath, body(entry(1, "info", "s1")), "secret")
	assert.Equal(t, http.StatusOK, resp.StatusCode, got)

	var wg sync.WaitGroup
	statuses := make([]int, len(slow))
	for i, c := range slow {
		wg.Go(func() { statuses[i], _ = answer(t, c, 5*time.Second) })
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 200, http.StatusRequestTimeout: 40}, counts)
}

// heldBody is a request body that signals when the handler starts to
// read it, which it does only once it holds a read slot and its bytes of
// the budget, and then waits for the test to release it.
type heldBody struct {
	started chan struct{}
	once    sync.Once
	r       *io.PipeReader
	w       *io.PipeWriter
}

func newHeldBody() *heldBody {
	r, w := io.Pipe()
	return &heldBody{started: make(chan struct{}), r: r, w: w}
}

func (h *heldBody) Read(p []byte) (int, error) {
	h.once.Do(func() { close(h.started) })
	return h.r.Read(p)
}

// hold starts serving a request whose body is held, and returns once the
// handler reads it; release ends the body and returns the status.
func hold(t *testing.T, h http.Handler, path string, length int64) (release func() int) {
	t.Helper()
	b := newHeldBody()
	req := httptest.NewRequest(http.MethodPost, path, b)
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = length
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, req)
	}()
	select {
	case <-b.started:
	case <-done:
		t.Fatalf("answered %d without reading the body", w.Code)
	}
	return func() int {
		_ = b.w.CloseWithError(io.ErrUnexpectedEOF)
		<-done
		return w.Code
	}
}

// Past MaxConcurrentReads a request is answered 503 with Retry-After at
// once, without reading it; once a slot is free the next one succeeds.
func TestConcurrentReadsAreCapped(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{MaxConcurrentReads: 2, AttachmentsDir: t.TempDir()})
	releases := []func() int{
		hold(t, f.s, ingest.LogsPath, 1000),
		hold(t, f.s, ingest.AttachmentsPath, 1000),
	}
	for _, path := range []string{ingest.LogsPath, ingest.AttachmentsPath} {
		resp, got := f.do(t, http.MethodPost, path, bytes.NewReader(body(entry(1, "info", "s1"))), nil)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, got)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	}
	assert.Equal(t, http.StatusBadRequest, releases[0](), "the body broke off")
	resp, got := f.post(t, body(entry(2, "info", "s1")))
	assert.Equal(t, http.StatusOK, resp.StatusCode, got)
	releases[1]()
}

// The bytes being decoded share one budget: a body announced larger than
// what is left is turned away until it frees; a small one still fits.
func TestDecodeBudgetIsShared(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{MaxBodyBytes: 100_000, MaxDecodeBytes: 150_000})
	release := hold(t, f.s, ingest.LogsPath, 100_000)
	big := body(bigEntries(55)...)
	require.Greater(t, len(big), 50_000)
	resp, got := f.post(t, big)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, got)
	resp, got = f.post(t, body(entry(1, "info", "s1")))
	assert.Equal(t, http.StatusOK, resp.StatusCode, got)
	release()
	resp, got = f.post(t, big)
	assert.Equal(t, http.StatusOK, resp.StatusCode, got)

	chunked := hold(t, f.s, ingest.LogsPath, -1) // no Content-Length: it takes the whole body limit
	resp, got = f.post(t, body(bigEntries(55)...))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, got)
	chunked()
}

// An idle keep-alive connection is closed after IdleTimeout.
func TestIdleConnectionIsClosed(t *testing.T) {
	l := startLive(t, ingest.ServerOptions{IdleTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", l.addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", ingest.HealthPath)
	require.NoError(t, err)
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(5*time.Second)))
	_, err = r.ReadByte()
	assert.ErrorIs(t, err, io.EOF)
	assert.Less(t, time.Since(start), 2*time.Second)
}

// Past MaxConnections the longest idle connection makes room for a new
// one: idle keep-alive connections cannot use up the descriptors.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	const most = 8
	l := startLive(t, ingest.ServerOptions{MaxConnections: most})
	var conns []net.Conn
	var readers []*bufio.Reader
	for range 20 {
		c, err := net.Dial("tcp", l.addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", ingest.HealthPath)
		require.NoError(t, err)
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err, "every new connection is served")
		_, _ = io.Copy(io.Discard, resp.Body)
		conns, readers = append(conns, c), append(readers, r)
	}
	open := 0
	for i, r := range readers {
		require.NoError(t, conns[i].SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
			open++
		}
	}
	assert.LessOrEqual(t, open, most, "the longest idle were closed")
	assert.Equal(t, http.StatusOK, l.get(t, ingest.HealthPath))
}

func TestHeadersAreBounded(t *testing.T) {
	l := startLive(t, ingest.ServerOptions{MaxHeaderBytes: 4 << 10})
	req, err := http.NewRequest(http.MethodGet, "http://"+l.addr+ingest.HealthPath, nil)
	require.NoError(t, err)
	req.Header.Set("X-Padding", strings.Repeat("x", 64<<10))
	resp, err := l.client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A 1 MB body of 349,518 empty objects is rejected for what it costs to
// read: the memory a request allocates stays under 6 MB (the body, a
// thousand violations and the answer), not the hundreds of megabytes a
// decoded tree would take. Eight at once stay under 8 times that.
func TestEmptyObjectsBodyStaysSmall(t *testing.T) {
	const perRequest = 6 << 20
	raw := []byte(`{"logs":[` + strings.Repeat(`{},`, 349_517) + `{}]}`)
	require.LessOrEqual(t, len(raw), 1<<20)
	h, _ := newHandler(t, ingest.Compat)
	serve(h, raw, nil) // warm the pools
	var code int
	n := allocated(func() { code = serve(h, raw, nil).Code })
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Less(t, n, uint64(perRequest), "allocated %d bytes", n)
	t.Logf("one request allocates %.1f MB", float64(n)/(1<<20))

	l := startLive(t, ingest.ServerOptions{})
	n = allocated(func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				resp, _ := l.post(t, ingest.LogsPath, raw, "secret")
				assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			})
		}
		wg.Wait()
	})
	assert.Less(t, n, uint64(8*perRequest), "allocated %d bytes", n)
	t.Logf("eight over real connections allocate %.1f MB, clients included", float64(n)/(1<<20))
}

// letters spells n with letters no fingerprint masks, so that each n is a
// distinct error type.
func letters(n int) string {
	return strings.Map(func(r rune) rune { return 'g' + r - '0' }, fmt.Sprint(n))
}

// Samples are cut to a short prefix, the fingerprints counted are bounded,
// and so is the errors/top answer.
func TestErrorSamplesAreBounded(t *testing.T) {
	l := startLive(t, ingest.ServerOptions{MaxFingerprints: 100})
	e := errEntry(0, "Huge"+letters(0)+": "+strings.Repeat("x", 450_000))
	e["message"] = strings.Repeat("y", 450_000)
	resp, got := l.post(t, ingest.LogsPath, body(e), "secret")
	require.Equal(t, http.StatusOK, resp.StatusCode, got)
	for i := 1; i < 300; i++ {
		e := errEntry(i, "E"+letters(i)+": "+strings.Repeat("y", 2000))
		resp, got := l.post(t, ingest.LogsPath, body(e), "secret")
		require.Equal(t, http.StatusOK, resp.StatusCode, got)
	}
	top := l.s.Top(24*time.Hour, 0)
	assert.LessOrEqual(t, len(top), 100, "at most MaxFingerprints are counted")
	assert.Greater(t, len(top), 80, "the tenth seen longest ago make room")
	for _, row := range top {
		assert.LessOrEqual(t, len(row.Sample), ingest.MaxSampleBytes+len("…"))
		assert.LessOrEqual(t, len(row.Error), ingest.MaxSampleBytes+len("…"))
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+l.addr+ingest.ErrorsTopPath+"?limit=1000&window=24h", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer secret")
	r, err := l.client().Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.Less(t, len(b), 100*1000, "100 rows of short samples")
}

// failingDisk fails the first n writes the way a full disk does: part of
// the batch is written, then ENOSPC.
type failingDisk struct {
	mu sync.Mutex
	n  int
}

func (d *failingDisk) write(f *os.File, b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n > 0 {
		d.n--
		n, _ := f.Write(b[:len(b)/2+1])
		return n, fmt.Errorf("write %s: %w", f.Name(), errNoSpace)
	}
	return f.Write(b)
}

var errNoSpace = errors.New("no space left on device")

// After writes fail, the store answers 200 again by itself; the failed
// batches left nothing behind, so the client's retries stored each batch
// exactly once, and no line is torn.
func TestStoreRecoversAfterFailedWrites(t *testing.T) {
	dir := t.TempDir()
	disk := &failingDisk{n: 3}
	store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{WriteFile: disk.write})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close(t.Context()) })
	l := startLive(t, ingest.ServerOptions{Exporter: store})

	send := func(batch int) []int {
		entries := make([]map[string]any, 50)
		for i := range entries {
			entries[i] = entry(batch*100+i, "info", "s1")
		}
		var statuses []int
		for range 10 { // a client retrying on 503
			resp, _ := l.post(t, ingest.LogsPath, body(entries...), "secret")
			statuses = append(statuses, resp.StatusCode)
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		return statuses
	}
	assert.Equal(t, []int{503, 503, 503, 200}, send(1))
	assert.Equal(t, []int{200}, send(2))

	raw, err := os.ReadFile(filepath.Join(dir, "logs-000001.jsonl"))
	require.NoError(t, err)
	require.True(t, bytes.HasSuffix(raw, []byte("\n")), "no torn line")
	seen := map[string]int{}
	require.NoError(t, store.Query(t.Context(), ingest.Filter{}, func(e ingest.StoredEntry) bool {
		seen[e.Message]++
		return true
	}))
	assert.Len(t, seen, 100)
	for msg, n := range seen {
		assert.Equal(t, 1, n, "%s stored once", msg)
	}
	assert.Equal(t, 100, bytes.Count(raw, []byte("\n")), "every line is an entry")
}
