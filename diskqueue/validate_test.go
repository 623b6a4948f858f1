package diskqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// validateBytes runs Open's validation on a copy of a file's bytes, of a
// queue or (names nil) of any bbolt file.
func validateBytes(data []byte, names [][]byte) error {
	v := validator{r: bytes.NewReader(data), size: int64(len(data)), buckets: names}
	return v.check()
}

// validateNow validates the file at path as it is now, between commits,
// and returns its bytes.
func validateNow(t *testing.T, path string, names [][]byte, step string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateBytes(data, names); err != nil {
		t.Fatalf("after %s: a healthy file fails validation: %v", step, err)
	}
	return data
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		ne.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

// A fileShape says which kinds of pages a file holds.
type fileShape struct{ branches, bigLeaves, inlineBuckets bool }

// shapeOf notes the kinds of pages in data that the validation must
// accept: branch pages, leaves with overflow pages, and buckets stored
// inline in the root page.
func shapeOf(t *testing.T, data []byte, s *fileShape) {
	t.Helper()
	a := parseMeta(data)
	if b := parseMeta(data[a.pageSize:]); !a.valid || b.valid && b.txid > a.txid {
		a = b
	}
	ps := int(a.pageSize)
	for id := 2; id < int(a.hwm); id++ {
		p := data[id*ps:]
		if ne.Uint64(p) != uint64(id) {
			continue
		}
		switch ne.Uint16(p[8:]) {
		case branchPageFlag:
			s.branches = true
		case leafPageFlag:
			s.bigLeaves = s.bigLeaves || ne.Uint32(p[12:]) > 0
		}
	}
	root := data[int(a.root)*ps:]
	if ne.Uint16(root[8:]) != leafPageFlag {
		return
	}
	for i := range int(ne.Uint16(root[10:])) {
		e := root[pageHeaderSize+i*elemSize:]
		at := pageHeaderSize + i*elemSize + int(ne.Uint32(e[4:])) + int(ne.Uint32(e[8:]))
		if ne.Uint32(e)&bucketLeafFlag != 0 && ne.Uint64(root[at:]) == 0 && ne.Uint16(root[at+16+10:]) > 0 {
			s.inlineBuckets = true
		}
	}
}

// TestHealthyQueueFilesPassValidation runs a queue through every kind of
// write it makes — appends and group commits of records from a few bytes
// to several pages, confirmations, discards, the cap, Clear, the drop
// ledger, reopening — and validates the file after each step: a healthy
// file must never look damaged, or Open would move a good queue aside.
// Above all it holds bbolt to what the validation expects of it: zero
// bytes outside a page's elements, a branch's keys equal to its pages'
// first keys.
func TestHealthyQueueFilesPassValidation(t *testing.T) {
	var seen fileShape
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := runHealthyQueue(t, seed, 200)
			seen.branches = seen.branches || s.branches
			seen.bigLeaves = seen.bigLeaves || s.bigLeaves
			seen.inlineBuckets = seen.inlineBuckets || s.inlineBuckets
		})
	}
	if seen != (fileShape{true, true, true}) {
		t.Errorf("the workloads did not make every kind of page: %+v", seen)
	}
}

