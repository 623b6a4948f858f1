package sinktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// CheckJSON checks b as a strict reader of the wire would, beyond what
// encoding/json checks: b must be one JSON value in valid UTF-8, and no
// object may have a key twice (encoding/json keeps the last silently). It
// returns the deepest nesting of objects and arrays, the outermost value
// counting as 1.
func CheckJSON(b []byte) (depth int, err error) {
	if !utf8.Valid(b) {
		return 0, errors.New("not valid UTF-8")
	}
	if !json.Valid(b) {
		return 0, errors.New("not valid JSON")
	}
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string is a key
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return depth, nil
		}
		if err != nil {
			return depth, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]bool{}, key: t == '{'})
				depth = max(depth, len(stack))
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.key {
				if top.keys[t] {
					return depth, fmt.Errorf("key %q appears twice in one object", t)
				}
				top.keys[t] = true
				top.key = false
				continue
			}
			if top != nil && top.object {
				top.key = true
			}
		default:
			if top != nil && top.object {
				top.key = true
			}
		}
	}
}

// Depth returns how deeply x, a value decoded from JSON, nests objects and
// arrays: 0 for a scalar, 1 for a flat object or array.
func Depth(x any) int {
	d := 0
	switch t := x.(type) {
	case map[string]any:
		for _, e := range t {
			d = max(d, Depth(e))
		}
		return d + 1
	case []any:
		for _, e := range t {
			d = max(d, Depth(e))
		}
		return d + 1
	case []string:
		return 1
	}
	return 0
}
