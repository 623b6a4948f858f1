package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/pprof"

	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/logrecord"
)

// captureGoroutines returns the stacks of all goroutines, at most limit
// bytes, in the runtime's format.
func captureGoroutines(limit int) []byte {
	buf := make([]byte, min(64<<10, limit))
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		if len(buf) >= limit {
			return []byte(capLines(string(buf[:n]), limit))
		}
		buf = make([]byte, min(2*len(buf), limit))
	}
}

// captureHeap returns the heap profile in pprof's text form.
func captureHeap(limit int) []byte {
	var b bytes.Buffer
	_ = pprof.Lookup("heap").WriteTo(&b, 1)
	if b.Len() > limit {
		return []byte(capLines(b.String(), limit))
	}
	return b.Bytes()
}

// errRedaction is returned when a dump could not be redacted: it is not
// uploaded.
var errRedaction = errors.New("redaction failed; dump not uploaded")

// redact scrubs a dump as the sanitizer scrubs a stack: frames lose
// their home and build directories, other lines meet every rule.
func (c *core) redact(dump []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, errRedaction
		}
	}()
	return []byte(c.opts.Sanitizer.Sanitize(logrecord.Record{StackTrace: string(dump)}).StackTrace), nil
}

// upload sends one redacted dump and returns its attachment id.
func (d *diagSink) upload(ctx context.Context, dump []byte) (string, error) {
	body, err := d.c.redact(dump)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ownreq.With(ctx), http.MethodPost, d.opts.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if d.opts.TokenProvider != nil {
		tok, err := callToken(ctx, d.opts.TokenProvider)
		if err != nil {
			return "", fmt.Errorf("token provider: %w", err)
		}
		if tok == "" {
			return "", errors.New("no token")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("attachment endpoint answered %d", resp.StatusCode)
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(ans, &v) != nil || !validSessionID(v.ID) {
		return "", fmt.Errorf("attachment endpoint answered %d without an id", resp.StatusCode)
	}
	return v.ID, nil
}

func callToken(ctx context.Context, f func(context.Context) (string, error)) (tok string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %s", panicText(p))
		}
	}()
	return f(ctx)
}

// shortError is what diagnostics.error says: the failure without the URL,
// redacted (it joins the record after the Manager's sanitizer ran).
func (c *core) shortError(err error) (s string) {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "upload timed out"
		}
		err = ue.Err
	}
	defer func() {
		if recover() != nil {
			s = "upload failed"
		}
	}()
	return c.opts.Sanitizer.Sanitize(logrecord.Record{Message: firstLine(err.Error())}).Message
}
