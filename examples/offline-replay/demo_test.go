package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's main command: the demo with its defaults exits 0, accounts
// for every record and shows redaction.
func TestDemo(t *testing.T) {
	t.Parallel()
	res := runCLI(t, 60*time.Second)
	require.Equal(t, exitOK, res.code, res.stdout+res.stderr)
	assert.Empty(t, res.stderr)
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(300), s.rows["written"])
	assert.Equal(t, int64(300), s.rows["delivered"])
	assert.Contains(t, res.stdout, "300 written = 300 delivered + 0 dropped + 0 still queued")
	assert.Contains(t, res.stdout, "duplicates                 0")

	// One stored record shows each secret as a marker, and nothing of
	// what it replaced.
	for _, want := range []string{
		`"message": "Sign-in failed for [EMAIL] [demo-000253]"`, `"email": "[EMAIL]"`, `"password": "[REDACTED]"`,
		`"request_header": "Authorization: Bearer [TOKEN]"`, `"error.fingerprint": "fp1:`, `"server.received_at": "`,
	} {
		assert.Contains(t, res.stdout, want)
	}
	for _, secret := range []string{"alice.martin@example.com", "correct-horse-42", "7f3a9c2e5b1d4f60a8e2c4d6"} {
		assert.NotContains(t, res.stdout, secret)
	}
	var legend []string
	for _, line := range strings.Split(res.stdout, "\n") {
		if strings.HasPrefix(line, "Legend: ") {
			legend = append(legend, line)
		}
	}
	require.Len(t, legend, 1, "a one-line legend")
	for _, term := range []string{"high class", "error.fingerprint", "server.received_at"} {
		assert.Contains(t, legend[0], term)
	}
}

// A session larger than the queue's cap loses its oldest records, and the
// demo says so: in the summary, by reason, and in its exit code.
func TestDemoOverTheCap(t *testing.T) {
	t.Parallel()
	res := runCLI(t, 60*time.Second, "--count", "2000", "--max-queue-bytes", "128KB")
	require.Equal(t, exitDropped, res.code, res.stdout+res.stderr)
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(2000), s.rows["written"])
	assert.Positive(t, s.reasons["queue_cap"])
	assert.Contains(t, res.stdout, "To stay under its 128 KB cap the queue dropped the oldest")
	assert.Contains(t, res.stdout, "the queue's 128 KB cap evicted the oldest records (raise --max-queue-bytes)")
	assert.Contains(t, res.stdout, `the server stored the queue's own: "dropped `+itoa(int(s.reasons["queue_cap"]))+" records before delivery")
	assert.Contains(t, res.stderr, "offline-replay: "+num(s.reasons["queue_cap"])+" records were dropped (queue_cap ")
	onePrefix(t, res.stderr)
}
