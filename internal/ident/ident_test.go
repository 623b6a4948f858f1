package ident

import (
	"context"
	"testing"
)

func TestLayers(t *testing.T) {
	base := context.Background()
	if From(base) != nil {
		t.Fatal("a bare context carries no identity")
	}
	ctx := WithRun(WithUser(base, "u1"), "t1", "r1")
	ctx2 := WithUser(ctx, "u2")
	got, got2 := From(ctx), From(ctx2)
	if got.UserID != "u1" || !got.HasUser || got.RunID != "r1" || got.ThreadID != "t1" || !got.HasRun {
		t.Fatalf("got %+v", got)
	}
	if got2.UserID != "u2" || got2.RunID != "r1" {
		t.Fatalf("an inner WithUser keeps the run and does not change the outer context: %+v", got2)
	}
	if s := From(WithSession(ctx, "s9")); s.SessionID != "s9" || s.UserID != "u1" {
		t.Fatalf("got %+v", s)
	}
}
