package jsonnum

import (
	"encoding/json"
	"testing"
)

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "012", "1.", ".5", "1.5", "-1.5e10", "1e", "1e+", "1E-3", "", "-", "+1", "0x1", "1.2.3", "NaN", "9999999999999999999999"} {
		want := json.Valid([]byte(s)) && s != "" && s[len(s)-1] != '"' && s[0] != '"' && s != "null" && s != "true" && s != "false"
		if got := Valid(s); got != want {
			t.Errorf("Valid(%q) = %t, want %t", s, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	f.Add("1.5e3")
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) {
			var n json.Number
			if err := json.Unmarshal([]byte(s), &n); err != nil {
				t.Fatalf("Valid(%q) but encoding/json refuses it: %v", s, err)
			}
		}
	})
}
