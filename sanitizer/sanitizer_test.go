package sanitizer_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func msg(text string) logrecord.Record {
	return logrecord.New(time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC), logrecord.LevelInfo, "App", text)
}

func withStack(stack string) logrecord.Record {
	r := msg("panic")
	r.StackTrace = stack
	return r
}

func TestFreeTextFamilies(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		// email
		{"email mixed case", "mail ALICE.Smith+tag@Example.co.uk now", "mail [EMAIL] now"},
		{"email accented", "contact José.García@empresa.es now", "contact [EMAIL] now"},
		{"email CJK neighbours", "邮件alice@example.com已注册", "邮件[EMAIL]已注册"},
		{"email in brackets", "<bob.smith@sub.example.co.uk>", "<[EMAIL]>"},
		{"email mailto", "mailto:carol@example.org?subject=hi", "mailto:[EMAIL]?subject=hi"},
		{"email url-encoded", "email=dave%40example.com&x=1", "email=[EMAIL]&x=1"},
		{"email at start and end", "eve@example.com wrote to frank@example.net", "[EMAIL] wrote to [EMAIL]"},
		// ssn
		{"ssn dashes", "ssn 123-45-6789.", "ssn [SSN]."},
		{"ssn spaces", "id 123 45 6789 on file", "id [SSN] on file"},
		{"ssn as pair", "SSN:123456789", "SSN:[REDACTED]"},
		{"ssn dots", "ssn 123.45.6789 on file", "ssn [SSN] on file"},
		// bearer
		{"bearer header", "Authorization: Bearer abc.DEF-123_456789", "Authorization: Bearer [TOKEN]"},
		{"bearer lower case", "auth header bearer ya29.a0AfH6SMBx", "auth header bearer [TOKEN]"},
		{"basic in quotes", "curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x", "curl -H 'Authorization: Basic [TOKEN]' https://x"},
		{"token scheme", "Authorization: Token abc123", "Authorization: Token [REDACTED]"},
		// jwt
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl end", "token [JWT] end"},
		{"jwt after equals", "id_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "id_token=[JWT]"},
		// ipv4
		{"ipv4 with port and final dot", "from 192.168.1.20:8080 and 10.0.0.1.", "from [IP]:8080 and [IP]."},
		{"ipv4 CJK neighbours", "地址192.168.1.1。", "地址[IP]。"},
		{"ipv4 in list", "ip 8.8.8.8, 255.255.255.255; 256.1.1.1", "ip [IP], [IP]; 256.1.1.1"},
		// ipv6
		{"ipv6 forms", "peer fe80::1%wlan0 and ::ffff:192.0.2.1 and 2001:db8::8a2e:370:7334", "peer [IP] and [IP] and [IP]"},
		{"ipv6 after a label", "addr:2001:db8::1 ip:fe80::1", "addr:[IP] ip:[IP]"},
		{"ipv6 full and bracketed", "2001:0db8:85a3:0000:0000:8a2e:0370:7334 at [2001:db8::42]:8080", "[IP] at [[IP]]:8080"},
		// cards
		{"card spaces", "card 4111 1111 1111 1111 declined", "card [CARD] declined"},
		{"card end of sentence", "card 4111111111111111.", "card [CARD]."},
		{"card dashes and amex", "mc 5555-5555-5555-4444, amex 3782 822463 10005", "mc [CARD], amex [CARD]"},
		{"card after an address", "10.1.2.3 4111 1111 1111 1111", "[IP] [CARD]"},
		{"card not Luhn-valid", "card 4111-1111-1111-1112 fine", "card 4111-1111-1111-1112 fine"},
		// cloud keys
		{"aws key", "key AKIAIOSFODNN7EXAMPLE used", "key [CLOUD_KEY] used"},
		{"github and openai", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 sk-proj-abcdefghijklmnopqrstuvwx", "[CLOUD_KEY] [CLOUD_KEY]"},
		{"slack and google", "xoxb-1234567890-abcdefghij AIzaSyA-1234567890abcdefghijklmnopqrstu", "[CLOUD_KEY] [CLOUD_KEY]"},
		// pairs in text
		{"pairs", `login password=hunter2 user=bob`, `login password=[REDACTED] user=bob`},
		{"quoted pairs", `passwd: "abc def" pwd='x y' secret="s3"`, `passwd: "[REDACTED]" pwd='[REDACTED]' secret="[REDACTED]"`},
		{"whole json", `{"user":"bob","api_key":"k-123"}`, `{"user":"bob","api_key":"[REDACTED]"}`},
		{"json in text", `body {"password":"x","user":"bob"}`, `body {"password":"[REDACTED]","user":"bob"}`},
		{"camel case keys", "accessToken=opaque123 clientSecret: cs456", "accessToken=[REDACTED] clientSecret: [REDACTED]"},
		{"two-word key", "API key: abc123def and secret key = zzz", "API key: [REDACTED] and secret key = [REDACTED]"},
		{"cookie header", "Set-Cookie: session=abc123; Path=/; HttpOnly", "Set-Cookie: session=[REDACTED]; Path=/; HttpOnly"},
		{"nested value", `"auth": {"user":"u","pass":"p"} ok`, `"auth": "[REDACTED]" ok`},
		{"escaped json", `{\"token\":\"abc\"}`, `{\"token\":\"[REDACTED]\"}`},
		{"env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=[REDACTED]"},
		{"flag with a space", "exec mysql --user app --password hunter2 --host db", "exec mysql --user app --password [REDACTED] --host db"},
		{"curl user", "curl -u admin:S3cretPass https://api.example.com", "curl -u admin:[REDACTED] https://api.example.com"},
		{"ampersand in a password", "new password: Tr0ub4dor&3 set; GET /x?token=abc123&page=2", "new password: [REDACTED] set; GET /x?token=[REDACTED]&page=2"},
		{"scheme word in a pair", "auth_type=basic secret_key=db-creds", "auth_type=basic secret_key=[REDACTED]"},
		{"quoted flag", `run --api-key "k 1" --verbose`, `run --api-key "[REDACTED]" --verbose`},
		// url credentials
		{"url password", "db: postgres://app:s3cret@db.internal:5432/x", "db: postgres://app:[REDACTED]@db.internal:5432/x"},
		{"url no user", "redis://:pw@cache:6379 up", "redis://:[REDACTED]@cache:6379 up"},
		{"url encoded at", "https://user:p%40ss@host.com/x", "https://user:[REDACTED]@host.com/x"},
		// phones
		{"phones", "call +44 20 7946 0958 or (415) 555-2671", "call [PHONE] or [PHONE]"},
		{"us phones", "415.555.2671, 415 555 2671, +1-415-555-2671", "[PHONE], [PHONE], [PHONE]"},
		{"e164 in json", `{"to":"+33612345678","ok":1} sent`, `{"to":"[PHONE]","ok":1} sent`},
		{"phone then number", "+44 20 7946 0958 1234 5678", "[PHONE] 1234 5678"},
		// private keys
		{"pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nafter", "[PRIVATE_KEY]\nafter"},
		{"pem without end", "x -----BEGIN PRIVATE KEY-----\nMIIEow never ends", "x [PRIVATE_KEY]"},
		{"pgp", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK----- ok", "[PRIVATE_KEY] ok"},
		// home directories
		{"homes", "at /home/alice/src/app/main.go:42 and C:\\Users\\bob\\app.dart:7", "at ~/src/app/main.go:42 and ~\\app.dart:7"},
		{"home in file uri", "file:///Users/eve/dev/app/lib/main.dart:10:5", "file://~/dev/app/lib/main.dart:10:5"},
		// several at once
		{"several", "user=bob@example.com,ip=10.1.2.3;card=4111111111111111", "user=[EMAIL],ip=[IP];card=[CARD]"},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Sanitize(msg(tt.give)).Message)
		})
	}
}

