package sanitizer

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Markers.
const (
	// Redacted replaces the value of an attribute whose key is sensitive.
	Redacted = "[REDACTED]"
	// failedMarker replaces a field whose scrubbing panicked.
	failedMarker = "[SANITIZER_ERROR]"
	// ScrubbedKey is the attribute listing what fired on a record: paths
	// and rule names, never values.
	ScrubbedKey = "fieldlog.scrubbed"
)

// maxDepth bounds how deep nested attribute values are walked; deeper
// values are replaced.
const maxDepth = 32

// A Pattern is a caller's own rule for free text.
type Pattern struct {
	Name   string         // the rule name, as reported in fieldlog.scrubbed
	Regexp *regexp.Regexp // what to find
	Marker string         // what replaces it; default "[" + upper-case Name + "]"
	// Replace, when set, computes the replacement of each match instead of
	// Marker, for example to keep the last digits of an account number.
	// What it returns must not be matched by Regexp again.
	Replace func(match string) string
}

// Options configures a Sanitizer. The zero value gives the default rules.
type Options struct {
	// SensitiveKeys adds key words or phrases ("pin_code", "membership
	// number") whose attribute values are redacted, matched like the
	// built-in ones: case-insensitive, separators and camel case ignored.
	SensitiveKeys []string
	// SafeKeys are attribute keys never scrubbed (exact, case-insensitive).
	// The ids fieldlog relies on are always safe.
	SafeKeys []string
	// Disable switches built-in rules off by name (see the Rule constants).
	Disable []string
	// Patterns adds rules for free text, run after the built-in ones.
	Patterns []Pattern
	// HashKey, when set, makes every marker carry a keyed hash of what it
	// replaced ("[EMAIL:3f9a1c2b]"), so the same value correlates across
	// records and sessions without being readable. Keep the key secret.
	HashKey []byte
	// OnError receives the sanitizer's own failures, such as a rule that
	// panicked; the record is still delivered, with the field replaced.
	OnError func(error)
}

// A Sanitizer redacts PII from records. It implements sink.Sanitizer and
// is safe for concurrent use.
type Sanitizer struct {
	rules   []*rule
	keys    *keyMatcher
	keyRule *rule
	hashKey []byte
	onError func(error)
}

var _ sink.Sanitizer = (*Sanitizer)(nil)

// New returns a Sanitizer configured by opts.
func New(opts Options) (*Sanitizer, error) {
	s := &Sanitizer{keys: newKeyMatcher(opts.SensitiveKeys, opts.SafeKeys), hashKey: opts.HashKey, onError: opts.OnError}
	if s.onError == nil {
		s.onError = func(error) {}
	}
	known := map[string]bool{RuleKey: true}
	for _, r := range defaultRules() {
		known[r.name] = true
	}
	for _, name := range opts.Disable {
		if !known[name] {
			return nil, fmt.Errorf("sanitizer: Options.Disable: unknown rule %q", name)
		}
	}
	for _, r := range defaultRules() {
		if !slices.Contains(opts.Disable, r.name) {
			s.rules = append(s.rules, r)
		}
	}
	if !slices.Contains(opts.Disable, RuleKey) {
		s.keyRule = &rule{name: RuleKey, marker: Redacted}
	}
	for i, p := range opts.Patterns {
		if p.Regexp == nil || p.Name == "" {
			return nil, fmt.Errorf("sanitizer: Options.Patterns[%d]: Name and Regexp are required", i)
		}
		marker := p.Marker
		if marker == "" {
			marker = "[" + strings.ToUpper(p.Name) + "]"
		}
		r := &rule{name: p.Name, marker: marker, re: p.Regexp, apply: replaceAll}
		if p.Replace != nil {
			replace := p.Replace
			r.apply = func(s string, r *rule, sc *scrubber) string {
				return r.re.ReplaceAllStringFunc(s, func(m string) string {
					sc.mark(r, m)
					return replace(m)
				})
			}
		}
		s.rules = append(s.rules, r)
	}
	return s, nil
}

// Default returns a Sanitizer with the default rules.
func Default() *Sanitizer {
	s, err := New(Options{})
	if err != nil {
		panic(err) // the defaults are valid
	}
	return s
}

// scrubber carries one record's scrubbing: what fired, where.
type scrubber struct {
	s     *Sanitizer
	keys  *keyMatcher
	path  pathT
	fired []string
	edits int // fields changed, markers or not (invalid UTF-8 is fixed silently)
}

// pathT names a field, such as attributes.request.url, built into a string
// only when a rule fires there, so clean records cost no allocations.
type pathT struct{ base, name string }

func (p pathT) String() string {
	switch {
	case p.base == "":
		return p.name
	case strings.HasPrefix(p.name, "["):
		return p.base + p.name
	}
	return p.base + "." + p.name
}

