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
	"strings"
)

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
// are skipped, and so are files that retention deletes meanwhile.
//
// A line reads back as the entry it was written from, except that a
// client attribute named as one of the naming's fields (user_id, say,
// when the entry had none) reads back as that field.
func (s *JSONLStore) Query(ctx context.Context, f Filter, fn func(StoredEntry) bool) error {
	s.mu.Lock()
	files, err := s.files()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, path := range files {
		stop, err := queryFile(ctx, path, s.o.Naming, f, fn)
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

func queryFile(ctx context.Context, path string, n Naming, f Filter, fn func(StoredEntry) bool) (bool, error) {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
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
			if e, ok := readLine(line, n); ok && f.match(&e) && !fn(e) {
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

// storedLine is a line of either form: a log record as appendRecord
// writes it, or a StoredEntry in its wire form as earlier versions wrote
// it. The two share attributes, trace_id, span_id and resource.
type storedLine struct {
	StoredEntry
	Time           *string `json:"time"`
	SeverityNumber int     `json:"severity_number"`
	SeverityText   *string `json:"severity_text"`
	Scope          string  `json:"scope"`
	Body           string  `json:"body"`
}

// readLine decodes a line; a record line's attributes are read as
// written under n when they hold n's install id, else under the other
// naming.
func readLine(line []byte, n Naming) (StoredEntry, bool) {
	var l storedLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber() // attribute numbers as on the wire
	if dec.Decode(&l) != nil {
		return StoredEntry{}, false
	}
	if l.SeverityText == nil { // the wire form
		return l.StoredEntry, true
	}
	e := StoredEntry{Resource: l.Resource}
	e.Entry = Entry{Logger: l.Scope, Message: l.Body, TraceID: l.TraceID, SpanID: l.SpanID, Level: *l.SeverityText}
	for _, name := range Levels {
		if lvl, _ := ParseLevel(name); lvl.Severity() == l.SeverityNumber {
			e.Level = name
		}
	}
	if l.Time != nil {
		e.Timestamp = *l.Time
	}
	attrs := l.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	if _, ok := attrs[n.names().installID]; !ok { // written under the other naming
		if n == OTelNames {
			n = BackendNames
		} else {
			n = OTelNames
		}
	}
	e.fromNamed(n, attrs)
	return e, true
}