func TestBenignSurvivesUntouched(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{"uuids", "install 6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e session 0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e"},
		{"trace and span ids", "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7"},
		{"sha256", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"git commit", "deployed 9fceb02d0ae598e95dc970b74767f19372d61af8"},
		{"time and versions", "at 2026-02-06T12:00:00.123Z took 1.5s (1500ms), build 1.4.2, Windows 10.0.19045.3693"},
		{"url path, port, epochs", "GET /api/v1/chat/42?page=3 200 in 182ms; port 8443; epoch 1738843200 and 1738843200123"},
		{"import path and file refs", "github.com/acme/billing/internal/pay.(*Client).Charge at auth/token.go:42 and main.go:12:5"},
		{"prose about secrets", "401 Unauthorized: no bearer token; password reset email queued; token_count: 512"},
		{"basic prose", "Basic authentication required; Bearer Token missing"},
		{"clock, date, mac", "12:00:00 and 2026-02-06 and MAC aa:bb:cc:dd:ee:ff"},
		{"scope operators", "std::vector and Foo::bar and a == b and x := 1"},
		{"loopback", "listening on 0.0.0.0:8080, db at 127.0.0.1:5432 and [::1]:9000"},
		{"ids that are not cards", "invoice 2026020612000045 and ts 1738843200127 and order 4111111111111112"},
		{"module versions", "go: downloading github.com/google/uuid@v1.6.0 and go1.22.4 v0.13.1"},
		{"counters", "max_tokens=512 prompt_tokens: 100 tokenCount: 6 auth_latency_ms=12"},
		{"app route", "Navigated to /home/settings"},
		{"url with home segment", "GET https://example.com/home/feed and /api/v1/users/42/profile"},
		{"durations", "backoff 1m0s, stall 2.5s, uptime=72h3m0s"},
		{"authors", "author=jdoe merged PR #4821"},
		{"short local number", "ext 555-0175"},
		{"digest", "image ghcr.io/acme/ingest@sha256:5c47df1fdf2e765c64506ab1ffbe23fd3e1bb5885e111c55515d3105afcf30eb"},
		{"at handle in url", "follow https://social.example/@fieldlog"},
		{"unicode", "Grüß Gott 👋 用户打开了设置页面 ✅"},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := s.Sanitize(msg(tt.give))
			assert.Equal(t, tt.give, out.Message)
			_, fired := out.Attr(sanitizer.ScrubbedKey)
			assert.False(t, fired)
		})
	}
}

