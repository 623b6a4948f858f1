package sanitizer_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/stretchr/testify/require"
)

// corpusPath is the corpus of secrets and benign look-alikes; its format
// is described in testdata/README.md.
const corpusPath = "testdata/corpus.jsonl"

type corpusCase struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Where   string          `json:"where"`
	Input   json.RawMessage `json:"input"`
	Secrets []string        `json:"secrets"`
	Keep    []string        `json:"keep"`
}

// loadCorpus reads every case of the corpus; a missing or broken file
// fails the test.
func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	f, err := os.Open(corpusPath)
	require.NoError(t, err, "the sanitizer corpus must be at %s", corpusPath)
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var c corpusCase
		require.NoError(t, json.Unmarshal(line, &c), "corpus line %q", line)
		cases = append(cases, c)
	}
	require.NoError(t, sc.Err())
	require.Greater(t, len(cases), 100, "the corpus has its cases")
	return cases
}

// toAttrs turns decoded JSON into attributes, in key order.
func toAttrs(m map[string]any) []slog.Attr {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(m))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, m[k]))
	}
	return attrs
}

// flatten renders every text of a record: message, error, stack, logger,
// every attribute key and leaf value, nested ones included.
func flatten(r logrecord.Record) string {
	var b strings.Builder
	b.WriteString(r.Message + "\n" + r.Error + "\n" + r.StackTrace + "\n" + r.Logger + "\n")
	var walk func(x any)
	walkValue := func(v slog.Value) {}
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				b.WriteString(k + "\n")
				walk(t[k])
			}
		case []any:
			for _, v := range t {
				walk(v)
			}
		case []string:
			for _, v := range t {
				b.WriteString(v + "\n")
			}
		case slog.Value:
			walkValue(t)
		default:
			b.WriteString(fmt.Sprintf("%+v", t) + "\n")
		}
	}
	walkValue = func(v slog.Value) {
		switch v.Kind() {
		case slog.KindGroup:
			for _, a := range v.Group() {
				b.WriteString(a.Key + "\n")
				walkValue(a.Value)
			}
		case slog.KindAny:
			walk(v.Any())
		default:
			b.WriteString(v.String() + "\n")
		}
	}
	for a := range r.Attrs {
		b.WriteString(a.Key + "\n")
		walkValue(a.Value)
	}
	return b.String()
}

// caseRecord builds the record a corpus case describes.
func caseRecord(t *testing.T, c corpusCase) logrecord.Record {
	t.Helper()
	r := logrecord.New(time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC), logrecord.LevelError, "App", "fixed message")
	switch c.Where {
	case "message", "error", "stack_trace":
		var text string
		require.NoError(t, json.Unmarshal(c.Input, &text))
		switch c.Where {
		case "message":
			r.Message = text
		case "error":
			r.Error = text
		default:
			r.StackTrace = text
		}
	case "attr_value", "attr_key":
		dec := json.NewDecoder(bytes.NewReader(c.Input))
		dec.UseNumber()
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		r = r.ReplaceAttrs(toAttrs(m))
	default:
		t.Fatalf("%s: unknown where %q", c.ID, c.Where)
	}
	return r
}

// checkCase asserts that no secret of c is in out and that every keep is.
func checkCase(t *testing.T, c corpusCase, out string) {
	t.Helper()
	for _, secret := range c.Secrets {
		if strings.Contains(out, secret) {
			t.Errorf("%s (%s in %s): secret %q survived:\n%s", c.ID, c.Kind, c.Where, secret, out)
		}
	}
	for _, keep := range c.Keep {
		if !strings.Contains(out, keep) {
			t.Errorf("%s (%s in %s): %q was lost:\n%s", c.ID, c.Kind, c.Where, keep, out)
		}
	}
}

func TestCorpus(t *testing.T) {
	s := sanitizer.Default()
	for _, c := range loadCorpus(t) {
		t.Run(c.ID+"_"+c.Kind, func(t *testing.T) {
			in := caseRecord(t, c)
			before := flatten(in)
			checkCase(t, c, flatten(s.Sanitize(in)))
			require.Equal(t, before, flatten(in), "the input record is not changed")
		})
	}
}

// TestCorpusElsewhere moves every free-text case to the other places the
// same text can be logged: another record field, a string attribute, a
// value in a group, JSON held in a string, and between Unicode neighbours.
// Secrets must go and benign text must stay wherever it is.
func TestCorpusElsewhere(t *testing.T) {
	placements := []struct {
		name  string
		place func(text string) logrecord.Record
	}{
		{"error", func(text string) logrecord.Record { r := msg("m"); r.Error = text; return r }},
		{"attribute", func(text string) logrecord.Record { return msg("m").WithAttrs(slog.String("note", text)) }},
		{"group", func(text string) logrecord.Record {
			return msg("m").WithAttrs(slog.Group("req", slog.Group("body", slog.String("text", text))))
		}},
		{"list", func(text string) logrecord.Record {
			return msg("m").WithAttrs(slog.Any("events", []any{map[string]any{"detail": text}}))
		}},
		{"json string", func(text string) logrecord.Record {
			return msg("m").WithAttrs(slog.String("payload", `{"detail":"`+jsonText(text)+`"}`))
		}},
		{"unicode neighbours", func(text string) logrecord.Record { return msg("⚠️ " + text + " ✅") }},
	}
	s := sanitizer.Default()
	for _, c := range loadCorpus(t) {
		if c.Where != "message" && c.Where != "error" || c.Kind == "file_path" {
			continue
		}
		var text string
		require.NoError(t, json.Unmarshal(c.Input, &text))
		for _, p := range placements {
			t.Run(c.ID+"_"+c.Kind+"/"+p.name, func(t *testing.T) {
				out := flatten(s.Sanitize(p.place(text)))
				c := c // keeps are rewritten for this placement only
				if p.name == "json string" {
					// Keeps are compared with the text as JSON writes it.
					keep := make([]string, len(c.Keep))
					for i, k := range c.Keep {
						keep[i] = jsonText(k)
					}
					c.Keep = keep
				}
				checkCase(t, c, out)
			})
		}
	}
}

// jsonText returns text as it appears inside a JSON string.
func jsonText(text string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(text)
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(b.String()), `"`), `"`)
}
