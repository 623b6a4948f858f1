package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fastPathSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, dir := range []string{"valid", "invalid"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		require.NoError(t, err)
		for _, path := range files {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			seeds = append(seeds, b)
		}
	}
	const e = `"timestamp":"2026-02-06T12:00:00Z","level":"info","logger":"L","message":"m","install_id":"i","session_id":"s"`
	for _, s := range []string{
		`{"logs":[{` + e + `}]}`,
		`{"logs":[{` + e + `,"level":"loud"}]}`,
		`{"logs":[{` + e + `,"level":"loud","level":"info"}]}`,
		`{"logs":[{` + e + `,"attributes":{"a":1,"a":[true,false,null,-0.5e+3,"x\n\"\/"]}}]}`,
		`{"logs":[{` + e + `,"Level":"info"}]}`,
		`{"logs":[{` + e + `,"message":"\u00e9"}]}`,
		`{"logs":[{` + e + `,"message":"tab\there"}]}`,
		`{"logs":[{` + e + `,"active_run":{"thread_id":"t","run_id":"r","x":{}}}]}`,
		`{"logs":[{` + e + `,"active_run":{"thread_id":"t","runId":"r"}}]}`,
		`{"logs":[{` + e + `,"breadcrumbs":[]}],"resource":{}}`,
		`{"logs":[{` + e + `,"breadcrumbs":null,"active_run":null,"attributes":null}],"resource":null}`,
		`{"logs":[],"logs":[{` + e + `}],"Resource":1}`,
		`{"logs":[{` + e + `}]} `,
		`{"logs":[{` + e + `}]}x`,
		`{"logs":[{` + e + `,"attributes":{"n":01}}]}`,
		`{"logs":[{` + e + `,"attributes":{"n":1.}}]}`,
		`{"logs":[{` + e + `,"attributes":` + strings.Repeat(`{"a":`, 33) + `1` + strings.Repeat(`}`, 33) + `}]}`,
		"{\"logs\":[{" + e + ",\"message\":\"\xff\"}]}",
		"{\"logs\":[{" + e + ",\"message\":\"\x01\"}]}",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// The fast path accepts the common payloads; otherwise it would be no
// faster.
func TestFastPathAcceptsCommonPayloads(t *testing.T) {
	for _, name := range []string{"design_example.json", "every_level_and_category.json", "minimal.json", "unknown_fields_ignored.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "valid", name))
		require.NoError(t, err)
		_, ok := decodeFast(b)
		assert.True(t, ok, name)
	}
}

func TestFastPathAgrees(t *testing.T) {
	for _, seed := range fastPathSeeds(t) {
		checkFastPathAgrees(t, seed)
	}
}

// FuzzFastPathAgrees: whatever the fast path accepts, the generic path
// accepts too, with the same result.
func FuzzFastPathAgrees(f *testing.F) {
	for _, seed := range fastPathSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkFastPathAgrees(t, raw)
	})
}

func checkFastPathAgrees(t *testing.T, raw []byte) {
	t.Helper()
	fast, ok := decodeFast(raw)
	if !ok {
		return
	}
	slow, err := decodeGeneric(raw)
	require.NoError(t, err, "fast path accepted what the generic path rejects: %q", raw)
	require.Equal(t, slow, fast, "%q", raw)
}