func TestStackTraces(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{
			name: "go module cache and goroot",
			give: "goroutine 1 [running]:\ngo.etcd.io/bbolt.(*Bucket).Put(...)\n\t/home/alice/go/pkg/mod/go.etcd.io/bbolt@v1.3.10/bucket.go:310 +0x3c5\nruntime.goexit()\n\t/usr/local/go/src/runtime/asm_amd64.s:1695 +0x1",
			want: "goroutine 1 [running]:\ngo.etcd.io/bbolt.(*Bucket).Put(...)\n\tgo.etcd.io/bbolt@v1.3.10/bucket.go:310 +0x3c5\nruntime.goexit()\n\truntime/asm_amd64.s:1695 +0x1",
		},
		{
			name: "home and ci workspaces",
			give: "main.main()\n\t/home/alice/src/app/main.go:12 +0x1d\n\t/home/runner/work/fieldlog/fieldlog/sink/manager.go:42 +0x1\n\t/builds/acme/app/cmd/main.go:3",
			want: "main.main()\n\t~/src/app/main.go:12 +0x1d\n\tsink/manager.go:42 +0x1\n\tcmd/main.go:3",
		},
		{
			name: "windows",
			give: "main.run(0xc00007e000)\n\tC:/Users/dave/go/src/fieldcli/main.go:27 +0x45\n\tC:/Program Files/Go/src/runtime/proc.go:250",
			want: "main.run(0xc00007e000)\n\tfieldcli/main.go:27 +0x45\n\truntime/proc.go:250",
		},
		{
			name: "dart",
			give: "#0      main (file:///home/carol/dev/app/lib/main.dart:5:3)\n#1      x (package:app/a.dart:1:2)\n#2      C:\\Users\\Dave\\AppData\\Local\\Pub\\Cache\\hosted\\pub.dev\\http-1.2.0\\lib\\src\\client.dart:10:3",
			want: "#0      main (file://~/dev/app/lib/main.dart:5:3)\n#1      x (package:app/a.dart:1:2)\n#2      http-1.2.0\\lib\\src\\client.dart:10:3",
		},
		{
			name: "relative paths stay",
			give: "github.com/acme/api/auth.(*Verifier).Check(0xc0003a0000)\n\tgithub.com/acme/api/auth/token.go:42 +0x11c",
			want: "github.com/acme/api/auth.(*Verifier).Check(0xc0003a0000)\n\tgithub.com/acme/api/auth/token.go:42 +0x11c",
		},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Sanitize(withStack(tt.give)).StackTrace)
		})
	}
}

