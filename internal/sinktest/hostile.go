package sinktest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A HostileCase is a set of attributes made to break a logging pipeline,
// and what a reader of the wire must find in their place.
type HostileCase struct {
	Name string
	// Attrs returns the attributes, made afresh each call (some hold
	// themselves).
	Attrs func() []slog.Attr
	// Check checks the attributes object of the entry as decoded from the
	// wire, numbers as json.Number; sanitized says whether a sanitizer ran.
	Check func(t testing.TB, attrs map[string]any, sanitized bool)
}

// Types a caller might log.
type (
	hostileCode int
	hostileName string
	hostileUser struct {
		Name     string `json:"name"`
		Password string
		Age      int `json:"age,omitempty"`
	}
	hostileNode struct {
		Name string
		Next *hostileNode
	}
	hostileHolder struct{ Items []any }
	panicString   struct{}
	panicError    struct{}
	panicValuer   struct{}
	panicJSON     struct{}
	selfValuer    struct{}
	groupValuer   struct{}
)

func (panicString) String() string             { panic("String exploded") }
func (panicError) Error() string               { panic("Error exploded") }
func (panicValuer) LogValue() slog.Value       { panic("LogValue exploded") }
func (panicJSON) MarshalJSON() ([]byte, error) { panic("MarshalJSON exploded") }
func (s selfValuer) LogValue() slog.Value      { return slog.AnyValue(s) }
func (g groupValuer) LogValue() slog.Value     { return slog.GroupValue(slog.Any("again", g)) }
func num(s string) json.Number                 { return json.Number(s) }
func text(x any) string                        { return fmt.Sprint(x) }
func deepGroup(n int) slog.Value               { return nest(n, slog.IntValue(1)) }
func nest(n int, v slog.Value) slog.Value {
	for range n {
		v = slog.GroupValue(slog.Attr{Key: "g", Value: v})
	}
	return v
}

