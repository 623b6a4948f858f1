// Package jsonnum checks the JSON number grammar, for the packages that
// write numbers they did not produce themselves (logrecord's coercion and
// the wire encoder).
package jsonnum

// Valid reports whether s is a JSON number: an optional minus, an integer
// part without leading zeros, an optional fraction and an optional
// exponent.
func Valid(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	i := 0
	digits := func() int {
		from := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - from
	}
	if n := digits(); n == 0 || n > 1 && s[0] == '0' {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