func TestSensitiveKeys(t *testing.T) {
	tests := []struct {
		key       string
		sensitive bool
	}{
		{"password", true}, {"oldPassword", true}, {"db_password", true}, {"dbpassword", true}, {"PASSWD", true},
		{"API-KEY", true}, {"apiKey", true}, {"APIKey", true}, {"x-api-key", true}, {"maps.api.key", true},
		{"Authorization", true}, {"auth", true}, {"client_secret", true}, {"Set-Cookie", true}, {"ssn", true},
		{"credit_card_number", true}, {"privateKey", true}, {"jwt", true}, {"Id-Token", true}, {"refresh_token", true},
		{"credentials", true}, {"cookies", true}, {"tokens", true},
		{"author", false}, {"authors", false}, {"token_count", false}, {"tokenCount", false}, {"max_tokens", false},
		{"auth_latency_ms", false}, {"cookie_bytes_total", false}, {"secret_fetch_ms", false}, {"api_key_rotations_total", false},
		{"primary_key", false}, {"keyboard_layout", false}, {"monkey_patch", false}, {"api_version", false}, {"tokenizer", false},
		{"install_id", false}, {"session_id", false}, {"user_id", false}, {"trace_id", false}, {"span_id", false},
		{"breadcrumb_category", false}, {"Session_ID", false}, {"route", false}, {"zzz_ZZZ", false}, {"Ünïcödé", false},
		{"", false}, {"x-pass-word", true},
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

// JSON held in a string keeps its layout and stays valid JSON.
func TestJSONInStrings(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{"object", `{"pin": 1234, "auth": {"user": "u", "roles": ["a"]}, "note": "mail bob@x.io", "count": 3}`,
			`{"pin": "[REDACTED]", "auth": "[REDACTED]", "note": "mail [EMAIL]", "count": 3}`},
		{"list", `[{"password":"x"},{"token":null},{"ip":"10.1.2.3"}]`,
			`[{"password":"[REDACTED]"},{"token":null},{"ip":"[IP]"}]`},
		{"escaped quote in value", `{"secret":"a\"b","ok":true}`, `{"secret":"[REDACTED]","ok":true}`},
		{"clean", `{"session_id": "28236fa5-3515-4c00-87e7-ca801b5199ca", "count": 3, "route": "/chat"}`,
			`{"session_id": "28236fa5-3515-4c00-87e7-ca801b5199ca", "count": 3, "route": "/chat"}`},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := s.Sanitize(msg("m").WithAttrs(slog.String("body", tt.give)))
			v, _ := out.Attr("body")
			assert.Equal(t, tt.want, v.String())
			assert.True(t, json.Valid([]byte(v.String())))
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
		"attributes.err:email", "attributes.payload:kv_secret",
		"attributes.request.headers.Authorization:sensitive_key",
		"attributes.users[0].password:sensitive_key", "attributes.users[1].email:email",
	}, scrubbed.Any())
	assert.Equal(t, 4, in.NumAttrs(), "the caller's record is not changed")
	orig, _ := in.Attr("payload")
	assert.Contains(t, orig.String(), `"pass":"p"`)
	group, _ := in.Attr("request")
	assert.Equal(t, "Basic Zm9vOmJhcg==", group.Group()[1].Value.Group()[0].Value.String(), "nor its groups")
}

