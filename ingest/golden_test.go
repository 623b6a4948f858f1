package ingest_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the .want files under testdata")

// goldenVerdicts is what the reference handler answers each directory of
// testdata, in compat and in strict mode. The .want files beside the
// payloads hold the violations of a 422 and, for compat mode, the values
// moved to fieldlog.invalid.* attributes of an accepted payload.
var goldenVerdicts = []struct {
	dir            string
	compat, strict int
}{
	{"accept", 200, 200},      // the contract
	{"compat_only", 200, 422}, // production accepts, the client contract does not
	{"python_json", 200, 400}, // JSON only Python's decoder reads
	{"reject", 422, 422},      // contract violations production rejects too
	{"malformed", 422, 400},   // not JSON: production answers 422
	{"unreadable", 400, 400},  // JSON production cannot read
}

var modes = []ingest.Mode{ingest.Compat, ingest.Strict}

// newHandler returns a reference handler in mode m that accepts every
// request, and its exporter.
func newHandler(t testing.TB, m ingest.Mode) (*ingest.Server, *ingest.MemoryExporter) {
	t.Helper()
	exp := &ingest.MemoryExporter{}
	s, err := ingest.NewServer(ingest.ServerOptions{Exporter: exp, AllowAnonymous: true, Mode: m, RatePerSecond: 1e9, RateBurst: 1e9,
		OnError: func(err error) { t.Errorf("server reported: %v", err) }})
	require.NoError(t, err)
	return s, exp
}

// serve posts one body to h and returns the answer.
func serve(h http.Handler, body []byte, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// outcome describes an answer for a .want file: the violations of a 422,
// the moved values of an accepted payload.
func outcome(t *testing.T, w *httptest.ResponseRecorder, stored []ingest.StoredEntry) string {
	t.Helper()
	var b strings.Builder
	switch w.Code {
	case http.StatusUnprocessableEntity:
		var out struct {
			Detail []ingest.Violation `json:"detail"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out), w.Body.String())
		for _, v := range out.Detail {
			b.WriteString(v.String() + "\n")
		}
	case http.StatusOK:
		for i, e := range stored {
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range e.Attributes {
					if strings.HasPrefix(k, ingest.InvalidKeyPrefix) && !yield(k) {
						return
					}
				}
			})
			for _, k := range keys {
				v, err := json.Marshal(e.Attributes[k])
				require.NoError(t, err)
				fmt.Fprintf(&b, "logs[%d].attributes.%s = %s\n", i, k, v)
			}
		}
	}
	return b.String()
}

// Every payload under testdata gets its directory's verdict in each
// mode, with exactly the outcome in its .want file. Run with -update to
// rewrite the .want files after a deliberate change.
func TestGoldenPayloads(t *testing.T) {
	for _, v := range goldenVerdicts {
		files, err := filepath.Glob(filepath.Join("testdata", v.dir, "*.json"))
		require.NoError(t, err)
		require.NotEmpty(t, files, v.dir)
		for _, path := range files {
			for _, m := range modes {
				want := v.compat
				if m == ingest.Strict {
					want = v.strict
				}
				t.Run(fmt.Sprintf("%s/%s/%s", v.dir, filepath.Base(path), m), func(t *testing.T) {
					h, exp := newHandler(t, m)
					w := serve(h, readFile(t, path), nil)
					require.Equal(t, want, w.Code, w.Body.String())
					got := outcome(t, w, exp.Entries())
					wantPath := strings.TrimSuffix(path, ".json") + "." + m.String() + ".want"
					if *update {
						if got == "" {
							_ = os.Remove(wantPath)
						} else {
							require.NoError(t, os.WriteFile(wantPath, []byte(got), 0o644))
						}
					}
					wantText, err := os.ReadFile(wantPath)
					if os.IsNotExist(err) {
						wantText, err = nil, nil
					}
					require.NoError(t, err)
					assert.Equal(t, string(wantText), got)
				})
			}
		}
	}
}

// Every .want file belongs to a payload, so none is left behind.
func TestGoldenWantFilesHavePayloads(t *testing.T) {
	wants, err := filepath.Glob(filepath.Join("testdata", "*", "*.want"))
	require.NoError(t, err)
	require.NotEmpty(t, wants)
	for _, w := range wants {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(w, ".want"), ".compat"), ".strict")
		_, err := os.Stat(base + ".json")
		assert.NoError(t, err, w)
	}
}
