package ownreq

import (
	"context"
	"testing"
)

func TestMark(t *testing.T) {
	var none context.Context
	if Is(context.Background()) || Is(none) {
		t.Fatal("an unmarked context is not ours")
	}
	if !Is(With(context.Background())) {
		t.Fatal("a marked context is ours")
	}
}
