package ingest_test

import (
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
)

const goStackA = `goroutine 7 [running]:
github.com/acme/billing/internal/pay.(*Client).Charge(0xc000123456, {0x7f0e2c, 0x5})
	/home/alice/src/billing/internal/pay/client.go:88 +0x1d4
github.com/acme/billing/internal/api.handleCheckout({0x9d1f40, 0xc0001b2000}, 0xc0002a4000)
	/home/alice/src/billing/internal/api/checkout.go:41 +0x8e
net/http.HandlerFunc.ServeHTTP(0x0?, {0x9d1f40?, 0xc0001b2000?}, 0x0?)
	/usr/local/go/src/net/http/server.go:2220 +0x29
main.main()
	/home/alice/src/billing/main.go:12 +0x25`

// The same bug on another machine and build: other goroutine, addresses,
// line numbers, checkout path.
const goStackB = `goroutine 912 [running]:
github.com/acme/billing/internal/pay.(*Client).Charge(0xc000999999, {0x7f0000, 0x9})
	/build/ci/workspace/internal/pay/client.go:91 +0x1f0
github.com/acme/billing/internal/api.handleCheckout({0x9d1f40, 0xc000000000}, 0xc000000001)
	/build/ci/workspace/internal/api/checkout.go:44 +0x90
net/http.HandlerFunc.ServeHTTP(0x0?, {0x0?, 0x0?}, 0x0?)
	/opt/go/src/net/http/server.go:2222 +0x29
main.main()
	/build/ci/workspace/main.go:13 +0x25`

const goStackOther = `goroutine 7 [running]:
github.com/acme/billing/internal/pay.(*Client).Refund(0xc000123456)
	/home/alice/src/billing/internal/pay/client.go:120 +0x1d4
main.main()
	/home/alice/src/billing/main.go:12 +0x25`

const dartStackA = `#0      ApiClient.post (package:myapp/src/api/client.dart:88:7)
#1      <asynchronous suspension>
#2      ChatRepository.send (package:myapp/src/chat/repository.dart:41:18)
#3      _rootRun (dart:async/zone.dart:1399:13)
#4      StatefulElement.build (package:flutter/src/widgets/framework.dart:5198:27)`

const dartStackB = `#0      ApiClient.post (package:myapp/src/api/client.dart:90:9)
#1      ChatRepository.send (package:myapp/src/chat/repository.dart:43:5)
#2      _rootRun (dart:async/zone.dart:1400:13)`

func TestFingerprintGroupsAcrossBuilds(t *testing.T) {
	tests := []struct {
		name       string
		errA, errB string
		stackA     string
		stackB     string
		same       bool
	}{
		{"go same bug other build", "HttpException: 500", "HttpException: 503", goStackA, goStackB, true},
		{"go other function", "HttpException: 500", "HttpException: 500", goStackA, goStackOther, false},
		{"go other type", "HttpException: 500", "TimeoutException: 500", goStackA, goStackA, false},
		{"dart same bug", "SocketException: Connection refused (port 443)", "SocketException: Connection refused (port 8443)", dartStackA, dartStackB, true},
		{"no stack, masked message", "DecodeError: bad byte 0x3f at offset 1734 in 6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", "DecodeError: bad byte 0x41 at offset 9 in 0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", "", "", true},
		{"no stack, other message", "DecodeError: bad byte", "DecodeError: truncated input", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ingest.Fingerprint(tt.errA, tt.stackA)
			b := ingest.Fingerprint(tt.errB, tt.stackB)
			assert.True(t, strings.HasPrefix(a, ingest.FingerprintVersion))
			assert.Len(t, a, len(ingest.FingerprintVersion)+64)
			assert.Equal(t, tt.same, a == b)
		})
	}
}

func TestParseStack(t *testing.T) {
	frames := ingest.ParseStack(goStackA)
	assert.Equal(t, []ingest.Frame{
		{Function: "github.com/acme/billing/internal/pay.(*Client).Charge", File: "client.go", App: true},
		{Function: "github.com/acme/billing/internal/api.handleCheckout", File: "checkout.go", App: true},
		{Function: "net/http.HandlerFunc.ServeHTTP", File: "server.go", App: false},
		{Function: "main.main", File: "main.go", App: true},
	}, frames)
	dart := ingest.ParseStack(dartStackA)
	assert.Equal(t, []ingest.Frame{
		{Function: "ApiClient.post", File: "client.dart", App: true},
		{Function: "ChatRepository.send", File: "repository.dart", App: true},
		{Function: "_rootRun", File: "zone.dart", App: false},
		{Function: "StatefulElement.build", File: "framework.dart", App: false},
	}, dart)
	assert.Empty(t, ingest.ParseStack("no stack here"))
}

func TestErrorTypeAndMask(t *testing.T) {
	assert.Equal(t, "HttpException", ingest.ErrorType("HttpException: 500"))
	assert.Equal(t, "*fs.PathError", ingest.ErrorType("*fs.PathError: open /x: no such file"))
	assert.Equal(t, "", ingest.ErrorType("open /x: no such file"))
	assert.Equal(t, "", ingest.ErrorType("plain message"))
	assert.Equal(t, `id <uuid> at <n> ms, key <hex>, name "<s>"`, ingest.MaskMessage(`id 6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e at 17.5 ms, key deadbeef01, name "alice"`))
}
