package logrecord

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/soliplex/fieldlog/internal/jsonnum"
)

// MaxDepth is how deeply attribute values nest: a group or list sits at
// most MaxDepth levels below a record's attributes, a group attribute
// being level 1. A deeper one is replaced by the string "!DEPTH". It is
// the depth the ingest contract accepts.
const MaxDepth = 32

// Placeholders that stand for values a record cannot hold.
const (
	depthMark = "!DEPTH"     // a group or list deeper than MaxDepth
	cycleMark = "!CYCLE"     // a value that contains itself
	moreMark  = "!TRUNCATED" // what is left of a value past maxNodes
)

// maxNodes bounds the values one attribute value is coerced into. Past
// it, a list ends with "!TRUNCATED" and a group with a "!TRUNCATED"
// member counting the members left out. It bounds values whose parts are
// shared, whose tree can be exponentially larger than the value.
const maxNodes = 10_000

// maxHops bounds the steps of coercion that add no nesting: pointers,
// interfaces, LogValuers and marshalers.
const maxHops = 8 * MaxDepth

// Coerce returns v in the shape a Record holds attribute values in, the
// one tree that every sink, the sanitizer and the wire encoder see:
//
//   - LogValuers are resolved; one that panics becomes a "!PANIC" string.
//   - Strings, numbers, booleans, durations and times keep their kind,
//     and so do named types whose underlying type is one of them
//     (type Code int is a number).
//   - Objects become groups: maps with string keys (sorted; integer and
//     TextMarshaler keys are written as text, others as the text of their
//     value), structs (their exported fields in order, with json tags,
//     omitempty and embedding honoured, as encoding/json does) and
//     json.Marshaler output that is an object. An empty map or struct is
//     an empty map[string]any; an empty slog group is left out.
//   - Lists become []any holding nil, bool, string, int64, uint64,
//     float64, json.Number, map[string]any and []any; a []string is kept.
//     A []byte is a string.
//   - nil and nil pointers are nil.
//   - Anything else becomes a string: an error its text, a
//     json.Marshaler its JSON, a TextMarshaler its text, a fmt.Stringer
//     its String, a complex number its digits, a channel or function its
//     type ("<chan int>"). A method that panics gives a "!PANIC" string.
//
// Nothing is formatted with fmt, so no value can make Coerce recurse
// without bound: a value that contains itself is cut with "!CYCLE",
// nesting deeper than MaxDepth with "!DEPTH", and a value too large to
// walk with "!TRUNCATED". Floats keep NaN and the infinities, strings
// keep invalid UTF-8: encoders decide how to write them.
func Coerce(v slog.Value) slog.Value {
	if scalar(v.Kind()) {
		return v
	}
	var c coercer
	out, _ := c.top(v)
	return out
}

// CoerceAttrs returns attrs as a Record holds them: each value coerced,
// attributes with an empty key and no value left out, groups without
// members left out and the members of a group with an empty key put in
// its place. It returns attrs itself when nothing changes, a new slice
// otherwise.
func CoerceAttrs(attrs []slog.Attr) []slog.Attr {
	for i, a := range attrs {
		if a.Key == "" || !scalar(a.Value.Kind()) {
			out, _ := coerceFrom(attrs, i)
			return out
		}
	}
	return attrs
}

// scalar reports whether values of kind k are held as they are.
func scalar(k slog.Kind) bool {
	switch k {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64,
		slog.KindBool, slog.KindDuration, slog.KindTime:
		return true
	}
	return false
}

// coerceFrom coerces attrs from index i on, each top-level value with a
// budget of its own.
func coerceFrom(attrs []slog.Attr, i int) ([]slog.Attr, bool) {
	var out []slog.Attr
	for j := i; j < len(attrs); j++ {
		a := attrs[j]
		var c coercer
		v, ch := c.top(a.Value)
		out, _ = place(out, attrs, j, a.Key, v, ch)
	}
	if out == nil {
		return attrs, false
	}
	return out, true
}

