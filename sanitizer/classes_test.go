package sanitizer_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A class test gives a message and what it must become; want == give
// means the text is benign and must come back untouched, with nothing
// listed in fieldlog.scrubbed.
type textCase struct {
	name, give, want string
}

func runTextCases(t *testing.T, tests []textCase) {
	t.Helper()
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := s.Sanitize(msg(tt.give))
			assert.Equal(t, tt.want, out.Message)
			_, fired := out.Attr(sanitizer.ScrubbedKey)
			assert.Equal(t, tt.want != tt.give, fired, "fieldlog.scrubbed is there exactly when something changed")
		})
	}
}

func TestHomePathsAnchored(t *testing.T) {
	runTextCases(t, []textCase{
		{"url path with users", "GET /api/v1/users/42/orders?page=2", "GET /api/v1/users/42/orders?page=2"},
		{"url path with Users", "GET /api/v1/Users/42/orders", "GET /api/v1/Users/42/orders"},
		{"route with a numeric id", "GET /Users/42/orders", "GET /Users/42/orders"},
		{"home segment of a URL", "open https://example.com/home/alice/feed", "open https://example.com/home/alice/feed"},
		{"relative path", "copied to backup/Users/alice/notes.txt", "copied to backup/Users/alice/notes.txt"},
		{"app route", "Navigated to /home/settings", "Navigated to /home/settings"},
		{"linux home", "open /home/alice/.config/app.toml failed", "open ~/.config/app.toml failed"},
		{"mac home in quotes", `path="/Users/bob/Library/app.db"`, `path="~/Library/app.db"`},
		{"home in env", "HOME=/home/carol", "HOME=~"},
		{"home in file uri", "file:///Users/eve/dev/app/lib/main.dart", "file://~/dev/app/lib/main.dart"},
		{"windows name with a space", `C:\Users\John Smith\AppData\Local\app.log`, `~\AppData\Local\app.log`},
		{"windows escaped", `{"path":"C:\\Users\\jsmith\\AppData\\app.log"}`, `{"path":"~\\AppData\\app.log"}`},
		{"windows escaped with a space", `"C:\\Users\\Mary Ann\\Documents\\x.txt"`, `"~\\Documents\\x.txt"`},
		{"windows forward slashes", "D:/users/dave/src/app.go", "~/src/app.go"},
		{"windows name ends the text", `user dir C:\Users\zoe is full`, `user dir ~ is full`},
	})
}

