package diskqueue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen opens whatever bytes the queue file holds: Open either
// quarantines it or opens it, and then every record Peek returns passed
// its checksum. Nothing may panic or fault.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	q, err := Open(dir, &Options{OnError: func(error) {}})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 40 {
		if err := q.Append(Class(i%2), fmt.Appendf(nil, "record %d", i)); err != nil {
			f.Fatal(err)
		}
	}
	if err := q.Close(context.Background()); err != nil {
		f.Fatal(err)
	}
	whole, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(whole)
	f.Add(whole[:len(whole)/2])
	f.Add(whole[:8192])
	f.Add([]byte("not a queue"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		q, err := Open(dir, &Options{OnError: func(error) {}})
		if err != nil {
			return // an error is a fine answer; a crash is not
		}
		defer q.Close(context.Background())
		items, err := q.Peek(1000, 1<<20)
		if err != nil {
			return
		}
		for _, it := range items {
			if len(it.Data) > len(data) {
				t.Fatalf("record of %d bytes from a file of %d", len(it.Data), len(data))
			}
		}
		_ = q.Append(Normal, []byte("after"))
		if err := q.Sync(context.Background()); err != nil {
			t.Fatalf("a queue that opened cannot commit: %v", err)
		}
	})
}
