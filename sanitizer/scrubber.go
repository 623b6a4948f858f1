package sanitizer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/logrecord"
)

// scrubber carries one record's scrubbing: what fired, where.
type scrubber struct {
	s     *Sanitizer
	keys  *keyMatcher
	path  pathT
	stack bool // scrubbing a stack trace: the stack-only rules run too
	quiet bool // scrubbing a path for fieldlog.scrubbed: nothing is recorded
	fired []string
	edits int // fields changed, markers or not (invalid UTF-8 is fixed silently)

	lastPath, lastAudit string // the last path auditPath scrubbed, and the result
}

// pathT names a field, such as attributes.request.url or
// attributes.users[1], built into a string only when a rule fires there.
type pathT struct {
	base, name string
	index      bool // name is a list index, "[1]"
}

func (p pathT) String() string {
	switch {
	case p.base == "":
		return p.name
	case p.index:
		return p.base + p.name
	}
	return p.base + "." + p.name
}

// maxAuditPasses bounds the scrubbing of a path for fieldlog.scrubbed.
const maxAuditPasses = 3

// auditPath returns the current path for fieldlog.scrubbed. Paths are
// made of keys already scrubbed, but keys joined with dots can still
// form something a rule finds ("10"."1"."2"."3"), so the path is
// scrubbed too, until nothing changes: scrubbing the record again then
// finds nothing new in it.
func (sc *scrubber) auditPath() string {
	p := strings.ToValidUTF8(sc.path.String(), "\uFFFD")
	if p == sc.lastPath {
		return sc.lastAudit
	}
	out := p
	if !sc.s.fieldClean(p, false) {
		quiet := &scrubber{s: sc.s, keys: sc.keys, quiet: true}
		for range maxAuditPasses {
			next := quiet.slowField(pathT{}, out, features(out))
			if next == out {
				break
			}
			out = next
		}
	}
	sc.lastPath, sc.lastAudit = p, out
	return out
}

// hasEntry reports whether fired holds path + ":" + name.
func hasEntry(fired []string, path, name string) bool {
	for _, e := range fired {
		if len(e) == len(path)+1+len(name) && e[len(path)] == ':' && e[:len(path)] == path && e[len(path)+1:] == name {
			return true
		}
	}
	return false
}

// hashLen is how many hex digits of the keyed hash a marker carries.
const hashLen = 12

// mark returns the marker for a match of rule r and notes that r fired.
func (sc *scrubber) mark(r *rule, match string) string {
	if !sc.quiet {
		// A rule firing again where it fired before adds nothing: the
		// entry is not even built.
		if p := sc.auditPath(); !hasEntry(sc.fired, p, r.name) {
			sc.fired = append(sc.fired, p+":"+r.name)
		}
	}
	if sc.s.hashKey == nil || len(r.marker) < 2 || r.marker[0] != '[' || r.marker[len(r.marker)-1] != ']' {
		return r.marker
	}
	if r.name == RuleEmail {
		match = strings.ToLower(strings.ReplaceAll(match, "%40", "@"))
	}
	m := hmac.New(sha256.New, sc.s.hashKey)
	m.Write([]byte(match))
	var sum [sha256.Size]byte
	return r.marker[:len(r.marker)-1] + ":" + hex.EncodeToString(m.Sum(sum[:0]))[:hashLen] + "]"
}

// clean reports whether nothing in r can be changed by sanitizing, using
// only the cheap checks. It allocates nothing.
func (s *Sanitizer) clean(r logrecord.Record, f *[4]feat) bool {
	if !s.cleanF(r.Message, f[0], false) || !s.cleanF(r.Error, f[1], false) ||
		!s.cleanF(r.StackTrace, f[2], true) || !s.cleanF(r.Logger, f[3], false) {
		return false
	}
	for a := range r.Attrs {
		if a.Key == ScrubbedKey || !s.attrClean(a, 0) {
			return false
		}
	}
	return s.keyRule == nil || !s.recordNamesSecret(r)
}

