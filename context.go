package fieldlog

import (
	"context"

	"github.com/soliplex/fieldlog/internal/ident"
)

// WithUser returns ctx carrying a user id: records logged with it —
// through a Logger's …Context methods or slog's …Context calls — ship that
// user_id instead of the process-wide one (SetUser). "" means no user.
func WithUser(ctx context.Context, userID string) context.Context {
	return ident.WithUser(ctx, userID)
}

// WithActiveRun returns ctx carrying the active run (thread and run id)
// that records logged with it ship in active_run.
func WithActiveRun(ctx context.Context, threadID, runID string) context.Context {
	return ident.WithRun(ctx, threadID, runID)
}
