package ingest

import (
	"fmt"
	"slices"
	"strings"
)

// A Naming chooses the attribute names under which exporters write the
// facts of an entry that a log record has no field of its own for. The
// package documentation's "Exports" section has the table.
type Naming int

const (
	// BackendNames are the production backend's flat names: logger,
	// message, client_timestamp, install_id, session_id, user_id,
	// thread_id, run_id. It is the default, for the reason compat mode
	// is: records the reference server exports query exactly like those
	// of the production backend, so one fleet served by both needs one
	// query language, and nothing needs configuring to get there.
	BackendNames Naming = iota
	// OTelNames are dotted names in the style of OpenTelemetry's
	// semantic conventions: install.id, session.id, user.id,
	// run.thread_id, run.id; logger and message only as the record's
	// scope and body. For pipelines keyed on session.id and user.id.
	OTelNames
)

// String returns "backend" or "otel".
func (n Naming) String() string {
	if n == OTelNames {
		return "otel"
	}
	return "backend"
}

// ParseNaming returns the Naming named "backend" or "otel".
func ParseNaming(s string) (Naming, error) {
	switch s {
	case "backend":
		return BackendNames, nil
	case "otel":
		return OTelNames, nil
	}
	return 0, fmt.Errorf("ingest: naming must be backend or otel, got %q", s)
}

// Attribute names both namings share.
const (
	ClientTimestampKey     = "client_timestamp"     // the entry's timestamp as the client wrote it
	ExceptionMessageKey    = "exception.message"    // error
	ExceptionTypeKey       = "exception.type"       // ErrorType of the error, when it has one
	ExceptionStacktraceKey = "exception.stacktrace" // stack_trace
	BreadcrumbsKey         = "fieldlog.breadcrumbs" // a list of {timestamp, level, logger, message, category}
)

// names are a Naming's attribute names of an entry's fields; "" where
// the field has only the record's own place.
type names struct {
	logger, message, installID, sessionID, userID, threadID, runID string
}

var (
	backendNames = names{"logger", "message", "install_id", "session_id", "user_id", "thread_id", "run_id"}
	otelNames    = names{"", "", "install.id", "session.id", "user.id", "run.thread_id", "run.id"}
)

func (n Naming) names() *names {
	if n == OTelNames {
		return &otelNames
	}
	return &backendNames
}

// An Attribute is one named value of an exported record. Value is what
// decoding JSON gives: nil, a string, bool, json.Number or float64, an
// []any or a map[string]any.
type Attribute struct {
	Key   string
	Value any
}

// NamedAttributes returns the attributes an exporter writes for the
// entry under naming n, sorted by key, each key once: the client's
// attributes (the server's server.received_at, server.user and
// error.fingerprint among them), and the entry's fields that a log record
// has no place of its own for. Where a field and a client attribute have
// the same name, the field's value is kept. Null fields are left out.
func (e *StoredEntry) NamedAttributes(n Naming) []Attribute {
	named, fields := e.appendNamed(nil, n)
	out := make([]Attribute, 0, len(named))
	eachSorted(named, fields, func(a *namedAttr) {
		out = append(out, Attribute{a.key, a.value(e)})
	})
	return out
}

// namedAttr is an Attribute that boxes no string: the JSONL store
// writes millions of them.
type namedAttr struct {
	key  string
	str  string
	val  any
	kind uint8
}

const (
	attrString = iota // str
	attrValue         // val, a client's attribute
	attrCrumbs        // the entry's breadcrumbs
)

func (a *namedAttr) value(e *StoredEntry) any {
	switch a.kind {
	case attrString:
		return a.str
	case attrCrumbs:
		crumbs := make([]any, len(e.Breadcrumbs))
		for i, c := range e.Breadcrumbs {
			crumbs[i] = map[string]any{"timestamp": c.Timestamp, "level": c.Level, "logger": c.Logger, "message": c.Message, "category": c.Category}
		}
		return crumbs
	}
	return a.val
}

