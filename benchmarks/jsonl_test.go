package benchmarks

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// jsonl-fsync: each log call appends one JSON line to a file and fsyncs
// the file before it returns, so a record is on disk when the call
// returns. One goroutine reads the file from the offset it last had
// confirmed, POSTs arrays of up to 100 records (a shorter array once a
// second, and when closing), and after a 2xx writes the new offset to a
// second file and fsyncs it. A failed request is sent again after a
// backoff (1 s doubling to 30 s); a 4xx skips the batch. A restart on
// the same directory continues from the saved offset. The file is never
// truncated.
type jsonlPipeline struct {
	endpoint string
	client   *http.Client

	mu    sync.Mutex // serializes appends: one write and one fsync per record
	log_  *os.File
	line  []byte
	lines int

	nudge  chan struct{} // a full batch is waiting; size 1
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context // ends when close gives up
	cancel context.CancelFunc

	read *os.File // the batcher's own descriptor
	rbuf []byte   // the batcher's read buffer
	off  *os.File // the confirmed offset, 8 bytes

	offset int64 // the confirmed offset, the batcher's until done
	kept   int   // records left after the offset by close
}

const (
	jsonlBatch         = 100
	jsonlFlushInterval = time.Second
	jsonlBackoffFirst  = time.Second
	jsonlBackoffMax    = 30 * time.Second
)

func openJSONL(tb testing.TB, endpoint string, _ int) pipeline {
	return openJSONLDir(tb, endpoint, tb.TempDir())
}

// openJSONLDir opens the pipeline on dir, continuing from the offset a
// previous run saved there.
func openJSONLDir(tb testing.TB, endpoint, dir string) pipeline {
	p, err := newJSONL(endpoint, dir)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newJSONL(endpoint, dir string) (*jsonlPipeline, error) {
	if !strings.Contains(endpoint, "/api/") {
		endpoint += "/api/v1/logs"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "records.jsonl")
	w, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	r, err := os.Open(name)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	off, err := os.OpenFile(filepath.Join(dir, "records.offset"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, errors.Join(err, w.Close(), r.Close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &jsonlPipeline{
		endpoint: endpoint, client: &http.Client{Timeout: 30 * time.Second},
		log_: w, read: r, rbuf: make([]byte, 64<<10), off: off,
		nudge: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	go p.run()
	return p, nil
}

func (p *jsonlPipeline) log(i int) {
	p.mu.Lock()
	p.line = fmt.Appendf(p.line[:0], `{"timestamp":%q,"level":"info","logger":"Http","message":"Request sent","attributes":{"url":"/api/v1/chat","status":200,"attempt":%d},"install_id":"i","session_id":"s"}`+"\n",
		time.Now().UTC().Format(time.RFC3339Nano), i)
	_, err := p.log_.Write(p.line)
	if err == nil {
		err = p.log_.Sync()
	}
	p.lines++
	full := p.lines%jsonlBatch == 0
	p.mu.Unlock()
	if err != nil {
		panic(err) // the benchmark's disk failed: no figure to publish
	}
	if full {
		select {
		case p.nudge <- struct{}{}:
		default:
		}
	}
}

// durable reports how many of the records logged so far are on disk:
// all of them, since every call returns after its fsync.
func (p *jsonlPipeline) durable(context.Context, bool) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines, nil
}

func (p *jsonlPipeline) close(ctx context.Context) {
	close(p.stop)
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel()
		<-p.done
	}
	p.cancel()
	p.kept = p.countAfter(p.offset)
	_ = p.log_.Close()
	_ = p.read.Close()
	_ = p.off.Close()
}

func (p *jsonlPipeline) dropped() string { return "" }

func (p *jsonlPipeline) keptAtClose() int { return p.kept }

// countAfter counts the complete lines after offset.
func (p *jsonlPipeline) countAfter(offset int64) int {
	n := 0
	for {
		_, used, count := p.readBatch(offset)
		if count == 0 {
			return n
		}
		n += count
		offset += used
	}
}

// run is the batcher: it sends full batches as soon as they are written,
// a shorter one every flush interval, and everything when closing.
func (p *jsonlPipeline) run() {
	defer close(p.done)
	p.offset = p.loadOffset()
	tick := time.NewTicker(jsonlFlushInterval)
	defer tick.Stop()
	backoff := jsonlBackoffFirst
	stopping := false
	flushAll := true // a restart sends what an earlier run left
	for {
		for {
			body, n, count := p.readBatch(p.offset)
			if count == 0 || (count < jsonlBatch && !flushAll && !stopping) {
				break
			}
			if !p.post(body) {
				if !p.wait(backoff, &stopping) {
					return
				}
				backoff = min(2*backoff, jsonlBackoffMax)
				continue
			}
			backoff = jsonlBackoffFirst
			p.offset += n
			p.saveOffset(p.offset)
		}
		if stopping {
			return
		}
		flushAll = false
		select {
		case <-p.nudge:
		case <-tick.C:
			flushAll = true
		case <-p.stop:
			stopping = true
		}
	}
}

// wait waits d before a retry. A close cuts the wait short once; it
// reports false when close has given up.
func (p *jsonlPipeline) wait(d time.Duration, stopping *bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	stop := p.stop
	if *stopping {
		stop = nil
	}
	select {
	case <-t.C:
	case <-stop:
		*stopping = true
	case <-p.ctx.Done():
	}
	return p.ctx.Err() == nil
}

// readBatch reads up to jsonlBatch complete lines from offset and returns
// them as a request body, the bytes they take in the file and their
// number. A line still being written is left for later.
func (p *jsonlPipeline) readBatch(offset int64) (body []byte, n int64, count int) {
	buf := p.rbuf
	got, err := p.read.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, 0
	}
	buf = buf[:got]
	var b bytes.Buffer
	b.WriteString(`{"logs":[`)
	for count < jsonlBatch {
		i := bytes.IndexByte(buf[n:], '\n')
		if i < 0 {
			break
		}
		if count > 0 {
			b.WriteByte(',')
		}
		b.Write(buf[n : n+int64(i)])
		n += int64(i) + 1
		count++
	}
	b.WriteString(`],"resource":{}}`)
	return b.Bytes(), n, count
}

// post sends one batch and reports whether the batcher may move past it:
// a 2xx, or a 4xx (the server will never take it).
func (p *jsonlPipeline) post(body []byte) bool {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode/100 == 2 || (resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests)
}

func (p *jsonlPipeline) loadOffset() int64 {
	var b [8]byte
	if _, err := p.off.ReadAt(b[:], 0); err != nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b[:]))
}

func (p *jsonlPipeline) saveOffset(offset int64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(offset))
	if _, err := p.off.WriteAt(b[:], 0); err == nil {
		_ = p.off.Sync()
	}
}
