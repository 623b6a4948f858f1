package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Defaults of JSONLOptions.
const (
	DefaultMaxFileBytes  = 64 << 20
	DefaultMaxTotalBytes = 1 << 30
	DefaultMaxAge        = 30 * 24 * time.Hour
)

// JSONLOptions configures a JSONLStore; the zero value is usable.
type JSONLOptions struct {
	MaxFileBytes  int64         // a new file is started before one would pass this; default DefaultMaxFileBytes
	MaxTotalBytes int64         // the oldest files are deleted while all of them pass this; default DefaultMaxTotalBytes; negative: no limit
	MaxAge        time.Duration // files last written longer ago are deleted; default DefaultMaxAge; negative: no limit
	Sync          bool          // fsync after every batch
	Naming        Naming        // attribute names of the lines; default BackendNames
	MaxSessions   int           // sessions the index keeps, the least recently active forgotten first; default DefaultMaxSessions; negative: no index

	// WriteFile writes one batch to the current file; default f.Write.
	// It is the seam through which tests simulate a full or failing disk:
	// it may write part of b and return an error, as f.Write can.
	WriteFile func(f *os.File, b []byte) (int, error)
	OnError   func(error)      // repairs and retention failures; default: the standard logger
	Now       func() time.Time // for retention by age; default time.Now
}

// A JSONLStore writes entries as JSON lines to files in a directory,
// logs-000001.jsonl, logs-000002.jsonl and so on, starting a new file
// before the current one would pass its size limit and deleting the
// oldest by total size and age. Each line is the log record the OTLP
// exporter sends for the entry, with the same attribute names
// (JSONLOptions.Naming), time and severity:
//
//	{"time":"2026-02-06T12:00:00.123Z","severity_number":17,"severity_text":"ERROR",
//	 "scope":"Http","body":"Request failed: 500","trace_id":"4bf9…","span_id":"00f0…",
//	 "attributes":{"client_timestamp":"2026-02-06T12:00:00.123Z","install_id":"…",…},
//	 "resource":{"service.name":"billing"}}
//
// A person can grep the files, a log shipper can forward them, and Query
// reads them back as StoredEntry values, lines of either naming and the
// wire-form lines of earlier versions alike.
//
// Each batch is written whole or not at all, in one file: when a write
// fails (a full disk) the file is cut back to where the batch began, so
// the client's retry does not duplicate half of it. The store works again
// as soon as writing does, without a restart. Opening a store cuts a
// torn last line, left by a crash in the middle of a write.
type JSONLStore struct {
	dir string
	o   JSONLOptions

	mu     sync.Mutex
	f      *os.File // nil while closed, or after a failure until the next Export reopens it
	closed bool
	n      int   // current file number
	size   int64 // bytes of whole batches in the current file
	swept  time.Time
	idx    *sessionIndex
	// readOnly stores never write: see OpenJSONLStoreReadOnly.
	readOnly bool
}

var _ Exporter = (*JSONLStore)(nil)

// ErrClosed is returned by Export after Close.
var ErrClosed = errors.New("ingest: store closed")

// ErrReadOnly is returned by Export of a store opened with
// OpenJSONLStoreReadOnly.
var ErrReadOnly = errors.New("ingest: store opened read-only")

// NewJSONLStore opens (creating) a store in dir, appending to its newest
// file after cutting a torn last line. opts may be nil.
func NewJSONLStore(dir string, opts *JSONLOptions) (*JSONLStore, error) {
	o, err := fillJSONL(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ingest: store %s: %w", dir, err)
	}
	s := &JSONLStore{dir: dir, o: o, n: 1, size: -1, idx: newSessionIndex(o.MaxSessions)}
	files, err := s.files()
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		_, _ = fmt.Sscanf(filepath.Base(files[len(files)-1]), "logs-%06d.jsonl", &s.n)
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	s.sweep()
	if err := s.indexFiles(); err != nil {
		_ = s.f.Close()
		return nil, err
	}
	return s, nil
}

// OpenJSONLStoreReadOnly opens the store in dir, a copy say, for
// FindSessions, Timeline and Query only: it never writes, cuts or deletes
// a file, and its Export returns ErrReadOnly. Of opts only Naming and
// MaxSessions count; opts may be nil.
func OpenJSONLStoreReadOnly(dir string, opts *JSONLOptions) (*JSONLStore, error) {
	o, err := fillJSONL(opts)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, fmt.Errorf("ingest: store %s: %w", dir, err)
	}
	s := &JSONLStore{dir: dir, o: o, readOnly: true, idx: newSessionIndex(o.MaxSessions)}
	if err := s.indexFiles(); err != nil {
		return nil, err
	}
	return s, nil
}

