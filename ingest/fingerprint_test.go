package ingest_test

import (
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
)

// A nil-pointer panic in an HTTP handler, as the Go runtime prints it.
const goPanicA = `panic: runtime error: invalid memory address or nil pointer dereference [recovered]
	panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6a4c2f]

goroutine 23 [running]:
net/http.(*conn).serve.func1()
	/usr/local/go/src/net/http/server.go:1947 +0xbe
panic({0x6e0a40?, 0x9a1c20?})
	/usr/local/go/src/runtime/panic.go:785 +0x132
github.com/jackc/pgx/v5.(*Conn).Query(0x0, {0x7bd0e8, 0xc0000a2000}, {0x75a1b2, 0x1d})
	/home/alice/go/pkg/mod/github.com/jackc/pgx/v5@v5.7.1/conn.go:712 +0x2f
github.com/acme/billing/internal/store.(*Repo).Invoice(0x0, {0x7bd0e8, 0xc0000a2000}, {0xc00001c0f0, 0x24})
	/home/alice/src/billing/internal/store/repo.go:57 +0x2f
github.com/acme/billing/internal/api.(*Server).getInvoice(0xc0000b4000, {0x7bc9f0, 0xc0001c6000}, 0xc0001b8000)
	/home/alice/src/billing/internal/api/invoice.go:33 +0x8b
net/http.HandlerFunc.ServeHTTP(0xc0000a6050?, {0x7bc9f0?, 0xc0001c6000?}, 0x0?)
	/usr/local/go/src/net/http/server.go:2220 +0x29
github.com/acme/billing/internal/api.(*Server).withAuth.func1({0x7bc9f0, 0xc0001c6000}, 0xc0001b8000)
	/home/alice/src/billing/internal/api/auth.go:71 +0x1a4
created by net/http.(*Server).Serve in goroutine 1
	/usr/local/go/src/net/http/server.go:3360 +0x485`

// The same bug from another build on another machine: other goroutine,
// arguments, addresses, line numbers, paths, Go and dependency versions.
const goPanicB = `panic: runtime error: invalid memory address or nil pointer dereference [recovered]
	panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x20 pc=0x7b1d40]

goroutine 4077 [running]:
net/http.(*conn).serve.func1()
	/opt/hostedtoolcache/go/1.26.8/x64/src/net/http/server.go:1950 +0xbe
panic({0x6f0b40?, 0x9b2d30?})
	/opt/hostedtoolcache/go/1.26.8/x64/src/runtime/panic.go:791 +0x132
github.com/jackc/pgx/v5.(*Conn).Query(0x0, {0x7cd0e8, 0xc000422000}, {0x76a1b2, 0x1d})
	/root/go/pkg/mod/github.com/jackc/pgx/v5@v5.7.2/conn.go:715 +0x2f
github.com/acme/billing/internal/store.(*Repo).Invoice(0x0, {0x7cd0e8, 0xc000422000}, {0xc00041c0f0, 0x24})
	/build/ci/workspace/internal/store/repo.go:61 +0x33
github.com/acme/billing/internal/api.(*Server).getInvoice(0xc000514000, {0x7cc9f0, 0xc0005c6000}, 0xc0005b8000)
	/build/ci/workspace/internal/api/invoice.go:35 +0x8b
net/http.HandlerFunc.ServeHTTP(0xc0004a6050?, {0x7cc9f0?, 0xc0005c6000?}, 0x0?)
	/opt/hostedtoolcache/go/1.26.8/x64/src/net/http/server.go:2223 +0x29
github.com/acme/billing/internal/api.(*Server).withAuth.func1({0x7cc9f0, 0xc0005c6000}, 0xc0005b8000)
	/build/ci/workspace/internal/api/auth.go:74 +0x1a4
created by net/http.(*Server).Serve in goroutine 1
	/opt/hostedtoolcache/go/1.26.8/x64/src/net/http/server.go:3363 +0x485`

// A different bug: the nil pointer is hit in another function.
const goPanicOther = `panic: runtime error: invalid memory address or nil pointer dereference

goroutine 23 [running]:
github.com/acme/billing/internal/store.(*Repo).Customer(0x0, {0x7bd0e8, 0xc0000a2000})
	/home/alice/src/billing/internal/store/repo.go:88 +0x2f
github.com/acme/billing/internal/api.(*Server).getInvoice(0xc0000b4000, {0x7bc9f0, 0xc0001c6000}, 0xc0001b8000)
	/home/alice/src/billing/internal/api/invoice.go:31 +0x8b
main.main()
	/home/alice/src/billing/main.go:12 +0x25`

