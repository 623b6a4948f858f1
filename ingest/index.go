package ingest

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Attribute keys the session index and the timeline read. The SDK writes
// them: the session start marker, the backend sink's lost-records entry,
// its size guard, and crash reports of an earlier session.
const (
	DeviceAliasKey    = "device.alias"
	ServiceNameKey    = "service.name"
	ServiceVersionKey = "service.version"
	OSNameKey         = "os.name"
	TruncatedKey      = "fieldlog.truncated"
	DroppedTotalKey   = "dropped_total"
	DroppedFromKey    = "dropped_from"
	DroppedToKey      = "dropped_to"
	CrashKindKey      = "crash.kind"
	CrashSessionKey   = "crash.session_id"

	crashUncleanExit = "unclean_exit"
	markerLogger     = "fieldlog"
	markerMessage    = "session started"
)

// DefaultMaxSessions is how many sessions a JSONLStore indexes by default.
const DefaultMaxSessions = 100_000

// Caps of one session's index entry, against a client that sends a new
// user id or error on every record.
const (
	maxSessionUsers        = 8
	maxSessionFingerprints = 32
)

// A SessionQuery selects sessions; empty fields match every session.
type SessionQuery struct {
	UserID      string    // the client's user_id or the authenticated server.user
	InstallID   string    // install_id
	DeviceAlias string    // device.alias of the start marker or the resource
	Fingerprint string    // error.fingerprint of one of its error or fatal entries
	From, To    time.Time // sessions with activity within [From, To]; zero: unbounded
	Level       string    // sessions with an entry at this level or above
	Text        string    // sessions with an entry whose message or error contains this, ignoring case
	Limit       int       // most recently active first; default 50
}

// A SessionSummary is what the index knows of one session.
type SessionSummary struct {
	SessionID    string    `json:"session_id"`
	InstallID    string    `json:"install_id"`
	UserIDs      []string  `json:"user_ids,omitempty"`
	DeviceAlias  string    `json:"device_alias,omitempty"`
	Service      string    `json:"service,omitempty"`
	Version      string    `json:"version,omitempty"`
	OS           string    `json:"os,omitempty"`
	First        time.Time `json:"first"` // earliest entry time
	Last         time.Time `json:"last"`  // latest entry time
	Entries      int       `json:"entries"`
	Errors       int       `json:"errors"`
	Fatals       int       `json:"fatals"`
	Fingerprints []string  `json:"fingerprints,omitempty"`
	UncleanExit  bool      `json:"unclean_exit,omitempty"` // a later session reported that it ended without Close
	Dropped      int64     `json:"dropped,omitempty"`      // records the client reported lost before delivery
	Truncated    int       `json:"truncated,omitempty"`    // entries the client cut to fit
}

// lineLoc is where a line of the store begins.
type lineLoc struct {
	file int32
	off  int64
}

type indexedSession struct {
	SessionSummary
	levels uint8 // bit i: an entry of Levels[i]
	seq    uint64
	locs   []lineLoc
}

// sessionIndex maps session ids to what is known of them and where their
// lines are. Adding an entry is a few map lookups and one append, under
// one lock per batch; it holds 16 bytes per stored line plus one summary
// per session, at most max sessions (the least recently active go first).
type sessionIndex struct {
	mu       sync.Mutex
	sessions map[string]*indexedSession
	max      int
	seq      uint64
}

// newSessionIndex returns an index of at most max sessions; nil, which
// indexes nothing, when max is negative.
func newSessionIndex(max int) *sessionIndex {
	if max < 0 {
		return nil
	}
	return &sessionIndex{sessions: map[string]*indexedSession{}, max: max}
}

func (x *sessionIndex) get(id string) *indexedSession {
	s := x.sessions[id]
	if s == nil {
		s = &indexedSession{SessionSummary: SessionSummary{SessionID: id}}
		x.sessions[id] = s
	}
	x.seq++
	s.seq = x.seq
	return s
}

// add indexes entries written at offs of file.
func (x *sessionIndex) add(file int, offs []int64, entries []StoredEntry) {
	if x == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range entries {
		e := &entries[i]
		l := lineLoc{int32(file), offs[i]}
		s := x.get(e.SessionID)
		s.note(e, l)
		// A crash or silent-death report of an earlier session is shipped
		// by the next start: it belongs to both timelines.
		if other, ok := e.Attributes[CrashSessionKey].(string); ok && other != "" && other != e.SessionID {
			o := x.get(other)
			o.locs = append(o.locs, l)
			if o.InstallID == "" {
				o.InstallID = e.InstallID
			}
			if e.Attributes[CrashKindKey] == crashUncleanExit {
				o.UncleanExit = true
			}
			if e.Level == "fatal" {
				o.Fatals++
				o.addFingerprint(e)
			}
		}
	}
	if len(x.sessions) > x.max {
		x.evict()
	}
}