type account struct {
	Name     string
	Password string
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type lazy struct{ v string }

func (l lazy) LogValue() slog.Value { return slog.StringValue(l.v) }

func TestValuesOfAnyType(t *testing.T) {
	tests := []struct {
		name   string
		give   slog.Value
		secret string
		keep   string
	}{
		{"struct field names", slog.AnyValue(account{"bob", "hunter2"}), "hunter2", "bob"},
		{"stringer", slog.AnyValue(stringer{"reach me at bob@x.io"}), "bob@x.io", "reach me at"},
		{"error", slog.AnyValue(fmt.Errorf("dial 10.1.2.3: %w", errors.New("refused"))), "10.1.2.3", "refused"},
		{"log valuer", slog.AnyValue(lazy{"token=abc123"}), "abc123", "token="},
		{"bytes", slog.AnyValue([]byte("mail bob@x.io")), "bob@x.io", "mail"},
		{"string map", slog.AnyValue(map[string]string{"api_key": "k-1", "region": "eu"}), "k-1", "eu"},
		{"list of strings", slog.AnyValue([]string{"ok", "+14155552671"}), "+14155552671", "ok"},
		{"long integer", slog.GroupValue(slog.Int64("card", 4111111111111111)), "4111111111111111", "[CARD]"},
		{"json number", slog.GroupValue(slog.Any("cc", json.Number("5555555555554444"))), "5555555555554444", "[CARD]"},
		{"number in a map", slog.AnyValue(map[string]any{"pan": json.Number("4012888888881881"), "n": 1}), "4012888888881881", "pan"},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := flatten(s.Sanitize(msg("m").WithAttrs(slog.Attr{Key: "v", Value: tt.give})))
			assert.NotContains(t, out, tt.secret)
			assert.Contains(t, out, tt.keep)
		})
	}
}

func TestCleanRecordIsReturnedAsIs(t *testing.T) {
	in := msg("Request sent to /api/v1/chat").WithAttrs(slog.String("url", "/api/v1/chat"), slog.Int("status", 200),
		slog.Int64("ts_ms", 1738843200127), slog.Any("count", json.Number("3")), slog.Duration("took", time.Second),
		slog.Group("ids", slog.String("install_id", "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e"), slog.Bool("new", true)))
	out := sanitizer.Default().Sanitize(in)
	assert.Equal(t, in, out)
	_, fired := out.Attr(sanitizer.ScrubbedKey)
	assert.False(t, fired)
}

func TestCleanRecordAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	s := sanitizer.Default()
	r := benchRecord(cleanMsg)
	s.Sanitize(r) // fill the key cache
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.Sanitize(r) }))
}

func TestIdempotent(t *testing.T) {
	s := sanitizer.Default()
	in := msg("mail bob@x.io password=hunter2 ip 10.1.2.3 card 4111 1111 1111 1111").
		WithAttrs(slog.String("token", "t"), slog.String("note", "call (415) 555-2671"), slog.String("body", `{"password":"x"}`))
	in.StackTrace = "main.main()\n\t/home/alice/go/pkg/mod/x@v1/y.go:1"
	once := s.Sanitize(in)
	twice := s.Sanitize(once)
	assert.Equal(t, flatten(once), flatten(twice))
}