// A stack captured with runtime.Stack on Windows.
const goStackWindows = `goroutine 1 [running]:
github.com/acme/billing/internal/store.(*Repo).Invoice(0x0, {0x7bd0e8, 0xc0000a2000}, {0xc00001c0f0, 0x24})
	C:/Users/alice/src/billing/internal/store/repo.go:57 +0x2f
github.com/acme/billing/internal/api.(*Server).getInvoice(0xc0000b4000, {0x7bc9f0, 0xc0001c6000}, 0xc0001b8000)
	C:/Users/alice/src/billing/internal/api/invoice.go:33 +0x8b
github.com/acme/billing/internal/api.(*Server).withAuth.func1({0x7bc9f0, 0xc0001c6000}, 0xc0001b8000)
	C:/Users/alice/src/billing/internal/api/auth.go:71 +0x1a4`

// Only the runtime and the standard library: those frames are used.
const goStdOnly = `goroutine 1 [running]:
encoding/json.(*decodeState).object(0xc0000a4000, {0x5a2b40, 0xc0000b2000, 0x16})
	/usr/local/go/src/encoding/json/decode.go:640 +0x1d4
encoding/json.(*decodeState).value(0xc0000a4000, {0x5a2b40, 0xc0000b2000, 0x16})
	/usr/local/go/src/encoding/json/decode.go:374 +0x8e
encoding/json.Unmarshal({0xc0000c0000, 0x10, 0x10}, {0x5a2b40, 0xc0000b2000})
	/usr/local/go/src/encoding/json/decode.go:113 +0x125`

// A Flutter app's Dart VM stack.
const dartStackA = `#0      ApiClient.post (package:myapp/src/api/client.dart:88:7)
<asynchronous suspension>
#1      ChatRepository.send.<anonymous closure> (package:myapp/src/chat/repository.dart:41:18)
<asynchronous suspension>
#2      _rootRun (dart:async/zone.dart:1399:13)
#3      StatefulElement.build (package:flutter/src/widgets/framework.dart:5198:27)
#4      ChatScreen._onSend (package:myapp/src/chat/chat_screen.dart:120:5)`

// The same bug in a later build, from a file:// script path.
const dartStackB = `#0      ApiClient.post (package:myapp/src/api/client.dart:90:9)
#1      ChatRepository.send.<anonymous closure> (package:myapp/src/chat/repository.dart:43:5)
#2      _rootRun (dart:async/zone.dart:1400:13)
#3      ChatScreen._onSend (file:///Users/bob/dev/myapp/lib/src/chat/chat_screen.dart:122:5)`

// The terse form of package:stack_trace.
const dartTerse = `package:myapp/src/api/client.dart 88:7                         ApiClient.post
===== asynchronous gap ===========================
package:myapp/src/chat/repository.dart 41:18                  ChatRepository.send.<fn>
dart:async                                                    _rootRun
package:myapp/src/chat/chat_screen.dart 120:5                 ChatScreen._onSend`

func TestFingerprintGroupsTheSameBug(t *testing.T) {
	tests := []struct {
		name         string
		errA, stackA string
		errB, stackB string
		same         bool
	}{
		{"go panic, other build and machine", "", goPanicA, "", goPanicB, true},
		{"go panic, other function", "", goPanicA, "", goPanicOther, false},
		{"go, same frames, other error type", "HttpException: 500", goPanicA, "TimeoutException: 500", goPanicA, false},
		{"go, same type, other message", "HttpException: 500", goPanicA, "HttpException: 503", goPanicB, true},
		{"go, windows paths", "", goPanicA, "", goStackWindows, true},
		{"go, standard library only", "", goStdOnly, "", goStdOnly, true},
		{"go, standard library only vs app", "", goStdOnly, "", goPanicA, false},
		{"dart, other build", "SocketException: Connection refused (port 443)", dartStackA,
			"SocketException: Connection refused (port 8443)", dartStackB, true},
		{"dart vs go", "", dartStackA, "", goPanicA, false},
		{"no stack, numbers uuids hex masked",
			"DecodeError: bad byte 0x3f at offset 1734 in 6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e",
			"", "DecodeError: bad byte 0x41 at offset 9 in 0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", "", true},
		{"no stack, other message", "DecodeError: bad byte", "", "DecodeError: truncated input", "", false},
		{"no stack, other type", "DecodeError: bad byte", "", "EncodeError: bad byte", "", false},
		{"unparseable stack falls back to the message", "E: id 17", "not a stack", "E: id 18", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ingest.Fingerprint(tt.errA, tt.stackA)
			b := ingest.Fingerprint(tt.errB, tt.stackB)
			assert.True(t, strings.HasPrefix(a, ingest.FingerprintVersion), a)
			assert.Len(t, a, len(ingest.FingerprintVersion)+64)
			assert.Equal(t, tt.same, a == b)
		})
	}
}

