package sanitizer_test

import (
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func msg(text string) logrecord.Record {
	return logrecord.New(time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC), logrecord.LevelInfo, "App", text)
}

func TestFreeTextFamilies(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"mail ALICE.Smith+tag@Example.co.uk now", "mail [EMAIL] now"},
		{"ssn 123-45-6789.", "ssn [SSN]."},
		{"Authorization: Bearer abc.DEF-123_456789", "Authorization: Bearer [TOKEN]"},
		{"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl end", "token [JWT] end"},
		{"from 192.168.1.20:8080 and 10.0.0.1.", "from [IP]:8080 and [IP]."},
		{"peer fe80::1%wlan0 and ::ffff:192.0.2.1 and 2001:db8::8a2e:370:7334", "peer [IP] and [IP] and [IP]"},
		{"card 4111 1111 1111 1111 declined", "card [CARD] declined"},
		{"card 4111-1111-1111-1112 fine", "card 4111-1111-1111-1112 fine"},
		{"key AKIAIOSFODNN7EXAMPLE used", "key [CLOUD_KEY] used"},
		{`login password=hunter2 user=bob`, `login password=[REDACTED] user=bob`},
		{`{"user":"bob","api_key":"k-123"}`, `{"api_key":"[REDACTED]","user":"bob"}`},
		{"db: postgres://app:s3cret@db.internal:5432/x", "db: postgres://app:[REDACTED]@db.internal:5432/x"},
		{"call +44 20 7946 0958 or (415) 555-2671", "call [PHONE] or [PHONE]"},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nafter", "[PRIVATE_KEY]\nafter"},
		{"x -----BEGIN PRIVATE KEY-----\nMIIEow never ends", "x [PRIVATE_KEY]"},
		{"at /home/alice/src/app/main.go:42 and C:\\Users\\bob\\app.dart:7", "at ~/src/app/main.go:42 and ~\\app.dart:7"},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Sanitize(msg(tt.give)).Message)
		})
	}
}

func TestBenignSurvivesUntouched(t *testing.T) {
	benign := []string{
		"install 6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e session 0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e",
		"trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
		"sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"at 2026-02-06T12:00:00.123Z took 1.5s (1500ms), build 1.4.2, Windows 10.0.19045.3693",
		"GET /api/v1/chat/42?page=3 200 in 182ms; port 8443; epoch 1738843200 and 1738843200123",
		"github.com/acme/billing/internal/pay.(*Client).Charge at auth/token.go:42",
		"401 Unauthorized: no bearer token; password reset email queued; token_count: 512",
		"12:00:00 and 2026-02-06 and MAC aa:bb:cc:dd:ee:ff",
	}
	s := sanitizer.Default()
	for _, b := range benign {
		t.Run(b, func(t *testing.T) {
			out := s.Sanitize(msg(b))
			assert.Equal(t, b, out.Message)
			_, fired := out.Attr(sanitizer.ScrubbedKey)
			assert.False(t, fired)
		})
	}
}

func TestSensitiveKeys(t *testing.T) {
	tests := []struct {
		key       string
		sensitive bool
	}{
		{"password", true}, {"oldPassword", true}, {"API-KEY", true}, {"x-api-key", true}, {"maps.api.key", true},
		{"Authorization", true}, {"auth", true}, {"client_secret", true}, {"Set-Cookie", true}, {"ssn", true},
		{"credit_card_number", true}, {"privateKey", true}, {"jwt", true},
		{"author", false}, {"authors", false}, {"token_count", false}, {"tokenCount", false},
		{"auth_latency_ms", false}, {"cookie_bytes_total", false}, {"install_id", false}, {"session_id", false},
		{"user_id", false}, {"trace_id", false}, {"span_id", false}, {"breadcrumb_category", false}, {"route", false},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			r := s.Sanitize(msg("m").WithAttrs(slog.Int(tt.key, 1234)))
			v, _ := r.Attr(tt.key)
			assert.Equal(t, tt.sensitive, v.String() == sanitizer.Redacted, "value %v", v)
		})
	}
}

