package crash

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// saveLoop keeps the breadcrumbs file up to date until Close.
func (c *core) saveLoop() {
	defer close(c.saveDone)
	t := time.NewTicker(c.opts.SaveInterval)
	defer t.Stop()
	var last logrecord.Record
	for {
		select {
		case <-t.C:
			c.saveCrumbs(&last)
		case <-c.stopSave:
			return
		}
	}
}

// saveCrumbs writes the newest breadcrumbs when they changed since last.
func (c *core) saveCrumbs(last *logrecord.Record) {
	crumbs := c.opts.Breadcrumbs.Last(c.opts.MaxBreadcrumbs)
	if len(crumbs) == 0 {
		return
	}
	newest := crumbs[len(crumbs)-1]
	if newest.Time.Equal(last.Time) && newest.Level == last.Level && newest.Logger == last.Logger && newest.Message == last.Message {
		return
	}
	saved := make([]savedCrumb, len(crumbs))
	for i, r := range crumbs {
		saved[i] = savedCrumb{Time: r.Time, Level: r.Level, Logger: r.Logger, Message: r.Message, Category: r.Category()}
	}
	data, err := json.Marshal(saved)
	if err == nil {
		err = replaceFile(filepath.Join(c.opts.Dir, c.opts.SessionID+extCrumbs), data)
	}
	if err != nil {
		c.opts.OnError(fmt.Errorf("crash: save breadcrumbs: %w", err))
		return
	}
	*last = newest
}

// heldCrumbs keeps the breadcrumbs of records that diagnostics hold back,
// as they were when each was logged.
type heldCrumbs struct {
	mu sync.Mutex
	m  map[crumbKey][]logrecord.Record
}

type crumbKey struct {
	nanos   int64
	level   logrecord.Level
	logger  string
	message string
}

func keyOf(r *logrecord.Record) crumbKey {
	return crumbKey{r.Time.UnixNano(), r.Level, r.Logger, r.Message}
}

func (h *heldCrumbs) hold(r *logrecord.Record, crumbs []logrecord.Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[crumbKey][]logrecord.Record{}
	}
	h.m[keyOf(r)] = crumbs
}

func (h *heldCrumbs) release(r *logrecord.Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, keyOf(r))
}

func (h *heldCrumbs) lookup(r *logrecord.Record) ([]logrecord.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.m[keyOf(r)]
	return c, ok
}

// heldSource is the breadcrumb source Guard.Breadcrumbs returns.
type heldSource struct{ c *core }

func (s heldSource) Before(r logrecord.Record, n int) []logrecord.Record {
	if crumbs, ok := s.c.held.lookup(&r); ok {
		return crumbs[max(0, len(crumbs)-n):]
	}
	return s.c.opts.Breadcrumbs.Before(r, n)
}
