package ingest

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// A SessionFinder answers the support view's questions: which sessions
// match, and what happened in one of them. JSONLStore is one; a Server
// serves any (ServerOptions.Sessions).
type SessionFinder interface {
	// FindSessions returns the sessions matching q, most recently
	// active first.
	FindSessions(ctx context.Context, q SessionQuery) ([]SessionSummary, error)
	// Timeline returns what is stored of one session, or an error
	// wrapping ErrNoSession.
	Timeline(ctx context.Context, sessionID string) (*Timeline, error)
}

// ErrNoSession is returned by Timeline for a session the store does not
// hold (or no longer indexes).
var ErrNoSession = errors.New("ingest: no such session")

var _ SessionFinder = (*JSONLStore)(nil)

// defaultSessionLimit is SessionQuery.Limit's default.
const defaultSessionLimit = 50

// FindSessions returns the sessions matching q from the store's index,
// most recently active first. Every key but Text is answered from the
// index alone; Text then reads the lines of the sessions the other keys
// leave, newest first, until Limit of them match.
func (s *JSONLStore) FindSessions(ctx context.Context, q SessionQuery) ([]SessionSummary, error) {
	if q.Level != "" && !slices.Contains(Levels, q.Level) {
		return nil, fmt.Errorf("ingest: level must be one of %s", strings.Join(Levels, ", "))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultSessionLimit
	}
	cands := s.idx.find(q, false)
	out := make([]SessionSummary, 0, min(limit, len(cands)))
	text := strings.ToLower(q.Text)
	for _, c := range cands {
		if len(out) == limit {
			break
		}
		if text != "" {
			full, ok := s.idx.lookup(c.summary.SessionID)
			if !ok {
				continue
			}
			hit := false
			err := s.readLocs(ctx, full.locs, func(e *StoredEntry) bool {
				hit = containsFold(e.Message, text) || e.Error != nil && containsFold(*e.Error, text)
				return !hit
			})
			if err != nil {
				return nil, err
			}
			if !hit {
				continue
			}
		}
		out = append(out, c.summary)
	}
	return out, nil
}

func containsFold(s, lower string) bool { return strings.Contains(strings.ToLower(s), lower) }

// Timeline returns one session's timeline, reading only its own lines.
func (s *JSONLStore) Timeline(ctx context.Context, sessionID string) (*Timeline, error) {
	c, ok := s.idx.lookup(sessionID)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoSession, sessionID)
	}
	var entries []StoredEntry
	err := s.readLocs(ctx, c.locs, func(e *StoredEntry) bool {
		entries = append(entries, *e)
		return true
	})
	if err != nil {
		return nil, err
	}
	return buildTimeline(c.summary, entries), nil
}

// readLocs reads the lines at locs, in store order, and calls fn for each
// until it returns false. Lines of files deleted meanwhile are skipped.
func (s *JSONLStore) readLocs(ctx context.Context, locs []lineLoc, fn func(*StoredEntry) bool) error {
	slices.SortFunc(locs, func(a, b lineLoc) int {
		if c := cmp.Compare(a.file, b.file); c != 0 {
			return c
		}
		return cmp.Compare(a.off, b.off)
	})
	for len(locs) > 0 {
		file := locs[0].file
		n := 1
		for n < len(locs) && locs[n].file == file {
			n++
		}
		stop, err := s.readFileLocs(ctx, int(file), locs[:n], fn)
		if err != nil || stop {
			return err
		}
		locs = locs[n:]
	}
	return nil
}

func (s *JSONLStore) readFileLocs(ctx context.Context, file int, locs []lineLoc, fn func(*StoredEntry) bool) (bool, error) {
	f, err := os.Open(s.path(file))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ingest: sessions: %w", err)
	}
	defer f.Close()
	// One buffer for the file, moved to each line that does not follow
	// the one before: a session's lines are scattered among others'.
	r := bufio.NewReaderSize(nil, 8<<10)
	pos := int64(-1) // where r reads next
	for _, l := range locs {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		if l.off != pos {
			r.Reset(io.NewSectionReader(f, l.off, 1<<62))
			pos = l.off
		}
		line, err := r.ReadBytes('\n')
		pos += int64(len(line))
		if err != nil && err != io.EOF {
			return false, fmt.Errorf("ingest: sessions: %w", err)
		}
		if len(line) == 0 || line[len(line)-1] != '\n' {
			continue
		}
		if e, ok := readLine(line, s.o.Naming); ok && !fn(&e) {
			return true, nil
		}
	}
	return false, nil
}

// indexFiles builds the index from the files in the directory: once, as
// the store opens.
func (s *JSONLStore) indexFiles() error {
	if s.idx == nil {
		return nil
	}
	files, err := s.files()
	if err != nil {
		return err
	}
	for _, path := range files {
		n, ok := fileNumber(path)
		if !ok {
			continue
		}
		if err := s.indexFile(path, n); err != nil {
			return err
		}
	}
	return nil
}

func (s *JSONLStore) indexFile(path string, n int) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ingest: store: index: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	const batch = 256
	var (
		entries = make([]StoredEntry, 0, batch)
		offs    = make([]int64, 0, batch)
		off     int64
	)
	flush := func() {
		s.idx.add(n, offs, entries)
		entries, offs = entries[:0], offs[:0]
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if e, ok := readLine(line, s.o.Naming); ok {
				entries = append(entries, e)
				offs = append(offs, off)
				if len(entries) == batch {
					flush()
				}
			}
		}
		off += int64(len(line))
		if err == io.EOF {
			flush()
			return nil
		}
		if err != nil {
			return fmt.Errorf("ingest: store: index: %w", err)
		}
	}
}
