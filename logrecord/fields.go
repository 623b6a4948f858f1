package logrecord

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// A field is one member of a struct as coercion writes it.
type field struct {
	name      string
	index     []int // for reflect.Value.FieldByIndexErr
	omitEmpty bool
	omitZero  bool
	depth     int  // embedding depth, for choosing between equal names
	tagged    bool // named by a json tag
}

// fieldCache holds the fields of each struct type seen, as encoding/json
// keeps its own: working them out walks the type's embedding.
var fieldCache sync.Map // reflect.Type → []field

func structFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.([]field)
}

// maxEmbedding bounds how deeply embedded structs are followed.
const maxEmbedding = 10

// typeFields lists the fields of struct type t as encoding/json would
// write them: exported fields, named by their json tag or else their
// name, "-" left out, the fields of embedded structs promoted; of fields
// with the same name the shallowest wins, then the one with a tag, and
// when that leaves more than one, none. The list is in field order.
func typeFields(t reflect.Type) []field {
	var all []field
	var walk func(t reflect.Type, index []int, depth int, seen []reflect.Type)
	walk = func(t reflect.Type, index []int, depth int, seen []reflect.Type) {
		if slices.Contains(seen, t) {
			return
		}
		seen = append(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(slices.Clip(index), i)
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && ft.Kind() == reflect.Struct {
					if depth < maxEmbedding {
						walk(ft, idx, depth+1, seen)
					}
					continue
				}
				if !sf.IsExported() {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			f := field{name: name, index: idx, depth: depth, tagged: name != ""}
			if f.name == "" {
				f.name = sf.Name
			}
			for o := range strings.SplitSeq(opts, ",") {
				switch o {
				case "omitempty":
					f.omitEmpty = true
				case "omitzero":
					f.omitZero = true
				}
			}
			all = append(all, f)
		}
	}
	walk(t, nil, 0, nil)

	slices.SortStableFunc(all, func(a, b field) int {
		return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(a.depth, b.depth), compareTagged(a, b))
	})
	var out []field
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		same := all[i:j]
		best := same[0]
		ties := 0
		for _, f := range same {
			if f.depth == best.depth && f.tagged == best.tagged {
				ties++
			}
		}
		if ties == 1 {
			out = append(out, best)
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

// compareTagged orders fields with a tag before those without.
func compareTagged(a, b field) int {
	switch {
	case a.tagged == b.tagged:
		return 0
	case a.tagged:
		return -1
	}
	return 1
}