func runHealthyQueue(t *testing.T, seed uint64, steps int) fileShape {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	rng := rand.New(rand.NewPCG(seed, 7))
	var damaged []error
	opts := &Options{MaxBytes: 400 << 10, NoSync: true, OnError: func(err error) {
		if strings.Contains(err.Error(), "damaged") {
			damaged = append(damaged, err)
		}
	}}
	open := func() *Queue {
		q, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if q.Stats().Quarantined != "" || len(damaged) > 0 {
			t.Fatalf("a healthy file was reported damaged: %v", damaged)
		}
		return q
	}
	q := open()
	defer func() { _ = q.Close(context.Background()) }()
	ctx := context.Background()
	record := func() []byte {
		var n int
		switch rng.IntN(10) {
		case 0, 1, 2:
			n = 1 + rng.IntN(16) // small enough to stay in an inline bucket
		case 3, 4, 5:
			n = 20 + rng.IntN(200)
		case 6, 7:
			n = 500 + rng.IntN(3000)
		default:
			n = 5000 + rng.IntN(60000) // spills to overflow pages
		}
		return randomBytes(rng, n)
	}
	var shape fileShape
	for step := range steps {
		var what string
		switch op := rng.IntN(20); {
		case op < 7:
			n := 1 + rng.IntN(40)
			what = fmt.Sprintf("step %d: %d appends", step, n)
			for range n {
				if err := q.AppendWait(ctx, Class(rng.IntN(2)), record()); err != nil {
					t.Fatal(err)
				}
			}
		case op < 9:
			what = fmt.Sprintf("step %d: AppendSync", step)
			if err := q.AppendSync(ctx, Class(rng.IntN(2)), record()); err != nil {
				t.Fatal(err)
			}
		case op < 13:
			items, err := q.Peek(1+rng.IntN(60), 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint64
			for _, it := range items {
				if rng.IntN(4) > 0 {
					ids = append(ids, it.ID)
				}
			}
			what = fmt.Sprintf("step %d: %d of %d confirmed", step, len(ids), len(items))
			if rng.IntN(3) == 0 {
				err = q.Discard("test", ids...)
			} else {
				err = q.Delete(ids...)
			}
			if err != nil {
				t.Fatal(err)
			}
		case op < 14:
			what = fmt.Sprintf("step %d: Clear", step)
			if err := q.Clear(); err != nil {
				t.Fatal(err)
			}
		case op < 16:
			what = fmt.Sprintf("step %d: drops counted and reported", step)
			q.CountDrop(DropBufferFull, Class(rng.IntN(2)), 1+rng.IntN(5))
			if err := q.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(2) == 0 {
				q.MarkReported(q.Unreported())
			}
		default:
			what = fmt.Sprintf("step %d: reopened", step)
			if err := q.Close(ctx); err != nil {
				t.Fatal(err)
			}
			q = open()
		}
		if err := q.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		shapeOf(t, validateNow(t, path, append(buckets[:], metaBucket), what), &shape)
	}
	if q.Stats().DroppedTotal[DropCap] == 0 {
		t.Error("the workload never reached the cap")
	}
	return shape
}

// TestHealthyBoltFilesPassValidation does the same with bbolt directly,
// at other page sizes (a machine's page size is bbolt's default) and with
// what the queue does not do: nested and inline buckets, keys of any
// length, deleted buckets, transactions rolled back.
func TestHealthyBoltFilesPassValidation(t *testing.T) {
	for _, ps := range []int{1024, 4096, 16384} {
		t.Run(fmt.Sprint(ps), func(t *testing.T) {
			s := runHealthyBolt(t, ps, uint64(ps), 160)
			if !s.branches || !s.bigLeaves {
				t.Errorf("the workload did not make every kind of page: %+v", s)
			}
		})
	}
}

func runHealthyBolt(t *testing.T, ps int, seed uint64, steps int) fileShape {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: ps, NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(seed, 8))
	bytesOf := func(n int) []byte { return randomBytes(rng, n) }
	names := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	errRollback := errors.New("rolled back")
	var shape fileShape
	for step := range steps {
		err := db.Update(func(tx *bolt.Tx) error {
			for range 1 + rng.IntN(30) {
				top, err := tx.CreateBucketIfNotExists(names[rng.IntN(len(names))])
				if err != nil {
					return err
				}
				b := top
				if rng.IntN(3) == 0 {
					if b, err = top.CreateBucketIfNotExists(names[rng.IntN(len(names))]); err != nil {
						return err
					}
				}
				op := rng.IntN(10)
				if step/40%2 == 1 && op > 3 {
					// Every other stretch of transactions shrinks the
					// buckets: pages merge, branches collapse.
					op = 1
				}
				switch op {
				case 0:
					if err := top.DeleteBucket(names[rng.IntN(len(names))]); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
						return err
					}
				case 1, 2, 3:
					c := b.Cursor()
					for k, v := c.First(); k != nil && rng.IntN(40) > 0; k, v = c.Next() {
						if v != nil && rng.IntN(3) > 0 {
							if err := c.Delete(); err != nil {
								return err
							}
						}
					}
				default:
					n := rng.IntN(ps / 8)
					if rng.IntN(6) == 0 {
						n = rng.IntN(4 * ps)
					}
					// Keys start with k, never a bucket's name.
					if err := b.Put(append([]byte("k"), bytesOf(rng.IntN(40))...), bytesOf(n)); err != nil {
						return err
					}
				}
			}
			if rng.IntN(8) == 0 {
				return errRollback
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		shapeOf(t, validateNow(t, path, nil, fmt.Sprintf("transaction %d", step)), &shape)
	}
	st := db.Stats().TxStats
	t.Logf("%d rebalances, %d splits", st.GetRebalance(), st.GetSplit())
	return shape
}
