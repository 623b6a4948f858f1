package sanitizer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

func Example() {
	console := sink.NewConsole(os.Stdout, &sink.ConsoleOptions{NoTime: true, NoStack: true})
	m := sink.NewManager([]sink.Sink{console}, sink.WithSanitizer(sanitizer.Default()))
	defer m.Close(context.Background())

	m.Logger("Auth").Warn("Login failed for alice@example.com from 203.0.113.7",
		"reason", errors.New("password=hunter2 rejected"), "api_key", "sk-live-123", "attempt", 3)
	// Output:
	// WARN Auth: Login failed for [EMAIL] from [IP] reason="password=[REDACTED] rejected" api_key=[REDACTED] attempt=3 fieldlog.scrubbed="[attributes.api_key:sensitive_key attributes.reason:kv_secret message:email message:ipv4]"
}

func ExampleNew() {
	s, err := sanitizer.New(sanitizer.Options{
		SensitiveKeys: []string{"membership number"},
		Disable:       []string{sanitizer.RulePhone},
	})
	if err != nil {
		panic(err)
	}
	r := msg("call 415-555-2671 about order 42, card 4111 1111 1111 1111").
		WithAttrs(slog.String("membershipNumber", "M-1234"), slog.String("install_id", "6f1c2a9e"))
	out := s.Sanitize(r)
	fmt.Println(out.Message)
	for a := range out.Attrs {
		fmt.Println(a.Key, a.Value)
	}
	// Output:
	// call 415-555-2671 about order 42, card [CARD]
	// membershipNumber [REDACTED]
	// install_id 6f1c2a9e
	// fieldlog.scrubbed [attributes.membershipNumber:sensitive_key message:credit_card]
}

func ExampleSanitizer_String() {
	s, _ := sanitizer.New(sanitizer.Options{HashKey: []byte("keep this secret")})
	a := s.String("ticket from bob@example.com")
	b := s.String("reply to BOB@example.com")
	fmt.Println(a[len("ticket from "):] == b[len("reply to "):])
	// Output: true
}
