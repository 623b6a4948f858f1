package ingest

import (
	"maps"
	"slices"
)

// An entry's fields, in the order violations are reported.
const (
	fTimestamp = iota
	fLevel
	fLogger
	fMessage
	fAttributes
	fError
	fStackTrace
	fSpanID
	fTraceID
	fInstallID
	fSessionID
	fUserID
	fActiveRun
	fBreadcrumbs
	nFields
)

func entryField(key []byte) int {
	switch string(key) {
	case "timestamp":
		return fTimestamp
	case "level":
		return fLevel
	case "logger":
		return fLogger
	case "message":
		return fMessage
	case "attributes":
		return fAttributes
	case "error":
		return fError
	case "stack_trace":
		return fStackTrace
	case "span_id":
		return fSpanID
	case "trace_id":
		return fTraceID
	case "install_id":
		return fInstallID
	case "session_id":
		return fSessionID
	case "user_id":
		return fUserID
	case "active_run":
		return fActiveRun
	case "breadcrumbs":
		return fBreadcrumbs
	}
	return -1
}

// entryState is an entry's last value of each field, read but not yet
// checked.
type entryState struct {
	kind      [nFields]kind
	text      [nFields][]byte // strings; may alias the body
	val       [nFields]any    // other values the checks or a move need
	attrDepth int             // levels of attribute values below the attributes object
	unknown   []string        // strict: keys the contract does not have
}

// entry reads logs[i] and checks it; with e set it also fills e.
func (d *decoder) entry(e *Entry, i int) bool {
	s := &d.s
	if s.peek() != '{' {
		k, ok := s.skip()
		if ok {
			d.add(loc{entry: i, crumb: -1}, "must be an object, got "+k.String())
		}
		return ok
	}
	var st entryState
	ok := s.object(func(key []byte) bool {
		f := entryField(key)
		if f < 0 {
			if d.strict {
				st.unknown = append(st.unknown, string(key))
			}
			_, ok := s.skip()
			return ok
		}
		return d.field(&st, f)
	})
	if ok {
		d.check(e, &st, loc{entry: i, crumb: -1})
	}
	return ok
}

func (d *decoder) field(st *entryState, f int) bool {
	s := &d.s
	st.text[f], st.val[f] = nil, nil
	switch s.peek() {
	case '"':
		t, ok := s.text()
		st.kind[f], st.text[f] = kString, t
		return ok
	case 'n':
		if s.null() {
			st.kind[f] = kNull
			return true
		}
	}
	keep := false
	switch f {
	case fAttributes:
		s.deepest = s.depth
		keep = d.build
	case fActiveRun:
		keep = true
	case fBreadcrumbs:
		keep = d.strict || d.build
	case fError, fStackTrace, fSpanID, fTraceID:
		keep = !d.strict && d.build // compat moves them
	}
	v, k, ok := s.value(keep)
	st.kind[f], st.val[f] = k, v
	if f == fAttributes {
		st.attrDepth = s.deepest - s.depth - 1
	}
	return ok
}

