//go:build unix

package reliability_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sweepResult is what TestTruncationSweep and TestDamageSweep report.
type sweepResult struct {
	Part      string `json:"part"`
	Records   int    `json:"records"`    // stored in the original file
	FileBytes int    `json:"file_bytes"` // of the original file
	sweepCounts
	ByKind      map[string]*sweepCounts `json:"by_kind"`
	Bad         int                     `json:"bad"` // records returned damaged
	Dups        int                     `json:"dups"`
	Resurrected int                     `json:"resurrected"`        // deleted records back
	Examples    []string                `json:"examples,omitempty"` // failed checks
	RolledBackX []string                `json:"rolled_back_examples,omitempty"`
	Seed        uint64                  `json:"seed"`
	Seconds     float64                 `json:"seconds"`
}

// sweepCounts are the outcomes of opening damaged files.
type sweepCounts struct {
	Files         int `json:"files"`   // damaged copies opened
	Intact        int `json:"intact"`  // opened with every record
	Counted       int `json:"counted"` // opened, every missing record counted as damaged
	Silent        int `json:"silent"`  // opened, records missing and not counted
	SilentRecords int `json:"silent_records"`
	RolledBack    int `json:"rolled_back"` // opened as of the previous commit: only the newest records missing
	RolledBackRec int `json:"rolled_back_records"`
	Reported      int `json:"rolled_back_reported"` // of those, reported through OnError
	Quarantined   int `json:"quarantined"`          // moved aside, reported; a fresh queue started
	Errors        int `json:"errors"`               // Open returned an error, file left alone
	Crashed       int `json:"crashed"`              // the process died or hung opening it
	NotWorking    int `json:"not_working"`          // opened but could not commit afterwards
}

// A variant is a damaged copy of a queue file.
type variant struct {
	name, kind string
	data       []byte
}

// sweepFile is a queue file of numbered records, some of them deleted
// (so that the file has free pages), and which numbers it holds. Its last
// transaction appended records, so that falling back to the previous
// transaction loses them.
type sweepFile struct {
	data     []byte
	kept     map[int]bool
	deleted  map[int]bool
	lastFrom int // the records from this number to lastTo (excluded) were appended last
	lastTo   int
}

func makeSweepFile(t *testing.T, records int) sweepFile {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "q")
	q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: 1 << 30, OnError: func(err error) { t.Error(err) }})
	require.NoError(t, err)
	for i := range records {
		require.NoError(t, q.AppendWait(t.Context(), diskqueue.Class(i%5/4), numbered(i)))
	}
	require.NoError(t, q.Sync(t.Context()))
	f := sweepFile{kept: map[int]bool{}, deleted: map[int]bool{}}
	first, err := q.Peek(records/10, 1<<30)
	require.NoError(t, err)
	var ids []uint64
	for _, it := range first {
		n, ok := numberOf(it.Data)
		require.True(t, ok)
		f.deleted[n] = true
		ids = append(ids, it.ID)
	}
	require.NoError(t, q.Delete(ids...))
	require.NoError(t, q.Sync(t.Context()))
	f.lastFrom = records
	last := records + records/20
	f.lastTo = last
	for i := records; i < last; i++ {
		require.NoError(t, q.Append(diskqueue.Normal, numbered(i)))
	}
	require.NoError(t, q.Close(t.Context()))
	for i := range last {
		if !f.deleted[i] {
			f.kept[i] = true
		}
	}
	f.data, err = os.ReadFile(filepath.Join(dir, diskqueue.FileName))
	require.NoError(t, err)
	return f
}

