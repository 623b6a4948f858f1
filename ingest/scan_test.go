package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzScannerAgreesWithEncodingJSON: on UTF-8 input within the nesting
// and integer limits, the scanner in strict mode accepts exactly the JSON
// texts encoding/json accepts, and reads the same values.
func FuzzScannerAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,-0,1.5e+3,true,false,null,"x\n\"\/\u00e9\ud83d\ude00\ud800"]}`,
		`[]`, `{}`, ` "s" `, `01`, `1.`, `.5`, `-`, `1e`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `"\x"`, `"\u12"`,
		"\"\t\"", `nul`, `NaN`, `{"a":1,"a":2}`, `[[[[]]]]`, `"\udc00\ud800\u0041"`, `1 2`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return
		}
		s := scanner{b: b}
		got, _, ok := s.value(true)
		if ok {
			if s.ws(); s.i < len(b) {
				ok = false
			}
		}
		if errors.Is(s.err, ErrUnreadable) {
			return
		}
		require.Equal(t, json.Valid(b), ok, "%q: %v", b, s.err)
		if !ok {
			return
		}
		var want any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&want))
		require.Equal(t, want, got, "%q", b)
	})
}
