package sanitizer

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/soliplex/fieldlog/logrecord"
)

const (
	// Redacted replaces the value of an attribute whose key is sensitive,
	// and the value of a sensitive key=value pair in text.
	Redacted = "[REDACTED]"
	// ScrubbedKey is the attribute listing what fired on a record, as
	// "path:rule" entries ("attributes.user.email:email",
	// "message:ipv4"), never values. A rule that panicked is listed as
	// "path:error".
	ScrubbedKey = "fieldlog.scrubbed"
	// failedMarker replaces a field whose scrubbing panicked.
	failedMarker = "[SANITIZER_ERROR]"
)

// maxDepth bounds how deep nested attribute values are walked; deeper
// values are replaced. Records hold values coerced to at most this depth,
// so the bound only guards against a tree built some other way.
const maxDepth = logrecord.MaxDepth

// A Pattern is a caller's own rule for free text. Patterns run on every
// text, after the built-in rules, without a cheap check before them:
// each one adds a regular-expression search to every log call.
type Pattern struct {
	Name   string         // the rule name, as listed in fieldlog.scrubbed; not a built-in one
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
	// SafeKeys are attribute keys whose values are never scrubbed (exact
	// keys, any case). The ids fieldlog relies on (install_id, session_id,
	// user_id, trace_id, span_id, breadcrumb_category) always are.
	SafeKeys []string
	// Disable switches built-in rules off by name (see the Rule constants).
	Disable []string
	// Patterns adds rules for free text, run after the built-in ones.
	Patterns []Pattern
	// HashKey, when set, makes every typed marker carry a keyed hash
	// (HMAC-SHA256, 12 hex digits) of the value it replaced:
	// "[EMAIL:3f9a1c2b7d40]", "[REDACTED:8d2e61c0b9a4]". The same value
	// then correlates across records and sessions without being
	// readable, and different values differ: a password redacted because
	// of its key is hashed as the password itself, and the same password
	// found after "password=" in text gets the same marker. Emails are
	// hashed in lower case; a value that is not a string is hashed as its
	// text. The "~" of home directories carries no hash. Keep the key
	// secret: a hash of a short secret can be tested against guesses by
	// whoever holds it.
	HashKey []byte
	// OnError receives the sanitizer's own failures, such as a rule that
	// panicked; the record is still delivered, with the field replaced.
	// Reports carry the path, never the value. Default: failures are
	// only listed in the record's fieldlog.scrubbed attribute.
	OnError func(error)
}

// A Sanitizer redacts PII from records. It implements sink.Sanitizer and
// is safe for concurrent use.
type Sanitizer struct {
	rules     []*rule
	keys      *keyMatcher
	keyRule   *rule
	hashKey   []byte
	onError   func(error)
	always    bool      // a caller's pattern runs on every text
	buildRule *rule     // build_root, nil when disabled; stack frames use it directly
	homeRule  *rule     // home_path, likewise
	scrubbers sync.Pool // *scrubber, reused so that a record costs no allocation for it
	// anyNeed holds, for other fields [0] and stack traces [1], the
	// lowest feature each rule needs: a text with none of them can make
	// no rule run, so it is clean.
	anyNeed [2]feat
}