// mark returns the marker for a match of rule r and notes that r fired.
func (sc *scrubber) mark(r *rule, match string) string {
	entry := strings.ToValidUTF8(sc.path.String(), "\uFFFD") + ":" + r.name
	if !slices.Contains(sc.fired, entry) {
		sc.fired = append(sc.fired, entry)
	}
	if sc.s.hashKey == nil {
		return r.marker
	}
	m := hmac.New(sha256.New, sc.s.hashKey)
	m.Write([]byte(match))
	sum := hex.EncodeToString(m.Sum(nil))[:8]
	if strings.HasPrefix(r.marker, "[") && strings.HasSuffix(r.marker, "]") {
		return r.marker[:len(r.marker)-1] + ":" + sum + "]"
	}
	return r.marker
}

// measurement reports whether a kv key names a measurement (token_count).
func (m *keyMatcher) measurement(key string) bool {
	ws := splitWords(key)
	return len(ws) > 1 && measurementWords[ws[len(ws)-1]]
}

// Sanitize returns a copy of r without PII; r itself is not changed. When
// anything was redacted the copy carries a fieldlog.scrubbed attribute
// listing where and which rule fired.
func (s *Sanitizer) Sanitize(r logrecord.Record) logrecord.Record {
	sc := &scrubber{s: s, keys: s.keys}
	r.Message = sc.field(pathT{name: "message"}, r.Message)
	r.Error = sc.field(pathT{name: "error"}, r.Error)
	r.StackTrace = sc.field(pathT{name: "stack_trace"}, r.StackTrace)
	r.Logger = sc.field(pathT{name: "logger"}, r.Logger)
	if r.NumAttrs() > 0 {
		var attrs []slog.Attr // made on the first change
		i := 0
		for a := range r.Attrs {
			if a.Key != ScrubbedKey {
				if na, ch := sc.attr("attributes", a, 0); ch {
					if attrs == nil {
						attrs = make([]slog.Attr, 0, r.NumAttrs()+1)
						attrs = append(attrs, r.AttrsSlice()[:i]...)
					}
					a = na
				}
			}
			if attrs != nil {
				attrs = append(attrs, a)
			}
			i++
		}
		if attrs != nil {
			r = r.ReplaceAttrs(attrs)
		}
	}
	if len(sc.fired) > 0 {
		if prev, ok := r.Attr(ScrubbedKey); ok {
			if list, ok := prev.Any().([]string); ok {
				for _, f := range list {
					if !slices.Contains(sc.fired, f) {
						sc.fired = append(sc.fired, f)
					}
				}
			}
			attrs := r.AttrsSlice()
			attrs = slices.DeleteFunc(attrs, func(a slog.Attr) bool { return a.Key == ScrubbedKey })
			r = r.ReplaceAttrs(attrs)
		}
		slices.Sort(sc.fired)
		r = r.WithAttrs(slog.Any(ScrubbedKey, sc.fired))
	}
	return r
}

// String scrubs one piece of free text with the free-text rules.
func (s *Sanitizer) String(text string) string {
	sc := &scrubber{s: s, keys: s.keys}
	return sc.field(pathT{name: "text"}, text)
}

// field scrubs one string at path, recovering from a rule that panics.
func (sc *scrubber) field(path pathT, v string) string {
	if v == "" {
		return v
	}
	// Fast path: valid UTF-8, not JSON, and no rule whose features are all
	// present. Most log text ends here without a regular expression.
	f := features(v)
	if utf8.ValidString(v) && !looksJSON(v) && !sc.s.canFire(f) {
		return v
	}
	out := sc.slowField(path, v, f)
	if out != v {
		sc.edits++
	}
	return out
}

// canFire reports whether any rule could fire on text with features f.
func (s *Sanitizer) canFire(f feat) bool {
	for _, r := range s.rules {
		if f&r.need == r.need {
			return true
		}
	}
	return false
}

func looksJSON(v string) bool {
	t := strings.TrimSpace(v)
	return len(t) >= 2 && (t[0] == '{' && t[len(t)-1] == '}' || t[0] == '[' && t[len(t)-1] == ']')
}

func (sc *scrubber) slowField(path pathT, v string, f feat) (out string) {
	saved := sc.path
	defer func() {
		sc.path = saved
		if p := recover(); p != nil {
			sc.s.onError(fmt.Errorf("sanitizer: a rule panicked on %s: %v", path, p))
			sc.fired = append(sc.fired, strings.ToValidUTF8(path.String(), "\uFFFD")+":error")
			out = failedMarker
		}
	}()
	sc.path = path
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
		f = features(v)
	}
	if looksJSON(v) {
		if js, ok := sc.json(v); ok {
			return js
		}
	}
	for _, r := range sc.s.rules {
		if f&r.need == r.need && (r.maybe == nil || r.maybe(v)) {
			if nv := r.apply(v, r, sc); nv != v {
				v, f = nv, features(nv)
			}
		}
	}
	return v
}