// check reports the violations of an entry and, while building, fills e.
func (d *decoder) check(e *Entry, st *entryState, at loc) {
	d.required(at, st, fTimestamp)
	if st.kind[fTimestamp] == kString && d.strict {
		if _, ok := parseTime(st.text[fTimestamp], false); !ok {
			d.add(at.with("timestamp"), "must be an RFC 3339 timestamp with an offset such as 2026-02-06T12:00:00.123Z, got "+
				quote(string(st.text[fTimestamp])))
		}
	}
	d.required(at, st, fLevel)
	if st.kind[fLevel] == kString {
		if _, ok := ParseLevel(string(st.text[fLevel])); !ok {
			d.add(at.with("level"), "must be one of trace, debug, info, warning, error, fatal, got "+quote(string(st.text[fLevel])))
		}
	}
	d.required(at, st, fLogger)
	d.required(at, st, fMessage)
	switch st.kind[fAttributes] {
	case kMissing, kNull:
	case kObject:
		if d.strict && st.attrDepth > MaxAttributeDepth {
			d.add(at.with("attributes"), "must not nest deeper than 32 levels below the attributes object")
		}
	default:
		d.add(at.with("attributes"), "must be an object, got "+st.kind[fAttributes].String())
	}
	if d.strict {
		d.nullable(at, st, fError)
		d.nullable(at, st, fStackTrace)
		d.hexID(at, st, fSpanID, 16)
		d.hexID(at, st, fTraceID, 32)
	}
	d.required(at, st, fInstallID)
	d.required(at, st, fSessionID)
	d.nullable(at, st, fUserID)
	run := d.activeRun(at, st)
	crumbs, crumbsOK := d.breadcrumbs(at, st)
	d.unknown(at, st.unknown, entryFields)
	if !d.build {
		return
	}

	e.Timestamp = string(st.text[fTimestamp])
	e.Level = string(st.text[fLevel])
	e.Logger = string(st.text[fLogger])
	e.Message = string(st.text[fMessage])
	e.InstallID = string(st.text[fInstallID])
	e.SessionID = string(st.text[fSessionID])
	e.UserID = optional(st, fUserID)
	e.Attributes, _ = st.val[fAttributes].(map[string]any)
	e.ActiveRun = run
	move := func(f int) {
		if e.Attributes == nil {
			e.Attributes = make(map[string]any, 2)
		}
		v := st.val[f]
		if st.kind[f] == kString {
			v = string(st.text[f])
		}
		e.Attributes[InvalidKeyPrefix+entryFields[f]] = v
	}
	for _, f := range []int{fError, fStackTrace} {
		if k := st.kind[f]; k == kString || k == kNull || k == kMissing {
			*fieldOf(e, f) = optional(st, f)
		} else {
			move(f)
		}
	}
	for _, id := range []struct{ f, n int }{{fSpanID, 16}, {fTraceID, 32}} {
		switch k := st.kind[id.f]; {
		case k == kNull || k == kMissing:
		case k == kString && lowerHex(st.text[id.f], id.n):
			*fieldOf(e, id.f) = optional(st, id.f)
		default:
			move(id.f)
		}
	}
	switch {
	case crumbsOK:
		e.Breadcrumbs = crumbs
	case st.kind[fBreadcrumbs] != kNull && st.kind[fBreadcrumbs] != kMissing:
		move(fBreadcrumbs)
	}
}

func fieldOf(e *Entry, f int) **string {
	switch f {
	case fError:
		return &e.Error
	case fStackTrace:
		return &e.StackTrace
	case fSpanID:
		return &e.SpanID
	default:
		return &e.TraceID
	}
}

func optional(st *entryState, f int) *string {
	if st.kind[f] != kString {
		return nil
	}
	s := string(st.text[f])
	return &s
}

func (d *decoder) required(at loc, st *entryState, f int) {
	switch k := st.kind[f]; k {
	case kString:
	case kMissing:
		d.add(at.with(entryFields[f]), "is required")
	default:
		d.add(at.with(entryFields[f]), "must be a string, got "+k.String())
	}
}

func (d *decoder) nullable(at loc, st *entryState, f int) {
	switch k := st.kind[f]; k {
	case kString, kNull, kMissing:
	default:
		d.add(at.with(entryFields[f]), "must be a string or null, got "+k.String())
	}
}

func (d *decoder) hexID(at loc, st *entryState, f, n int) {
	if st.kind[f] == kString && !lowerHex(st.text[f], n) {
		d.add(at.with(entryFields[f]), "must be "+itoa(n)+" lower-case hex digits or null, got "+quote(string(st.text[f])))
		return
	}
	d.nullable(at, st, f)
}

func itoa(n int) string {
	if n == 16 {
		return "16"
	}
	return "32"
}

