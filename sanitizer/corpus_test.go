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

const corpusPath = "../../shared/testdata/sanitizer/corpus.jsonl"

type corpusCase struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Where   string          `json:"where"`
	Input   json.RawMessage `json:"input"`
	Secrets []string        `json:"secrets"`
	Keep    []string        `json:"keep"`
}

// toAttrs turns decoded JSON into attributes: objects become groups.
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

// flatten renders every text of a record: message, error, stack, every
// attribute key and leaf value.
func flatten(r logrecord.Record) string {
	var b strings.Builder
	b.WriteString(r.Message + "\n" + r.Error + "\n" + r.StackTrace + "\n")
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
			b.WriteString(fmt.Sprint(t) + "\n")
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

func TestCorpus(t *testing.T) {
	f, err := os.Open(corpusPath)
	require.NoError(t, err, "the shared sanitizer corpus must be at %s", corpusPath)
	defer f.Close()
	s := sanitizer.Default()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var c corpusCase
		require.NoError(t, json.Unmarshal(line, &c))
		n++
		t.Run(c.ID+"_"+c.Kind, func(t *testing.T) {
			r := logrecord.New(time.Now(), logrecord.LevelError, "App", "fixed message")
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
			default:
				dec := json.NewDecoder(bytes.NewReader(c.Input))
				dec.UseNumber()
				var m map[string]any
				require.NoError(t, dec.Decode(&m))
				r = r.ReplaceAttrs(toAttrs(m))
			}
			out := flatten(s.Sanitize(r))
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
		})
	}
	require.NoError(t, sc.Err())
	require.Greater(t, n, 100, "the corpus has its cases")
}
