package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// A StoredEntry is an accepted entry as the server keeps and exports it:
// the wire Entry, with the batch's resource beside it, and two attributes
// the server stamps into Attributes (replacing any the client sent under
// the same keys):
//
//	server.received_at  when the server accepted the batch, RFC 3339 UTC with milliseconds
//	error.fingerprint   on error and fatal entries: Fingerprint of the error and stack
//
// In a JSONL store each line is one StoredEntry in this JSON form: the
// wire entry's fields plus "resource".
type StoredEntry struct {
	Entry
	Resource map[string]string `json:"resource,omitempty"`
}

// Attribute keys the server adds.
const (
	ReceivedAtKey  = "server.received_at"
	FingerprintKey = "error.fingerprint"
)

// An Exporter receives accepted entries.
//
// Export is called from request goroutines concurrently and must be safe
// for that. It may keep the slice and the entries. When it returns nil the
// entries are the exporter's responsibility; an error makes the server
// answer 503, so the client sends the batch again. Close flushes, releases
// and returns by ctx's deadline; Export after Close returns an error.
type Exporter interface {
	Export(ctx context.Context, entries []StoredEntry) error
	Close(ctx context.Context) error
}

// MemoryExporter keeps every entry in memory: for tests and demos.
type MemoryExporter struct {
	mu      sync.Mutex
	entries []StoredEntry
}

// Export keeps entries.
func (m *MemoryExporter) Export(_ context.Context, entries []StoredEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, entries...)
	return nil
}

// Close does nothing; Export keeps working after it.
func (m *MemoryExporter) Close(context.Context) error { return nil }

// Entries returns a copy of what was exported, in order.
func (m *MemoryExporter) Entries() []StoredEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]StoredEntry(nil), m.entries...)
}

// DefaultMaxFileBytes is the size at which a JSONL store starts a new file.
const DefaultMaxFileBytes = 64 << 20

// A JSONLStore writes entries as JSON lines to files in a directory,
// logs-000001.jsonl, logs-000002.jsonl and so on, starting a new file when
// the current one passes its size limit. A person can grep the files; Query
// reads them back.
type JSONLStore struct {
	dir      string
	maxBytes int64
	sync     bool

	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	n    int   // current file number
	size int64 // bytes in the current file
}

// JSONLOptions configures a JSONLStore; the zero value is usable.
type JSONLOptions struct {
	MaxFileBytes int64 // default DefaultMaxFileBytes
	Sync         bool  // fsync after every batch
}

var _ Exporter = (*JSONLStore)(nil)

// NewJSONLStore opens (creating) a store in dir, appending to its newest
// file. opts may be nil.
func NewJSONLStore(dir string, opts *JSONLOptions) (*JSONLStore, error) {
	var o JSONLOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ingest: store %s: %w", dir, err)
	}
	s := &JSONLStore{dir: dir, maxBytes: o.MaxFileBytes, sync: o.Sync}
	files, err := s.files()
	if err != nil {
		return nil, err
	}
	s.n = 1
	if len(files) > 0 {
		fmt.Sscanf(filepath.Base(files[len(files)-1]), "logs-%06d.jsonl", &s.n)
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *JSONLStore) open() error {
	path := filepath.Join(s.dir, fmt.Sprintf("logs-%06d.jsonl", s.n))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ingest: store: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("ingest: store: %w", err)
	}
	s.f, s.w, s.size = f, bufio.NewWriterSize(f, 256<<10), info.Size()
	return nil
}

// Dir returns the store's directory.
func (s *JSONLStore) Dir() string { return s.dir }

// ErrClosed is returned by Export after Close.
var ErrClosed = errors.New("ingest: store closed")

var encodePool = sync.Pool{New: func() any { return new([]byte) }}

// Export appends entries, one JSON line each, in order; a batch is never
// split by another batch, but may be split across two files by rotation.
// The lines are flushed to the file (not synced, unless Sync is set)
// before it returns.
func (s *JSONLStore) Export(_ context.Context, entries []StoredEntry) error {
	bp := encodePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			encodePool.Put(bp)
		}
	}()
	b := (*bp)[:0]
	ends := make([]int, 0, len(entries))
	for i := range entries {
		var err error
		if b, err = appendStored(b, &entries[i]); err != nil {
			return fmt.Errorf("ingest: store: entry %d: %w", i, err)
		}
		b = append(b, '\n')
		ends = append(ends, len(b))
	}
	*bp = b
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrClosed
	}
	start := 0
	for _, end := range ends {
		line := b[start:end]
		start = end
		if s.size > 0 && s.size+int64(len(line)) > s.maxBytes {
			if err := s.rotate(); err != nil {
				return err
			}
		}
		if _, err := s.w.Write(line); err != nil {
			return fmt.Errorf("ingest: store: %w", err)
		}
		s.size += int64(len(line))
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("ingest: store: %w", err)
	}
	if s.sync {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("ingest: store: %w", err)
		}
	}
	return nil
}

func (s *JSONLStore) rotate() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("ingest: store: %w", err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("ingest: store: %w", err)
	}
	s.n++
	return s.open()
}

// Close flushes and closes the current file. A second Close returns nil.
func (s *JSONLStore) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := errors.Join(s.w.Flush(), s.f.Close())
	s.f = nil
	return err
}

func (s *JSONLStore) files() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(s.dir, "logs-*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("ingest: store: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// A Filter selects stored entries; empty fields match everything.
type Filter struct {
	InstallID string
	SessionID string
	Level     string
	Contains  string // a substring of the message
}

func (f Filter) match(e *StoredEntry) bool {
	return (f.InstallID == "" || e.InstallID == f.InstallID) &&
		(f.SessionID == "" || e.SessionID == f.SessionID) &&
		(f.Level == "" || e.Level == f.Level) &&
		(f.Contains == "" || strings.Contains(e.Message, f.Contains))
}

// Query calls fn for every stored entry that matches f, oldest first,
// reading the files one line at a time; fn returning false stops it. It
// sees everything exported before it was called. Lines that do not decode
// (a torn last line after a crash) are skipped.
func (s *JSONLStore) Query(ctx context.Context, f Filter, fn func(StoredEntry) bool) error {
	s.mu.Lock()
	if s.w != nil {
		_ = s.w.Flush()
	}
	files, err := s.files()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, path := range files {
		stop, err := queryFile(ctx, path, f, fn)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// Count returns how many stored entries match f.
func (s *JSONLStore) Count(ctx context.Context, f Filter) (int, error) {
	n := 0
	err := s.Query(ctx, f, func(StoredEntry) bool { n++; return true })
	return n, err
}

func queryFile(ctx context.Context, path string, f Filter, fn func(StoredEntry) bool) (bool, error) {
	file, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("ingest: query: %w", err)
	}
	defer file.Close()
	r := bufio.NewReaderSize(file, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var e StoredEntry
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber() // attribute numbers as on the wire
			if dec.Decode(&e) == nil && f.match(&e) && !fn(e) {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("ingest: query: %w", err)
		}
	}
}