func TestScrubbedAttributeCannotCarryPII(t *testing.T) {
	s := sanitizer.Default()
	in := msg("m").WithAttrs(slog.String(sanitizer.ScrubbedKey, "bob@x.io"))
	out := flatten(s.Sanitize(in))
	assert.NotContains(t, out, "bob@x.io")
}

func TestHashedMarkersCorrelate(t *testing.T) {
	s, err := sanitizer.New(sanitizer.Options{HashKey: []byte("service secret")})
	require.NoError(t, err)
	a := s.Sanitize(msg("login bob@x.io")).Message
	b := s.Sanitize(msg("logout Bob@X.io")).Message
	c := s.Sanitize(msg("login eve@x.io")).Message
	assert.Regexp(t, `^login \[EMAIL:[0-9a-f]{12}\]$`, a)
	assert.Equal(t, strings.TrimPrefix(a, "login "), strings.TrimPrefix(b, "logout "), "the same address, the same marker")
	assert.NotEqual(t, a, c)

	other, err := sanitizer.New(sanitizer.Options{HashKey: []byte("another service")})
	require.NoError(t, err)
	assert.NotEqual(t, a, other.Sanitize(msg("login bob@x.io")).Message, "the hash depends on the key")
}

// With a HashKey, a value redacted because of its key is hashed as the
// value itself: the same secret correlates wherever it is found, and two
// secrets differ.
func TestHashedKeyRedactionsCorrelate(t *testing.T) {
	s, err := sanitizer.New(sanitizer.Options{HashKey: []byte("service secret")})
	require.NoError(t, err)
	attr := func(r logrecord.Record, key string) string {
		v, ok := r.Attr(key)
		require.True(t, ok)
		return v.String()
	}
	first := attr(s.Sanitize(msg("m").WithAttrs(slog.String("password", "hunter2"))), "password")
	again := attr(s.Sanitize(msg("m").WithAttrs(slog.String("db_password", "hunter2"))), "db_password")
	other := attr(s.Sanitize(msg("m").WithAttrs(slog.String("password", "correct horse"))), "password")
	inText := s.Sanitize(msg("retry with password=hunter2")).Message
	inJSON := s.Sanitize(msg(`{"password": "hunter2"}`)).Message

	assert.Regexp(t, `^\[REDACTED:[0-9a-f]{12}\]$`, first)
	assert.Equal(t, first, again, "the same password, the same marker")
	assert.NotEqual(t, first, other, "another password, another marker")
	assert.Equal(t, "retry with password="+first, inText, "a pair in text hashes its value alike")
	assert.Equal(t, `{"password": "`+first+`"}`, inJSON)
	assert.NotContains(t, first+inText+inJSON, "hunter2")

	grouped := func(pw string) string {
		return attr(s.Sanitize(msg("m").WithAttrs(slog.Group("credentials", slog.String("user", "bob"), slog.String("pw", pw)))), "credentials")
	}
	assert.Equal(t, grouped("a"), grouped("a"), "a structured value hashes the same way each time")
	assert.NotEqual(t, grouped("a"), grouped("b"))
	maps := func(m map[string]any) string {
		return attr(s.Sanitize(msg("m").WithAttrs(slog.Any("auth", m))), "auth")
	}
	assert.Equal(t, maps(map[string]any{"u": "bob", "p": "x", "n": 1}), maps(map[string]any{"n": 1, "p": "x", "u": "bob"}),
		"a map hashes the same whatever its order")

	once := s.Sanitize(msg("password=hunter2").WithAttrs(slog.String("token", "t-1")))
	assert.Equal(t, flatten(once), flatten(s.Sanitize(once)), "a hashed marker is not hashed again")

	plain := sanitizer.Default().Sanitize(msg("m").WithAttrs(slog.String("password", "hunter2")))
	assert.Equal(t, sanitizer.Redacted, attr(plain, "password"), "without a key, the plain marker")
}

