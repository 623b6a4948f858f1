package backendsink

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"

	"github.com/soliplex/fieldlog/internal/ownreq"
)

// A request is one upload: a body of sent entries for an endpoint.
type request struct {
	endpoint string
	token    string // "" sends no Authorization header
	body     []byte // {"logs":[…],"resource":{…}}; the poster must not keep it
	sent     int    // entries in body
	gzip     bool
}

// A poster makes one upload and returns what came back. The uploader
// talks to the network through it, so its reactions can be tested with a
// fake.
type poster interface {
	post(ctx context.Context, req *request) Answer
}

// httpPoster posts over HTTP. It is used by the uploader's goroutine
// only.
type httpPoster struct {
	client *http.Client // never follows redirects
	zbuf   bytes.Buffer
	zw     *gzip.Writer
}

// newHTTPPoster returns a poster on a copy of client that never follows
// redirects: a 3xx is an answer, and the token is sent nowhere but to
// the configured endpoint.
func newHTTPPoster(client *http.Client) *httpPoster {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &httpPoster{client: &c}
}

// maxDrain is how much of a response body is read to let the connection
// be reused.
const maxDrain = 1 << 20

func (p *httpPoster) post(ctx context.Context, req *request) Answer {
	ans := Answer{Sent: req.sent, Gzip: req.gzip}
	ctx = ownreq.With(ctx)
	var body io.Reader = bytes.NewReader(req.body)
	if req.gzip {
		p.zbuf.Reset()
		if p.zw == nil {
			p.zw = gzip.NewWriter(&p.zbuf)
		} else {
			p.zw.Reset(&p.zbuf)
		}
		_, _ = p.zw.Write(req.body)
		_ = p.zw.Close()
		body = bytes.NewReader(p.zbuf.Bytes())
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.endpoint, body)
	if err != nil {
		ans.Err = err
		return ans
	}
	hreq.Header.Set("Content-Type", "application/json")
	if req.gzip {
		hreq.Header.Set("Content-Encoding", "gzip")
	}
	if req.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.token)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		ans.Err = err
		return ans
	}
	defer resp.Body.Close()
	ans.Status, ans.Header = resp.StatusCode, resp.Header
	ans.Body, _ = io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if p.zbuf.Cap() > 4*DefaultMaxBatchBytes {
		p.zbuf = bytes.Buffer{}
	}
	return ans
}
