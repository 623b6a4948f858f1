package crash

import (
	"strconv"
	"strings"
)

// Limits on what a crash report carries: the size guard of the backend
// sink would otherwise cut attributes before the stack.
const (
	maxCrashRead  = 1 << 20  // bytes of crash output read
	maxCrashText  = 8 << 10  // the panic or fatal error text
	maxCrashStack = 48 << 10 // the crashing goroutine's trace
	truncMark     = "\n…[truncated]"
)

// crashOutput is what the runtime wrote when the process died, read back.
type crashOutput struct {
	message    string // the panic or fatal error line: "panic: boom", "fatal error: stack overflow"
	text       string // everything before the first goroutine: the message and its detail lines
	stack      string // the crashing goroutine's trace, "goroutine 7 [running]:\n…"
	goroutine  int64  // its id; 0 when unknown
	inferred   bool   // the runtime wrote no message: message was inferred from the stacks
	repanicked bool   // the message says the panic was recovered and raised again
}

// parseCrashOutput reads crash output. It reports false when there is
// none (an empty or blank file). It never fails on damaged or truncated
// output: whatever is recognised is kept.
//
// The runtime writes an unrecovered panic as "panic: …", detail lines, a
// blank line and the goroutines, the crashing one first. A fatal error
// ("fatal error: concurrent map writes", a stack overflow, out of memory)
// goes to the crash output without its message line (Go's tracker:
// golang/go#76859), sometimes after a "runtime stack:" block; the message
// is then inferred from the frames where the runtime is known to throw.
func parseCrashOutput(b []byte) (crashOutput, bool) {
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return crashOutput{}, false
	}
	var out crashOutput
	var header []string
	var runtimeStack strings.Builder
	lines := strings.Split(text, "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := lines[i]
		if l == "runtime stack:" {
			for ; i < len(lines) && lines[i] != ""; i++ {
				runtimeStack.WriteString(lines[i])
				runtimeStack.WriteByte('\n')
			}
			continue
		}
		if gid, ok := goroutineHeader(l); ok {
			out.goroutine = gid
			start := i
			for i < len(lines) && lines[i] != "" {
				i++
			}
			out.stack = capLines(strings.Join(lines[start:i], "\n"), maxCrashStack)
			break
		}
		if runtimeStack.Len() == 0 {
			header = append(header, l)
		}
	}
	out.text = capLines(strings.TrimSpace(strings.Join(header, "\n")), maxCrashText)
	out.message = messageLine(out.text)
	if out.message == "" {
		out.message = inferMessage(runtimeStack.String() + out.stack)
		out.inferred = true
	}
	out.repanicked = strings.Contains(out.message, "[recovered")
	return out, true
}

// goroutineHeader reads "goroutine 7 [running]:" (or "goroutine 1 gp=…
// m=… [running]:") and returns the goroutine's id.
func goroutineHeader(l string) (int64, bool) {
	rest, ok := strings.CutPrefix(l, "goroutine ")
	if !ok || !strings.HasSuffix(l, "]:") || !strings.Contains(l, " [") {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, " ")
	gid, err := strconv.ParseInt(num, 10, 64)
	return gid, err == nil && gid >= 0
}

// messageLine returns the panic or fatal error line of the text before
// the goroutines, or its first line, or "".
func messageLine(text string) string {
	first := ""
	for l := range strings.SplitSeq(text, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "fatal: ") {
			return l
		}
		if first == "" {
			first = l
		}
	}
	return first
}

// inferMessage names a fatal error from the frames the runtime throws in.
func inferMessage(stacks string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(stacks, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("runtime.newstack(") && has("runtime.morestack("):
		return "fatal error: stack overflow"
	case has("runtime.sysMap(", "runtime.sysMapOS(", "runtime.(*mheap).grow("):
		return "fatal error: runtime: out of memory"
	case has("internal/runtime/maps.fatal(", "runtime.mapassign", "runtime.mapaccess", "runtime.mapdelete", "runtime.mapiternext"):
		return "fatal error: concurrent map access"
	case has("sync.fatal("):
		return "fatal error: sync: misuse of a lock"
	}
	return "fatal error"
}

// capLines returns s cut to at most limit bytes at a line end, marked as
// truncated when cut.
func capLines(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := strings.LastIndexByte(s[:limit-len(truncMark)], '\n')
	if cut <= 0 {
		cut = limit - len(truncMark)
		for cut > 0 && !startsRune(s[cut]) {
			cut--
		}
	}
	return s[:cut] + truncMark
}

// startsRune reports whether b can begin a UTF-8 sequence.
func startsRune(b byte) bool { return b&0xC0 != 0x80 }