// json scrubs a string that holds a JSON object or array inside, keys
// included, and re-encodes it.
func (sc *scrubber) json(v string) (string, bool) {
	t := strings.TrimSpace(v)
	if len(t) < 2 || !(t[0] == '{' && t[len(t)-1] == '}' || t[0] == '[' && t[len(t)-1] == ']') || !json.Valid([]byte(t)) {
		return "", false
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return "", false
	}
	before := sc.edits + len(sc.fired)
	doc = sc.anyValue(doc, 0)
	if sc.edits+len(sc.fired) == before {
		return v, true
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(doc) != nil {
		return "", false
	}
	return strings.TrimSuffix(b.String(), "\n"), true
}

// attr scrubs one attribute: a sensitive key loses its whole value, any
// other value is walked.
func (sc *scrubber) attr(parent string, a slog.Attr, depth int) (slog.Attr, bool) {
	keyChanged := false
	if k := sc.key(parent, a.Key); k != a.Key {
		a.Key, keyChanged = k, true
	}
	path := pathT{parent, a.Key}
	if sc.s.keyRule != nil && sc.keys.sensitive(a.Key) {
		saved := sc.path
		sc.path = path
		a.Value = slog.StringValue(sc.mark(sc.s.keyRule, ""))
		sc.path = saved
		return a, true
	}
	if sc.keys.isSafe(a.Key) {
		return a, keyChanged
	}
	v, changed := sc.value(path, a.Value, depth)
	a.Value = v
	return a, changed || keyChanged
}

// plainKey reports whether k is made only of letters, '_', '-' and '.',
// which no free-text rule can match.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// key scrubs an attribute key with the free-text rules: a key can hold PII
// too ({"bob@x.io": 3}).
func (sc *scrubber) key(parent, k string) string {
	if plainKey(k) || sc.keys.isSafe(k) {
		return k
	}
	return sc.field(pathT{parent, "<key>"}, k)
}

func (sc *scrubber) value(path pathT, v slog.Value, depth int) (slog.Value, bool) {
	if depth > maxDepth {
		return slog.StringValue("!DEPTH"), true
	}
	v = logrecord.Resolve(v)
	switch v.Kind() {
	case slog.KindString:
		s := v.String()
		if out := sc.field(path, s); out != s {
			return slog.StringValue(out), true
		}
		return v, false
	case slog.KindGroup:
		members := v.Group()
		out := make([]slog.Attr, len(members))
		changed := false
		base := path.String()
		for i, m := range members {
			var ch bool
			out[i], ch = sc.attr(base, m, depth+1)
			changed = changed || ch
		}
		if !changed {
			return v, false
		}
		return slog.GroupValue(out...), true
	case slog.KindAny:
		saved := sc.path
		sc.path = path
		before := sc.edits + len(sc.fired)
		x := sc.anyValue(v.Any(), depth+1)
		sc.path = saved
		if sc.edits+len(sc.fired) == before {
			return v, false
		}
		return slog.AnyValue(x), true
	}
	return v, false // numbers, bools, times, durations carry no text
}

// anyValue scrubs JSON-shaped data (maps, slices, strings, numbers) and
// turns any other value into its scrubbed text, so nothing escapes through
// a type the sanitizer does not know.
func (sc *scrubber) anyValue(x any, depth int) (out any) {
	if depth > maxDepth {
		return "!DEPTH"
	}
	path := sc.path
	switch t := x.(type) {
	case nil, bool, json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return x
	case string:
		return sc.field(path, t)
	case map[string]any:
		base := path.String()
		m := make(map[string]any, len(t))
		for k, v := range t {
			k = sc.key(base, k)
			sc.path = pathT{base, k}
			if sc.s.keyRule != nil && sc.keys.sensitive(k) {
				m[k] = sc.mark(sc.s.keyRule, "")
			} else {
				m[k] = sc.anyValue(v, depth+1)
			}
			sc.path = path
		}
		return m
	case []any:
		base := path.String()
		l := make([]any, len(t))
		for i, v := range t {
			sc.path = pathT{base, "[" + strconv.Itoa(i) + "]"}
			l[i] = sc.anyValue(v, depth+1)
			sc.path = path
		}
		return l
	case []string:
		base := path.String()
		l := make([]string, len(t))
		for i, v := range t {
			l[i] = sc.field(pathT{base, "[" + strconv.Itoa(i) + "]"}, v)
		}
		return l
	case error:
		return sc.field(path, safeText(func() string { return t.Error() }))
	case fmt.Stringer:
		return sc.field(path, safeText(func() string { return t.String() }))
	}
	s := safeText(func() string { return fmt.Sprint(x) })
	if out := sc.field(path, s); out != s {
		return out
	}
	return x
}

func safeText(f func() string) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprintf("!PANIC: %v", p)
		}
	}()
	return f()
}