func (s *indexedSession) note(e *StoredEntry, l lineLoc) {
	s.locs = append(s.locs, l)
	s.Entries++
	if s.InstallID == "" {
		s.InstallID = e.InstallID
	}
	if t := e.Time(); !t.IsZero() {
		if s.First.IsZero() || t.Before(s.First) {
			s.First = t
		}
		if t.After(s.Last) {
			s.Last = t
		}
	}
	if i := slices.Index(Levels, e.Level); i >= 0 {
		s.levels |= 1 << i
	}
	if e.UserID != nil {
		s.addUser(*e.UserID)
	}
	if u, ok := e.Attributes[ServerUserKey].(string); ok {
		s.addUser(u)
	}
	// The start marker's values win; the first entry's do until it comes.
	marker := isMarker(e)
	fill := func(dst *string, key string) {
		if *dst != "" && !marker {
			return
		}
		if v, ok := e.Attributes[key].(string); ok && v != "" {
			*dst = v
		} else if v := e.Resource[key]; v != "" && *dst == "" {
			*dst = v
		}
	}
	fill(&s.DeviceAlias, DeviceAliasKey)
	fill(&s.Service, ServiceNameKey)
	fill(&s.Version, ServiceVersionKey)
	fill(&s.OS, OSNameKey)
	switch e.Level {
	case "error":
		s.Errors++
		s.addFingerprint(e)
	case "fatal":
		s.Fatals++
		s.addFingerprint(e)
	}
	if e.Logger == markerLogger {
		if n, ok := number(e.Attributes[DroppedTotalKey]); ok {
			s.Dropped += n
		}
	}
	if _, ok := e.Attributes[TruncatedKey]; ok {
		s.Truncated++
	}
	// The report of an unclean exit, shipped by the next start with the
	// dead session's own id.
	if e.Attributes[CrashKindKey] == crashUncleanExit {
		if id, _ := e.Attributes[CrashSessionKey].(string); id == "" || id == e.SessionID {
			s.UncleanExit = true
		}
	}
}

func isMarker(e *StoredEntry) bool { return e.Logger == markerLogger && e.Message == markerMessage }

func (s *indexedSession) addUser(u string) {
	if u != "" && len(s.UserIDs) < maxSessionUsers && !slices.Contains(s.UserIDs, u) {
		s.UserIDs = append(s.UserIDs, u)
	}
}

func (s *indexedSession) addFingerprint(e *StoredEntry) {
	fp, ok := e.Attributes[FingerprintKey].(string)
	if ok && len(s.Fingerprints) < maxSessionFingerprints && !slices.Contains(s.Fingerprints, fp) {
		s.Fingerprints = append(s.Fingerprints, fp)
	}
}

// evict forgets the tenth of the sessions active longest ago.
func (x *sessionIndex) evict() {
	seqs := make([]uint64, 0, len(x.sessions))
	for _, s := range x.sessions {
		seqs = append(seqs, s.seq)
	}
	slices.Sort(seqs)
	cut := seqs[len(seqs)-x.max+x.max/10]
	for id, s := range x.sessions {
		if s.seq < cut {
			delete(x.sessions, id)
		}
	}
}

// dropFile forgets the lines of a file retention deleted, and sessions
// left with none.
func (x *sessionIndex) dropFile(file int) {
	if x == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for id, s := range x.sessions {
		s.locs = slices.DeleteFunc(s.locs, func(l lineLoc) bool { return int(l.file) == file })
		if len(s.locs) == 0 {
			delete(x.sessions, id)
		}
	}
}

// candidate is a session that matches a query's indexed keys.
type candidate struct {
	summary SessionSummary
	locs    []lineLoc
}

// find returns the sessions matching q's indexed keys (all but Text),
// most recently active first, with copies of their locations when
// withLocs is set.
func (x *sessionIndex) find(q SessionQuery, withLocs bool) []candidate {
	if x == nil {
		return nil
	}
	minLevel := -1
	if q.Level != "" {
		minLevel = slices.Index(Levels, q.Level)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []candidate
	for _, s := range x.sessions {
		if !s.match(q, minLevel) {
			continue
		}
		c := candidate{summary: s.summary()}
		if withLocs {
			c.locs = slices.Clone(s.locs)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b candidate) int {
		if c := b.summary.Last.Compare(a.summary.Last); c != 0 {
			return c
		}
		return strings.Compare(a.summary.SessionID, b.summary.SessionID)
	})
	return out
}

// lookup returns one session and a copy of its locations.
func (x *sessionIndex) lookup(id string) (candidate, bool) {
	if x == nil {
		return candidate{}, false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.sessions[id]
	if !ok {
		return candidate{}, false
	}
	return candidate{summary: s.summary(), locs: slices.Clone(s.locs)}, true
}

func (s *indexedSession) summary() SessionSummary {
	out := s.SessionSummary
	out.UserIDs = slices.Clone(s.UserIDs)
	out.Fingerprints = slices.Clone(s.Fingerprints)
	return out
}

func (s *indexedSession) match(q SessionQuery, minLevel int) bool {
	return (q.UserID == "" || slices.Contains(s.UserIDs, q.UserID)) &&
		(q.InstallID == "" || s.InstallID == q.InstallID) &&
		(q.DeviceAlias == "" || s.DeviceAlias == q.DeviceAlias) &&
		(q.Fingerprint == "" || slices.Contains(s.Fingerprints, q.Fingerprint)) &&
		(q.From.IsZero() || !s.Last.Before(q.From)) &&
		(q.To.IsZero() || !s.First.After(q.To)) &&
		(minLevel < 0 || s.levels>>minLevel != 0)
}

// number reads an attribute that holds a whole number.
func number(v any) (int64, bool) {
	switch n := v.(type) {
	case interface{ Int64() (int64, error) }: // json.Number
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}
