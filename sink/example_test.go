package sink_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

func Example() {
	console := sink.NewConsole(os.Stdout, &sink.ConsoleOptions{NoTime: true, NoStack: true})
	m := sink.NewManager([]sink.Sink{console})
	defer m.Close(context.Background())

	log := m.Logger("Http")
	log.Debug("not shown: below the global level")
	log.Info("Request sent", "url", "/api/v1/chat", "attempt", 2)
	log.Error("Request failed: 500", errors.New("HttpException: 500"), "status", 500)

	// Turn on debug for Http and everything below it, at run time.
	m.SetLoggerLevel("Http", logrecord.LevelDebug)
	log.Named("Client").Debug("Connection reused")
	// Output:
	// INFO Http: Request sent url=/api/v1/chat attempt=2
	// ERROR Http: Request failed: 500 status=500 error="HttpException: 500"
	// DEBUG Http.Client: Connection reused
}

func ExampleManager_Handler() {
	mem := sink.NewMemory(100)
	m := sink.NewManager([]sink.Sink{mem})
	defer m.Close(context.Background())

	logger := slog.New(m.Handler("Billing"))
	logger.WithGroup("invoice").Info("Invoice sent", "id", "inv-42", "total_cents", 1999)

	for _, r := range mem.Records() {
		fmt.Println(r.Logger, r.Level, r.Message)
		for a := range r.Attrs {
			fmt.Println(" ", a.Key, a.Value)
		}
	}
	// Output:
	// Billing info Invoice sent
	//   invoice [id=inv-42 total_cents=1999]
}

func ExampleManager_SetSinkLevel() {
	everything := sink.NewMemory(100)
	errorsOnly := sink.NewMemory(100)
	m := sink.NewManager([]sink.Sink{everything, errorsOnly})
	m.SetSinkLevel(errorsOnly, logrecord.LevelError)

	log := m.Logger("App")
	log.Info("started")
	log.Error("failed", errors.New("boom"))

	fmt.Println(everything.Len(), errorsOnly.Len())
	// Output: 2 1
}

func ExampleWithSanitizer() {
	mem := sink.NewMemory(10)
	redact := sink.SanitizerFunc(func(r logrecord.Record) logrecord.Record {
		if r.Error != "" {
			r.Error = "[REDACTED]"
		}
		return r
	})
	m := sink.NewManager([]sink.Sink{mem}, sink.WithSanitizer(redact))
	m.Logger("Auth").Error("login failed", errors.New("bad password for alice"))

	fmt.Println(mem.Records()[0].Error)
	// Output: [REDACTED]
}
