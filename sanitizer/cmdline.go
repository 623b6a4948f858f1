package sanitizer

import "strings"

// replaceFlags replaces the value of a sensitive command-line flag
// written with a space (--password hunter2, --token "abc"), the password
// of curl's --user and -u name:password, and the password of the short
// flags that take one: -p hunter2 and -phunter2 after mysql, mariadb,
// mongo tools or sshpass, or after a -u user flag; -a after redis-cli.
func replaceFlags(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for i := 0; i+2 < len(s); i++ {
		k := strings.IndexByte(s[i:], '-')
		if k < 0 || i+k+2 >= len(s) {
			break
		}
		i += k
		if i > 0 && s[i-1] != ' ' && s[i-1] != '\t' && !isQuote(s[i-1]) {
			continue
		}
		var name string
		end := i + 2
		switch {
		case s[i+1] == '-':
			for end < len(s) && (isWordByte(s[end]) || s[end] == '-') {
				end++
			}
			name = s[i+2 : end]
		case s[i+1] == 'u' && s[i+2] == ' ':
			name = "user"
		case s[i+1] == 'p' || s[i+1] == 'a' && s[i+2] == ' ':
			from, to, ok := shortPasswordFlag(s, i)
			if !ok {
				continue
			}
			b.WriteString(s[last:from])
			b.WriteString(sc.mark(r, s[from:to]))
			last = to
			i = to - 1
			continue
		default:
			continue
		}
		i = end - 1
		user := name == "user" || name == "proxy-user"
		if name == "" || end >= len(s) || s[end] != ' ' || !user && !sc.keys.textKeySensitive(name, "") {
			continue
		}
		from, to := kvValue(s, skipSpaces(s, end), false)
		if from >= to || s[from] == '-' || isMarker(s[from:to]) {
			continue
		}
		if user {
			colon := strings.IndexByte(s[from:to], ':')
			if colon < 0 {
				continue
			}
			from += colon + 1
		}
		if from >= to || isMarker(s[from:to]) {
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(sc.mark(r, s[from:to]))
		last = to
		i = to - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// shortPasswordFlag returns the span of the password after the short
// flag at s[i:] ("-p", "-a"), and whether there is one: the command on
// the line before must be one whose -p (or -a) takes a password.
func shortPasswordFlag(s string, i int) (from, to int, ok bool) {
	flag := s[i+1]
	from = i + 2
	if from < len(s) && s[from] == ' ' {
		from = skipSpaces(s, from)
	} else if flag == 'a' || from >= len(s) || !isWordByte(s[from]) && !strings.ContainsRune("!#$%&*+.:=?@^~", rune(s[from])) {
		return 0, 0, false
	}
	if from >= len(s) || s[from] == '-' || isMarker(s[from:]) {
		return 0, 0, false
	}
	line := lineBefore(s, i, 256)
	program := passwordProgram(line, flag)
	if !program && (flag == 'a' || !hasUserFlag(line)) {
		return 0, 0, false
	}
	from, to = kvValue(s, from, false)
	if from >= to {
		return 0, 0, false
	}
	if !program && isPortLike(s[from:to]) {
		return 0, 0, false // docker run -u 1000 -p 8080:80
	}
	return from, to, true
}

// lineBefore returns the text of the line before s[i], at most n bytes.
func lineBefore(s string, i, n int) string {
	line := s[max(i-n, 0):i]
	return line[strings.LastIndexByte(line, '\n')+1:]
}

// passwordPrograms take a password after -p; redis-cli after -a.
var passwordPrograms = map[string]byte{
	"mysql": 'p', "mysqldump": 'p', "mysqladmin": 'p', "mysqlimport": 'p', "mysqlcheck": 'p', "mysqlshow": 'p',
	"mysqlsh": 'p', "mariadb": 'p', "mariadb-dump": 'p', "mariadb-admin": 'p', "mongo": 'p', "mongosh": 'p',
	"mongodump": 'p', "mongorestore": 'p', "mongoexport": 'p', "mongoimport": 'p', "sshpass": 'p', "redis-cli": 'a',
}

// passwordProgram reports whether line runs a program whose flag -p (or
// -a) takes a password: its name stands as a word, at the start or after
// a space, a quote, '(' or '/', and before a space.
func passwordProgram(line string, flag byte) bool {
	for i := 0; i < len(line); {
		j := i
		for j < len(line) && strings.IndexByte(" \t\"'/`(", line[j]) < 0 {
			j++
		}
		if j-i >= 5 && j-i <= 13 && (j == len(line) || line[j] == ' ') {
			var buf [13]byte
			w := buf[:j-i]
			for k := range w {
				w[k] = line[i+k] | 0x20
			}
			if passwordPrograms[string(w)] == flag {
				return true
			}
		}
		i = j + 1
	}
	return false
}

// hasUserFlag reports whether line holds a -u user flag (-u root,
// -uroot) or --user.
func hasUserFlag(line string) bool {
	for k := 0; ; {
		i := strings.Index(line[k:], "-u")
		if i < 0 {
			return strings.Contains(line, "--user")
		}
		i += k
		if (i == 0 || line[i-1] == ' ') && i+2 < len(line) && (line[i+2] == ' ' || isLetterByte(line[i+2])) {
			return true
		}
		k = i + 2
	}
}

// isPortLike reports whether v is a port or a port mapping: digits and
// colons only.
func isPortLike(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) && v[i] != ':' {
			return false
		}
	}
	return true
}
