package sanitizer_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/sanitizer"
)

func FuzzSanitize(f *testing.F) {
	f.Add("mail bob@x.io password=hunter2 10.1.2.3 4111 1111 1111 1111", "api_key", "v")
	f.Add(`{"password":"x","n":[1,{"token":"t"}]}`, "note", "\xff\xfe")
	f.Add("-----BEGIN PRIVATE KEY-----\nabc", "Authorization", "Bearer abcdefghijkl")
	f.Add("\t/home/alice/go/pkg/mod/x@v1/y.go:1 +0x1", "url", "https://u:p@h/x?email=a%40b.io")
	f.Add("fe80::1%wlan0 ::ffff:10.0.0.1 +44 20 7946 0958", "bob@x.io", "eyJhbGciOi.eyJzdWIiOi.sig")
	f.Add("Authorization: Digest username=\"a\", response=\"b\"\nCookie: a=1; sid=x", "Set-Cookie", "sid=1; Path=/; HttpOnly")
	f.Add(`[{"name":"Authorization","value":"x"},{\"name\":\"pin\",\"value\":1}]`, "name", "password")
	f.Add("mysql -u root -phunter2 db; redis-cli -a pw; sshpass -p 'a b' ssh", "cmd", "<password>x</password>")
	f.Add("main.main()\n\t/Users/a b/go/pkg/mod/x@v1.0.0/y.go:1 +0x1\n#0 f (file:///home/a/b.dart:1:2)", "ua", "Chrome/120.0.0.0")
	f.Add(`C:\\Users\\J S\\x Version=8.0.0.0 span 5757491186252760189 card 4881817414333776`, "pan", "4881817414333776")
	s := sanitizer.Default()
	f.Fuzz(func(t *testing.T, text, key, val string) {
		in := msg(text).WithAttrs(slog.String(key, val), slog.Group("g", slog.String(val, text)),
			slog.Any("m", map[string]any{key: val, "l": []any{text}}))
		in.Error = val
		in.StackTrace = text
		once := s.Sanitize(in)
		out := flatten(once)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out: %q", out)
		}
		if twice := flatten(s.Sanitize(once)); out != twice {
			t.Fatalf("not idempotent:\nonce:  %q\ntwice: %q", out, twice)
		}
	})
}

// FuzzSanitizeNested feeds arbitrary JSON as nested attributes.
func FuzzSanitizeNested(f *testing.F) {
	f.Add([]byte(`{"user":{"email":"bob@x.io","tokens":["a","b"]},"list":[{"password":"x"},"10.1.2.3"]}`))
	f.Add([]byte(`{"a":{"b":{"c":{"d":"Authorization: Bearer abcdef123456"}}},"n":12345678901234567890}`))
	f.Add([]byte(`{"payload":"{\"token\":\"t\",\"ip\":\"::ffff:1.2.3.4\"}"}`))
	f.Add([]byte(`{"headers":[{"name":"Cookie","value":"a=1"},{"Key":"team","Value":{"x":1}}],"pan":4881817414333776}`))
	f.Add([]byte(`{"env":{"name":"API_KEY","value":["k",2]},"version":"10.1.2.3"}`))
	s := sanitizer.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil {
			return
		}
		in := msg("m").ReplaceAttrs(toAttrs(m))
		once := s.Sanitize(in)
		out := flatten(once)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out: %q", out)
		}
		if twice := flatten(s.Sanitize(once)); out != twice {
			t.Fatalf("not idempotent:\nonce:  %q\ntwice: %q", out, twice)
		}
	})
}

// FuzzStackTrace feeds stack traces made of arbitrary lines around a
// panic message: frame lines are read structurally, and whatever they
// hold, the message's email never survives and scrubbing stays
// idempotent.
func FuzzStackTrace(f *testing.F) {
	f.Add("goroutine 1 [running]:\nmain.main()\n\t/home/a/go/pkg/mod/x@v1.0.0/y.go:1 +0x1", "created by main.f in goroutine 1")
	f.Add("#0      main (file:///Users/a/app/lib/main.dart:5:3)", "<asynchronous suspension>")
	f.Add("\tC:/Users/A B/src/x.go:9 +0x1\nnet/http.(*conn).serve(0xc0001b4000, {0x9c1e40, 0xc0002f4000})", "\tbob@x.io/y.go:1 +0x1")
	s := sanitizer.Default()
	f.Fuzz(func(t *testing.T, before, after string) {
		once := s.Sanitize(withStack(before + "\npanic: mail bob@example.com\n" + after))
		if strings.Contains(once.StackTrace, "bob@example.com") {
			t.Fatalf("email survived: %q", once.StackTrace)
		}
		if !utf8.ValidString(once.StackTrace) {
			t.Fatalf("invalid UTF-8 out: %q", once.StackTrace)
		}
		if twice := s.Sanitize(once); twice.StackTrace != once.StackTrace {
			t.Fatalf("not idempotent:\nonce:  %q\ntwice: %q", once.StackTrace, twice.StackTrace)
		}
	})
}