func (s *Sanitizer) attrClean(a slog.Attr, depth int) bool {
	info := s.keys.info(a.Key)
	if depth > maxDepth || s.keyRule != nil && info&keySensitive != 0 {
		return false
	}
	if info&keySafe != 0 {
		return true
	}
	if info&keyClean == 0 {
		return false
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return s.fieldClean(a.Value.String(), false)
	case slog.KindGroup:
		for _, m := range a.Value.Group() {
			if !s.attrClean(m, depth+1) {
				return false
			}
		}
		return s.keyRule == nil || !s.groupNamesSecret(a.Value.Group())
	case slog.KindAny:
		switch x := a.Value.Any().(type) {
		case nil, bool, float32, float64:
			return true
		case json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			_, long := longNumber(x)
			return !long
		}
		return false
	case slog.KindLogValuer:
		return false
	case slog.KindInt64:
		return -minCardNumber < a.Value.Int64() && a.Value.Int64() < minCardNumber
	case slog.KindUint64:
		return a.Value.Uint64() < minCardNumber
	}
	return true // other numbers, bools, times and durations carry no text
}

// fieldClean reports whether the cheap checks rule out every change to v.
func (s *Sanitizer) fieldClean(v string, stack bool) bool {
	if v == "" {
		return true
	}
	return s.cleanF(v, features(v), stack)
}

// cleanF is fieldClean with the features of v found already.
func (s *Sanitizer) cleanF(v string, f feat, stack bool) bool {
	return v == "" || (f&fNonASCII == 0 || utf8.ValidString(v)) && !s.canFire(f, stack)
}

// field scrubs one string at path, recovering from a rule that panics.
func (sc *scrubber) field(path pathT, v string) string {
	if v == "" {
		return v
	}
	return sc.fieldF(path, v, features(v))
}

// fieldF is field with the features of v found already.
func (sc *scrubber) fieldF(path pathT, v string, f feat) string {
	if sc.s.cleanF(v, f, sc.stack) {
		return v
	}
	out := sc.slowField(path, v, f)
	if out != v {
		sc.edits++
	}
	return out
}

// canFire reports whether any rule could fire on text with features f.
func (s *Sanitizer) canFire(f feat, stack bool) bool {
	if s.always {
		return true
	}
	return f&s.anyNeed[b2i(stack)] != 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (sc *scrubber) slowField(path pathT, v string, f feat) (out string) {
	saved := sc.path
	defer func() {
		p := recover()
		if p != nil && !sc.quiet {
			sc.path = path
			where := sc.auditPath()
			sc.s.report(fmt.Errorf("sanitizer: a rule panicked on %s: %s", where, sc.s.quietText(safeText(func() string { return fmt.Sprint(p) }))))
			if entry := where + ":error"; !slices.Contains(sc.fired, entry) {
				sc.fired = append(sc.fired, entry)
			}
		}
		sc.path = saved
		if p != nil {
			out = failedMarker
		}
	}()
	sc.path = path
	if f&fNonASCII != 0 && !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
		f = features(v)
	}
	if sc.stack {
		return sc.scrubStack(v)
	}
	return sc.runRules(v, f, allRules)
}

// Which rules runRules runs.
const (
	allRules     = iota
	builtinRules // not the caller's Patterns
	customRules  // only the caller's Patterns
)

// runRules runs the rules on v, whose features are f.
func (sc *scrubber) runRules(v string, f feat, which int) string {
	for _, r := range sc.s.rules {
		if which == builtinRules && r.custom || which == customRules && !r.custom {
			continue
		}
		if f&r.need == r.need && (sc.stack || !r.stackOnly) && (r.maybe == nil || r.maybe(v)) {
			if nv := r.apply(v, r, sc); nv != v {
				// A built-in rule only takes text away or puts in a marker,
				// which adds no feature another rule needs: f stays a
				// superset. A caller's rule may write anything.
				v = nv
				if r.custom {
					f = features(v)
				}
			}
		}
	}
	return v
}
