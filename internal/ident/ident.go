// Package ident carries the identity of the records logged with a context
// — user, active run, session — from the application (fieldlog.WithUser)
// to the sinks that ship it (backendsink), so that a service with many
// users per process gets the right user_id on each record.
package ident

import "context"

// Identity is what a context says about the records logged with it. Empty
// fields say nothing: the sink's own values apply.
type Identity struct {
	UserID    string
	HasUser   bool // UserID is set, possibly to "" (no user)
	ThreadID  string
	RunID     string
	HasRun    bool
	SessionID string
}

type key struct{}

// From returns the identity ctx carries, or nil.
func From(ctx context.Context) *Identity {
	if ctx == nil {
		return nil
	}
	id, _ := ctx.Value(key{}).(*Identity)
	return id
}

func with(ctx context.Context, f func(*Identity)) context.Context {
	var id Identity
	if old := From(ctx); old != nil {
		id = *old
	}
	f(&id)
	return context.WithValue(ctx, key{}, &id)
}

// WithUser returns ctx carrying the user id.
func WithUser(ctx context.Context, userID string) context.Context {
	return with(ctx, func(id *Identity) { id.UserID, id.HasUser = userID, true })
}

// WithRun returns ctx carrying the active run.
func WithRun(ctx context.Context, threadID, runID string) context.Context {
	return with(ctx, func(id *Identity) { id.ThreadID, id.RunID, id.HasRun = threadID, runID, true })
}

// WithSession returns ctx carrying a session id other than the process's
// (a crash of an earlier session, shipped by this one).
func WithSession(ctx context.Context, sessionID string) context.Context {
	return with(ctx, func(id *Identity) { id.SessionID = sessionID })
}
