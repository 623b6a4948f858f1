package ingest

import (
	"encoding/binary"
	"unicode/utf8"
)

// pythonText returns the body as UTF-8 the way the production backend's
// json.loads reads bytes: a UTF-8 byte order mark is dropped, and UTF-16
// and UTF-32 (told by a byte order mark or by where the zero bytes are)
// are converted, surrogates that pair nothing becoming U+FFFD. Any other
// body is returned as it is. A body that is not valid in its encoding
// returns false.
func pythonText(b []byte) ([]byte, bool) {
	switch {
	case len(b) >= 4 && (string(b[:4]) == "\x00\x00\xfe\xff" || string(b[:4]) == "\xff\xfe\x00\x00"):
		return utf32Text(b[4:], b[0] == 0)
	case len(b) >= 2 && (string(b[:2]) == "\xfe\xff" || string(b[:2]) == "\xff\xfe"):
		return utf16Text(b[2:], b[0] == 0xfe)
	case len(b) >= 3 && string(b[:3]) == "\xef\xbb\xbf":
		return b[3:], true
	case len(b) >= 4 && b[0] == 0:
		if b[1] != 0 {
			return utf16Text(b, true)
		}
		return utf32Text(b, true)
	case len(b) >= 4 && b[1] == 0:
		if b[2] != 0 || b[3] != 0 {
			return utf16Text(b, false)
		}
		return utf32Text(b, false)
	case len(b) == 2 && b[0] == 0:
		return utf16Text(b, true)
	case len(b) == 2 && b[1] == 0:
		return utf16Text(b, false)
	}
	return b, true
}

func utf16Text(b []byte, bigEndian bool) ([]byte, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if bigEndian {
		order = binary.BigEndian
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i += 2 {
		r := rune(order.Uint16(b[i:]))
		if 0xD800 <= r && r < 0xDC00 && i+4 <= len(b) {
			if lo := rune(order.Uint16(b[i+2:])); 0xDC00 <= lo && lo < 0xE000 {
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				i += 2
			}
		}
		out = utf8.AppendRune(out, r) // a lone surrogate becomes U+FFFD
	}
	return out, true
}

func utf32Text(b []byte, bigEndian bool) ([]byte, bool) {
	if len(b)%4 != 0 {
		return nil, false
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if bigEndian {
		order = binary.BigEndian
	}
	out := make([]byte, 0, len(b)/2)
	for i := 0; i < len(b); i += 4 {
		r := order.Uint32(b[i:])
		if r > utf8.MaxRune {
			return nil, false
		}
		out = utf8.AppendRune(out, rune(r))
	}
	return out, true
}