// New returns a Sanitizer configured by opts. It fails when
// Options.Disable names an unknown rule or a Pattern lacks its Name or
// Regexp.
func New(opts Options) (*Sanitizer, error) {
	s := &Sanitizer{keys: newKeyMatcher(opts.SensitiveKeys, opts.SafeKeys), onError: opts.OnError}
	s.scrubbers.New = func() any { return &scrubber{s: s, keys: s.keys} }
	s.keys.clean = func(key string) bool { return s.fieldClean(key, false) }
	if len(opts.HashKey) > 0 {
		s.hashKey = bytes.Clone(opts.HashKey)
	}
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
		if known[p.Name] || p.Name == "error" {
			return nil, fmt.Errorf("sanitizer: Options.Patterns[%d]: name %q is taken", i, p.Name)
		}
		known[p.Name] = true
		marker := p.Marker
		if marker == "" {
			marker = "[" + strings.ToUpper(p.Name) + "]"
		}
		r := &rule{name: p.Name, marker: marker, re: p.Regexp, custom: true, apply: replaceAll}
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
		s.always = true
	}
	for _, r := range s.rules {
		switch r.name {
		case RuleBuildRoot:
			s.buildRule = r
		case RuleHomePath:
			s.homeRule = r
		}
		low := r.need & -r.need // a rule runs only if its lowest needed bit is there
		s.anyNeed[1] |= low
		if !r.stackOnly {
			s.anyNeed[0] |= low
		}
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

// Sanitize returns a copy of r without PII; r itself is not changed. When
// anything was redacted the copy carries a fieldlog.scrubbed attribute
// listing where and which rule fired. A record with nothing to redact is
// returned as it is, without allocating.
func (s *Sanitizer) Sanitize(r logrecord.Record) (out logrecord.Record) {
	defer func() {
		if p := recover(); p != nil {
			// Every field has its own recovery; this is the last line: the
			// record is still delivered, with nothing of it unscrubbed.
			s.report(fmt.Errorf("sanitizer: panic outside a rule: %s", s.quietText(safeText(func() string { return fmt.Sprint(p) }))))
			out = logrecord.New(r.Time, r.Level, failedMarker, failedMarker,
				slog.Any(ScrubbedKey, []string{"record:error"}))
			out.TraceID, out.SpanID = r.TraceID, r.SpanID
		}
	}()
	// The features of the four text fields, found once for the clean
	// check and the scrubbing both.
	f := [4]feat{features(r.Message), features(r.Error), s.stackFeatures(r.StackTrace), features(r.Logger)}
	if s.clean(r, &f) {
		return r
	}
	return s.sanitize(r, &f)
}

func (s *Sanitizer) sanitize(r logrecord.Record, f *[4]feat) logrecord.Record {
	sc := s.scrubbers.Get().(*scrubber)
	defer func() {
		*sc = scrubber{s: s, keys: s.keys, fired: sc.fired[:0]}
		s.scrubbers.Put(sc)
	}()
	r.Message = sc.fieldF(pathT{name: "message"}, r.Message, f[0])
	r.Error = sc.fieldF(pathT{name: "error"}, r.Error, f[1])
	sc.stack = true
	r.StackTrace = sc.fieldF(pathT{name: "stack_trace"}, r.StackTrace, f[2])
	sc.stack = false
	r.Logger = sc.fieldF(pathT{name: "logger"}, r.Logger, f[3])
	var prev *slog.Attr // an earlier fieldlog.scrubbed
	if r.NumAttrs() > 0 {
		var attrs []slog.Attr // made on the first change
		i := 0
		sibling := s.recordNamesSecret(r)
		for a := range r.Attrs {
			var ch bool
			if a.Key == ScrubbedKey { // merged below, then written anew
				if prev == nil {
					p := a
					prev = &p
				}
				ch = true
			} else {
				a, ch = sc.attr("attributes", a, 0, sibling)
			}
			if ch && attrs == nil {
				attrs = make([]slog.Attr, 0, r.NumAttrs()+1)
				attrs = append(attrs, r.AttrsSlice()[:i]...)
			}
			if attrs != nil && a.Key != ScrubbedKey {
				attrs = append(attrs, a)
			}
			i++
		}
		if attrs != nil {
			r = r.ReplaceAttrs(attrs)
		}
	}
	if prev != nil {
		sc.mergeScrubbed(*prev)
	}
	if len(sc.fired) > 0 {
		slices.Sort(sc.fired)
		r = r.WithAttrs(slog.Any(ScrubbedKey, slices.Clone(sc.fired)))
	}
	return r
}

// mergeScrubbed adds the entries of a fieldlog.scrubbed attribute the
// record already had, itself scrubbed: only what this package wrote is
// kept as it is.
func (sc *scrubber) mergeScrubbed(a slog.Attr) {
	var entries []string
	switch v := logrecord.Resolve(a.Value); {
	case v.Kind() == slog.KindAny:
		if list, ok := v.Any().([]string); ok {
			entries = list
		} else {
			entries = []string{safeText(func() string { return fmt.Sprint(v.Any()) })}
		}
	default:
		entries = []string{v.String()}
	}
	known := sc.s.ruleNames()
	for i, e := range entries {
		path, name := e, ""
		if k := strings.LastIndexByte(e, ':'); k >= 0 && known[e[k+1:]] {
			path, name = e[:k], e[k+1:]
		}
		sc.path = pathT{base: ScrubbedKey, name: "[" + strconv.Itoa(i) + "]", index: true}
		path = sc.field(sc.path, path)
		if name != "" {
			path += ":" + name
		}
		if !slices.Contains(sc.fired, path) {
			sc.fired = append(sc.fired, path)
		}
	}
	sc.path = pathT{}
}

// ruleNames returns the names a fieldlog.scrubbed entry may end with.
func (s *Sanitizer) ruleNames() map[string]bool {
	names := map[string]bool{RuleKey: true, "error": true}
	for _, r := range s.rules {
		names[r.name] = true
	}
	return names
}

// stackFeatures returns the features of a stack trace. A trace with a
// path is scrubbed frame by frame in any case (build directories are
// removed from paths), so it is not scanned as a whole: then the
// features are only those that send it to scrubStack.
func (s *Sanitizer) stackFeatures(stack string) feat {
	if s.buildRule != nil && (strings.IndexByte(stack, '/') >= 0 || strings.IndexByte(stack, '\\') >= 0) {
		return s.buildRule.need | fNonASCII
	}
	return features(stack)
}

// String scrubs one piece of free text with the free-text rules, as the
// message of a record would be.
func (s *Sanitizer) String(text string) (out string) {
	if s.fieldClean(text, false) {
		return text
	}
	sc := &scrubber{s: s, keys: s.keys}
	return sc.field(pathT{name: "text"}, text)
}

// report hands err to Options.OnError; a callback that panics is not
// allowed to stop the record.
func (s *Sanitizer) report(err error) {
	defer func() { _ = recover() }()
	s.onError(err)
}

// quietText scrubs text for an error report, recording nothing.
func (s *Sanitizer) quietText(text string) string {
	if s.fieldClean(text, false) {
		return text
	}
	quiet := &scrubber{s: s, keys: s.keys, quiet: true}
	return quiet.slowField(pathT{}, text, features(text))
}
