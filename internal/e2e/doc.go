// Package e2e holds the end-to-end acceptance tests of the support view:
// real programs log through the SDK to a real ingest server on 127.0.0.1
// — a service whose handler panics, a process killed with SIGKILL and
// started again, a session logged while the server was down and replayed
// by the offline-replay example later — and the tests ask the server's
// session API, as a support engineer would, what happened in each.
//
// It has no code of its own: everything is in its tests.
package e2e
