package sanitizer

import "strings"

// ssnMaybe looks for ddd-dd-dddd or ddd dd dddd.
func ssnMaybe(s string) bool {
	for i := 3; i+6 < len(s); i++ {
		if c := s[i]; (c == '-' || c == ' ' || c == '.') && s[i+3] == c && digitsAt(s, i-3, 3) && digitsAt(s, i+1, 2) && digitsAt(s, i+4, 4) {
			return true
		}
	}
	return false
}

// digitRunAtLeast reports whether s holds n digits in a row, single
// spaces or dashes allowed between them.
func digitRunAtLeast(n int) func(string) bool {
	return func(s string) bool {
		run := 0
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case isDigit(c):
				if run++; run >= n {
					return true
				}
			case (c == ' ' || c == '-') && run > 0 && i+1 < len(s) && isDigit(s[i+1]):
			default:
				run = 0
			}
		}
		return false
	}
}

// phoneMaybe looks for "+d…", "(ddd) ddd" or ddd?ddd?dddd.
func phoneMaybe(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '+':
			n := 0
			for k := i + 1; k < len(s) && k < i+26; k++ {
				if c := s[k]; isDigit(c) {
					n++
				} else if !isNumSep(c) {
					break
				}
			}
			if n >= 8 {
				return true
			}
		case '(':
			if digitsAt(s, i+1, 3) && i+4 < len(s) && s[i+4] == ')' &&
				(digitsAt(s, i+5, 3) || i+5 < len(s) && isNumSep(s[i+5]) && digitsAt(s, i+6, 3)) {
				return true
			}
		case '-', '.', ' ':
			if digitsAt(s, i-3, 3) && digitsAt(s, i+1, 3) && i+4 < len(s) && isNumSep(s[i+4]) && digitsAt(s, i+5, 4) {
				return true
			}
		}
	}
	return false
}

// replaceSSN replaces ddd-dd-dddd (or with spaces) whose separators match
// and that is not part of a longer number.
func replaceSSN(s string, r *rule, sc *scrubber) string {
	return replaceChecked(s, r, sc, func(m string, before byte, rest string) bool {
		return m[3] == m[6] && !isNumberNeighbour(before, rest, true) && m[:3] != "000" && m[:3] != "666"
	})
}

// isNumberNeighbour reports whether the bytes around a match make it part
// of a longer token: a word character, or a '.' or '-' joined to another
// digit. A sentence's final '.' is not.
func isNumberNeighbour(before byte, rest string, dashToo bool) bool {
	if isWordByte(before) || isWordByte(first(rest)) {
		return true
	}
	if len(rest) > 1 && (rest[0] == '.' || dashToo && rest[0] == '-') && isDigit(rest[1]) {
		return true
	}
	return false
}