func fillJSONL(opts *JSONLOptions) (JSONLOptions, error) {
	var o JSONLOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxTotalBytes == 0 {
		o.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.WriteFile == nil {
		o.WriteFile = (*os.File).Write
	}
	if o.OnError == nil {
		o.OnError = func(err error) { log.Print(err) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Naming != BackendNames && o.Naming != OTelNames {
		return o, errors.New("ingest: JSONLOptions.Naming must be BackendNames or OTelNames")
	}
	return o, nil
}

func (s *JSONLStore) path(n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("logs-%06d.jsonl", n))
}

// open opens the current file for appending and cuts it back to its last
// whole batch: to s.size when that is known, else to its last newline.
func (s *JSONLStore) open() error {
	f, err := os.OpenFile(s.path(s.n), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ingest: store: %w", err)
	}
	good, err := wholeLines(f, s.size)
	if err == nil {
		var info os.FileInfo
		if info, err = f.Stat(); err == nil && info.Size() > good {
			s.o.OnError(fmt.Errorf("ingest: store: %s: cutting %d bytes of a torn write", f.Name(), info.Size()-good))
			err = f.Truncate(good)
		}
	}
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("ingest: store: %w", err)
	}
	s.f, s.size = f, good
	return nil
}

// wholeLines returns how many bytes of f are whole lines: known when it is
// not negative and not past the end, else found by looking back for the
// last newline.
func wholeLines(f *os.File, known int64) (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := info.Size()
	if known >= 0 && known <= end {
		return known, nil
	}
	buf := make([]byte, 64<<10)
	for end > 0 {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil && err != io.EOF {
			return 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] == '\n' {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// Dir returns the store's directory.
func (s *JSONLStore) Dir() string { return s.dir }

var encodePool = sync.Pool{New: func() any { return new([]byte) }}

// Export appends entries, one JSON line each, in order, all in one file
// and with one write; when anything fails none of them is kept. The lines
// are in the file (not synced, unless Sync is set) before it returns.
func (s *JSONLStore) Export(_ context.Context, entries []StoredEntry) error {
	bp := encodePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			encodePool.Put(bp)
		}
	}()
	b := (*bp)[:0]
	var named []namedAttr // reused from entry to entry
	offs := make([]int64, len(entries))
	for i := range entries {
		var err error
		offs[i] = int64(len(b))
		if b, named, err = appendRecord(b, &entries[i], s.o.Naming, named); err != nil {
			return fmt.Errorf("ingest: store: entry %d: %w", i, err)
		}
		b = append(b, '\n')
	}
	*bp = b
	if len(b) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readOnly {
		return ErrReadOnly
	}
	if s.closed {
		return ErrClosed
	}
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	if s.size > 0 && s.size+int64(len(b)) > s.o.MaxFileBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	base := s.size
	if err := s.write(b); err != nil {
		return err
	}
	for i := range offs {
		offs[i] += base
	}
	s.idx.add(s.n, offs, entries)
	if now := s.o.Now(); now.Sub(s.swept) > time.Hour {
		s.sweep()
	}
	return nil
}

// write appends one batch, or, failing, cuts the file back to where it
// began. When even that fails the file is closed, and the next Export
// reopens it and cuts it then.
func (s *JSONLStore) write(b []byte) error {
	n, err := s.o.WriteFile(s.f, b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err == nil && s.o.Sync {
		err = s.f.Sync()
	}
	if err == nil {
		s.size += int64(len(b))
		return nil
	}
	if terr := s.f.Truncate(s.size); terr != nil {
		_ = s.f.Close()
		s.f = nil
	}
	return fmt.Errorf("ingest: store: %w", err)
}

// rotate starts the next file; the current one stays when it cannot.
func (s *JSONLStore) rotate() error {
	old, oldSize := s.f, s.size
	s.n++
	s.size = -1 // a file that should not exist yet is cut only to its last newline
	if err := s.open(); err != nil {
		s.n--
		s.f, s.size = old, oldSize
		return err
	}
	if err := old.Close(); err != nil {
		s.o.OnError(fmt.Errorf("ingest: store: %w", err))
	}
	s.sweep()
	return nil
}

// sweep deletes files older than MaxAge, then the oldest while all of them
// pass MaxTotalBytes; never the current file.
func (s *JSONLStore) sweep() {
	s.swept = s.o.Now()
	files, err := s.files()
	if err != nil {
		s.o.OnError(err)
		return
	}
	current := s.path(s.n)
	var total int64
	type file struct {
		path string
		size int64
	}
	var kept []file
	for _, path := range files {
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		if path != current && s.o.MaxAge > 0 && s.swept.Sub(info.ModTime()) > s.o.MaxAge {
			s.remove(path)
			continue
		}
		total += info.Size()
		kept = append(kept, file{path, info.Size()})
	}
	for _, f := range kept {
		if s.o.MaxTotalBytes < 0 || total <= s.o.MaxTotalBytes || f.path == current {
			break
		}
		s.remove(f.path)
		total -= f.size
	}
}

func (s *JSONLStore) remove(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.o.OnError(fmt.Errorf("ingest: store: retention: %w", err))
		return
	}
	if n, ok := fileNumber(path); ok {
		s.idx.dropFile(n)
	}
}

func fileNumber(path string) (int, bool) {
	var n int
	_, err := fmt.Sscanf(filepath.Base(path), "logs-%06d.jsonl", &n)
	return n, err == nil
}

// Close closes the current file. A second Close returns nil.
func (s *JSONLStore) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("ingest: store: %w", err)
	}
	return nil
}

func (s *JSONLStore) files() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(s.dir, "logs-*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("ingest: store: %w", err)
	}
	sort.Strings(files)
	return files, nil
}