// appendNamed appends what NamedAttributes returns to out, in two runs
// each sorted by key: the entry's fields (the first fields of them), then
// the client's attributes; eachSorted merges them.
func (e *StoredEntry) appendNamed(out []namedAttr, n Naming) (_ []namedAttr, fields int) {
	nm := n.names()
	start := len(out)
	add := func(k, v string) {
		if k != "" {
			out = append(out, namedAttr{key: k, str: v})
		}
	}
	// In key order, for both namings.
	add(ClientTimestampKey, e.Timestamp)
	if e.Error != nil {
		add(ExceptionMessageKey, *e.Error)
	}
	if e.StackTrace != nil {
		add(ExceptionStacktraceKey, *e.StackTrace)
	}
	if e.Error != nil {
		if typ := ErrorType(*e.Error); typ != "" {
			add(ExceptionTypeKey, typ)
		}
	}
	if len(e.Breadcrumbs) > 0 {
		out = append(out, namedAttr{key: BreadcrumbsKey, kind: attrCrumbs})
	}
	add(nm.installID, e.InstallID)
	add(nm.logger, e.Logger)
	add(nm.message, e.Message)
	var thread, run string
	if r := e.ActiveRun; r != nil {
		thread, run = nm.threadID, nm.runID
	}
	add(run, runOf(e.ActiveRun))
	if n == OTelNames { // run.thread_id < session.id
		add(thread, threadOf(e.ActiveRun))
		add(nm.sessionID, e.SessionID)
	} else { // session_id < thread_id
		add(nm.sessionID, e.SessionID)
		add(thread, threadOf(e.ActiveRun))
	}
	if e.UserID != nil {
		add(nm.userID, *e.UserID)
	}
	fields = len(out) - start
	own := out[start:]
	for k, v := range e.Attributes {
		if !slices.ContainsFunc(own[:fields], func(a namedAttr) bool { return a.key == k }) {
			out = append(out, namedAttr{key: k, val: v, kind: attrValue})
		}
	}
	slices.SortFunc(out[start+fields:], func(a, b namedAttr) int { return strings.Compare(a.key, b.key) })
	return out, fields
}

func runOf(r *ActiveRun) string {
	if r == nil {
		return ""
	}
	return r.RunID
}

func threadOf(r *ActiveRun) string {
	if r == nil {
		return ""
	}
	return r.ThreadID
}

// eachSorted calls fn for the attributes appendNamed returned, in key
// order.
func eachSorted(named []namedAttr, fields int, fn func(*namedAttr)) {
	own, client := named[:fields], named[fields:]
	for len(own) > 0 || len(client) > 0 {
		if len(client) == 0 || len(own) > 0 && own[0].key < client[0].key {
			fn(&own[0])
			own = own[1:]
		} else {
			fn(&client[0])
			client = client[1:]
		}
	}
}

// fromNamed takes the entry's fields out of attrs, the attributes of a
// record written under naming n, and sets them on e; what is left are the
// client's attributes. Levels, logger, message, times and trace ids come
// from the record itself.
func (e *StoredEntry) fromNamed(n Naming, attrs map[string]any) {
	nm := n.names()
	take := func(k string) (string, bool) {
		v, ok := attrs[k].(string)
		if ok {
			delete(attrs, k)
		}
		return v, ok
	}
	optional := func(k string) *string {
		if v, ok := take(k); ok {
			return &v
		}
		return nil
	}
	if ts, ok := take(ClientTimestampKey); ok {
		e.Timestamp = ts
	}
	if nm.logger != "" {
		take(nm.logger)
		take(nm.message)
	}
	e.InstallID, _ = take(nm.installID)
	e.SessionID, _ = take(nm.sessionID)
	e.UserID = optional(nm.userID)
	thread, ok1 := attrs[nm.threadID].(string)
	run, ok2 := attrs[nm.runID].(string)
	if ok1 && ok2 {
		e.ActiveRun = &ActiveRun{ThreadID: thread, RunID: run}
		delete(attrs, nm.threadID)
		delete(attrs, nm.runID)
	}
	if e.Error = optional(ExceptionMessageKey); e.Error != nil {
		if typ, ok := attrs[ExceptionTypeKey].(string); ok && typ == ErrorType(*e.Error) {
			delete(attrs, ExceptionTypeKey)
		}
	}
	e.StackTrace = optional(ExceptionStacktraceKey)
	if crumbs, ok := breadcrumbsOf(attrs[BreadcrumbsKey]); ok {
		e.Breadcrumbs = crumbs
		delete(attrs, BreadcrumbsKey)
	}
	if len(attrs) > 0 {
		e.Attributes = attrs
	}
}

// breadcrumbsOf reads back the value NamedAttributes gives breadcrumbs.
func breadcrumbsOf(v any) ([]Breadcrumb, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := make([]Breadcrumb, len(list))
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok || len(m) != 5 {
			return nil, false
		}
		c := &out[i]
		for k, dst := range map[string]*string{"timestamp": &c.Timestamp, "level": &c.Level, "logger": &c.Logger, "message": &c.Message, "category": &c.Category} {
			if *dst, ok = m[k].(string); !ok {
				return nil, false
			}
		}
	}
	return out, true
}
