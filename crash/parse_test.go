package crash

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The files in testdata are crash output the runtime wrote (paths
// shortened): what SetCrashOutput captures of each kind of crash.
func TestParseCrashOutput(t *testing.T) {
	tests := []struct {
		file       string
		message    string
		inferred   bool
		goroutine  int64
		stackHas   string
		repanicked bool
	}{
		{"goroutine.txt", "panic: boom in goroutine", false, 7, "main.main.func1()", false},
		{"map.txt", "fatal error: concurrent map access", true, 12, "internal/runtime/maps.fatal(", false},
		{"stack.txt", "fatal error: stack overflow", true, 1, "main.rec(", false},
		{"oom.txt", "fatal error: runtime: out of memory", true, 1, "runtime.systemstack_switch()", false},
		{"repanic.txt", "panic: again [recovered, repanicked]", false, 1, "main.main.func3()", true},
		{"err.txt", "panic: assignment to entry in nil map", false, 1, "main.main()", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tt.file)
			require.NoError(t, err)
			out, ok := parseCrashOutput(b)
			require.True(t, ok)
			assert.Equal(t, tt.message, out.message)
			assert.Equal(t, tt.inferred, out.inferred)
			assert.Equal(t, tt.goroutine, out.goroutine)
			assert.Equal(t, tt.repanicked, out.repanicked)
			assert.True(t, strings.HasPrefix(out.stack, "goroutine "), out.stack)
			assert.Contains(t, out.stack, tt.stackHas)
			assert.NotContains(t, out.stack, "\n\n", "one goroutine only")
			assert.NotContains(t, out.stack, "runtime stack:")
		})
	}
}

func TestParseCrashOutputDetails(t *testing.T) {
	tests := []struct {
		name, give    string
		ok            bool
		message, text string
		goroutine     int64
	}{
		{"empty", "", false, "", "", 0},
		{"blank", " \n\n", false, "", "", 0},
		{
			"signal detail kept in the text",
			"panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a]\n\ngoroutine 9 [running]:\nmain.f(...)\n\t/src/app/main.go:7 +0x1d\n",
			true, "panic: runtime error: invalid memory address or nil pointer dereference",
			"panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a]", 9,
		},
		{
			"nested panics: the first line names the first",
			"panic: first [recovered]\n\tpanic: second\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:3 +0x1\n",
			true, "panic: first [recovered]", "panic: first [recovered]\n\tpanic: second", 1,
		},
		{
			"a fatal message, should the runtime write it",
			"runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow\n\nruntime stack:\nruntime.throw()\n\ngoroutine 4 [running]:\nmain.f()\n",
			true, "fatal error: stack overflow", "runtime: goroutine stack exceeds 1000000000-byte limit\nfatal error: stack overflow", 4,
		},
		{"truncated before any goroutine", "panic: cut sh", true, "panic: cut sh", "panic: cut sh", 0},
		{"no message, unknown frames", "\ngoroutine 3 [running]:\nmain.f()\n", true, "fatal error", "", 3},
		{"CRLF", "panic: x\r\n\r\ngoroutine 2 [running]:\r\nmain.f()\r\n", true, "panic: x", "panic: x", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ok := parseCrashOutput([]byte(tt.give))
			require.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.message, out.message)
			assert.Equal(t, tt.text, out.text)
			assert.Equal(t, tt.goroutine, out.goroutine)
		})
	}
}

func TestCapLines(t *testing.T) {
	long := strings.Repeat("frame line\n", 10_000)
	got := capLines(long, 1000)
	assert.LessOrEqual(t, len(got), 1000)
	assert.True(t, strings.HasSuffix(got, "frame line"+truncMark))
	one := strings.Repeat("é", 2000) // no line to cut at: cut on a rune boundary
	got = capLines(one, 1001)
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, len(got), 1001)
	assert.Equal(t, "short", capLines("short", 10))
}

// Whatever a crash file holds, parsing neither panics nor grows it, and
// the stack is one goroutine's.
func FuzzParseCrashOutput(f *testing.F) {
	for _, name := range []string{"goroutine.txt", "map.txt", "stack.txt", "oom.txt", "repanic.txt", "err.txt"} {
		b, err := os.ReadFile("testdata/" + name)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("goroutine 1 [running]:"))
	f.Add([]byte("runtime stack:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, ok := parseCrashOutput(b)
		if !ok {
			return
		}
		if out.message == "" {
			t.Fatal("a report always has a message")
		}
		if len(out.stack) > maxCrashStack || len(out.text) > maxCrashText {
			t.Fatalf("stack %d, text %d bytes", len(out.stack), len(out.text))
		}
		if out.stack != "" && !strings.HasPrefix(out.stack, "goroutine ") {
			t.Fatalf("stack starts %q", out.stack[:min(40, len(out.stack))])
		}
	})
}
