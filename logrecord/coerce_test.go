package logrecord_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type code int

type name string

type ratio float64

type flag bool

type account struct {
	Name     string `json:"name"`
	Password string
	Age      int      `json:"age,omitempty"`
	Skip     string   `json:"-"`
	Tags     []string `json:"tags,omitempty"`
	internal string
}

type base struct {
	ID    int
	Owner string
}

type derived struct {
	base
	Owner string // shadows base.Owner
	Extra *base
}

type node struct {
	Name string
	Next *node
}

type holder struct{ Items []any }

type textKey struct{ a, b int }

func (k textKey) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%d-%d", k.a, k.b), nil }

type plainKey struct{ A int }

type panicStringer struct{}

func (panicStringer) String() string { panic("String exploded") }

type panicError struct{}

func (panicError) Error() string { panic(errors.New("Error exploded")) }

type panicMarshaler struct{}

func (panicMarshaler) MarshalJSON() ([]byte, error) { panic(42) }

type badMarshaler struct{}

func (badMarshaler) MarshalJSON() ([]byte, error) { return []byte("{nope"), nil }

type selfValuer struct{}

func (s selfValuer) LogValue() slog.Value { return slog.AnyValue(s) }

type groupValuer struct{}

func (g groupValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("k", "v"), slog.Any("self", g))
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

// data turns a coerced value into plain data for comparison.
func data(v slog.Value) any { return logrecord.Data(v) }

// depthOf counts the groups and lists nested in v, v included.
func depthOf(x any) int {
	d := 0
	switch t := x.(type) {
	case map[string]any:
		for _, e := range t {
			d = max(d, depthOf(e))
		}
		return d + 1
	case []any:
		for _, e := range t {
			d = max(d, depthOf(e))
		}
		return d + 1
	case []string:
		return 1
	}
	return 0
}

