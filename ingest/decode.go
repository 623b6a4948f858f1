package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/internal/wire"
)

// A Mode is how a payload is checked: Compat, the default, or Strict.
type Mode uint8

const (
	// Compat gives the production backend's verdicts: it never rejects
	// what production accepts and rejects what production rejects. Fields
	// production ignores are kept when well-formed and moved to a
	// fieldlog.invalid.<field> attribute when not.
	Compat Mode = iota
	// Strict checks the whole client contract, for testing clients.
	Strict
)

func (m Mode) String() string {
	if m == Strict {
		return "strict"
	}
	return "compat"
}

// ParseMode reads "compat" or "strict".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "compat":
		return Compat, nil
	case "strict":
		return Strict, nil
	}
	return Compat, fmt.Errorf("ingest: unknown mode %q; use compat or strict", s)
}

// InvalidKeyPrefix starts the attribute to which compat mode moves a
// malformed value of a field production ignores: fieldlog.invalid.trace_id.
const InvalidKeyPrefix = wire.InvalidKeyPrefix

// A Decoder reads payloads in one mode, with limits. The zero value reads
// in compat mode with the default limits.
type Decoder struct {
	Mode       Mode  // Compat (the default) or Strict
	MaxBytes   int64 // Decode: the body limit, counted while reading; default DefaultMaxBody
	MaxEntries int   // default DefaultMaxEntries
}

func (d Decoder) withDefaults() Decoder {
	if d.MaxBytes <= 0 {
		d.MaxBytes = DefaultMaxBody
	}
	if d.MaxEntries <= 0 {
		d.MaxEntries = DefaultMaxEntries
	}
	return d
}

// Decoding errors.
var (
	// ErrTooLarge is returned when the body exceeds the byte limit.
	ErrTooLarge = errors.New("ingest: payload too large")
	// ErrTooManyEntries is returned for a payload that is valid but
	// carries more entries than the limit.
	ErrTooManyEntries = errors.New("ingest: too many entries")
	// ErrMalformed is wrapped by errors for bodies that are not one JSON
	// value. The production backend answers them 422.
	ErrMalformed = errors.New("ingest: malformed JSON")
	// ErrUnreadable is wrapped by errors for bodies the production
	// backend cannot read although they may be JSON: text that is not
	// UTF-8 (nor UTF-16 or UTF-32 in compat mode), an integer longer than
	// MaxIntDigits, nesting deeper than MaxNesting. It answers them 400.
	ErrUnreadable = errors.New("ingest: unreadable body")
)

// A Violation is one breach of the contract, with the JSON path where it
// is, such as logs[3].level.
type Violation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (v Violation) String() string { return v.Path + ": " + v.Message }

// A ValidationError lists the violations found in a payload, entry by
// entry: at most 1,000, then one saying the rest are not listed.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("ingest: invalid payload: ")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == 10 {
			fmt.Fprintf(&b, "and %d more", len(e.Violations)-10)
			break
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// maxViolations bounds the report of one payload, so a hostile body cannot
// make the answer larger than itself.
const maxViolations = 1000

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Decode reads one payload from r and checks it. It returns ErrTooLarge
// when the body is longer than MaxBytes (counted while reading, whatever
// the request claimed), an error wrapping ErrMalformed or ErrUnreadable
// for a body that is not a JSON text the mode reads, a *ValidationError
// listing every violation, or ErrTooManyEntries. Errors from r are
// returned wrapped.
func (d Decoder) Decode(r io.Reader) (*Payload, error) {
	d = d.withDefaults()
	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, d.MaxBytes+1)); err != nil {
		return nil, fmt.Errorf("ingest: read body: %w", err)
	}
	if int64(buf.Len()) > d.MaxBytes {
		return nil, ErrTooLarge
	}
	// Every string in the result is a copy, so the buffer can be reused.
	return decode(buf.Bytes(), d)
}

func putBody(buf *bytes.Buffer) {
	if buf.Cap() <= 2*DefaultMaxBody+bytes.MinRead {
		bodyPool.Put(buf)
	}
}

// DecodeBytes is Decode for a body already in memory; MaxBytes does not
// apply.
func (d Decoder) DecodeBytes(raw []byte) (*Payload, error) {
	return decode(raw, d.withDefaults())
}