// place puts the coerced attribute (key, v) at index i of the list being
// rebuilt from in: out is nil until the first change, after which it
// holds everything before i. It reports whether the attribute changed.
func place(out, in []slog.Attr, i int, key string, v slog.Value, changed bool) ([]slog.Attr, bool) {
	switch {
	case key == "" && v.Kind() == slog.KindGroup: // inlined
		out = upTo(out, in, i)
		return append(out, v.Group()...), true
	case key == "" && v.Kind() == slog.KindAny && v.Any() == nil: // empty
		return upTo(out, in, i), true
	case v.Kind() == slog.KindGroup && len(v.Group()) == 0: // empty group
		return upTo(out, in, i), true
	case changed:
		out = upTo(out, in, i)
		return append(out, slog.Attr{Key: key, Value: v}), true
	}
	if out != nil {
		out = append(out, in[i])
	}
	return out, false
}

// objectValue returns the members of a map or struct as a group, or an
// empty map[string]any when there are none: an empty object is kept,
// where an empty slog group is left out.
func objectValue(members []slog.Attr) slog.Value {
	if len(members) == 0 {
		return slog.AnyValue(map[string]any{})
	}
	return slog.GroupValue(members...)
}

// addMember appends the coerced member (key, v) to a group being built,
// by the rules place applies, so that coercing a group again changes
// nothing.
func addMember(out []slog.Attr, key string, v slog.Value) []slog.Attr {
	if out == nil {
		out = []slog.Attr{}
	}
	out, _ = place(out, nil, 0, key, v, true)
	return out
}

// upTo returns out, or, when out is nil, a copy of in[:i].
func upTo(out, in []slog.Attr, i int) []slog.Attr {
	if out == nil {
		out = make([]slog.Attr, i, len(in))
		copy(out, in[:i])
	}
	return out
}

// A coercer holds the state of coercing one attribute value: the budget
// spent and the containers on the path from the root, to find cycles.
type coercer struct {
	nodes int
	hops  int
	path  []visit
}

// A visit is a container on the path: its address and type, so that a
// struct and its first field, which share an address, are told apart.
type visit struct {
	p uintptr
	t reflect.Type
}

// top coerces a top-level value; a bug that panics in the walk gives a
// placeholder rather than a crash.
func (c *coercer) top(v slog.Value) (out slog.Value, changed bool) {
	defer func() {
		if p := recover(); p != nil {
			out, changed = slog.StringValue("!PANIC: "+panicText(p)), true
		}
	}()
	return c.value(v, 0)
}

func (c *coercer) enter() bool {
	c.hops++
	return c.hops <= maxHops
}

func (c *coercer) leave() { c.hops-- }

func (c *coercer) onPath(p visit) bool { return slices.Contains(c.path, p) }

func (c *coercer) push(p visit) { c.path = append(c.path, p) }

func (c *coercer) pop() { c.path = c.path[:len(c.path)-1] }

// value coerces v, which sits below depth groups and lists; it returns v
// itself, unchanged, when v already has the shape.
func (c *coercer) value(v slog.Value, depth int) (slog.Value, bool) {
	c.nodes++
	switch v.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64,
		slog.KindBool, slog.KindDuration, slog.KindTime:
		return v, false
	case slog.KindGroup:
		if depth >= MaxDepth {
			return slog.StringValue(depthMark), true
		}
		members, ch := c.attrs(v.Group(), depth+1)
		if !ch {
			return v, false
		}
		return slog.GroupValue(members...), true
	case slog.KindLogValuer:
		if !c.enter() {
			return slog.StringValue(depthMark), true
		}
		defer c.leave()
		out, _ := c.value(Resolve(v), depth)
		return out, true
	}
	return c.anyValue(v, depth)
}

