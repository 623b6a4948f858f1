package main

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo runs the demo in-process: it serves on 127.0.0.1, sends itself
// requests, shuts down and exits.
func TestDemo(t *testing.T) {
	first := demoRuns.Add(1) == 1
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-demo", "-slow", "100ms", "-dir", t.TempDir()}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr.String(), stdout.String())
	out := stdout.String()

	has := func(parts ...string) {
		t.Helper()
		for line := range strings.Lines(out) {
			if containsAll(line, parts) {
				return
			}
		}
		t.Errorf("no line with %q in:\n%s", parts, out)
	}
	if first {
		has("INFO rum.start: cold start", "metric=cold_start", "phases.config=", "phases.listen=")
	} else {
		assert.NotContains(t, out, "cold start", "the cold start is logged once per process")
	}
	has("WARN rum.http.server: slow request", `route="GET /reports/{year}"`, "status=200")
	has("WARN rum.http.client: call failed", "path=/v1/quote", "error_class=refused", "breadcrumb_category=network")
	has("ERROR App: quote upstream failed")
	has("FATAL crash: panic: runtime error: index out of range", `route="GET /invoices/{id}"`, "crash.kind=recovered")
	has("INFO App: rendering invoice", "id=7")
	has("INFO rum.http.server: route summary", `route="GET /users/{id}"`, "count=3")
	has("INFO rum.http.server: route summary", "route=(none)", "status_4xx=1")
	has("INFO rum.http.client: host summary", "errors.refused=1")
	has("INFO rum.op: operation summary", "op=db.lookup_user", "count=3")
	assert.NotContains(t, out, "route=/users/", "routes are patterns, never paths")
}

// demoRuns counts the demos run in this process (go test -count).
var demoRuns atomic.Int32

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"-h"}, 0},
		{"unknown flag", []string{"-nope"}, 2},
		{"stray argument", []string{"serve"}, 2},
		{"bad option", []string{"-slow", "-1s"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tt.want, run(context.Background(), tt.args, &stdout, &stderr))
		})
	}
}
