package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/soliplex/fieldlog/sink"
)

// A session produces a plausible stream of records: a user moving through
// an app that talks to its backend, with the odd warning and error, and
// the personal data and secrets that real logs carry (an email address,
// a password attribute, a bearer header), which redaction replaces with
// markers before anything reaches the disk.
type session struct {
	prefix     string
	errorEvery int
	router     *sink.Logger
	http       *sink.Logger
	auth       *sink.Logger
	lifecycle  *sink.Logger
	ui         *sink.Logger
}

func newSession(m *sink.Manager, prefix string, errorEvery int) *session {
	return &session{
		prefix: prefix, errorEvery: errorEvery,
		router: m.Logger("Router"), http: m.Logger("Http.Client"), auth: m.Logger("Auth"),
		lifecycle: m.Logger("Lifecycle"), ui: m.Logger("UI.Chat"),
	}
}

var routes = []string{"/home", "/chat", "/chat/thread-7", "/settings", "/billing"}

// signInEvery is how often the session's user fails to sign in, logging
// personal data and secrets that redaction must catch.
const signInEvery = 250

// isSignIn reports whether record i is a failed sign-in.
func isSignIn(i int) bool { return i%signInEvery == 3 }

// emit logs record i; its message holds "[<prefix><i, %06d>]".
func (s *session) emit(i int) {
	tag := fmt.Sprintf("[%s%06d]", s.prefix, i)
	route := routes[i%len(routes)]
	switch {
	case isSignIn(i):
		s.auth.Error("Sign-in failed for alice.martin@example.com "+tag, errors.New("HttpException: 401 Unauthorized"),
			"email", "alice.martin@example.com", "password", "correct-horse-42",
			"request_header", "Authorization: Bearer 7f3a9c2e5b1d4f60a8e2c4d6", "url", "/api/v1/login")
	case s.errorEvery > 0 && i%s.errorEvery == s.errorEvery-1:
		s.http.Error("Request failed: 500 "+tag, errors.New("HttpException: 500 Internal Server Error"),
			"method", "POST", "url", "/api/v1/chat", "status", 500, "attempt", 1+i%3)
	case i == 0:
		s.lifecycle.Info("App started "+tag, "version", "1.4.2", "build", 1402, "cold_start_ms", 812)
	case i%17 == 16:
		s.http.Warn("Slow response "+tag, "url", "/api/v1/history", "duration", 2310*time.Millisecond)
	case i%11 == 10:
		s.auth.Info("Token refreshed "+tag, "expires_in_s", 3600)
	case i%5 == 0:
		s.router.Info("Navigated to "+route+" "+tag, "route", route)
	case i%5 == 2:
		s.ui.Debug("Tapped Send "+tag, slog.Group("draft", "chars", 40+i%200, "attachments", i%2))
	default:
		s.http.Info("POST /api/v1/chat 200 "+tag, "method", "POST", "url", "/api/v1/chat", "status", 200,
			"duration_ms", 120+i%90, "bytes", 512+i%4096)
	}
}