// replaceCards replaces card numbers: in each run of digit groups joined
// by single spaces or dashes, the leftmost longest stretch of whole groups
// with 13 to 19 digits, the first digits of a card network and a valid
// Luhn check digit. Scanning runs, not regular-expression matches, keeps
// a number next to another ("10.1.2.3 4111 1111 1111 1111") from hiding
// it. Grouped digits must be grouped as cards are (4111 1111 1111 1111,
// 3782 822463 10005); a run of digits without groups is a card only in
// the context of one (card 4111111111111111, "pan": …, an attribute
// named so): a decimal span id or a timestamp that passes the Luhn check
// is not.
func replaceCards(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	var groups [24][2]int
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		n, j := 0, i
		for {
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			groups[n] = [2]int{j, k}
			n++
			if n < len(groups) && k+1 < len(s) && (s[k] == ' ' || s[k] == '-') && isDigit(s[k+1]) {
				j = k + 1
				continue
			}
			j = k
			break
		}
		for g := 0; g < n; {
			found, digits := -1, 0
			for h := g; h < n; h++ {
				if digits += groups[h][1] - groups[h][0]; digits > 19 {
					break
				}
				if digits >= 13 && isCard(s, groups[g][0], groups[h][1]) &&
					(h > g && cardGrouping(groups[g:h+1]) || h == g && sc.cardContext(s, groups[g][0])) {
					found = h
				}
			}
			if found < 0 {
				g++
				continue
			}
			from, to := groups[g][0], groups[found][1]
			b.WriteString(s[last:from])
			b.WriteString(sc.mark(r, s[from:to]))
			last = to
			g = found + 1
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// cardGrouping reports whether digit groups are laid out as card numbers
// are printed: four digits first, then groups of four to six, the last of
// one to six.
func cardGrouping(groups [][2]int) bool {
	for i, g := range groups {
		n := g[1] - g[0]
		switch {
		case i == 0 && n != 4,
			i > 0 && i < len(groups)-1 && (n < 4 || n > 6),
			i == len(groups)-1 && n > 6:
			return false
		}
	}
	return true
}

// cardWords name payment cards; a run of digits is a card number only
// near one of them.
var cardWords = map[string]bool{
	"card": true, "cards": true, "cc": true, "ccn": true, "ccnum": true, "pan": true, "credit": true, "debit": true,
	"visa": true, "mastercard": true, "amex": true, "discover": true, "maestro": true, "jcb": true, "diners": true,
	"unionpay": true, "payment": true, "creditcard": true, "cardnumber": true, "cardno": true,
	"bin": true, "iin": true, "luhn": true,
}

// cardStems start the words for a card in other languages: Karte,
// Kartennummer, carte, tarjeta, cartão, kaart, kort, kart.
var cardStems = []string{"karte", "carte", "tarjeta", "cartao", "cartão", "carta", "kaart", "kort", "kart", "karta"}

// cardScripts are the words for a card in scripts without spaces or
// capitals: Japanese, Chinese, Korean, Russian.
var cardScripts = []string{"カード", "卡号", "卡號", "信用卡", "카드", "карт", "Карт"}

// cardContext reports whether the digits at s[from:] stand in the
// context of a payment card: a card word shortly before them on the same
// line, or in the attribute's path.
func (sc *scrubber) cardContext(s string, from int) bool {
	window := s[max(from-40, 0):from]
	window = window[strings.LastIndexByte(window, '\n')+1:]
	if namesCard(window) {
		return true
	}
	return sc.path.name != "" && namesCard(sc.path.String())
}

// namesCard reports whether text, split into words as keys are, holds a
// word naming a payment card.
func namesCard(text string) bool {
	var kw keyWords
	kw.split(text)
	for i := range kw.n {
		w := kw.word(i)
		if cardWords[string(w)] {
			return true
		}
		for _, stem := range cardStems {
			if len(w) >= len(stem) && string(w[:len(stem)]) == stem {
				return true
			}
		}
	}
	for _, word := range cardScripts {
		if strings.Contains(text, word) {
			return true
		}
	}
	return false
}

// isCard reports whether s[from:to], digits with separators, is a card
// number standing on its own.
func isCard(s string, from, to int) bool {
	var before byte
	if from > 0 {
		before = s[from-1]
	}
	if isWordByte(before) || before == '.' || isNumberNeighbour(before, s[to:], false) {
		return false
	}
	var buf [19]byte
	digits := buf[:0]
	for i := from; i < to; i++ {
		if isDigit(s[i]) {
			if len(digits) == len(buf) {
				return false
			}
			digits = append(digits, s[i])
		}
	}
	return len(digits) >= 13 && cardPrefix(digits) && luhn(digits)
}

// cardPrefix reports whether digits start like a card number: Visa 4,
// Mastercard 51-55 and 2221-2720, Amex and Diners 30, 34-39, Discover,
// UnionPay and Maestro 5 and 6.
func cardPrefix(d []byte) bool {
	switch d[0] {
	case '4', '5', '6':
		return true
	case '3':
		return d[1] == '0' || d[1] >= '4'
	case '2':
		p := int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
		return 221 <= p && p <= 720
	}
	return false
}

func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// replacePhones replaces E.164 numbers of 8 to 15 digits and US numbers
// of 10. An international match that runs on into a following number is
// cut back at a separator to 15 digits.
func replacePhones(s string, r *rule, sc *scrubber) string {
	idx := r.re.FindAllStringIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		from, to := m[0], m[1]
		var before byte
		if from > 0 {
			before = s[from-1]
		}
		if isNumberNeighbour(before, s[to:], true) || before == '+' || before == '.' {
			continue
		}
		n := countDigits(s[from:to])
		if s[from] == '+' {
			for n > 15 {
				k := strings.LastIndexAny(s[from:to], " .-(")
				if k <= 0 {
					break
				}
				to = from + k
				n = countDigits(s[from:to])
			}
			to = from + len(strings.TrimRight(s[from:to], " .-("))
			if n < 8 || n > 15 {
				continue
			}
		} else if n != 10 {
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(sc.mark(r, s[from:to]))
		last = to
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}