func (d *decoder) activeRun(at loc, st *entryState) *ActiveRun {
	switch k := st.kind[fActiveRun]; k {
	case kMissing, kNull:
		return nil
	case kObject:
		obj := st.val[fActiveRun].(map[string]any)
		ra := at
		ra.group = "active_run"
		r := &ActiveRun{
			ThreadID: d.treeString(ra.with("thread_id"), obj, "thread_id", nil),
			RunID:    d.treeString(ra.with("run_id"), obj, "run_id", nil),
		}
		if d.strict {
			d.unknownIn(ra, obj, runFields)
		}
		return r
	default:
		d.add(at.with("active_run"), "must be null or an object with thread_id and run_id, got "+k.String())
		return nil
	}
}

// breadcrumbs checks an entry's breadcrumbs. In strict mode each breach
// is a violation; in compat mode none is, and ok says whether they are
// well-formed enough to keep.
func (d *decoder) breadcrumbs(at loc, st *entryState) (crumbs []Breadcrumb, ok bool) {
	switch k := st.kind[fBreadcrumbs]; k {
	case kMissing, kNull:
		return nil, true
	case kArray:
	default:
		if d.strict {
			d.add(at.with("breadcrumbs"), "must be an array, got "+k.String())
		}
		return nil, false
	}
	arr, _ := st.val[fBreadcrumbs].([]any)
	if arr == nil { // not kept: nobody needs them
		return nil, false
	}
	bad := false
	report := func(l loc, msg string) {
		bad = true
		if d.strict {
			d.add(l, msg)
		}
	}
	if len(arr) > 0 {
		crumbs = make([]Breadcrumb, len(arr))
	}
	for i, c := range arr {
		ca := at
		ca.group, ca.crumb = "breadcrumbs", i
		obj, isObj := c.(map[string]any)
		if !isObj {
			report(ca, "must be an object, got "+kindOf(c).String())
			continue
		}
		b := &crumbs[i]
		b.Timestamp = d.treeString(ca.with("timestamp"), obj, "timestamp", report)
		if _, isStr := obj["timestamp"].(string); isStr && d.strict {
			if _, ok := ParseTimestamp(b.Timestamp); !ok {
				report(ca.with("timestamp"), "must be an RFC 3339 timestamp with an offset such as 2026-02-06T12:00:00.123Z, got "+quote(b.Timestamp))
			}
		}
		b.Level = d.treeString(ca.with("level"), obj, "level", report)
		if _, isStr := obj["level"].(string); isStr {
			if _, ok := ParseLevel(b.Level); !ok {
				report(ca.with("level"), "must be one of trace, debug, info, warning, error, fatal, got "+quote(b.Level))
			}
		}
		b.Logger = d.treeString(ca.with("logger"), obj, "logger", report)
		b.Message = d.treeString(ca.with("message"), obj, "message", report)
		b.Category = d.treeString(ca.with("category"), obj, "category", report)
		if _, isStr := obj["category"].(string); isStr && !isCategory(b.Category) {
			report(ca.with("category"), "must be one of ui, network, system, user, got "+quote(b.Category))
		}
		if d.strict {
			d.unknownIn(ca, obj, crumbFields)
		}
	}
	return crumbs, !bad
}

// treeString returns obj[key] as a string, reporting when it is missing
// or not a string: through report when set, as a violation otherwise.
func (d *decoder) treeString(at loc, obj map[string]any, key string, report func(loc, string)) string {
	if report == nil {
		report = d.add
	}
	x, present := obj[key]
	if !present {
		report(at, "is required")
		return ""
	}
	s, ok := x.(string)
	if !ok {
		report(at, "must be a string, got "+kindOf(x).String())
	}
	return s
}

// unknownIn reports keys of obj that are not names.
func (d *decoder) unknownIn(at loc, obj map[string]any, names []string) {
	var odd []string
	for k := range maps.Keys(obj) {
		if !slices.Contains(names, k) {
			odd = append(odd, k)
		}
	}
	d.unknown(at, odd, names)
}
