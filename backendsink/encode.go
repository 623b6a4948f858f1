package backendsink

import (
	"log/slog"
	"time"

	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
)

// MaxEntryBytes is the largest encoded entry; larger records are trimmed
// by the size guard.
const MaxEntryBytes = 64 << 10

// ActiveRun identifies the conversation run in progress when a record was
// logged.
type ActiveRun struct {
	ThreadID string
	RunID    string
}

// A Breadcrumb is a record that came before an error, as shipped with it.
type Breadcrumb struct {
	Time     time.Time
	Level    logrecord.Level
	Logger   string
	Message  string
	Category string // ui, network, system or user
}

// entryMeta is what the sink adds to every record: the ids, the active run
// and, for error and fatal records, the breadcrumbs.
type entryMeta struct {
	installID   string
	sessionID   string
	userID      string // "" encodes as null
	activeRun   *ActiveRun
	breadcrumbs []Breadcrumb
}

// An encoder turns records into wire entries. It keeps its buffers
// between records; one goroutine uses it at a time.
type encoder struct {
	list   []slog.Attr // a record's attributes
	attrs  []byte      // their encoding
	crumbs []wire.Breadcrumb
}

// encodeEntry returns the wire JSON of r, at most limit bytes: over that,
// the size guard trims it (see trim). r must already be repaired.
func encodeEntry(dst []byte, r logrecord.Record, m *entryMeta, limit int) []byte {
	var e encoder
	return e.entry(dst, &r, m, limit)
}

func (e *encoder) entry(dst []byte, r *logrecord.Record, m *entryMeta, limit int) []byte {
	start := len(dst)
	e.list = e.list[:0]
	for a := range r.Attrs {
		e.list = append(e.list, a)
	}
	dst = e.append(dst, r, e.list, m)
	clear(e.list) // hold no caller values until the next record
	if len(dst)-start <= limit {
		return dst
	}
	return e.trim(dst[:start], *r, m, limit)
}

// append appends the entry of r with attrs as its attributes.
func (e *encoder) append(dst []byte, r *logrecord.Record, attrs []slog.Attr, m *entryMeta) []byte {
	e.attrs = wire.AppendAttrs(e.attrs[:0], attrs)
	e.crumbs = e.crumbs[:0]
	for _, c := range m.breadcrumbs {
		e.crumbs = append(e.crumbs, wire.Breadcrumb{
			Time: c.Time, Level: wire.LevelName(c.Level), Logger: c.Logger, Message: c.Message, Category: c.Category,
		})
	}
	w := wire.Entry{
		Time:        r.Time,
		Level:       wire.LevelName(r.Level),
		Logger:      r.Logger,
		Message:     r.Message,
		Attributes:  e.attrs,
		Error:       nullable(&r.Error),
		StackTrace:  nullable(&r.StackTrace),
		SpanID:      nullable(&r.SpanID),
		TraceID:     nullable(&r.TraceID),
		InstallID:   m.installID,
		SessionID:   m.sessionID,
		UserID:      nullable(&m.userID),
		Breadcrumbs: e.crumbs,
	}
	if m.activeRun != nil {
		w.ActiveRun = &wire.ActiveRun{ThreadID: m.activeRun.ThreadID, RunID: m.activeRun.RunID}
	}
	dst = wire.AppendEntry(dst, &w)
	if cap(e.attrs) > 4*MaxEntryBytes {
		e.attrs = nil // do not keep a huge buffer for the next record
	}
	return dst
}

// nullable returns s, or nil for "", which the wire writes as null.
func nullable(s *string) *string {
	if *s == "" {
		return nil
	}
	return s
}