// sweep writes each variant as a queue file, opens them all in child
// processes and classifies what happened.
func sweep(t *testing.T, part string, f sweepFile, variants []variant, seed uint64) sweepResult {
	t.Helper()
	start := time.Now()
	res := sweepResult{Part: part, Records: len(f.kept), FileBytes: len(f.data), ByKind: map[string]*sweepCounts{}, Seed: seed}
	byDir := map[string]variant{}
	var dirs []string
	root := t.TempDir()
	for _, v := range variants {
		dir := filepath.Join(root, fmt.Sprintf("%04d", len(dirs)))
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, diskqueue.FileName), v.data, 0o600))
		byDir[dir] = v
		dirs = append(dirs, dir)
	}
	results := openInChildren(t, dirs, 50)
	example := func(list *[]string, format string, args ...any) {
		if len(*list) < 12 {
			*list = append(*list, fmt.Sprintf(format, args...))
		}
	}
	for _, dir := range dirs {
		v := byDir[dir]
		k := res.ByKind[v.kind]
		if k == nil {
			k = &sweepCounts{}
			res.ByKind[v.kind] = k
		}
		count := func(f func(c *sweepCounts)) {
			f(&res.sweepCounts)
			f(k)
		}
		count(func(c *sweepCounts) { c.Files++ })
		r, ok := results[dir]
		switch {
		case !ok:
			count(func(c *sweepCounts) { c.Crashed++ })
			example(&res.Examples, "%s: no result", v.name)
			continue
		case strings.HasPrefix(r.OpenErr, "child:"):
			count(func(c *sweepCounts) { c.Crashed++ })
			example(&res.Examples, "%s: %s", v.name, r.OpenErr)
			continue
		case r.OpenErr != "":
			count(func(c *sweepCounts) { c.Errors++ })
			continue
		case r.Quarantined:
			count(func(c *sweepCounts) { c.Quarantined++ })
		}
		res.Bad += r.Bad
		res.Dups += r.Dups
		if !r.WorksAfter {
			count(func(c *sweepCounts) { c.NotWorking++ })
			example(&res.Examples, "%s: opened, then %s", v.name, r.WorkErr)
		}
		if r.Quarantined {
			continue
		}
		missing, back := 0, 0
		for n := range f.kept {
			if !r.has(n) {
				missing++
			}
		}
		// The newest records missing, as when the file is read as of an
		// earlier commit: how many of the last commit's are gone from its
		// end.
		tail := 0
		for n := f.lastTo - 1; n >= f.lastFrom && !r.has(n); n-- {
			tail++
		}
		for n := range f.deleted {
			if r.has(n) {
				back++
			}
		}
		res.Resurrected += back
		switch {
		case missing == 0:
			count(func(c *sweepCounts) { c.Intact++ })
		case int64(missing) <= r.Corrupt:
			count(func(c *sweepCounts) { c.Counted++ })
		case tail > 0 && int64(missing-tail) <= r.Corrupt:
			// A damaged meta page: bbolt opens the file as of the
			// commit before, as it does after a torn write of the meta
			// page. Records of the last commit are missing, and any
			// other loss was counted.
			count(func(c *sweepCounts) {
				c.RolledBack++
				c.RolledBackRec += missing
				if len(r.Reports) > 0 {
					c.Reported++
				}
			})
			example(&res.RolledBackX, "%s: opened as of the previous commit, the %d newest records missing; reported: %q", v.name, missing, r.Reports)
		default:
			count(func(c *sweepCounts) {
				c.Silent++
				c.SilentRecords += missing - int(r.Corrupt)
			})
			example(&res.Examples, "%s: opened with %d of %d records, %d counted as damaged", v.name, r.Records, len(f.kept), r.Corrupt)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res
}

// TestTruncationSweep cuts a queue file at every page boundary, in the
// middle of every page, and at random offsets: Open returns an error or a
// queue, never faults; a queue it returns holds only intact records,
// each once, and can commit.
func TestTruncationSweep(t *testing.T) {
	parallel(t)
	records := param(t, "SWEEP_RECORDS", defaultSweepRecords)
	random := param(t, "TRUNCATIONS", defaultTruncations)
	rng, seed := newRand(t, 5)
	f := makeSweepFile(t, records)
	const page = 4096
	var variants []variant
	cut := func(kind string, off int) {
		variants = append(variants, variant{fmt.Sprintf("cut at %d", off), kind, f.data[:off]})
	}
	// Not at 0: an empty file is a queue not yet created, and opens as a
	// fresh one.
	if random >= 50 {
		for off := page / 2; off < len(f.data); off += page / 2 {
			cut("every half page", off)
		}
	}
	for range random {
		cut("random offset", 1+rng.IntN(len(f.data)-1))
	}
	res := sweep(t, "truncation", f, variants, seed)
	emit(t, res)
	assert.Zero(t, res.Crashed, "a cut file faulted or hung the process: %q", res.Examples)
	assert.Zero(t, res.Bad, "damaged records returned")
	assert.Zero(t, res.Dups, "records returned twice")
	assert.Zero(t, res.NotWorking, "queues that opened but could not commit: %q", res.Examples)
	assert.Zero(t, res.Silent, "cut files opened with records missing and uncounted: %q", res.Examples)
}

// TestDamageSweep changes bytes of a queue file: a few random bytes, a
// page header, the meta pages, a whole page zeroed. Open returns an error
// or a queue, never faults; a queue it returns holds only intact records,
// each once, and can commit; records it cannot read are counted.
func TestDamageSweep(t *testing.T) {
	parallel(t)
	records := param(t, "SWEEP_RECORDS", defaultSweepRecords)
	n := param(t, "DAMAGED_FILES", defaultDamagedFiles)
	rng, seed := newRand(t, 6)
	f := makeSweepFile(t, records)
	const page = 4096
	pages := len(f.data) / page
	var variants []variant
	for i := range n {
		d := slices.Clone(f.data)
		var name, kind string
		switch i % 5 {
		case 0: // random bytes anywhere
			var at []int
			for range 1 + rng.IntN(8) {
				o := rng.IntN(len(d))
				d[o] ^= byte(1 + rng.IntN(255))
				at = append(at, o)
			}
			name, kind = fmt.Sprintf("bytes %v changed", at), "random bytes"
		case 1: // a page header
			o := rng.IntN(pages)*page + rng.IntN(16)
			d[o] ^= byte(1 + rng.IntN(255))
			name, kind = fmt.Sprintf("page header byte %d changed", o), "a page header"
		case 2: // a meta page
			o := rng.IntN(2)*page + rng.IntN(64)
			d[o] ^= byte(1 + rng.IntN(255))
			name, kind = fmt.Sprintf("meta byte %d changed", o), "a meta page"
		case 3: // a page's contents
			p := 2 + rng.IntN(pages-2)
			var at []int
			for range 1 + rng.IntN(4) {
				o := p*page + 16 + rng.IntN(page-16)
				d[o] ^= byte(1 + rng.IntN(255))
				at = append(at, o)
			}
			name, kind = fmt.Sprintf("page %d bytes %v changed", p, at), "bytes inside a page"
		case 4: // a page lost: zeroed
			p := 2 + rng.IntN(pages-2)
			clear(d[p*page : (p+1)*page])
			name, kind = fmt.Sprintf("page %d zeroed", p), "a page zeroed"
		}
		variants = append(variants, variant{name, kind, d})
	}
	// Deterministic, besides the random ones: the key size of one
	// record in each of up to 4 leaf pages set to 9.
	for _, at := range recordKeySizes(f.data, page, 4) {
		d := slices.Clone(f.data)
		ne.PutUint32(d[at:], 9)
		variants = append(variants, variant{fmt.Sprintf("key size at %d changed from 8 to 9", at), "a record's key size", d})
	}
	res := sweep(t, "damage", f, variants, seed)
	emit(t, res)
	assert.Zero(t, res.Crashed, "a damaged file faulted or hung the process: %q", res.Examples)
	assert.Zero(t, res.Bad, "damaged records returned")
	assert.Zero(t, res.Dups, "records returned twice")
	assert.Zero(t, res.NotWorking, "queues that opened but could not commit: %q", res.Examples)
	assert.Zero(t, res.Silent, "damaged files opened with records missing and uncounted: %q", res.Examples)
	assert.Equal(t, res.RolledBack, res.Reported, "files opened as of an earlier commit say so: %q", res.RolledBackX)
}

var ne = binary.NativeEndian

// recordKeySizes returns the offsets of the key size field of the first
// record element in up to n leaf pages of a bbolt file (pages of 4096
// bytes: a 16-byte header {id u64, flags u16, count u16, overflow u32},
// then leaf elements {flags u32, pos u32, ksize u32, vsize u32}), taking
// leaves whose first key is 8 bytes long: the records' ids.
func recordKeySizes(data []byte, page, n int) []int {
	const leafPageFlag, headerSize = 0x02, 16
	var out []int
	for p := 2; (p+1)*page <= len(data) && len(out) < n; p++ {
		pg := data[p*page:]
		flags, count := ne.Uint16(pg[8:]), ne.Uint16(pg[10:])
		if flags != leafPageFlag || count < 2 {
			continue
		}
		elem := pg[headerSize:]
		if ne.Uint32(elem[0:]) == 0 && ne.Uint32(elem[8:]) == 8 {
			out = append(out, p*page+headerSize+8)
		}
	}
	return out
}
