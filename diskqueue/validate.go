package diskqueue

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"time"
)

// The parts of bbolt's file format (version 2) that validation reads.
// Pages start with a 16-byte header {id u64, flags u16, count u16,
// overflow u32}; the two meta pages hold {magic u32, version u32, pageSize
// u32, flags u32, root {pgid u64, sequence u64}, freelist u64, pgid u64,
// txid u64, checksum u64}, the checksum being FNV-1a 64 over the bytes
// before it. Numbers are in the machine's byte order.
const (
	pageHeaderSize   = 16
	elemSize         = 16 // branch {pos u32, ksize u32, pgid u64}; leaf {flags u32, pos u32, ksize u32, vsize u32}
	metaSize         = 64
	metaChecksumAt   = 56
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	metaPageFlag     = 0x04
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	maxPageSize      = 1 << 24
)

var ne = binary.NativeEndian

type metaPage struct {
	valid                     bool
	pageSize                  uint32
	root, freelist, hwm, txid uint64
}

func parseMeta(page []byte) metaPage {
	if len(page) < pageHeaderSize+metaSize {
		return metaPage{}
	}
	m := page[pageHeaderSize : pageHeaderSize+metaSize]
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	return metaPage{
		valid:    ne.Uint32(m[0:]) == boltMagic && ne.Uint32(m[4:]) == boltVersion && ne.Uint64(m[metaChecksumAt:]) == h.Sum64(),
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}
}

// checkFile validates the queue file at path, if there is one, before
// bbolt maps it: a file that fails is reported as a corruptError, so that
// no damaged or truncated file can make bbolt read past the end of its
// mapping or panic on a goroutine of its own. It holds the file's lock
// while it reads (shared when readOnly), waiting up to timeout.
//
// metaDamaged reports that one of the two meta pages is invalid, so that
// the file opens as of the other one, its previous commit.
func checkFile(path string, timeout time.Duration, readOnly bool) (metaDamaged bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := lockFile(f, !readOnly, timeout); err != nil {
		return false, err
	}
	defer unlockFile(f)
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	if info.Size() == 0 {
		return false, nil // bbolt initialises an empty file
	}
	v := validator{r: f, size: info.Size(), buckets: append(buckets[:], metaBucket)}
	err = v.check()
	return v.metaDamaged, err
}

type validator struct {
	r       io.ReaderAt
	size    int64
	buckets [][]byte // when set, the only keys allowed at the top: buckets
	ps      int64
	hwm     uint64
	seen    map[uint64]bool
	freed   map[uint64]bool

	metaDamaged bool // one meta page is invalid: the other one is used
}

