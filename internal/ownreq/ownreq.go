// Package ownreq marks the contexts of the HTTP requests fieldlog makes
// itself (uploads, config fetches), so that instrumentation never measures
// or logs them and shipping logs never produces more logs to ship.
package ownreq

import "context"

type key struct{}

// With returns ctx marked as fieldlog's own.
func With(ctx context.Context) context.Context { return context.WithValue(ctx, key{}, true) }

// Is reports whether ctx is marked as fieldlog's own.
func Is(ctx context.Context) bool { return ctx != nil && ctx.Value(key{}) != nil }