func TestOptions(t *testing.T) {
	s, err := sanitizer.New(sanitizer.Options{
		Disable:       []string{sanitizer.RuleIPv4},
		SensitiveKeys: []string{"membership number"},
		SafeKeys:      []string{"auth_mode"},
		Patterns:      []sanitizer.Pattern{{Name: "ticket", Regexp: regexp.MustCompile(`TCK-\d+`)}},
	})
	require.NoError(t, err)
	out := s.Sanitize(msg("ip 10.1.2.3 ticket TCK-991 membership_number=M-7").
		WithAttrs(slog.String("membershipNumber", "M-1"), slog.String("auth_mode", "sso")))
	assert.Equal(t, "ip 10.1.2.3 ticket [TICKET] membership_number=[REDACTED]", out.Message)
	v, _ := out.Attr("membershipNumber")
	assert.Equal(t, sanitizer.Redacted, v.String())
	v, _ = out.Attr("auth_mode")
	assert.Equal(t, "sso", v.String())

	_, err = sanitizer.New(sanitizer.Options{Disable: []string{"nope"}})
	assert.ErrorContains(t, err, `"nope"`)
	_, err = sanitizer.New(sanitizer.Options{Patterns: []sanitizer.Pattern{{Name: "x"}}})
	assert.ErrorContains(t, err, "Patterns[0]")
}

func TestEachRuleCanBeDisabled(t *testing.T) {
	tests := []struct {
		rule string
		give string
	}{
		{sanitizer.RulePrivateKey, "-----BEGIN PRIVATE KEY-----\nabc"},
		{sanitizer.RuleJWT, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"},
		{sanitizer.RuleBearer, "sent Bearer abcdef123456"},
		{sanitizer.RuleURLUserinfo, "https://u:pw@host/x"},
		{sanitizer.RuleCloudKey, "AKIAIOSFODNN7EXAMPLE"},
		{sanitizer.RuleKVSecret, "password=hunter2"},
		{sanitizer.RuleEmail, "bob@x.io"},
		{sanitizer.RuleSSN, "123-45-6789"},
		{sanitizer.RuleCard, "4111 1111 1111 1111"},
		{sanitizer.RuleIPv6, "2001:db8::1"},
		{sanitizer.RuleIPv4, "10.1.2.3"},
		{sanitizer.RulePhone, "+14155552671"},
		{sanitizer.RuleHomePath, "/home/alice/x.go"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			on := sanitizer.Default().Sanitize(msg(tt.give))
			require.NotEqual(t, tt.give, on.Message, "the rule fires by default")
			s, err := sanitizer.New(sanitizer.Options{Disable: []string{tt.rule}})
			require.NoError(t, err)
			assert.Equal(t, tt.give, s.Sanitize(msg(tt.give)).Message)
		})
	}
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
	scrubbed, _ := out.Attr(sanitizer.ScrubbedKey)
	assert.Contains(t, scrubbed.Any(), "message:error")
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

type panickyValuer struct{}

func (panickyValuer) LogValue() slog.Value { panic("boom") }

func TestPanickingValuesAreCoerced(t *testing.T) {
	out := sanitizer.Default().Sanitize(msg("hello").WithAttrs(slog.Any("v", panicky{}), slog.Any("w", panickyValuer{})))
	for _, key := range []string{"v", "w"} {
		v, _ := out.Attr(key)
		assert.NotPanics(t, func() { _ = v.String() })
		assert.Contains(t, v.String(), "PANIC")
	}
	assert.Equal(t, "hello", out.Message)
}

func TestInvalidUTF8IsRepaired(t *testing.T) {
	out := sanitizer.Default().Sanitize(msg("bad \xff byte bob@x.io"))
	assert.Equal(t, "bad \uFFFD byte [EMAIL]", out.Message)
}
