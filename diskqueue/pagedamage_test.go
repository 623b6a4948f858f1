package diskqueue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Damage to one field of a page, as the reliability suite does it: each
// must end in a counted drop or a quarantined file, never in records that
// are gone without a count.

// damageRecord is record i: its number and some padding.
func damageRecord(i int) []byte { return fmt.Appendf(nil, "%08d|%s", i, strings.Repeat("x", 40)) }

// damageFile writes a queue file of n numbered records, every fifth one
// High, and returns its bytes.
func damageFile(t *testing.T, n int) []byte {
	t.Helper()
	dir := t.TempDir()
	q, err := Open(dir, &Options{MaxBytes: 1 << 30, NoSync: true, OnError: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := q.AppendWait(t.Context(), Class(i%5/4), damageRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A pageRef is a page in use in a queue file: where it starts and what
// kind it is.
type pageRef struct {
	off   int
	flags uint16
}

// dataPages returns the pages of the bucket of class c in use (an inline
// bucket's page has flags leafPageFlag and starts inside the root page).
func dataPages(t *testing.T, data []byte, c Class) []pageRef {
	t.Helper()
	m := parseMeta(data)
	if b := parseMeta(data[m.pageSize:]); !m.valid || b.valid && b.txid > m.txid {
		m = b
	}
	ps := int(m.pageSize)
	root := int(m.root) * ps
	if ne.Uint16(data[root+8:]) != leafPageFlag {
		t.Fatal("the root page is not a leaf")
	}
	for i := range int(ne.Uint16(data[root+10:])) {
		e := root + pageHeaderSize + i*elemSize
		k := e + int(ne.Uint32(data[e+4:]))
		if !bytes.Equal(data[k:k+int(ne.Uint32(data[e+8:]))], buckets[c]) {
			continue
		}
		val := k + int(ne.Uint32(data[e+8:]))
		if id := ne.Uint64(data[val:]); id != 0 {
			var out []pageRef
			var walk func(id int)
			walk = func(id int) {
				p := id * ps
				out = append(out, pageRef{p, ne.Uint16(data[p+8:])})
				if ne.Uint16(data[p+8:]) != branchPageFlag {
					return
				}
				for i := range int(ne.Uint16(data[p+10:])) {
					walk(int(ne.Uint64(data[p+pageHeaderSize+i*elemSize+8:])))
				}
			}
			walk(int(id))
			return out
		}
		return []pageRef{{val + 16, leafPageFlag}}
	}
	t.Fatalf("no bucket %s", buckets[c])
	return nil
}

// firstPage returns the first page of class c with flags and at least two
// elements.
func firstPage(t *testing.T, data []byte, c Class, flags uint16) int {
	t.Helper()
	for _, p := range dataPages(t, data, c) {
		if p.flags == flags && ne.Uint16(data[p.off+10:]) >= 2 {
			return p.off
		}
	}
	t.Fatalf("no page of type %#x with two elements in %s", flags, buckets[c])
	return 0
}

// outcome opens a damaged copy of a file that held records 0 to n-1 and
// checks that nothing went missing without a count: the file was moved
// aside (and reported), or every record Peek returns is intact and those
// missing are counted as DropCorrupt once their deletion commits. It
// returns "quarantined", "intact" or "counted".
func outcome(t *testing.T, damaged []byte, n int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reports []string
	q, err := Open(dir, &Options{MaxBytes: 1 << 30, OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, err.Error())
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = q.Close(context.Background()) }()
	if q.Stats().Quarantined != "" {
		if len(reports) == 0 || !strings.Contains(reports[0], "is damaged") {
			t.Errorf("a file moved aside is reported: %q", reports)
		}
		return "quarantined"
	}
	seen := map[int]bool{}
	for range 2 { // the second time finds nothing new to count
		items, err := q.Peek(1<<30, 1<<40)
		if err != nil {
			t.Fatal(err)
		}
		clear(seen)
		for _, it := range items {
			i, err := strconv.Atoi(string(it.Data[:8]))
			if err != nil || i >= n || !bytes.Equal(it.Data, damageRecord(i)) || seen[i] {
				t.Fatalf("record %q returned damaged or twice", it.Data)
			}
			seen[i] = true
		}
	}
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	missing, counted := n-len(seen), q.Stats().Dropped[DropCorrupt]
	if int64(missing) != counted {
		t.Errorf("%d records missing, %d counted as %s", missing, counted, DropCorrupt)
	}
	if st := q.Stats(); st.Pending != len(seen) {
		t.Errorf("Pending is %d with %d records stored", st.Pending, len(seen))
	}
	// What the queue wrote since leaves a healthy file.
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q, err = Open(dir, &Options{MaxBytes: 1 << 30, OnError: func(err error) { t.Errorf("after reopening: %v", err) }}); err != nil {
		t.Fatal(err)
	}
	if items, err := q.Peek(1<<30, 1<<40); err != nil || len(items) != len(seen) {
		t.Errorf("after reopening: %d records, %v; want %d", len(items), err, len(seen))
	}
	if missing == 0 {
		return "intact"
	}
	return "counted"
}

// TestDamagedKeySizeIsCounted changes the key size of records in their
// leaf page: bbolt then reads a key that is not an id. The record is
// counted as damaged and deleted by that key, or the file quarantined;
// it never just disappears. The first key of a page below a branch must
// equal the branch's key for it, so damage there is caught at Open.
func TestDamagedKeySizeIsCounted(t *testing.T) {
	const n = 500
	data := damageFile(t, n)
	for _, c := range []Class{Normal, High} {
		leaf := firstPage(t, data, c, leafPageFlag)
		count := int(ne.Uint16(data[leaf+10:]))
		for _, el := range []int{0, count / 2, count - 1} {
			for _, size := range []uint32{0, 1, 7, 9, 12, 100} {
				t.Run(fmt.Sprintf("%s/element %d of %d/key size %d", c, el, count, size), func(t *testing.T) {
					d := bytes.Clone(data)
					ne.PutUint32(d[leaf+pageHeaderSize+el*elemSize+8:], size)
					got := outcome(t, d, n)
					switch {
					case el == 0 && got != "quarantined":
						// bbolt would corrupt the tree writing to this page.
						t.Errorf("the first key of a page below a branch: %s, want quarantined", got)
					case el > 0 && el < count-1 && size == 9 && got != "counted":
						t.Errorf("a key one byte longer: %s, want counted", got)
					}
				})
			}
		}
	}
}

// TestDamagedKeyCountedOnceAndDeleted follows one record whose key size
// was changed: counted once however often it is read, deleted with the
// next commit, persisted in the drop ledger, not counted again after a
// reopen; read-only, counted once and left in the file.
func TestDamagedKeyCountedOnceAndDeleted(t *testing.T) {
	const n = 300
	data := damageFile(t, n)
	leaf := firstPage(t, data, Normal, leafPageFlag)
	ne.PutUint32(data[leaf+pageHeaderSize+elemSize+8:], 9) // the second record
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	ro, err := OpenReadOnly(dir, &Options{OnError: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if items, err := ro.Peek(1<<30, 1<<40); err != nil || len(items) != n-1 {
			t.Fatalf("read-only Peek: %d records, %v", len(items), err)
		}
	}
	if st := ro.Stats(); st.Dropped[DropCorrupt] != 1 || st.Pending != n {
		t.Errorf("read-only: %d counted, %d pending; want 1 counted once and nothing deleted", st.Dropped[DropCorrupt], st.Pending)
	}
	if err := ro.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Error("read-only: the file changed")
	}

	var reports []string
	q, err := Open(dir, &Options{OnError: func(err error) { reports = append(reports, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if items, err := q.Peek(1<<30, 1<<40); err != nil || len(items) != n-1 {
			t.Fatalf("Peek: %d records, %v", len(items), err)
		}
	}
	if err := q.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := q.Stats()
	if st.Dropped[DropCorrupt] != 1 || st.Pending != n-1 || q.Unreported().Total() != 1 {
		t.Errorf("%d counted, %d pending, %d unreported; want 1, %d, 1", st.Dropped[DropCorrupt], st.Pending, q.Unreported().Total(), n-1)
	}
	if len(reports) == 0 || !strings.Contains(reports[0], "skipped 1 damaged record") {
		t.Errorf("reported %q", reports)
	}
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	q, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = q.Close(context.Background()) }()
	if items, err := q.Peek(1<<30, 1<<40); err != nil || len(items) != n-1 {
		t.Fatalf("after reopening: %d records, %v", len(items), err)
	}
	if err := q.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	st = q.Stats()
	if st.Pending != n-1 || st.Dropped[DropCorrupt] != 0 || st.DroppedTotal[DropCorrupt] != 1 || q.Unreported().Total() != 1 {
		t.Errorf("after reopening: %d pending, %d counted now, %d in all, %d unreported; want %d, 0, 1, 1",
			st.Pending, st.Dropped[DropCorrupt], st.DroppedTotal[DropCorrupt], q.Unreported().Total(), n-1)
	}
}

// TestLoweredCountIsCaught lowers the element count in a page header,
// which hides the elements past it from bbolt: for a leaf its records,
// for a branch whole pages of them, for an inline bucket its last records.
// The bytes of the hidden elements are not zero, so Open finds the file
// damaged and moves it aside, and OpenReadOnly refuses it.
func TestLoweredCountIsCaught(t *testing.T) {
	big, small := damageFile(t, 500), damageFile(t, 4)
	tests := []struct {
		name    string
		data    []byte
		page    int
		count   func(int) int
		records int
	}{
		{"leaf, one fewer", big, firstPage(t, big, Normal, leafPageFlag), func(n int) int { return n - 1 }, 500},
		{"leaf, half", big, firstPage(t, big, Normal, leafPageFlag), func(n int) int { return n / 2 }, 500},
		{"leaf, none", big, firstPage(t, big, High, leafPageFlag), func(int) int { return 0 }, 500},
		{"branch, one fewer", big, firstPage(t, big, Normal, branchPageFlag), func(n int) int { return n - 1 }, 500},
		{"branch, one", big, firstPage(t, big, Normal, branchPageFlag), func(int) int { return 1 }, 500},
		{"inline bucket, one fewer", small, firstPage(t, small, Normal, leafPageFlag), func(n int) int { return n - 1 }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := bytes.Clone(tt.data)
			ne.PutUint16(d[tt.page+10:], uint16(tt.count(int(ne.Uint16(d[tt.page+10:])))))
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), d, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := OpenReadOnly(dir, nil)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "is not zero") {
				t.Errorf("OpenReadOnly: %v, want ErrCorrupt for non-zero bytes outside the elements", err)
			}
			if got := outcome(t, d, tt.records); got != "quarantined" {
				t.Errorf("Open: %s, want quarantined", got)
			}
		})
	}
}

// TestDamagedBucketIsCaught changes a bucket's entry in the root page: its
// name, or its flag. bbolt would find no bucket of that name, and Open
// would make an empty one, the records left under the damaged name; so
// Open finds the file damaged instead.
func TestDamagedBucketIsCaught(t *testing.T) {
	const n = 300
	data := damageFile(t, n)
	m := parseMeta(data)
	if b := parseMeta(data[m.pageSize:]); !m.valid || b.valid && b.txid > m.txid {
		m = b
	}
	root := int(m.root) * int(m.pageSize)
	for i := range int(ne.Uint16(data[root+10:])) {
		e := root + pageHeaderSize + i*elemSize
		k := e + int(ne.Uint32(data[e+4:]))
		name := string(data[k : k+int(ne.Uint32(data[e+8:]))])
		for _, damage := range []struct {
			what string
			at   int
			xor  byte
		}{{"name", k + 1, 0x01}, {"flag", e, bucketLeafFlag}} {
			t.Run(name+"/"+damage.what, func(t *testing.T) {
				d := bytes.Clone(data)
				d[damage.at] ^= damage.xor
				if got := outcome(t, d, n); got != "quarantined" {
					t.Errorf("Open: %s, want quarantined", got)
				}
			})
		}
	}
}

// TestDamagedMetaIsReported damages the newest of the two meta pages: the
// file opens as of the commit before, and Open says that the records of
// a later commit may be lost; an intact file says nothing.
func TestDamagedMetaIsReported(t *testing.T) {
	const n = 300
	data := damageFile(t, n)
	ps := int(binary.NativeEndian.Uint32(data[pageHeaderSize+8:]))
	m0, m1 := parseMeta(data[:ps]), parseMeta(data[ps:2*ps])
	require.True(t, m0.valid && m1.valid, "both meta pages of a healthy file are valid")
	newest := 0
	if m1.txid > m0.txid {
		newest = ps
	}

	open := func(t *testing.T, file []byte) (*Queue, []string) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), file, 0o600))
		var mu sync.Mutex
		var reports []string
		q, err := Open(dir, &Options{MaxBytes: 1 << 30, OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, err.Error())
		}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = q.Close(context.Background()) })
		mu.Lock()
		defer mu.Unlock()
		return q, slices.Clone(reports)
	}

	t.Run("intact", func(t *testing.T) {
		q, reports := open(t, data)
		assert.Empty(t, reports)
		st := q.Stats()
		assert.Equal(t, n, st.Pending)
	})
	t.Run("newest meta damaged", func(t *testing.T) {
		damaged := slices.Clone(data)
		damaged[newest+pageHeaderSize+12] ^= 0x5a // the flags word, under the checksum
		q, reports := open(t, damaged)
		require.Len(t, reports, 1, "%q", reports)
		assert.Contains(t, reports[0], "meta pages is damaged")
		st := q.Stats()
		assert.Empty(t, st.Quarantined, "the older commit is intact: nothing to move aside")
		assert.Less(t, st.Pending, n, "opened as of an earlier commit: the last record is gone")
	})
}