// HostileCases returns the cases: NaN and the infinities, extreme and
// huge numbers, invalid UTF-8, control characters, a 1 MB string, a
// 100 KB key, 5,000 attributes, nesting 100 deep, values holding
// themselves, panicking String, Error, LogValue and MarshalJSON, endless
// LogValuers, channels and functions, maps with keys that are not
// strings, named types, repeated and empty keys, nils, and the shapes of
// maps, slices and structs.
func HostileCases() []HostileCase {
	return []HostileCase{
		{
			Name: "NaN and infinities",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(1)),
					slog.Float64("ninf", math.Inf(-1)), slog.Any("list", []float64{math.NaN(), 1.5}), slog.Any("f32", float32(math.Inf(-1)))}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, "NaN", a["nan"])
				assert.Equal(t, "+Inf", a["inf"])
				assert.Equal(t, "-Inf", a["ninf"])
				assert.Equal(t, []any{"NaN", num("1.5")}, a["list"])
				assert.Equal(t, "-Inf", a["f32"])
			},
		},
		{
			Name: "extreme numbers",
			Attrs: func() []slog.Attr {
				huge, _ := new(big.Int).SetString(strings.Repeat("7", 5000), 10)
				return []slog.Attr{slog.Int64("min", math.MinInt64), slog.Uint64("max", math.MaxUint64),
					slog.Any("huge", huge), slog.Any("overflow", json.Number("1e400")), slog.Any("tiny", 5e-324)}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, num("-9223372036854775808"), a["min"])
				assert.Equal(t, num("18446744073709551615"), a["max"])
				assert.IsType(t, "", a["huge"], "an integer too long for the backend is a string")
				assert.Equal(t, "1e400", a["overflow"])
				assert.Equal(t, num("5e-324"), a["tiny"])
			},
		},
		{
			Name: "invalid UTF-8",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.String("v", "caf\xe9 \xff"), slog.String("k\xfe", "key"), slog.Any("l", []string{"\xc3"})}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, "caf\uFFFD \uFFFD", a["v"])
				assert.Equal(t, "key", a["k\uFFFD"])
				assert.Equal(t, []any{"\uFFFD"}, a["l"])
			},
		},
		{
			Name:  "control characters",
			Attrs: func() []slog.Attr { return []slog.Attr{slog.String("c", "a\x00b\x1f\n\t\"\\\u2028")} },
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, "a\x00b\x1f\n\t\"\\\u2028", a["c"])
			},
		},
		{
			Name: "1 MB string",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.String("blob", strings.Repeat("x", 1<<20)), slog.Int("n", 1)}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.True(t, strings.HasPrefix(text(a["blob"]), "xxxx"))
				assert.Less(t, len(text(a["blob"])), 64<<10)
				assert.Equal(t, num("1"), a["n"])
				assert.Contains(t, text(a["fieldlog.truncated"]), "attributes.blob")
			},
		},
		{
			Name: "100 KB key",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.String(strings.Repeat("k", 100<<10), "v"), slog.Int("n", 1)}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, num("1"), a["n"])
				assert.Contains(t, text(a["fieldlog.truncated"]), "removed")
			},
		},
		{
			Name: "5,000 attributes",
			Attrs: func() []slog.Attr {
				attrs := make([]slog.Attr, 5000)
				for i := range attrs {
					attrs[i] = slog.Int(fmt.Sprintf("attr_%04d", i), i)
				}
				return attrs
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Greater(t, len(a), 1000)
				assert.Equal(t, num("0"), a["attr_0000"])
			},
		},
		{
			Name: "nesting 100 deep",
			Attrs: func() []slog.Attr {
				m, l := any(1), any(1)
				for range 100 {
					m, l = map[string]any{"m": m}, []any{l}
				}
				return []slog.Attr{{Key: "groups", Value: deepGroup(100)}, slog.Any("maps", m), slog.Any("lists", l)}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				for _, k := range []string{"groups", "maps", "lists"} {
					assert.Equal(t, 32, Depth(a[k]), k)
					assert.Contains(t, text(a[k]), "!DEPTH", k)
				}
			},
		},
		{
			Name: "values holding themselves",
			Attrs: func() []slog.Attr {
				l := []any{"x", nil}
				l[1] = l
				m := map[string]any{"k": 1}
				m["self"] = m
				n := &hostileNode{Name: "a"}
				n.Next = n
				h := hostileHolder{Items: []any{nil}}
				h.Items[0] = h
				return []slog.Attr{slog.Any("slice", l), slog.Any("map", m), slog.Any("node", n), slog.Any("holder", h),
					slog.Any("valuer", groupValuer{})}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				for _, k := range []string{"slice", "map", "node", "holder"} {
					assert.Contains(t, text(a[k]), "!CYCLE", k)
				}
				assert.Contains(t, text(a["valuer"]), "!DEPTH")
			},
		},
		{
			Name: "panicking methods",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.Any("s", panicString{}), slog.Any("e", panicError{}), slog.Any("v", panicValuer{}),
					slog.Any("j", panicJSON{}), slog.Any("self", selfValuer{})}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Contains(t, text(a["s"]), "!PANIC")
				assert.Contains(t, text(a["s"]), "String exploded")
				assert.Contains(t, text(a["e"]), "Error exploded")
				assert.Contains(t, text(a["v"]), "LogValue exploded")
				assert.Contains(t, text(a["j"]), "MarshalJSON exploded")
				assert.Contains(t, text(a["self"]), "too many nested LogValuers")
			},
		},
		{
			Name: "channels and functions",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.Any("ch", make(chan int)), slog.Any("fn", func() {}), slog.Any("c", complex(1, 2))}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, "<chan int>", a["ch"])
				assert.Equal(t, "<func()>", a["fn"])
				assert.Equal(t, "(1+2i)", a["c"])
			},
		},
		{
			Name: "maps with keys that are not strings",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.Any("ints", map[int]string{2: "b", 10: "a"}), slog.Any("floats", map[float64]bool{0.5: true}),
					slog.Any("arrays", map[[2]int]int{{1, 2}: 3}), slog.Any("mixed", map[any]any{"a": 1, 2: "b", nil: true})}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, map[string]any{"2": "b", "10": "a"}, a["ints"])
				assert.Equal(t, map[string]any{"0.5": true}, a["floats"])
				assert.Equal(t, map[string]any{"<[2]int>": num("3")}, a["arrays"])
				assert.Equal(t, map[string]any{"a": num("1"), "2": "b", "null": true}, a["mixed"])
			},
		},
		{
			Name: "named types",
			Attrs: func() []slog.Attr {
				c := hostileCode(404)
				return []slog.Attr{slog.Any("code", hostileCode(500)), slog.Any("ptr", &c), slog.Any("name", hostileName("ada"))}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, num("500"), a["code"])
				assert.Equal(t, num("404"), a["ptr"])
				assert.Equal(t, "ada", a["name"])
			},
		},
		{
			Name: "repeated keys",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.Int("dup", 1), slog.Group("g", slog.Int("x", 1), slog.Int("x", 2)), slog.Int("dup", 2)}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, num("2"), a["dup"], "the last value wins")
				assert.Equal(t, map[string]any{"x": num("2")}, a["g"])
			},
		},
		{
			Name: "empty keys",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.Int("", 5), slog.Group("", slog.Int("inlined", 1)), {}, slog.Group("nothing")}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				assert.Equal(t, num("5"), a[""])
				assert.Equal(t, num("1"), a["inlined"])
				assert.NotContains(t, a, "nothing")
			},
		},
		{
			Name: "nils",
			Attrs: func() []slog.Attr {
				var err error
				return []slog.Attr{slog.Any("nil", nil), slog.Any("ptr", (*int)(nil)), slog.Any("err", err), slog.Any("map", map[string]int(nil))}
			},
			Check: func(t testing.TB, a map[string]any, _ bool) {
				for _, k := range []string{"nil", "ptr", "map"} {
					assert.Contains(t, a, k)
					assert.Nil(t, a[k], k)
				}
			},
		},
		{
			Name: "shapes",
			Attrs: func() []slog.Attr {
				return []slog.Attr{slog.Any("tags", map[string]string{"b": "2", "a": "1"}), slog.Any("ids", []int{1, 2, 3}),
					slog.Any("rows", []map[string]any{{"k": "v"}}), slog.Any("user", hostileUser{Name: "bob", Password: "hunter2"}),
					slog.Any("empty", struct{}{})}
			},
			Check: func(t testing.TB, a map[string]any, sanitized bool) {
				assert.Equal(t, map[string]any{"a": "1", "b": "2"}, a["tags"])
				assert.Equal(t, []any{num("1"), num("2"), num("3")}, a["ids"])
				assert.Equal(t, []any{map[string]any{"k": "v"}}, a["rows"])
				assert.Equal(t, map[string]any{}, a["empty"])
				user, _ := a["user"].(map[string]any)
				assert.Equal(t, "bob", user["name"], "a struct is an object of its fields")
				if sanitized {
					assert.NotContains(t, text(user), "hunter2", "the key rules see the Password field")
				} else {
					assert.Equal(t, "hunter2", user["Password"])
				}
			},
		},
	}
}
