package backendsink

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		code int
		err  error
		want Action
	}{
		{200, nil, Confirm},
		{202, nil, Confirm},
		{204, nil, Confirm},
		{401, nil, PauseAuth},
		{403, nil, PauseAuth},
		{404, nil, PauseEndpoint},
		{413, nil, Split},
		{400, nil, Reject},
		{422, nil, Reject},
		{409, nil, Reject},
		{408, nil, Unreachable},
		{429, nil, RateLimited},
		{500, nil, ServerError},
		{501, nil, ServerError},
		{507, nil, ServerError},
		{502, nil, Unreachable},
		{503, nil, Unreachable},
		{504, nil, Unreachable},
		{0, errors.New("connection refused"), Unreachable},
		{302, nil, ServerError},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.code)+tt.want.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, Classify(tt.code, tt.err))
		})
	}
	assert.Equal(t, "action(99)", Action(99).String())
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
	err := &StatusError{Code: 429, RetryAfter: 2 * time.Second, Body: `{"detail":"slow down"}`}
	assert.Equal(t, `backendsink: ingest answered 429 Too Many Requests (retry after 2s): {"detail":"slow down"}`, err.Error())
}