func TestCoerceShapes(t *testing.T) {
	c := code(7)
	var nilCode *code
	var nilMap map[string]int
	tests := []struct {
		name string
		give any
		want any
	}{
		{"named int", code(3), int64(3)},
		{"pointer to named int", &c, int64(7)},
		{"nil pointer", nilCode, nil},
		{"named string", name("ada"), "ada"},
		{"named float", ratio(0.5), 0.5},
		{"named bool", flag(true), true},
		{"string map", map[string]string{"b": "2", "a": "1"}, map[string]any{"a": "1", "b": "2"}},
		{"empty map", map[string]int{}, map[string]any{}},
		{"nil map", nilMap, nil},
		{"int slice", []int{1, 2, 3}, []any{int64(1), int64(2), int64(3)}},
		{"array", [2]uint8{1, 2}, []any{uint64(1), uint64(2)}},
		{"bytes", []byte("raw"), "raw"},
		{"slice of maps", []map[string]any{{"a": 1}, {"b": []int{2}}}, []any{map[string]any{"a": int64(1)}, map[string]any{"b": []any{int64(2)}}}},
		{"strings kept", []string{"x", "y"}, []string{"x", "y"}},
		{"struct", account{Name: "bob", Password: "hunter2", Skip: "no", internal: "no"}, map[string]any{"name": "bob", "Password": "hunter2"}},
		{"struct omitempty kept", account{Name: "a", Age: 3, Tags: []string{"t"}}, map[string]any{"name": "a", "Password": "", "age": int64(3), "tags": []string{"t"}}},
		{"embedded", derived{base: base{ID: 1, Owner: "inner"}, Owner: "outer"}, map[string]any{"ID": int64(1), "Owner": "outer", "Extra": nil}},
		{"empty struct", struct{}{}, map[string]any{}},
		{"int keys", map[int]string{2: "b", 10: "a"}, map[string]any{"10": "a", "2": "b"}},
		{"text keys", map[textKey]int{{1, 2}: 3}, map[string]any{"1-2": int64(3)}},
		{"float keys", map[float64]bool{1.5: true}, map[string]any{"1.5": true}},
		{"mixed keys", map[any]int{"a": 1, 2: 2, true: 3, nil: 4}, map[string]any{"a": int64(1), "2": int64(2), "true": int64(3), "null": int64(4)}},
		{"struct keys", map[plainKey]int{{1}: 1}, map[string]any{"<logrecord_test.plainKey>": int64(1)}},
		{"json marshaler", json.RawMessage(`{"a":[1,"x",{"b":null}]}`), map[string]any{"a": []any{json.Number("1"), "x", map[string]any{"b": nil}}}},
		{"bad json", badMarshaler{}, "!ERROR: logrecord_test.badMarshaler wrote invalid JSON"},
		{"text marshaler", net.IPv4(10, 0, 0, 1), "10.0.0.1"},
		{"stringer", stringer{"hi"}, "hi"},
		{"error", errors.New("boom"), "boom"},
		{"panicking String", panicStringer{}, "!PANIC: logrecord_test.panicStringer: String exploded"},
		{"panicking Error", panicError{}, "!PANIC: logrecord_test.panicError: Error exploded"},
		{"panicking MarshalJSON", panicMarshaler{}, "!PANIC: logrecord_test.panicMarshaler: a value of type int"},
		{"self-returning LogValuer", selfValuer{}, "!ERROR LogValue: too many nested LogValuers"},
		{"channel", make(chan int), "<chan int>"},
		{"func", func(int) error { return nil }, "<func(int) error>"},
		{"complex", complex(1, -2), "(1-2i)"},
		{"duration in list", []any{time.Second}, []any{"1s"}},
		{"time in list", []any{time.Date(2026, 2, 6, 12, 0, 0, 0, time.FixedZone("X", 3600))}, []any{"2026-02-06T11:00:00Z"}},
		{"bad json.Number", json.Number("12abc"), "12abc"},
		{"json.Number kept", json.Number("-1.5e10"), json.Number("-1.5e10")},
		{"NaN kept", math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			require.NotPanics(t, func() { got = data(logrecord.Coerce(slog.AnyValue(tt.give))) })
			if f, ok := got.(float64); ok && math.IsNaN(f) {
				got = "NaN"
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCoerceKeepsKinds(t *testing.T) {
	assert.Equal(t, slog.KindInt64, logrecord.Coerce(slog.AnyValue(code(1))).Kind())
	assert.Equal(t, slog.KindGroup, logrecord.Coerce(slog.AnyValue(account{Name: "x"})).Kind(), "a struct is a group, so key rules see its fields")
	assert.Equal(t, slog.KindTime, logrecord.Coerce(slog.AnyValue(time.Now())).Kind())
	g := logrecord.Coerce(slog.AnyValue(account{Name: "x", Password: "p"}))
	assert.Equal(t, "name", g.Group()[0].Key, "struct fields keep their order")
	assert.Equal(t, "Password", g.Group()[1].Key)
}

func TestCoerceCycles(t *testing.T) {
	list := []any{1, nil}
	list[1] = list
	m := map[string]any{"k": 1}
	m["self"] = m
	n := &node{Name: "a"}
	n.Next = n
	h := holder{Items: []any{nil}}
	h.Items[0] = h
	var ptr any
	ptr = &ptr
	wide := map[string]any{}
	for i := range 10 {
		wide[fmt.Sprint(i)] = wide
	}
	tests := []struct {
		name string
		give any
	}{
		{"slice holding itself", list},
		{"map holding itself", m},
		{"struct pointing at itself", n},
		{"struct holding a slice holding the struct", h},
		{"pointer to itself", &ptr},
		{"map holding itself ten times", wide},
		{"LogValuer returning a group holding itself", groupValuer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v slog.Value
			require.NotPanics(t, func() { v = logrecord.Coerce(slog.AnyValue(tt.give)) })
			d := data(v)
			assert.LessOrEqual(t, depthOf(d), logrecord.MaxDepth)
			text := fmt.Sprint(d)
			assert.True(t, strings.Contains(text, "!CYCLE") || strings.Contains(text, "!DEPTH"), text)
		})
	}
}

func TestCoerceDepth(t *testing.T) {
	deepGroup := slog.IntValue(1)
	deepMap := any(1)
	deepList := any(1)
	for range 100 {
		deepGroup = slog.GroupValue(slog.Attr{Key: "g", Value: deepGroup})
		deepMap = map[string]any{"m": deepMap}
		deepList = []any{deepList}
	}
	for name, v := range map[string]slog.Value{"groups": deepGroup, "maps": slog.AnyValue(deepMap), "lists": slog.AnyValue(deepList)} {
		t.Run(name, func(t *testing.T) {
			d := data(logrecord.Coerce(v))
			assert.Equal(t, logrecord.MaxDepth, depthOf(d), "cut at exactly MaxDepth containers")
			assert.Contains(t, fmt.Sprint(d), "!DEPTH")
		})
	}
	exact := slog.IntValue(1)
	for range logrecord.MaxDepth {
		exact = slog.GroupValue(slog.Attr{Key: "g", Value: exact})
	}
	assert.Equal(t, exact, logrecord.Coerce(exact), "a value at the limit is kept as it is")
}

func TestCoerceBoundsSharedValues(t *testing.T) {
	// Each level holds the one below twice: 2^30 leaves as a tree.
	v := any("leaf")
	for range 30 {
		v = []any{v, v}
	}
	start := time.Now()
	d := data(logrecord.Coerce(slog.AnyValue(v)))
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, fmt.Sprint(d), "!TRUNCATED")

	big := make([]int, 50_000)
	l := data(logrecord.Coerce(slog.AnyValue(big))).([]any)
	assert.Less(t, len(l), 10_010)
	assert.Equal(t, "!TRUNCATED", l[len(l)-1])
}

func TestCoerceAttrs(t *testing.T) {
	scalars := []slog.Attr{slog.String("a", "x"), slog.Int("b", 1)}
	assert.Same(t, &scalars[0], &logrecord.CoerceAttrs(scalars)[0], "nothing to change: the same slice")

	in := []slog.Attr{
		{},
		slog.Group("empty"),
		slog.Group("", slog.Int("inlined", 1)),
		slog.Any("m", map[string]int{"k": 2}),
		slog.String("", "kept: a value with an empty key"),
	}
	got := logrecord.CoerceAttrs(in)
	require.Len(t, got, 3)
	assert.Equal(t, "inlined", got[0].Key)
	assert.Equal(t, map[string]any{"k": int64(2)}, data(got[1].Value))
	assert.Equal(t, "", got[2].Key)
	assert.Equal(t, slog.KindAny, in[3].Value.Kind(), "the input is not changed")

	r := logrecord.New(time.Time{}, logrecord.LevelInfo, "L", "m", slog.Any("u", account{Name: "bob", Password: "pw"}))
	v, ok := r.Attr("u")
	require.True(t, ok)
	assert.Equal(t, slog.KindGroup, v.Kind(), "records hold coerced values")
	r = r.WithAttrs(slog.Any("n", code(4)))
	v, _ = r.Attr("n")
	assert.Equal(t, int64(4), v.Int64())
	r = r.ReplaceAttrs([]slog.Attr{slog.Any("l", []int{1})})
	v, _ = r.Attr("l")
	assert.Equal(t, []any{int64(1)}, v.Any())
}

func TestAttrReturnsLastOfRepeatedKey(t *testing.T) {
	r := logrecord.New(time.Time{}, logrecord.LevelInfo, "L", "m", slog.Int("k", 1), slog.Int("k", 2))
	v, _ := r.Attr("k")
	assert.Equal(t, int64(2), v.Int64())
}

func TestCoerceScalarAttrsAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	attrs := []slog.Attr{slog.String("url", "/api"), slog.Int("status", 200), slog.Group("g", slog.Int("n", 1)), slog.Any("l", []any{"x", int64(1)})}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = logrecord.CoerceAttrs(attrs) }))
}

func FuzzCoerce(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07"))
	f.Add([]byte("\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05"))
	f.Fuzz(func(t *testing.T, program []byte) {
		v := sinktest.Tree(program)
		var out slog.Value
		require.NotPanics(t, func() { out = logrecord.Coerce(v) })
		d := data(out)
		if depthOf(d) > logrecord.MaxDepth {
			t.Fatalf("coerced value nests %d deep", depthOf(d))
		}
		again := logrecord.Coerce(out)
		assert.Equal(t, fmt.Sprint(d), fmt.Sprint(data(again)), "coercing twice changes nothing")
	})
}