func TestNestedAttributesAndGroups(t *testing.T) {
	in := msg("m").WithAttrs(
		slog.Group("request", slog.String("url", "/login"), slog.Group("headers", slog.String("Authorization", "Basic Zm9vOmJhcg=="))),
		slog.Any("users", []any{map[string]any{"name": "bob", "password": "x1"}, map[string]any{"email": "a@b.io"}}),
		slog.String("payload", `{"credentials":{"user":"u","pass":"p"},"ok":true}`),
		slog.Any("err", errors.New("dial bob@corp.example: refused")),
	)
	out := sanitizer.Default().Sanitize(in)
	text := flatten(out)
	for _, secret := range []string{"Zm9vOmJhcg==", "x1", "a@b.io", `"p"`, "bob@corp.example"} {
		assert.NotContains(t, text, secret)
	}
	assert.Contains(t, text, "/login")
	scrubbed, ok := out.Attr(sanitizer.ScrubbedKey)
	require.True(t, ok)
	assert.Equal(t, []string{
		"attributes.err:email", "attributes.payload.credentials:sensitive_key",
		"attributes.request.headers.Authorization:sensitive_key",
		"attributes.users[0].password:sensitive_key", "attributes.users[1].email:email",
	}, scrubbed.Any())
	assert.Equal(t, 4, in.NumAttrs(), "the caller's record is not changed")
	orig, _ := in.Attr("payload")
	assert.Contains(t, orig.String(), `"pass":"p"`)
}

func TestIdempotent(t *testing.T) {
	s := sanitizer.Default()
	in := msg("mail bob@x.io password=hunter2 ip 10.1.2.3").WithAttrs(slog.String("token", "t"), slog.String("note", "call (415) 555-2671"))
	once := s.Sanitize(in)
	twice := s.Sanitize(once)
	assert.Equal(t, flatten(once), flatten(twice))
}

func TestHashedMarkersCorrelate(t *testing.T) {
	s, err := sanitizer.New(sanitizer.Options{HashKey: []byte("service secret")})
	require.NoError(t, err)
	a := s.Sanitize(msg("login bob@x.io")).Message
	b := s.Sanitize(msg("logout bob@x.io")).Message
	c := s.Sanitize(msg("login eve@x.io")).Message
	assert.Regexp(t, `^login \[EMAIL:[0-9a-f]{8}\]$`, a)
	assert.Equal(t, strings.TrimPrefix(a, "login "), strings.TrimPrefix(b, "logout "), "the same value, the same marker")
	assert.NotEqual(t, a, c)
	assert.NotContains(t, a, "bob")
}

func TestOptions(t *testing.T) {
	s, err := sanitizer.New(sanitizer.Options{
		Disable:       []string{sanitizer.RuleIPv4},
		SensitiveKeys: []string{"membership number"},
		SafeKeys:      []string{"auth_mode"},
		Patterns:      []sanitizer.Pattern{{Name: "ticket", Regexp: regexp.MustCompile(`TCK-\d+`)}},
	})
	require.NoError(t, err)
	out := s.Sanitize(msg("ip 10.1.2.3 ticket TCK-991").WithAttrs(slog.String("membershipNumber", "M-1"), slog.String("auth_mode", "sso")))
	assert.Equal(t, "ip 10.1.2.3 ticket [TICKET]", out.Message)
	v, _ := out.Attr("membershipNumber")
	assert.Equal(t, sanitizer.Redacted, v.String())
	v, _ = out.Attr("auth_mode")
	assert.Equal(t, "sso", v.String())

	_, err = sanitizer.New(sanitizer.Options{Disable: []string{"nope"}})
	assert.ErrorContains(t, err, `"nope"`)
	_, err = sanitizer.New(sanitizer.Options{Patterns: []sanitizer.Pattern{{Name: "x"}}})
	assert.ErrorContains(t, err, "Patterns[0]")
}