// read returns n bytes at off; a short read of a file we sized first is
// an I/O error, not corruption.
func (v *validator) read(off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	got, err := v.r.ReadAt(buf, off)
	if got == len(buf) {
		return buf, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

func (v *validator) check() error {
	head, _ := v.read(0, min(v.size, 4096))
	if head == nil {
		return corrupt("%d bytes: shorter than a meta page", v.size)
	}
	m0 := parseMeta(head)
	switch {
	case m0.valid:
		v.ps = int64(m0.pageSize)
	default:
		// As bbolt does: look for the second meta page at each possible
		// page size.
		for i := range 15 {
			pos := int64(1024) << i
			if pos >= v.size-1024 {
				break
			}
			if buf, _ := v.read(pos, min(4096, v.size-pos)); buf != nil {
				if m := parseMeta(buf); m.valid {
					v.ps = int64(m.pageSize)
					break
				}
			}
		}
	}
	if v.ps < 1024 || v.ps > maxPageSize || v.ps&(v.ps-1) != 0 {
		return corrupt("no valid meta page")
	}
	if v.size < 2*v.ps {
		return corrupt("%d bytes: shorter than its two meta pages of %d", v.size, v.ps)
	}
	p0, err := v.read(0, pageHeaderSize+metaSize)
	if err != nil {
		return err
	}
	p1, err := v.read(v.ps, pageHeaderSize+metaSize)
	if err != nil {
		return err
	}
	// bbolt uses the meta page with the higher transaction id when it is
	// valid, the other one otherwise.
	a, b := parseMeta(p0), parseMeta(p1)
	if b.txid > a.txid {
		a, b = b, a
	}
	m := a
	if !m.valid {
		m = b
	}
	if !m.valid {
		return corrupt("both meta pages are invalid")
	}
	v.metaDamaged = !a.valid || !b.valid
	if int64(m.pageSize) != v.ps {
		return corrupt("meta page says page size %d, file uses %d", m.pageSize, v.ps)
	}
	if m.hwm < 3 || m.hwm > uint64(v.size/v.ps) {
		return corrupt("%d bytes: too short for the %d pages its meta page claims", v.size, m.hwm)
	}
	v.hwm = m.hwm
	v.seen = map[uint64]bool{0: true, 1: true}
	v.freed = map[uint64]bool{}
	if m.freelist != noFreelist {
		if err := v.checkFreelist(m.freelist); err != nil {
			return err
		}
	}
	if m.root < 2 || m.root >= m.hwm {
		return corrupt("root page %d out of bounds (%d pages)", m.root, m.hwm)
	}
	return v.checkTree(m.root, nil, nil, 0)
}

// page reads page id and its overflow pages, checking the header.
func (v *validator) page(id uint64, flags ...uint16) ([]byte, error) {
	if id < 2 || id >= v.hwm {
		return nil, corrupt("page %d out of bounds (%d pages)", id, v.hwm)
	}
	hdr, err := v.read(int64(id)*v.ps, pageHeaderSize)
	if err != nil {
		return nil, err
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if ne.Uint64(hdr) != id {
		return nil, corrupt("page %d has the id %d", id, ne.Uint64(hdr))
	}
	if id+overflow >= v.hwm {
		return nil, corrupt("page %d overflows past the last page", id)
	}
	f := ne.Uint16(hdr[8:])
	ok := false
	for _, want := range flags {
		ok = ok || f == want
	}
	if !ok {
		return nil, corrupt("page %d has the unexpected type %#x", id, f)
	}
	for i := id; i <= id+overflow; i++ {
		if v.seen[i] {
			return nil, corrupt("page %d is referenced twice", i)
		}
		if v.freed[i] {
			return nil, corrupt("page %d is in use and free", i)
		}
		v.seen[i] = true
	}
	return v.read(int64(id)*v.ps, int64(overflow+1)*v.ps)
}

func (v *validator) checkFreelist(id uint64) error {
	p, err := v.page(id, freelistPageFlag)
	if err != nil {
		return err
	}
	n, at := uint64(ne.Uint16(p[10:])), uint64(pageHeaderSize)
	if n == 0xFFFF {
		n, at = ne.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	if n > (uint64(len(p))-at)/8 {
		return corrupt("freelist page %d lists more ids than it holds", id)
	}
	for i := range n {
		fid := ne.Uint64(p[at+8*i:])
		if fid < 2 || fid >= v.hwm || v.freed[fid] || v.seen[fid] {
			return corrupt("freelist page %d lists page %d", id, fid)
		}
		v.freed[fid] = true
	}
	return nil
}

// maxTreeDepth bounds the recursion over a damaged tree.
const maxTreeDepth = 64

// checkTree walks the b+tree rooted at page id: every page in bounds, of
// the right type, referenced once, its elements inside the page, its keys
// in order, the first one equal to lo and all below hi, the bounds given
// by the parent (nil for a bucket's root).
func (v *validator) checkTree(id uint64, lo, hi []byte, depth int) error {
	if depth > maxTreeDepth {
		return corrupt("tree deeper than %d pages", maxTreeDepth)
	}
	p, err := v.page(id, branchPageFlag, leafPageFlag)
	if err != nil {
		return err
	}
	return v.checkNode(id, p, lo, hi, depth)
}

// checkNode checks one branch or leaf page p (which may be an inline
// bucket's page) and what hangs below it.
func (v *validator) checkNode(id uint64, p []byte, lo, hi []byte, depth int) error {
	flags, n := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	if pageHeaderSize+n*elemSize > len(p) {
		return corrupt("page %d: %d elements do not fit", id, n)
	}
	if flags == branchPageFlag && n == 0 {
		return corrupt("page %d: empty branch", id)
	}
	if err := checkSlack(id, p, n, flags == branchPageFlag); err != nil {
		return err
	}
	if lo != nil && n == 0 {
		return corrupt("page %d: empty below a branch", id)
	}
	prev := lo
	for i := range n {
		e := p[pageHeaderSize+i*elemSize:]
		var pos, ksize, vsize uint64
		if flags == branchPageFlag {
			pos, ksize = uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
		} else {
			pos, ksize, vsize = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		}
		start := uint64(pageHeaderSize+i*elemSize) + pos
		if start+ksize+vsize > uint64(len(p)) {
			return corrupt("page %d: element %d points outside the page", id, i)
		}
		key := p[start : start+ksize]
		if (i > 0 || prev != nil) && bytes.Compare(prev, key) > 0 || i > 0 && bytes.Equal(prev, key) {
			return corrupt("page %d: keys out of order", id)
		}
		if hi != nil && bytes.Compare(key, hi) >= 0 {
			return corrupt("page %d: key beyond its parent's range", id)
		}
		// bbolt keeps a branch's key for a page equal to the page's first
		// key, and relies on it: writing to a page whose first key differs
		// would leave the branch pointing to the page freed.
		if i == 0 && lo != nil && !bytes.Equal(lo, key) {
			return corrupt("page %d: first key differs from its parent's", id)
		}
		prev = key
		if depth == 0 && v.buckets != nil {
			// A bucket's name damaged would hide its records: bbolt finds
			// no bucket of that name, and Open makes an empty one.
			if flags != leafPageFlag || ne.Uint32(e[0:])&bucketLeafFlag == 0 || !slices.ContainsFunc(v.buckets, func(b []byte) bool { return bytes.Equal(b, key) }) {
				return corrupt("page %d: %q is not a bucket of the queue", id, key)
			}
		}
		if flags == branchPageFlag {
			next := hi
			if i+1 < n {
				ne2 := p[pageHeaderSize+(i+1)*elemSize:]
				s2 := uint64(pageHeaderSize+(i+1)*elemSize) + uint64(ne.Uint32(ne2[0:]))
				if k2 := uint64(ne.Uint32(ne2[4:])); s2+k2 <= uint64(len(p)) {
					next = p[s2 : s2+k2]
				}
			}
			if err := v.checkTree(ne.Uint64(e[8:]), key, next, depth+1); err != nil {
				return err
			}
			continue
		}
		if ne.Uint32(e[0:])&bucketLeafFlag == 0 {
			continue
		}
		val := p[start+ksize : start+ksize+vsize]
		if len(val) < 16 {
			return corrupt("page %d: bucket %q has a short header", id, key)
		}
		if root := ne.Uint64(val); root != 0 {
			if err := v.checkTree(root, nil, nil, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := val[16:]
		if len(inline) < pageHeaderSize || ne.Uint16(inline[8:]) != leafPageFlag {
			return corrupt("page %d: inline bucket %q is not a leaf", id, key)
		}
		if err := v.checkNode(id, inline, nil, nil, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkSlack checks that every byte of page p outside its header, its n
// element headers and the keys and values they point to is zero. bbolt
// writes each page from a zeroed buffer (a fresh one, or one from its pool,
// cleared after every write) holding exactly the header, the elements and
// their data, so a non-zero byte elsewhere is damage: above all, a count
// in the header lowered by damage, which would hide the elements past it
// (and the records or subtrees they hold) from bbolt. The elements'
// bounds were not checked yet: those pointing outside the page are left
// to the caller.
func checkSlack(id uint64, p []byte, n int, branch bool) error {
	type span struct{ from, to uint64 }
	used := make([]span, 0, n+1)
	used = append(used, span{0, uint64(pageHeaderSize + n*elemSize)})
	for i := range n {
		e := p[pageHeaderSize+i*elemSize:]
		var pos, size uint64
		if branch {
			pos, size = uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
		} else {
			pos, size = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:]))+uint64(ne.Uint32(e[12:]))
		}
		start := uint64(pageHeaderSize+i*elemSize) + pos
		if start+size > uint64(len(p)) {
			return nil // out of the page: the caller says so
		}
		used = append(used, span{start, start + size})
	}
	// bbolt lays the data out in element order: sorting is only needed
	// for a damaged page.
	if !slices.IsSortedFunc(used, func(a, b span) int { return cmp.Compare(a.from, b.from) }) {
		slices.SortFunc(used, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	}
	var at uint64
	for _, s := range append(used, span{uint64(len(p)), uint64(len(p))}) {
		if s.from > at {
			if i := slices.IndexFunc(p[at:s.from], func(b byte) bool { return b != 0 }); i >= 0 {
				return corrupt("page %d: byte %d, outside its %d elements, is not zero", id, at+uint64(i), n)
			}
		}
		at = max(at, s.to)
	}
	return nil
}
