package logrecord_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

func ExampleRecord_WithAttrs() {
	r := logrecord.New(time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC), logrecord.LevelError,
		"Http", "Request failed: 500", slog.String("url", "/api/v1/chat"))
	r.Error = "HttpException: 500"

	annotated := r.WithAttrs(slog.Int("status", 500))
	fmt.Println(r.Level, r.Level.Severity(), r.NumAttrs(), annotated.NumAttrs())
	for a := range annotated.Attrs {
		fmt.Println(a.Key, a.Value)
	}
	// Output:
	// error 17 1 2
	// url /api/v1/chat
	// status 500
}

func ExampleParseLevel() {
	l, err := logrecord.ParseLevel("WARN")
	fmt.Println(l, l.SeverityText(), err)
	// Output: warning WARN <nil>
}

type login struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Roles    []string
}

func ExampleCoerce() {
	v := logrecord.Coerce(slog.AnyValue(login{Name: "bob", Password: "hunter2", Roles: []string{"admin"}}))
	fmt.Println(v.Kind())
	for _, a := range v.Group() {
		fmt.Println(a.Key, a.Value)
	}
	loop := []any{"x", nil}
	loop[1] = loop
	fmt.Println(logrecord.Data(logrecord.Coerce(slog.AnyValue(loop))))
	// Output:
	// Group
	// name bob
	// password hunter2
	// Roles [admin]
	// [x !CYCLE]
}