func TestPanicCostsOnlyTheField(t *testing.T) {
	var reported sinktest.Errors
	s, err := sanitizer.New(sanitizer.Options{
		OnError: reported.Add,
		Patterns: []sanitizer.Pattern{{Name: "acct", Regexp: regexp.MustCompile(`ACCT-\d+`),
			Replace: func(string) string { panic("rule bug") }}},
	})
	require.NoError(t, err)
	out := s.Sanitize(msg("closing ACCT-123 for bob@x.io").WithAttrs(slog.String("note", "fine"), slog.String("ref", "ACCT-9")))
	assert.Equal(t, "[SANITIZER_ERROR]", out.Message, "the affected field is replaced, never passed through")
	v, _ := out.Attr("note")
	assert.Equal(t, "fine", v.String(), "the rest of the record is delivered")
	v, _ = out.Attr("ref")
	assert.Equal(t, "[SANITIZER_ERROR]", v.String())
	require.Len(t, reported.All(), 2)
	assert.Contains(t, reported.All()[0].Error(), "rule bug")
	assert.NotContains(t, reported.Text(), "bob@x.io", "a report never carries the value")

	masked, err := sanitizer.New(sanitizer.Options{Patterns: []sanitizer.Pattern{{Name: "acct", Regexp: regexp.MustCompile(`ACCT-\d+`),
		Replace: func(m string) string { return "ACCT-…" + m[len(m)-2:] }}}})
	require.NoError(t, err)
	assert.Equal(t, "closing ACCT-…23", masked.Sanitize(msg("closing ACCT-123")).Message)
}

type panicky struct{}

func (panicky) String() string { panic("boom") }

func TestPanickingValuesAreCoerced(t *testing.T) {
	out := sanitizer.Default().Sanitize(msg("hello").WithAttrs(slog.Any("v", panicky{})))
	v, _ := out.Attr("v")
	assert.NotPanics(t, func() { _ = v.String() })
	assert.Equal(t, "hello", out.Message)
}

// Through the Manager: console, memory and recording sinks see only
// sanitized data.
func TestEverySinkGetsSanitizedData(t *testing.T) {
	var console strings.Builder
	mem := sink.NewMemory(10)
	rec := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{sink.NewConsole(&console, nil), mem, rec}, sink.WithSanitizer(sanitizer.Default()))
	m.Logger("Auth").Error("login failed for bob@corp.example", errors.New("password=hunter2 rejected"),
		"api_key", "k-live-123", "ip", "203.0.113.9")
	slog.New(m.Handler("Http")).Info("GET", "url", "https://u:pw@host/x")
	require.NoError(t, m.Close(t.Context()))

	secrets := []string{"bob@corp.example", "hunter2", "k-live-123", "203.0.113.9", ":pw@"}
	for _, secret := range secrets {
		assert.NotContains(t, console.String(), secret)
		for _, r := range mem.Records() {
			assert.NotContains(t, flatten(r), secret)
		}
		for _, r := range rec.Records() {
			assert.NotContains(t, flatten(r), secret)
		}
	}
	assert.Contains(t, console.String(), "[EMAIL]")
	assert.Len(t, rec.Records(), 2)
}

func FuzzSanitize(f *testing.F) {
	f.Add("mail bob@x.io password=hunter2 10.1.2.3 4111 1111 1111 1111", "api_key", "v")
	f.Add(`{"password":"x","n":[1,{"token":"t"}]}`, "note", "\xff\xfe")
	f.Add("-----BEGIN PRIVATE KEY-----\nabc", "Authorization", "Bearer abcdefghijkl")
	s := sanitizer.Default()
	f.Fuzz(func(t *testing.T, text, key, val string) {
		in := msg(text).WithAttrs(slog.String(key, val), slog.Group("g", slog.String(val, text)), slog.Any("m", map[string]any{key: val, "l": []any{text}}))
		in.Error = val
		once := s.Sanitize(in)
		for _, field := range []string{once.Message, once.Error, flatten(once)} {
			if !utf8.ValidString(field) {
				t.Fatalf("invalid UTF-8 out: %q", field)
			}
		}
		twice := s.Sanitize(once)
		if flatten(once) != flatten(twice) {
			t.Fatalf("not idempotent:\nonce:  %q\ntwice: %q", flatten(once), flatten(twice))
		}
	})
}
