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
func (s *JSONLStore) Query(ctx context.Context, f Filter, fn func(StoredEntry) bool) error {
	s.mu.Lock()
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