// attrs coerces the members of a group.
func (c *coercer) attrs(in []slog.Attr, depth int) ([]slog.Attr, bool) {
	var out []slog.Attr
	changed := false
	for i, a := range in {
		if c.nodes >= maxNodes {
			out = upTo(out, in, i)
			out = append(out, slog.Int(moreMark, len(in)-i))
			return out, true
		}
		v, ch := c.value(a.Value, depth)
		var placed bool
		out, placed = place(out, in, i, a.Key, v, ch)
		changed = changed || placed
	}
	if !changed {
		return in, false
	}
	return out, true
}

// anyValue coerces a value of kind Any.
func (c *coercer) anyValue(v slog.Value, depth int) (slog.Value, bool) {
	switch x := v.Any().(type) {
	case nil:
		return v, false
	case json.Number:
		if validNumber(x) {
			return v, false
		}
		return slog.StringValue(string(x)), true
	case []string:
		if depth >= MaxDepth {
			return slog.StringValue(depthMark), true
		}
		return v, false
	case []any:
		l, mark, ch := c.list(x, depth)
		switch {
		case mark != "":
			return slog.StringValue(mark), true
		case !ch:
			return v, false
		}
		return slog.AnyValue(l), true
	case map[string]any:
		if len(x) == 0 {
			return v, false
		}
	}
	return c.convert(v.Any(), depth), true
}

// list coerces the elements of a list below depth containers; it returns
// the list itself when every element already has the shape, and a
// placeholder instead of a list for one too deep or holding itself.
func (c *coercer) list(l []any, depth int) (out []any, mark string, changed bool) {
	if depth >= MaxDepth {
		return nil, depthMark, true
	}
	if len(l) == 0 {
		return l, "", false
	}
	p := visit{uintptr(unsafe.Pointer(unsafe.SliceData(l))), anyListType}
	if c.onPath(p) {
		return nil, cycleMark, true
	}
	pushed := false // only on the way to a container: a flat list costs nothing
	defer func() {
		if pushed {
			c.pop()
		}
	}()
	for i, e := range l {
		if c.nodes >= maxNodes {
			out = upToAny(out, l, i)
			return append(out, moreMark), "", true
		}
		switch e.(type) {
		case nil, bool, string, int64, uint64, float64:
			c.nodes++
			if out != nil {
				out = append(out, e)
			}
			continue
		}
		if !pushed {
			c.push(p)
			pushed = true
		}
		d, ch := c.data(e, depth+1)
		if ch {
			out = upToAny(out, l, i)
		}
		if out != nil {
			out = append(out, d)
		}
	}
	if out == nil {
		return l, "", false
	}
	return out, "", true
}

// listData is list for a list in the data form.
func (c *coercer) listData(l []any, depth int) (any, bool) {
	out, mark, ch := c.list(l, depth)
	switch {
	case mark != "":
		return mark, true
	case !ch:
		return l, false
	}
	return out, true
}

func upToAny(out, in []any, i int) []any {
	if out == nil {
		out = make([]any, i, len(in))
		copy(out, in[:i])
	}
	return out
}

// data coerces an element of a list or a value of a map to the data form.
func (c *coercer) data(x any, depth int) (any, bool) {
	c.nodes++
	switch t := x.(type) {
	case nil, bool, string, int64, uint64, float64:
		return x, false
	case json.Number:
		if validNumber(t) {
			return x, false
		}
		return string(t), true
	case []string:
		if depth >= MaxDepth {
			return depthMark, true
		}
		return x, false
	case []any:
		return c.listData(t, depth)
	case map[string]any:
		return c.dataMap(t, depth)
	}
	return Data(c.convert(x, depth)), true
}

// dataMap coerces the values of a map in the data form.
func (c *coercer) dataMap(m map[string]any, depth int) (any, bool) {
	if depth >= MaxDepth {
		return depthMark, true
	}
	if len(m) == 0 {
		return m, false
	}
	p := visit{reflect.ValueOf(m).Pointer(), anyMapType}
	if c.onPath(p) {
		return cycleMark, true
	}
	c.push(p)
	defer c.pop()
	var out map[string]any
	for k, e := range m {
		var d any
		ch := true
		if c.nodes >= maxNodes {
			d = moreMark
		} else {
			d, ch = c.data(e, depth+1)
		}
		if ch {
			if out == nil {
				out = maps.Clone(m)
			}
			out[k] = d
		}
	}
	if out == nil {
		return m, false
	}
	return out, true
}

