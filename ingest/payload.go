package ingest

import (
	"maps"
	"slices"
)

// decoder reads a payload in one pass. It builds entries while the
// payload is valid and, from the first violation or past the entry limit
// on, only checks the rest, so a hostile body costs little more than its
// own bytes. A field's value is checked once its object is closed, so a
// repeated key counts only with its last value, as in the production
// backend.
type decoder struct {
	s          scanner
	strict     bool
	maxEntries int
	build      bool // still materialising: no violation yet and not too many entries
	entries    int
	p          *Payload
	violations []Violation
	truncated  bool
}

func (d *decoder) add(at loc, msg string) {
	d.build = false
	if len(d.violations) >= maxViolations {
		if !d.truncated {
			d.truncated = true
			d.violations = append(d.violations, Violation{Path: "$", Message: "too many violations; the rest are not listed"})
		}
		return
	}
	d.violations = append(d.violations, Violation{Path: at.String(), Message: msg})
}

// The contract's names, for telling a respelled name from an unknown one.
var (
	payloadFields = []string{"logs", "resource"}
	entryFields   = []string{"timestamp", "level", "logger", "message", "attributes", "error", "stack_trace",
		"span_id", "trace_id", "install_id", "session_id", "user_id", "active_run", "breadcrumbs"}
	runFields   = []string{"thread_id", "run_id"}
	crumbFields = []string{"timestamp", "level", "logger", "message", "category"}
)

// span is the range of violations one value produced, dropped when a
// repeated key replaces the value.
type span struct{ from, to int }

func (d *decoder) forget(sp span, others ...*span) {
	d.violations = slices.Delete(d.violations, sp.from, sp.to)
	for _, o := range others {
		if o.from >= sp.to {
			o.from -= sp.to - sp.from
			o.to -= sp.to - sp.from
		}
	}
}

func (d *decoder) payload() {
	s := &d.s
	if s.peek() != '{' {
		if k, ok := s.skip(); ok {
			d.add(top.with("$"), "must be an object with a logs array, got "+k.String())
		}
		return
	}
	p := &Payload{}
	d.p = p
	var logsKind, resKind kind
	var logsSpan, resSpan span
	var unknown []string
	ok := s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "logs":
			if logsKind != kMissing {
				d.forget(logsSpan, &resSpan)
				p.Logs, d.entries = nil, 0
				d.build = len(d.violations) == 0
			}
			logsSpan.from = len(d.violations)
			logsKind, ok = d.logs(p)
			logsSpan.to = len(d.violations)
		case "resource":
			if resKind != kMissing {
				d.forget(resSpan, &logsSpan)
				p.Resource = nil
			}
			resSpan.from = len(d.violations)
			resKind, ok = d.resource(p)
			resSpan.to = len(d.violations)
		default:
			if d.strict {
				unknown = append(unknown, string(key))
			}
			_, ok = s.skip()
		}
		return ok
	})
	if !ok {
		return
	}
	switch logsKind {
	case kArray:
	case kMissing:
		d.add(top.with("logs"), "is required")
	default:
		d.add(top.with("logs"), "must be an array, got "+logsKind.String())
	}
	switch resKind {
	case kObject:
	case kMissing:
		d.add(top.with("resource"), "is required")
	default:
		d.add(top.with("resource"), "must be an object of strings, got "+resKind.String())
	}
	d.unknown(top, unknown, payloadFields)
	if !d.build {
		p.Logs = nil
	}
}

func (d *decoder) logs(p *Payload) (kind, bool) {
	s := &d.s
	if s.peek() != '[' {
		return s.skip()
	}
	if d.build { // entries usually take a few hundred bytes each
		p.Logs = make([]Entry, 0, min(max(len(s.b)/512, 16), d.maxEntries))
	}
	n := 0
	ok := s.array(func() bool {
		i := n
		n++
		d.entries = n
		if n > d.maxEntries {
			d.build = false
		}
		if !d.build {
			p.Logs = nil
			return d.entry(nil, i)
		}
		p.Logs = append(p.Logs, Entry{})
		return d.entry(&p.Logs[len(p.Logs)-1], i)
	})
	return kArray, ok
}

func (d *decoder) resource(p *Payload) (kind, bool) {
	s := &d.s
	if s.peek() != '{' {
		return s.skip()
	}
	res := map[string]string{}
	var bad map[string]kind // keys whose last value is not a string
	ok := s.object(func(key []byte) bool {
		if s.peek() == '"' {
			t, ok := s.text()
			delete(bad, string(key))
			res[string(key)] = string(t)
			return ok
		}
		k, ok := s.skip()
		if bad == nil {
			bad = map[string]kind{}
		}
		bad[string(key)] = k
		delete(res, string(key))
		return ok
	})
	if !ok {
		return kObject, false
	}
	for _, k := range slices.Sorted(maps.Keys(bad)) {
		d.add(top.with("resource."+shortKey(k)), "must be a string, got "+bad[k].String())
	}
	p.Resource = res
	return kObject, true
}

// shortKey cuts a client's key for a JSON path in a message.
func shortKey(k string) string {
	if c, cut := prefix(k, 64); cut {
		return c + "…"
	}
	return k
}

// unknown reports the keys strict mode does not know, pointing out
// contract names in another spelling (stackTrace, Level).
func (d *decoder) unknown(at loc, keys, names []string) {
	if len(keys) == 0 {
		return
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if n := snake(k); n != k && slices.Contains(names, n) {
			d.add(at.with(shortKey(k)), "unknown field; the contract's name is "+n+" (names are snake_case)")
			continue
		}
		d.add(at.with(shortKey(k)), "unknown field")
	}
}
