package ingest

import (
	"context"
	"sync"
	"time"
)

// A StoredEntry is an accepted entry as the server keeps and exports it:
// the wire Entry, with the batch's resource beside it, and attributes the
// server stamps into Attributes (replacing any the client sent under the
// same keys):
//
//	server.received_at  when the server accepted the batch, TimestampLayout
//	server.user         the user the Verifier authenticated; absent when it named none
//	error.fingerprint   on error and fatal entries: Fingerprint of the error and stack
//
// The client's user_id stays as the client sent it. In compat mode an
// entry may also carry fieldlog.invalid.<field> attributes (see
// InvalidKeyPrefix), and its Timestamp is the client's text, which need
// not parse: Time says when the entry happened.
//
// Exporters write it as a log record whose attribute names follow a
// Naming: see NamedAttributes and the package documentation.
type StoredEntry struct {
	Entry
	Resource map[string]string `json:"resource,omitempty"`
}

// Attribute keys the server adds.
const (
	ReceivedAtKey  = "server.received_at"
	ServerUserKey  = "server.user"
	FingerprintKey = "error.fingerprint"
)

// Time returns when the entry happened: its timestamp when that reads as
// RFC 3339 (with a T, t or space, with or without an offset, UTC when
// none), else when the server received it, else the zero time. Exporters
// order entries by it.
func (e *StoredEntry) Time() time.Time {
	if t, ok := parseTime(e.Timestamp, true); ok {
		return t
	}
	if s, ok := e.Attributes[ReceivedAtKey].(string); ok {
		if t, ok := parseTime(s, true); ok {
			return t
		}
	}
	return time.Time{}
}

// An Exporter receives accepted entries.
//
// Export is called from request goroutines concurrently and must be safe
// for that. It may keep the slice and the entries. When it returns nil the
// entries are the exporter's responsibility; an error makes the server
// answer 503, so the client sends the batch again: an Export that fails
// should have kept none of the batch, or the retry duplicates part of it
// (JSONLStore keeps all or none). Close flushes, releases and returns by
// ctx's deadline; Export after Close returns an error.
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