// Data returns a coerced value in the form lists hold their elements in:
// strings, numbers and booleans as themselves (int64, uint64, float64),
// durations as their text, times as RFC 3339 in UTC, groups as
// map[string]any (the last of repeated keys wins), and nil, json.Number,
// lists and maps as they are. v must be the result of [Coerce].
func Data(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		return v.Float64()
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	case slog.KindGroup:
		m := make(map[string]any, len(v.Group()))
		groupData(m, v.Group())
		return m
	case slog.KindLogValuer:
		return Data(Coerce(v))
	}
	return v.Any()
}

func groupData(m map[string]any, attrs []slog.Attr) {
	for _, a := range attrs {
		if a.Key == "" && a.Value.Kind() == slog.KindGroup {
			groupData(m, a.Value.Group())
			continue
		}
		m[a.Key] = Data(a.Value)
	}
}

// convert coerces a value that does not have the shape yet.
func (c *coercer) convert(x any, depth int) slog.Value {
	c.nodes++
	if !c.enter() {
		return slog.StringValue(depthMark)
	}
	defer c.leave()
	switch t := x.(type) {
	case nil:
		return slog.AnyValue(nil)
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr,
		float32, float64, time.Time, time.Duration:
		return slog.AnyValue(t)
	case json.Number:
		if validNumber(t) {
			return slog.AnyValue(t)
		}
		return slog.StringValue(string(t))
	case slog.Value:
		v, _ := c.value(t, depth)
		return v
	case slog.Attr:
		return c.group([]slog.Attr{t}, depth)
	case []slog.Attr:
		return c.group(t, depth)
	case []any:
		l, mark, _ := c.list(t, depth)
		if mark != "" {
			return slog.StringValue(mark)
		}
		return slog.AnyValue(l)
	case []string:
		if depth >= MaxDepth {
			return slog.StringValue(depthMark)
		}
		return slog.AnyValue(t)
	case map[string]any:
		return c.stringMap(t, depth)
	}
	if isNil(x) {
		return slog.AnyValue(nil)
	}
	switch t := x.(type) {
	case slog.LogValuer:
		v, _ := c.value(Resolve(slog.AnyValue(t)), depth)
		return v
	case error:
		return slog.StringValue(call(x, t.Error))
	case json.Marshaler:
		return c.marshaled(x, t, depth)
	case encoding.TextMarshaler:
		return c.text(x, t)
	case fmt.Stringer:
		return slog.StringValue(call(x, t.String))
	}
	return c.reflect(reflect.ValueOf(x), depth)
}

// group coerces a list of attributes as a group value.
func (c *coercer) group(attrs []slog.Attr, depth int) slog.Value {
	v, _ := c.value(slog.GroupValue(attrs...), depth)
	if v.Kind() == slog.KindGroup && len(v.Group()) == 0 {
		return slog.AnyValue(map[string]any{})
	}
	return v
}

// stringMap coerces a map[string]any that is not empty to a group.
func (c *coercer) stringMap(m map[string]any, depth int) slog.Value {
	if len(m) == 0 {
		return slog.AnyValue(m)
	}
	if depth >= MaxDepth {
		return slog.StringValue(depthMark)
	}
	p := visit{reflect.ValueOf(m).Pointer(), anyMapType}
	if c.onPath(p) {
		return slog.StringValue(cycleMark)
	}
	c.push(p)
	defer c.pop()
	keys := slices.Sorted(maps.Keys(m))
	members := make([]slog.Attr, 0, len(keys))
	for i, k := range keys {
		if c.nodes >= maxNodes {
			members = append(members, slog.Int(moreMark, len(keys)-i))
			break
		}
		members = addMember(members, k, c.convert(m[k], depth+1))
	}
	return objectValue(members)
}

