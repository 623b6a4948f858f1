package backendsink

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	ack := func(n string) []byte { return []byte(`{"accepted":` + n + `}`) }
	tests := []struct {
		name string
		give Answer
		want Action
	}{
		{"200 acknowledging", Answer{Status: 200, Body: ack("3"), Sent: 3}, Confirm},
		{"202 acknowledging", Answer{Status: 202, Body: ack("1"), Sent: 1}, Confirm},
		{"200 with HTML", Answer{Status: 200, Body: []byte("<html>Sign in</html>"), Sent: 3}, Unexpected},
		{"200 empty", Answer{Status: 200, Sent: 3}, Unexpected},
		{"204", Answer{Status: 204, Sent: 3}, Unexpected},
		{"200 wrong count", Answer{Status: 200, Body: ack("2"), Sent: 3}, Unexpected},
		{"301", Answer{Status: 301}, PauseEndpoint},
		{"302", Answer{Status: 302}, PauseEndpoint},
		{"307", Answer{Status: 307}, PauseEndpoint},
		{"308", Answer{Status: 308}, PauseEndpoint},
		{"401", Answer{Status: 401}, PauseAuth},
		{"403", Answer{Status: 403}, PauseAuth},
		{"404", Answer{Status: 404}, PauseEndpoint},
		{"413", Answer{Status: 413}, Split},
		{"400", Answer{Status: 400}, Reject},
		{"400 to gzip", Answer{Status: 400, Gzip: true}, Uncompressed},
		{"415 to gzip", Answer{Status: 415, Gzip: true}, Uncompressed},
		{"415 plain", Answer{Status: 415}, Reject},
		{"422 to gzip", Answer{Status: 422, Gzip: true}, Reject},
		{"422", Answer{Status: 422}, Reject},
		{"409", Answer{Status: 409}, Reject},
		{"408", Answer{Status: 408}, Unreachable},
		{"429", Answer{Status: 429}, RateLimited},
		{"500", Answer{Status: 500}, ServerError},
		{"501", Answer{Status: 501}, ServerError},
		{"507", Answer{Status: 507}, ServerError},
		{"502", Answer{Status: 502}, Unreachable},
		{"503", Answer{Status: 503}, Unreachable},
		{"504", Answer{Status: 504}, Unreachable},
		{"refused", Answer{Err: errors.New("connection refused")}, Unreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Classify(tt.give))
		})
	}
	assert.Equal(t, "action(99)", Action(99).String())
	assert.Equal(t, "uncompressed", Uncompressed.String())
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		give string
		want time.Duration
	}{
		{"empty", "", 0},
		{"seconds", "7", 7 * time.Second},
		{"spaces", " 3 ", 3 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"huge seconds capped", "99999999999", time.Hour},
		{"http date", "Fri, 06 Feb 2026 12:00:30 GMT", 30 * time.Second},
		{"past date", "Fri, 06 Feb 2026 11:00:00 GMT", 0},
		{"far date capped", "Fri, 06 Feb 2027 12:00:00 GMT", time.Hour},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseRetryAfter(tt.give, now, time.Hour)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestStatusErrorText(t *testing.T) {
	now := time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		give  Answer
		token string
		want  string
	}{
		{"rate limited", Answer{Status: 429, Header: http.Header{"Retry-After": {"2"}}, Body: []byte(` {"detail":"slow down"} `)}, "",
			`ingest answered 429 Too Many Requests (retry after 2s): {"detail":"slow down"}`},
		{"redirect", Answer{Status: 301, Header: http.Header{"Location": {"https://logs.example.internal/api/v1/logs"}}}, "",
			`ingest answered 301 Moved Permanently, moved to https://logs.example.internal/api/v1/logs`},
		{"portal", Answer{Status: 200, Body: []byte("<html>Wi-Fi</html>")}, "",
			`ingest answered 200 OK without acknowledging the records sent: <html>Wi-Fi</html>`},
		{"echoed token", Answer{Status: 401, Body: []byte("bad token s3cret\xff")}, "s3cret",
			"ingest answered 401 Unauthorized: bad token [REDACTED]\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, statusError(tt.give, tt.token, now).Error())
		})
	}
	wrapped := &stopError{kind: ErrPaused, what: "export paused until the token changes", cause: statusError(Answer{Status: 401}, "", now)}
	assert.Equal(t, "backendsink: export paused until the token changes: ingest answered 401 Unauthorized", wrapped.Error(), "one prefix")
	assert.ErrorIs(t, wrapped, ErrPaused)
	var se *StatusError
	assert.ErrorAs(t, wrapped, &se)
	assert.Equal(t, 401, se.Code)
}
