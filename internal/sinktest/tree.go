package sinktest

import (
	"encoding/binary"
	"log/slog"
	"math"
	"strconv"
	"strings"
)

// Tree builds an attribute value from a fuzzer's bytes: a little stack
// program whose instructions push strings (invalid UTF-8, control
// characters and long ones included), numbers (NaN and the infinities
// included), booleans and nils, and combine what is on the stack into
// groups (repeated and empty keys included), lists, maps, structs, named
// types, LogValuers and values that contain themselves or panic. Every
// byte string is a valid program; the result is a group of whatever is
// left on the stack.
func Tree(program []byte) slog.Value {
	b := &builder{p: program}
	for len(b.p) > 0 && b.steps < 10_000 {
		b.steps++
		b.step()
	}
	return slog.GroupValue(b.attrs(len(b.stack))...)
}

type builder struct {
	p     []byte
	stack []any
	steps int
}

// Named types and oddities a caller might log.
type (
	treeCode   int
	treeName   string
	treeStruct struct {
		Name   string `json:"name"`
		Secret string
		Inner  any `json:"inner,omitempty"`
		hidden int
	}
	treeSelf struct {
		Items []any
	}
	treeValuer   struct{ v any }
	treePanicker struct{}
	treeLooper   struct{}
)

func (v treeValuer) LogValue() slog.Value { return slog.AnyValue(v.v) }
func (treePanicker) String() string       { panic("String exploded") }
func (treeLooper) LogValue() slog.Value {
	return slog.GroupValue(slog.String("k", "v"), slog.Any("again", treeLooper{}))
}

func (b *builder) byte() byte {
	if len(b.p) == 0 {
		return 0
	}
	c := b.p[0]
	b.p = b.p[1:]
	return c
}

func (b *builder) bytes(n int) []byte {
	n = min(n, len(b.p))
	out := b.p[:n]
	b.p = b.p[n:]
	return out
}

func (b *builder) push(x any) { b.stack = append(b.stack, x) }

// pop removes up to n values from the top of the stack, oldest first.
func (b *builder) pop(n int) []any {
	n = min(n, len(b.stack))
	out := append([]any(nil), b.stack[len(b.stack)-n:]...)
	b.stack = b.stack[:len(b.stack)-n]
	return out
}

// attrs pops n values as attributes; keys come from the program, so they
// repeat and may be empty.
func (b *builder) attrs(n int) []slog.Attr {
	vals := b.pop(n)
	out := make([]slog.Attr, len(vals))
	for i, v := range vals {
		out[i] = slog.Any(b.key(), v)
	}
	return out
}

func (b *builder) key() string {
	switch k := b.byte(); {
	case k < 8:
		return ""
	case k < 16:
		return "dup"
	case k < 24:
		return "k\xff" + strconv.Itoa(int(k))
	default:
		return "k" + strconv.Itoa(int(k%64))
	}
}

func (b *builder) step() {
	switch op := b.byte() % 20; op {
	case 0:
		b.push(string(b.bytes(int(b.byte() % 40))))
	case 1:
		b.push(int64(binary.LittleEndian.Uint64(append(b.bytes(8), make([]byte, 8)...))))
	case 2:
		b.push(math.Float64frombits(binary.LittleEndian.Uint64(append(b.bytes(8), make([]byte, 8)...))))
	case 3:
		b.push(b.byte()&1 == 1)
	case 4:
		b.push(nil)
	case 5:
		b.push(slog.GroupValue(b.attrs(int(b.byte() % 5))...))
	case 6:
		b.push(b.pop(int(b.byte() % 5)))
	case 7:
		m := map[string]any{}
		for _, a := range b.attrs(int(b.byte() % 5)) {
			m[a.Key] = a.Value.Any()
		}
		b.push(m)
	case 8:
		s := treeStruct{Name: "n", Secret: "s", hidden: 1}
		if v := b.pop(1); len(v) == 1 {
			s.Inner = v[0]
		}
		b.push(s)
	case 9:
		b.push(treeCode(int(b.byte())))
		b.push(treeName("named"))
	case 10:
		l := []any{"self", nil}
		l[1] = l
		b.push(l)
	case 11:
		m := map[string]any{"k": 1}
		m["self"] = m
		b.push(m)
	case 12:
		s := treeSelf{Items: []any{nil}}
		s.Items[0] = s
		b.push(s)
	case 13:
		b.push(treePanicker{})
	case 14:
		v := b.pop(1)
		if len(v) == 1 {
			b.push(treeValuer{v[0]})
		}
	case 15:
		b.push(treeLooper{})
	case 16:
		m := map[any]any{}
		for i, v := range b.pop(int(b.byte() % 4)) {
			m[i] = v
			m[strconv.Itoa(i)] = v
		}
		b.push(m)
	case 17:
		b.push(strings.Repeat("é\x00\"\\", int(b.byte())*64))
	case 18:
		b.push(make(chan int))
	case 19:
		// Wrap the top of the stack in many levels at once.
		v := b.pop(1)
		if len(v) == 1 {
			x := v[0]
			for range int(b.byte() % 64) {
				x = []any{x}
			}
			b.push(x)
		}
	}
}