// marshaled coerces what a json.Marshaler writes.
func (c *coercer) marshaled(x any, m json.Marshaler, depth int) slog.Value {
	var raw []byte
	var err error
	if s, failed := guard(x, func() { raw, err = m.MarshalJSON() }); failed {
		return slog.StringValue(s)
	}
	if err != nil {
		return slog.StringValue("!ERROR: " + call(err, err.Error))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var d any
	if err := dec.Decode(&d); err != nil {
		return slog.StringValue("!ERROR: " + reflect.TypeOf(x).String() + " wrote invalid JSON")
	}
	return c.convert(d, depth)
}

// text coerces what a TextMarshaler writes.
func (c *coercer) text(x any, m encoding.TextMarshaler) slog.Value {
	var raw []byte
	var err error
	if s, failed := guard(x, func() { raw, err = m.MarshalText() }); failed {
		return slog.StringValue(s)
	}
	if err != nil {
		return slog.StringValue("!ERROR: " + call(err, err.Error))
	}
	return slog.StringValue(string(raw))
}

// reflect coerces by kind what no method or known type took.
func (c *coercer) reflect(rv reflect.Value, depth int) slog.Value {
	switch rv.Kind() {
	case reflect.Bool:
		return slog.BoolValue(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return slog.Int64Value(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return slog.Uint64Value(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return slog.Float64Value(rv.Float())
	case reflect.Complex64, reflect.Complex128:
		return slog.StringValue(strconv.FormatComplex(rv.Complex(), 'g', -1, 128))
	case reflect.String:
		return slog.StringValue(rv.String())
	case reflect.Pointer:
		if rv.IsNil() {
			return slog.AnyValue(nil)
		}
		p := visit{rv.Pointer(), rv.Type()}
		if c.onPath(p) {
			return slog.StringValue(cycleMark)
		}
		c.push(p)
		defer c.pop()
		return c.elem(rv.Elem(), depth)
	case reflect.Interface:
		if rv.IsNil() {
			return slog.AnyValue(nil)
		}
		return c.elem(rv.Elem(), depth)
	case reflect.Slice:
		if rv.IsNil() {
			return slog.AnyValue(nil)
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return slog.StringValue(string(rv.Bytes()))
		}
		if depth >= MaxDepth {
			return slog.StringValue(depthMark)
		}
		if rv.Len() > 0 {
			p := visit{rv.Pointer(), rv.Type()}
			if c.onPath(p) {
				return slog.StringValue(cycleMark)
			}
			c.push(p)
			defer c.pop()
		}
		return slog.AnyValue(c.elems(rv, depth))
	case reflect.Array:
		if depth >= MaxDepth {
			return slog.StringValue(depthMark)
		}
		return slog.AnyValue(c.elems(rv, depth))
	case reflect.Map:
		if rv.IsNil() {
			return slog.AnyValue(nil)
		}
		if depth >= MaxDepth {
			return slog.StringValue(depthMark)
		}
		p := visit{rv.Pointer(), rv.Type()}
		if c.onPath(p) {
			return slog.StringValue(cycleMark)
		}
		c.push(p)
		defer c.pop()
		return c.mapValue(rv, depth)
	case reflect.Struct:
		if depth >= MaxDepth {
			return slog.StringValue(depthMark)
		}
		return c.structValue(rv, depth)
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return slog.StringValue("<" + rv.Type().String() + ">")
	}
	return slog.AnyValue(nil)
}

// elem coerces a value reached through reflection: through its methods
// when it can be had as an interface, by kind otherwise (a field of an
// unexported embedded struct).
func (c *coercer) elem(ev reflect.Value, depth int) slog.Value {
	if ev.CanInterface() {
		return c.convert(ev.Interface(), depth)
	}
	c.nodes++
	if !c.enter() {
		return slog.StringValue(depthMark)
	}
	defer c.leave()
	return c.reflect(ev, depth)
}

// elems coerces the elements of a slice or array to a list.
func (c *coercer) elems(rv reflect.Value, depth int) []any {
	n := rv.Len()
	out := make([]any, 0, min(n, maxNodes))
	for i := range n {
		if c.nodes >= maxNodes {
			return append(out, moreMark)
		}
		out = append(out, Data(c.elem(rv.Index(i), depth+1)))
	}
	return out
}

// mapValue coerces a map to a group with sorted keys.
func (c *coercer) mapValue(rv reflect.Value, depth int) slog.Value {
	if rv.Len() == 0 {
		return slog.AnyValue(map[string]any{})
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		entries = append(entries, entry{c.key(it.Key(), depth), it.Value()})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	members := make([]slog.Attr, 0, len(entries))
	for i, e := range entries {
		if c.nodes >= maxNodes {
			members = append(members, slog.Int(moreMark, len(entries)-i))
			break
		}
		members = addMember(members, e.key, c.elem(e.val, depth+1))
	}
	return objectValue(members)
}

// key returns the text of a map key, as encoding/json writes keys where
// it can: strings as they are, TextMarshalers as their text, integers in
// decimal; other keys as the text of their coerced value.
func (c *coercer) key(k reflect.Value, depth int) string {
	switch k.Kind() {
	case reflect.String:
		return k.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !k.CanInterface() || !implementsText(k.Type()) {
			return strconv.FormatInt(k.Int(), 10)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !k.CanInterface() || !implementsText(k.Type()) {
			return strconv.FormatUint(k.Uint(), 10)
		}
	}
	v := c.elem(k, depth+1)
	switch v.Kind() {
	case slog.KindGroup, slog.KindAny:
		if v.Any() == nil {
			return "null"
		}
		return "<" + k.Type().String() + ">"
	}
	return v.String()
}

var (
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	anyListType   = reflect.TypeFor[[]any]()
	anyMapType    = reflect.TypeFor[map[string]any]()
)

func implementsText(t reflect.Type) bool { return t.Implements(textMarshaler) }

// structValue coerces a struct to a group of its fields.
func (c *coercer) structValue(rv reflect.Value, depth int) slog.Value {
	fields := structFields(rv.Type())
	members := make([]slog.Attr, 0, len(fields))
	for i, f := range fields {
		fv, err := rv.FieldByIndexErr(f.index)
		if err != nil { // through a nil embedded pointer
			continue
		}
		if f.omitEmpty && isEmpty(fv) || f.omitZero && fv.IsZero() {
			continue
		}
		if c.nodes >= maxNodes {
			members = append(members, slog.Int(moreMark, len(fields)-i))
			break
		}
		members = addMember(members, f.name, c.elem(fv, depth+1))
	}
	return objectValue(members)
}

// isEmpty reports what encoding/json's omitempty leaves out.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isNil reports whether x holds a nil pointer, map, slice, function,
// channel or interface, on which calling a method would likely panic.
func isNil(x any) bool {
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return v.IsNil()
	}
	return false
}

// validNumber reports whether n is a JSON number.
func validNumber(n json.Number) bool { return jsonnum.Valid(string(n)) }

// call returns f(), or a placeholder naming the panic if f panics.
func call(x any, f func() string) (s string) {
	if p, failed := guard(x, func() { s = f() }); failed {
		return p
	}
	return s
}

// guard runs f and, if it panics, returns a placeholder naming x's type
// and the panic.
func guard(x any, f func()) (placeholder string, failed bool) {
	defer func() {
		if p := recover(); p != nil {
			placeholder, failed = "!PANIC: "+reflect.TypeOf(x).String()+": "+panicText(p), true
		}
	}()
	f()
	return "", false
}

// panicText describes a recovered panic value without formatting it: a
// string or an error is its text, anything else its type.
func panicText(p any) string {
	switch t := p.(type) {
	case string:
		return t
	case error:
		var s string
		if _, failed := guard(t, func() { s = t.Error() }); failed {
			return "a panicking error of type " + reflect.TypeOf(t).String()
		}
		return s
	}
	return "a value of type " + reflect.TypeOf(p).String()
}