func TestVersionsAreNotAddresses(t *testing.T) {
	runTextCases(t, []textCase{
		{"chrome user agent", "ua Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			"ua Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"},
		{"product token", "client FieldApp/4.2.0.17 (iOS 17.2)", "client FieldApp/4.2.0.17 (iOS 17.2)"},
		{"assembly version", "loaded System.Net, Version=8.0.0.0, Culture=neutral", "loaded System.Net, Version=8.0.0.0, Culture=neutral"},
		{"version in json", `{"appVersion": "4.2.0.17", "os": "android"}`, `{"appVersion": "4.2.0.17", "os": "android"}`},
		{"build word", "build 10.2.0.144 installed", "build 10.2.0.144 installed"},
		{"user agent header", "User-Agent: okhttp/4.12.0 FieldApp 4.2.0.17", "User-Agent: okhttp/4.12.0 FieldApp 4.2.0.17"},
		{"v prefix", "firmware v1.2.3.4", "firmware v1.2.3.4"},
		{"address", "connect from 10.20.30.40 refused", "connect from [IP] refused"},
		{"address in a URL", "GET http://10.0.0.5:8080/health", "GET http://[IP]:8080/health"},
		{"address as a path segment", "proxy /api/v1/nodes/10.1.2.3/stats", "proxy /api/v1/nodes/[IP]/stats"},
		{"address after a user agent", "User-Agent: FieldApp/4.2, X-Forwarded-For: 203.0.113.7", "User-Agent: FieldApp/4.2, X-Forwarded-For: [IP]"},
		{"address after a version", "version 4.2 from 198.51.100.23", "version 4.2 from [IP]"},
	})
}

func TestCardsNeedContextOrGrouping(t *testing.T) {
	runTextCases(t, []textCase{
		{"decimal span id", "span 5757491186252760189 ended", "span 5757491186252760189 ended"},
		{"span id pair", "span_id=4010928159013962459 parent=6805888718033401878", "span_id=4010928159013962459 parent=6805888718033401878"},
		{"order id", "order 4881817414333776 shipped", "order 4881817414333776 shipped"},
		{"odd grouping", "ids 48 81817414 333776", "ids 48 81817414 333776"},
		{"grouped card", "paid with 4881 8174 1433 3776", "paid with [CARD]"},
		{"amex grouping", "amex 3782-822463-10005 ok", "amex [CARD] ok"},
		{"card word", "card 4881817414333776 declined", "card [CARD] declined"},
		{"pan pair", "pan=4881817414333776", "pan=[CARD]"},
		{"card in json", `{"cardNumber": "4881817414333776"}`, `{"cardNumber": "[REDACTED]"}`},
		{"card in other words", "Kartennummer 4881817414333776 ungültig", "Kartennummer [CARD] ungültig"},
		{"card in Japanese", "カード番号4881817414333776は無効です", "カード番号[CARD]は無効です"},
	})
	s := sanitizer.Default()
	out := s.Sanitize(msg("m").WithAttrs(slog.Int64("span", 5757491186252760189), slog.Int64("pan", 4881817414333776),
		slog.Group("payment", slog.String("number", "4881817414333776"))))
	assert.NotContains(t, flatten(out), "4881817414333776", "a key naming a card is context")
	v, _ := out.Attr("span")
	assert.Equal(t, int64(5757491186252760189), v.Int64(), "an integer span id stays a number")
}

// JSON in a message or an attribute keeps its bytes when nothing in it is
// redacted, and its layout and key order when something is.
func TestJSONKeepsItsLayout(t *testing.T) {
	runTextCases(t, []textCase{
		{"unsorted keys", `{"zeta":1,"alpha":{"b":2,"a":[3,1]},"route":"/chat"}`, `{"zeta":1,"alpha":{"b":2,"a":[3,1]},"route":"/chat"}`},
		{"pretty", "{\n  \"b\": true,\n  \"a\": \"x\"\n}", "{\n  \"b\": true,\n  \"a\": \"x\"\n}"},
		{"escapes kept", `{"note":"a\u00e9\n","html":"<b>&amp;</b>"}`, `{"note":"a\u00e9\n","html":"<b>&amp;</b>"}`},
		{"one value redacted", `{"zeta":1,"password":"hunter2","alpha":[2,1]}`, `{"zeta":1,"password":"[REDACTED]","alpha":[2,1]}`},
		{"email in a value", `{"b":"x","to":"bob@example.com","a":1}`, `{"b":"x","to":"[EMAIL]","a":1}`},
	})
}

func TestKeysInFreeText(t *testing.T) {
	runTextCases(t, []textCase{
		{"camel case", "accessToken=ya.opaque-1 refreshToken=rt-2", "accessToken=[REDACTED] refreshToken=[REDACTED]"},
		{"pascal case in json", `{"SecretAccessKey": "wJalrXUtnFEMI", "SessionToken": "FQoGZXIvYXdz"}`, `{"SecretAccessKey": "[REDACTED]", "SessionToken": "[REDACTED]"}`},
		{"run together upper case", "PGPASSWORD=s3cr3t psql -h db", "PGPASSWORD=[REDACTED] psql -h db"},
		{"npmrc", "//registry.example.org/:_authToken=npm-abc123", "//registry.example.org/:_authToken=[REDACTED]"},
		{"yaml", "clientSecret: cs-9f8e7d", "clientSecret: [REDACTED]"},
		{"flag", "deploy --api-token tok-123 --region eu", "deploy --api-token [REDACTED] --region eu"},
		{"query parameter", "GET /cb?code=ok&access_token=at-77&state=x", "GET /cb?code=ok&access_token=[REDACTED]&state=x"},
		{"header line", "X-Api-Key: k-1234\nAccept: */*", "X-Api-Key: [REDACTED]\nAccept: */*"},
		{"presigned url", "GET https://b.s3.amazonaws.com/o?X-Amz-Credential=AK%2F1&X-Amz-Signature=3f5a9c&X-Amz-Expires=60",
			"GET https://b.s3.amazonaws.com/o?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&X-Amz-Expires=60"},
		{"sas signature", "https://acct.blob.core.windows.net/c/b?sv=2024-05-04&sig=abc%2Bdef%3D", "https://acct.blob.core.windows.net/c/b?sv=2024-05-04&sig=[REDACTED]"},
		{"xml", `<login><user>bob</user><password>hunter2</password><wsse:Password Type="t">pw</wsse:Password></login>`,
			`<login><user>bob</user><password>[REDACTED]</password><wsse:Password Type="t">[REDACTED]</wsse:Password></login>`},
		{"arrow", `['user' => 'bob', 'password' => 'hunter2']`, `['user' => 'bob', 'password' => '[REDACTED]']`},
		{"card security codes", "cvc=123 cvv: 456 CVV2=789", "cvc=[REDACTED] cvv: [REDACTED] CVV2=[REDACTED]"},
		{"measurements", "token_count=512 tokenizer=bpe author=jdoe passthrough=true bypass=1", "token_count=512 tokenizer=bpe author=jdoe passthrough=true bypass=1"},
		{"prose", "signature verified: true; design: flat; keyboard: us", "signature verified: true; design: flat; keyboard: us"},
		{"placeholders", "token: expired, password: ********, secret=${DB_SECRET} auth: ok", "token: expired, password: ********, secret=${DB_SECRET} auth: ok"},
		{"references", "--token-file /run/secrets/t secret_name=db-creds api_key_id=k-1", "--token-file /run/secrets/t secret_name=db-creds api_key_id=k-1"},
	})
}

func TestHeaderDumps(t *testing.T) {
	runTextCases(t, []textCase{
		{"token scheme", "Authorization: Token 9f8e7d6c5b4a", "Authorization: Token [REDACTED]"},
		{"digest", `Authorization: Digest username="bob", realm="api", nonce="dcd98b", response="6629fae49393a05397450978507c4ef1"`,
			"Authorization: Digest [REDACTED]"},
		{"aws signature", "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260206/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3be",
			"Authorization: AWS4-HMAC-SHA256 [REDACTED]"},
		{"custom scheme", "Authorization: FieldKey c2VjcmV0LXZhbHVl\nHost: api", "Authorization: FieldKey [REDACTED]\nHost: api"},
		{"no scheme", "proxy-authorization: dXNlcjpwYXNz", "proxy-authorization: [REDACTED]"},
		{"bearer", "Authorization: Bearer abc.DEF-123_456789", "Authorization: Bearer [TOKEN]"},
		{"several cookies", "Cookie: theme=dark; sid=abc123; csrftoken=xyz789", "Cookie: theme=[REDACTED]; sid=[REDACTED]; csrftoken=[REDACTED]"},
		{"set-cookie attributes kept", "Set-Cookie: sid=abc123; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; Secure",
			"Set-Cookie: sid=[REDACTED]; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; Secure"},
		{"cookie in a dump", "Cookie: a=1; b=2\r\nHost: x", "Cookie: a=[REDACTED]; b=[REDACTED]\r\nHost: x"},
		{"cookie then prose", "Cookie: sid=abc123 was rejected", "Cookie: sid=[REDACTED] was rejected"},
		{"challenge", `WWW-Authenticate: Bearer realm="api", error="invalid_token"`, `WWW-Authenticate: Bearer realm="api", error="invalid_token"`},
		{"other headers", "Content-Type: application/json\nAccept-Encoding: gzip", "Content-Type: application/json\nAccept-Encoding: gzip"},
	})
}

func TestEscapedJSON(t *testing.T) {
	runTextCases(t, []textCase{
		{"password", `body="{\"user\":\"bob\",\"password\":\"hunter2\"}"`, `body="{\"user\":\"bob\",\"password\":\"[REDACTED]\"}"`},
		{"camel case", `{\"accessToken\":\"at-1\",\"expiresIn\":3600}`, `{\"accessToken\":\"[REDACTED]\",\"expiresIn\":3600}`},
		{"number value", `{\"pin\":1234,\"ok\":true}`, `{\"pin\":\"[REDACTED]\",\"ok\":true}`},
		{"twice", `{\\\"token\\\":\\\"t-1\\\"}`, `{\\\"token\\\":\\\"[REDACTED]\\\"}`},
		{"clean", `{\"user\":\"bob\",\"count\":3}`, `{\"user\":\"bob\",\"count\":3}`},
	})
}

func TestTokenShapes(t *testing.T) {
	runTextCases(t, []textCase{
		{"github family", "ghs_16C7e42F292c6912E7710c838347Ae178B4a gho_16C7e42F292c6912E7710c838347Ae178B4a ghu_16C7e42F292c6912E7710c838347Ae178B4a ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246",
			"[CLOUD_KEY] [CLOUD_KEY] [CLOUD_KEY] [CLOUD_KEY]"},
		{"stripe restricted", "rk_live_51HqLyjWDarjtT1zdp7dc rk_test_4eC39HqLyjWDarjtT1zdp7dc", "[CLOUD_KEY] [CLOUD_KEY]"},
		{"gitlab", "glptt-0a1b2c3d4e5f6a7b8c9d0e1f gldt-AbCdEfGhIjKlMnOpQrStUv", "[CLOUD_KEY] [CLOUD_KEY]"},
		{"slack refresh", "xoxe-1-My0xLTIzNDU2Nzg5MDEy", "[CLOUD_KEY]"},
		{"anthropic", "key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "key [CLOUD_KEY]"},
		{"google client secret", "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", "[CLOUD_KEY]"},
		{"vault", "vault token hvs.CAESIJz7X0aBcDeFgHiJkLmNoPq", "vault token [CLOUD_KEY]"},
		{"digitalocean", "dop_v1_" + strings.Repeat("a1", 32), "[CLOUD_KEY]"},
		{"age", "AGE-SECRET-KEY-1" + strings.Repeat("QZ", 29), "[CLOUD_KEY]"},
		{"look-alikes", "ghost_mode sk-learn rk_live glass- dapper key-value hvs.example xoxo", "ghost_mode sk-learn rk_live glass- dapper key-value hvs.example xoxo"},
	})
}

func TestPrivateKeyBlocks(t *testing.T) {
	runTextCases(t, []textCase{
		{"pgp", "key: -----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXz\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\nok", "key: [PRIVATE_KEY]\nok"},
		{"pgp escaped", `"-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBGXz\n-----END PGP PRIVATE KEY BLOCK-----"`, `"[PRIVATE_KEY]"`},
		{"openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----", "[PRIVATE_KEY]"},
		{"pgp public key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----",
			"-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----"},
		{"signed message", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256"},
	})
}

func TestSiblingNameValueInText(t *testing.T) {
	runTextCases(t, []textCase{
		{"har headers", `[{"name": "Authorization", "value": "Bearer abc"}, {"name": "Accept", "value": "*/*"}]`,
			`[{"name": "Authorization", "value": "[REDACTED]"}, {"name": "Accept", "value": "*/*"}]`},
		{"value first", `{"value":"hunter2","name":"DB_PASSWORD"}`, `{"value":"[REDACTED]","name":"DB_PASSWORD"}`},
		{"kubernetes env", `"env":[{"name":"API_KEY","value":"k-1"},{"name":"PORT","value":"8080"}]`,
			`"env":[{"name":"API_KEY","value":"[REDACTED]"},{"name":"PORT","value":"8080"}]`},
		{"tag list", `{"Key": "session_token", "Value": 12345}`, `{"Key": "session_token", "Value": "[REDACTED]"}`},
		{"escaped", `{\"name\":\"Cookie\",\"value\":\"sid=1\"}`, `{\"name\":\"Cookie\",\"value\":\"[REDACTED]\"}`},
		{"nested", `{"headers":[{"name":"X-Api-Key","value":{"v":"k"}}]}`, `{"headers":[{"name":"X-Api-Key","value":"[REDACTED]"}]}`},
		{"benign names", `[{"name":"Content-Type","value":"application/json"},{"name":"bob","value":3}]`,
			`[{"name":"Content-Type","value":"application/json"},{"name":"bob","value":3}]`},
		{"not json", `name=Authorization value=ok {`, `name=Authorization value=ok {`},
	})
}

func TestSiblingNameValueInAttributes(t *testing.T) {
	s := sanitizer.Default()
	headers := []any{
		map[string]any{"name": "Authorization", "value": "Token t-1"},
		map[string]any{"name": "Accept", "value": "application/json"},
	}
	out := s.Sanitize(msg("request").WithAttrs(
		slog.Any("headers", headers),
		slog.Group("env", slog.String("name", "DB_PASSWORD"), slog.String("value", "hunter2")),
		slog.Group("tag", slog.String("Key", "team"), slog.String("Value", "payments")),
	))
	text := flatten(out)
	assert.NotContains(t, text, "t-1")
	assert.NotContains(t, text, "hunter2")
	assert.Contains(t, text, "application/json")
	assert.Contains(t, text, "payments")
	assert.Equal(t, "Token t-1", headers[0].(map[string]any)["value"], "the caller's value is not changed")

	top := s.Sanitize(msg("set header").WithAttrs(slog.String("name", "X-Api-Key"), slog.String("value", "k-99")))
	v, _ := top.Attr("value")
	assert.Equal(t, sanitizer.Redacted, v.String(), "record attributes are siblings too")
	plain := msg("set header").WithAttrs(slog.String("name", "Accept"), slog.String("value", "*/*"))
	assert.Equal(t, plain, s.Sanitize(plain))
}

func TestCommandLines(t *testing.T) {
	runTextCases(t, []textCase{
		{"long flag", "exec mysqldump --password hunter2 --host db", "exec mysqldump --password [REDACTED] --host db"},
		{"mysql -p after -u", "mysql -u root -p hunter2 shop", "mysql -u root -p [REDACTED] shop"},
		{"mysql -p attached", "mysql -uroot -phunter2 shop", "mysql -uroot -p[REDACTED] shop"},
		{"mysql -p only", "run: mysql -p s3cret -h db", "run: mysql -p [REDACTED] -h db"},
		{"docker login", "docker login -u ci -p dckr-s3cret registry", "docker login -u ci -p [REDACTED] registry"},
		{"sshpass", "sshpass -p 'pa ss' ssh deploy@host", "sshpass -p '[REDACTED]' ssh deploy@host"},
		{"redis", "redis-cli -h cache -a s3cret ping", "redis-cli -h cache -a [REDACTED] ping"},
		{"ssh port", "ssh -p 2222 deploy", "ssh -p 2222 deploy"},
		{"docker port", "docker run -u 1000 -p 8080:80 nginx", "docker run -u 1000 -p 8080:80 nginx"},
		{"mkdir", "mkdir -p /var/lib/app", "mkdir -p /var/lib/app"},
		{"psql port", "psql -U app -p 5432 -d shop", "psql -U app -p 5432 -d shop"},
		{"tar", "tar -a -cf x.tar.gz dir", "tar -a -cf x.tar.gz dir"},
	})
}

// A struct reaches the sanitizer as a group of its fields once callers'
// values are coerced where the record is built; its Password field is a
// sensitive key like any other.
func TestStructAsGroupOfFields(t *testing.T) {
	account := slog.GroupValue(slog.String("Name", "bob"), slog.String("Password", "hunter2"),
		slog.Group("DB", slog.String("Host", "db.internal"), slog.String("DBPassword", "pg-s3cret")))
	s := sanitizer.Default()
	out := s.Sanitize(msg("login").WithAttrs(slog.Attr{Key: "account", Value: account}))
	text := flatten(out)
	assert.NotContains(t, text, "hunter2")
	assert.NotContains(t, text, "pg-s3cret")
	assert.Contains(t, text, "bob")
	assert.Contains(t, text, "db.internal")
	scrubbed, ok := out.Attr(sanitizer.ScrubbedKey)
	require.True(t, ok)
	assert.Equal(t, []string{"attributes.account.DB.DBPassword:sensitive_key", "attributes.account.Password:sensitive_key"}, scrubbed.Any())
}

func TestStackFrames(t *testing.T) {
	tests := []struct {
		name, give, want string
	}{
		{
			name: "module cache frames",
			give: "go.etcd.io/bbolt.(*DB).Update(0xc0001a2000, 0xc00012fd48)\n\t/root/go/pkg/mod/go.etcd.io/bbolt@v1.4.3/db.go:918 +0x10d",
			want: "go.etcd.io/bbolt.(*DB).Update(0xc0001a2000, 0xc00012fd48)\n\tgo.etcd.io/bbolt@v1.4.3/db.go:918 +0x10d",
		},
		{
			name: "home paths",
			give: "main.run()\n\t/Users/bob.smith/src/app/main.go:12 +0x1d\nmain.main()\n\tC:/Users/Carol Jones/src/app/cmd.go:7 +0x25",
			want: "main.run()\n\t~/src/app/main.go:12 +0x1d\nmain.main()\n\t~/src/app/cmd.go:7 +0x25",
		},
		{
			name: "panic message keeps every rule",
			give: "panic: mail to bob@example.com from 10.1.2.3 failed\n\ngoroutine 1 [running]:\nmain.main()\n\t/home/alice/app/main.go:5 +0x1",
			want: "panic: mail to [EMAIL] from [IP] failed\n\ngoroutine 1 [running]:\nmain.main()\n\t~/app/main.go:5 +0x1",
		},
		{
			name: "a line that looks like a frame but holds an email",
			give: "main.main()\n\tbob@example.com/x.go:1 +0x1",
			want: "main.main()\n\t[EMAIL]/x.go:1 +0x1",
		},
		{
			name: "dart frames",
			give: "#0      main.<anonymous closure> (file:///home/carol/app/lib/main.dart:5:3)\n#1      _run (package:app/run.dart:9:1)\n<asynchronous suspension>",
			want: "#0      main.<anonymous closure> (file://~/app/lib/main.dart:5:3)\n#1      _run (package:app/run.dart:9:1)\n<asynchronous suspension>",
		},
		{
			name: "created by",
			give: "created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3285 +0x4b4",
			want: "created by net/http.(*Server).Serve in goroutine 1\n\tnet/http/server.go:3285 +0x4b4",
		},
	}
	s := sanitizer.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.Sanitize(withStack(tt.give)).StackTrace)
		})
	}
}

// The path rules still apply to stack frames when the other rules are
// off, and a stack is still scanned when the path rules are off.
func TestStackFramesWithRulesDisabled(t *testing.T) {
	frames := "main.main()\n\t/home/alice/go/pkg/mod/x@v1.0.0/y.go:1 +0x1\npanic: bob@example.com"
	noBuild, err := sanitizer.New(sanitizer.Options{Disable: []string{sanitizer.RuleBuildRoot}})
	require.NoError(t, err)
	assert.Equal(t, "main.main()\n\t~/go/pkg/mod/x@v1.0.0/y.go:1 +0x1\npanic: [EMAIL]", noBuild.Sanitize(withStack(frames)).StackTrace)
	noPaths, err := sanitizer.New(sanitizer.Options{Disable: []string{sanitizer.RuleBuildRoot, sanitizer.RuleHomePath}})
	require.NoError(t, err)
	assert.Equal(t, "main.main()\n\t/home/alice/go/pkg/mod/x@v1.0.0/y.go:1 +0x1\npanic: [EMAIL]", noPaths.Sanitize(withStack(frames)).StackTrace)
}