// Decode reads one payload of at most limit bytes from r in compat mode:
// Decoder{MaxBytes: limit}.Decode(r).
func Decode(r io.Reader, limit int64) (*Payload, error) {
	return Decoder{MaxBytes: limit}.Decode(r)
}

// DecodeBytes reads one payload in compat mode: Decoder{}.DecodeBytes(raw).
func DecodeBytes(raw []byte) (*Payload, error) {
	return Decoder{}.DecodeBytes(raw)
}

// Validate checks a payload built in code as the server would check it on
// the wire in mode m: it returns nil or a *ValidationError. An attribute
// value that JSON cannot carry (NaN, a channel) makes it return an
// encoding error instead.
func Validate(p *Payload, m Mode) error {
	if p == nil {
		return &ValidationError{Violations: []Violation{{Path: "$", Message: "must be an object with a logs array"}}}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("ingest: encode payload: %w", err)
	}
	_, err = Decoder{Mode: m, MaxEntries: max(len(p.Logs), DefaultMaxEntries)}.DecodeBytes(raw)
	return err
}

func decode(raw []byte, o Decoder) (*Payload, error) {
	python := o.Mode == Compat
	text := raw
	if python {
		var ok bool
		if text, ok = pythonText(raw); !ok {
			return nil, &syntaxError{kind: ErrUnreadable, msg: "not valid UTF-16 or UTF-32"}
		}
	} else if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return nil, &syntaxError{kind: ErrMalformed, msg: "a byte order mark"}
	}
	d := decoder{s: scanner{b: text, python: python}, strict: o.Mode == Strict, maxEntries: o.MaxEntries, build: true}
	if d.s.peek() == 0 && d.s.i == len(text) {
		d.s.fail(ErrMalformed, "empty body")
	} else {
		d.payload()
		if d.s.ws(); d.s.err == nil && d.s.i < len(text) {
			d.s.fail(ErrMalformed, "data after the JSON value")
		}
	}
	if err := d.s.err; err != nil {
		// Production decodes the whole body before it parses any of it.
		if at := invalidText(text, python); at >= 0 && errors.Is(err, ErrMalformed) {
			return nil, &syntaxError{kind: ErrUnreadable, offset: at, msg: "invalid UTF-8"}
		}
		return nil, err
	}
	if len(d.violations) > 0 {
		return nil, &ValidationError{Violations: d.violations}
	}
	if d.entries > d.maxEntries {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyEntries, d.entries, d.maxEntries)
	}
	return d.p, nil
}

// loc is the JSON path of a value, built into a string only when a
// violation is reported.
type loc struct {
	entry int    // index in logs; -1 outside the logs array
	crumb int    // index in breadcrumbs; -1 outside them
	group string // "active_run" or "breadcrumbs" inside an entry
	field string
}

var top = loc{entry: -1, crumb: -1}

func (l loc) String() string {
	if l.entry < 0 {
		return l.field
	}
	var b strings.Builder
	b.WriteString("logs[")
	b.WriteString(strconv.Itoa(l.entry))
	b.WriteByte(']')
	if l.group != "" {
		b.WriteByte('.')
		b.WriteString(l.group)
		if l.crumb >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(l.crumb))
			b.WriteByte(']')
		}
	}
	if l.field != "" {
		b.WriteByte('.')
		b.WriteString(l.field)
	}
	return b.String()
}

func (l loc) with(field string) loc { l.field = field; return l }

// quote returns s quoted for a message, cut to a short prefix.
func quote(s string) string {
	if c, cut := prefix(s, 64); cut {
		return strconv.Quote(c) + "…"
	}
	return strconv.Quote(s)
}

// prefix returns s cut to at most n bytes on a rune boundary, and whether
// it cut anything.
func prefix(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// snake returns the snake_case spelling of a camelCase or PascalCase name:
// stackTrace → stack_trace, installID → install_id, Level → level.
func snake(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			if i > 0 && s[i-1] != '_' && !('A' <= s[i-1] && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func kindOf(x any) kind {
	switch x.(type) {
	case nil:
		return kNull
	case string:
		return kString
	case json.Number:
		return kNumber
	case bool:
		return kBool
	case []any:
		return kArray
	case map[string]any:
		return kObject
	}
	return kMissing
}