func TestParseStack(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		want  []ingest.Frame
	}{
		{"go panic", goPanicA, []ingest.Frame{
			{Function: "net/http.(*conn).serve.func1", File: "server.go"},
			{Function: "panic", File: "panic.go"},
			{Function: "github.com/jackc/pgx/v5.(*Conn).Query", File: "conn.go"},
			{Function: "github.com/acme/billing/internal/store.(*Repo).Invoice", File: "repo.go", App: true},
			{Function: "github.com/acme/billing/internal/api.(*Server).getInvoice", File: "invoice.go", App: true},
			{Function: "net/http.HandlerFunc.ServeHTTP", File: "server.go"},
			{Function: "github.com/acme/billing/internal/api.(*Server).withAuth.func1", File: "auth.go", App: true},
			{Function: "net/http.(*Server).Serve", File: "server.go"},
		}},
		{"go windows", goStackWindows, []ingest.Frame{
			{Function: "github.com/acme/billing/internal/store.(*Repo).Invoice", File: "repo.go", App: true},
			{Function: "github.com/acme/billing/internal/api.(*Server).getInvoice", File: "invoice.go", App: true},
			{Function: "github.com/acme/billing/internal/api.(*Server).withAuth.func1", File: "auth.go", App: true},
		}},
		{"go logging path is not the app", "goroutine 1 [running]:\ngithub.com/soliplex/fieldlog/sink.(*Logger).Error(...)\n\t/src/fieldlog/sink/logger.go:180\nmain.run()\n\t/src/app/main.go:9 +0x1", []ingest.Frame{
			{Function: "github.com/soliplex/fieldlog/sink.(*Logger).Error", File: "logger.go"},
			{Function: "main.run", File: "main.go", App: true},
		}},
		{"dart vm", dartStackA, []ingest.Frame{
			{Function: "ApiClient.post", File: "client.dart", App: true},
			{Function: "ChatRepository.send.<closure>", File: "repository.dart", App: true},
			{Function: "_rootRun", File: "zone.dart"},
			{Function: "StatefulElement.build", File: "framework.dart"},
			{Function: "ChatScreen._onSend", File: "chat_screen.dart", App: true},
		}},
		{"dart terse", dartTerse, []ingest.Frame{
			{Function: "ApiClient.post", File: "client.dart", App: true},
			{Function: "ChatRepository.send.<fn>", File: "repository.dart", App: true},
			{Function: "_rootRun", File: "dart:async"},
			{Function: "ChatScreen._onSend", File: "chat_screen.dart", App: true},
		}},
		{"not a stack", "no stack here\njust words", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ingest.ParseStack(tt.stack))
		})
	}
}

func TestErrorType(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{"HttpException: 500", "HttpException"},
		{"*fs.PathError: open /x: no such file", "*fs.PathError"},
		{"open /x: no such file or directory", ""},
		{"runtime error: index out of range [5] with length 3", ""},
		{"plain message", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			assert.Equal(t, tt.want, ingest.ErrorType(tt.give))
		})
	}
}

func TestMaskMessage(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{`id 6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e at 17.5 ms`, `id <uuid> at <n> ms`},
		{`key deadbeef01, addr 0xc000123456`, `key <hex>, addr <hex>`},
		{`user "alice" not found`, `user "<s>" not found`},
		{`decade of defaced facade`, `decade of defaced facade`},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			assert.Equal(t, tt.want, ingest.MaskMessage(tt.give))
		})
	}
}

// FuzzFingerprint: any input gives a well-formed fingerprint, and line
// numbers never matter.
func FuzzFingerprint(f *testing.F) {
	for _, s := range []string{goPanicA, goStackWindows, dartStackA, dartTerse, ""} {
		f.Add("HttpException: 500", s)
	}
	f.Fuzz(func(t *testing.T, errText, stack string) {
		fp := ingest.Fingerprint(errText, stack)
		if !strings.HasPrefix(fp, ingest.FingerprintVersion) || len(fp) != len(ingest.FingerprintVersion)+64 {
			t.Fatalf("malformed fingerprint %q", fp)
		}
		_ = ingest.ParseStack(stack)
	})
}
