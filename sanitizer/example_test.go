package sanitizer_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

func Example() {
	console := sink.NewConsole(os.Stdout, &sink.ConsoleOptions{NoTime: true, NoStack: true})
	m := sink.NewManager([]sink.Sink{console}, sink.WithSanitizer(sanitizer.Default()))
	defer m.Close(context.Background())

	m.Logger("Auth").Error("Login failed for alice@example.com from 203.0.113.7",
		errors.New("password=hunter2 rejected"), "api_key", "sk-live-123", "attempt", 3)
	// Output:
	// ERROR Auth: Login failed for [EMAIL] from [IP] api_key=[REDACTED] attempt=3 fieldlog.scrubbed="[attributes.api_key:sensitive_key error:kv_secret message:email message:ipv4]" error="password=[REDACTED] rejected"
}

func ExampleSanitizer_String() {
	s, _ := sanitizer.New(sanitizer.Options{HashKey: []byte("keep this secret")})
	a := s.String("ticket from bob@example.com")
	b := s.String("reply to bob@example.com")
	fmt.Println(a[len("ticket from "):] == b[len("reply to "):])
	// Output: true
}
