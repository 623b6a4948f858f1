package backendsink

import (
	"cmp"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
)

// The size guard's marks.
const (
	// truncMarker ends every string the size guard cut.
	truncMarker = "…[truncated]"
	// truncatedKey is the attribute listing what the size guard cut.
	truncatedKey = "fieldlog.truncated"
)

// Shares of the entry limit the size guard keeps; at the 64 KB default:
// 5 breadcrumbs with 256-byte messages, attribute values cut to no less
// than 1 KB, the message never below 4 KB.
const (
	minBreadcrumbs = 5
	maxNotes       = 16 // entries of fieldlog.truncated
	maxNotedKey    = 64 // bytes of an attribute key in a note
	noteRoom       = 512
)

func crumbShare(limit int) int   { return limit / 256 }
func attrPrefix(limit int) int   { return limit / 64 }
func messageFloor(limit int) int { return limit / 16 }
func idShare(limit int) int      { return limit / 128 }

// A trimmer cuts one entry down to its limit, in an order that keeps the
// record's identity longest: breadcrumbs first (fewer, then shorter
// messages), then the largest attribute values (cut to a prefix, then
// removed, largest first), then the stack (keeping the top frames), then
// the error, and the message last, never below messageFloor. What it cut
// is listed in the fieldlog.truncated attribute.
type trimmer struct {
	e       *encoder
	limit   int
	r       logrecord.Record // its attributes are attrs
	m       entryMeta
	attrs   []slog.Attr // unique keys, in order
	notes   []string
	more    int // notes left out past maxNotes
	dropped int // breadcrumbs dropped
	buf     []byte
}

// trim encodes r within limit. It is apart from entry so that the common
// path does not move the record to the heap.
func (e *encoder) trim(dst []byte, r logrecord.Record, m *entryMeta, limit int) []byte {
	t := &trimmer{e: e, limit: limit, r: r, m: *m, attrs: lastOfEachKey(r.AttrsSlice())}
	t.m.breadcrumbs = slices.Clone(m.breadcrumbs)
	t.note("entry: " + strconv.Itoa(t.size()) + " bytes, over the limit of " + strconv.Itoa(limit))
	steps := []func(over int) bool{t.fewerCrumbs, t.shorterCrumbs, t.cutAttrs, t.removeAttrs, t.cutStack, t.cutError,
		t.cutMessage, t.cutEverything}
	for _, step := range steps {
		// A step runs again while it makes progress: what it cut is an
		// estimate, and the notes it adds take room too.
		for pass := 0; pass < 3; pass++ {
			over := t.size() - limit
			if over <= 0 || !step(over+noteRoom) {
				break
			}
		}
	}
	start := len(dst)
	dst = t.encode(dst)
	if len(dst)-start <= limit {
		return dst
	}
	// Only a limit far below the default gets here.
	t.r.Message, t.r.Logger = truncate(t.r.Message, 64), truncate(t.r.Logger, 16)
	t.notes, t.more = []string{"entry: cut to its minimum"}, 0
	return t.encode(dst[:start])
}

// encode appends the entry as it stands, with the notes.
func (t *trimmer) encode(dst []byte) []byte {
	attrs := t.attrs
	if len(t.notes) > 0 {
		notes := t.notes
		if t.more > 0 {
			notes = append(slices.Clip(notes), strconv.Itoa(t.more)+" more cuts")
		}
		attrs = append(slices.Clip(attrs), slog.Any(truncatedKey, notes))
	}
	return t.e.append(dst, &t.r, attrs, &t.m)
}

func (t *trimmer) size() int {
	t.buf = t.encode(t.buf[:0])
	return len(t.buf)
}

func (t *trimmer) note(s string) {
	if len(t.notes) < maxNotes {
		t.notes = append(t.notes, s)
	} else {
		t.more++
	}
}

// replaceNote notes what happened to the field named by prefix, in place
// of an earlier note about it.
func (t *trimmer) replaceNote(prefix, what string) {
	for i, n := range t.notes {
		if strings.HasPrefix(n, prefix) {
			t.notes[i] = prefix + what
			return
		}
	}
	t.note(prefix + what)
}

// fewerCrumbs drops the oldest breadcrumbs, keeping minBreadcrumbs.
func (t *trimmer) fewerCrumbs(over int) bool {
	crumbs := t.m.breadcrumbs
	drop := 0
	for ; over > 0 && len(crumbs)-drop > minBreadcrumbs; drop++ {
		over -= crumbSize(&crumbs[drop]) + 1
	}
	if drop == 0 {
		return false
	}
	t.m.breadcrumbs = crumbs[drop:]
	t.dropped += drop
	t.replaceNote("breadcrumbs: ", strconv.Itoa(t.dropped)+" oldest dropped")
	return true
}

// shorterCrumbs cuts the messages and logger names of the breadcrumbs
// left.
func (t *trimmer) shorterCrumbs(int) bool {
	n := crumbShare(t.limit)
	cut := false
	for i := range t.m.breadcrumbs {
		c := &t.m.breadcrumbs[i]
		if len(c.Message) > n+len(truncMarker) || len(c.Logger) > n+len(truncMarker) {
			c.Message, c.Logger = truncate(c.Message, n), truncate(c.Logger, n)
			cut = true
		}
	}
	if cut {
		t.note("breadcrumbs: messages cut to " + strconv.Itoa(n) + " bytes")
	}
	return cut
}

// attrSizes returns the encoded size of each attribute and their indexes,
// largest first.
func (t *trimmer) attrSizes() (sizes []int, order []int) {
	sizes = make([]int, len(t.attrs))
	order = make([]int, len(t.attrs))
	var b []byte
	for i := range t.attrs {
		b = wire.AppendAttrs(b[:0], t.attrs[i:i+1])
		sizes[i], order[i] = len(b)-1, i // less the braces, plus a comma
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(sizes[j], sizes[i]) })
	return sizes, order
}

// cutAttrs cuts the largest attribute values to a prefix, largest first,
// never below attrPrefix: a string keeps its start, any other value
// becomes the start of its JSON text.
func (t *trimmer) cutAttrs(over int) bool {
	prefix := attrPrefix(t.limit)
	sizes, order := t.attrSizes()
	changed := false
	for _, i := range order {
		if over <= 0 || sizes[i] <= prefix+len(truncMarker)+len(t.attrs[i].Key)+8 {
			break
		}
		a := t.attrs[i]
		text := a.Value.String()
		if a.Value.Kind() != slog.KindString {
			text = string(wire.AppendValue(nil, a.Value))
		}
		cut := truncate(text, max(len(text)-over-len(truncMarker), prefix))
		if len(cut) >= len(text) {
			continue
		}
		t.attrs[i].Value = slog.StringValue(cut)
		over -= sizes[i] - len(wire.AppendAttrs(nil, t.attrs[i:i+1])) + 1
		t.replaceNote("attributes."+truncate(a.Key, maxNotedKey)+": ", "cut to "+strconv.Itoa(len(cut))+" bytes")
		changed = true
	}
	return changed
}

// removeAttrs removes attributes, largest first.
func (t *trimmer) removeAttrs(over int) bool {
	if len(t.attrs) == 0 {
		return false
	}
	sizes, order := t.attrSizes()
	gone := make([]bool, len(t.attrs))
	for _, i := range order {
		if over <= 0 {
			break
		}
		gone[i] = true
		over -= sizes[i] + 1
		t.note("attributes." + truncate(t.attrs[i].Key, maxNotedKey) + ": removed")
	}
	kept := t.attrs[:0:0]
	for i, a := range t.attrs {
		if !gone[i] {
			kept = append(kept, a)
		}
	}
	t.attrs = kept
	return true
}

// cutStack keeps the top frames of the stack.
func (t *trimmer) cutStack(over int) bool {
	was := len(t.r.StackTrace)
	cut := cutFrames(t.r.StackTrace, was-over-len(truncMarker)-1)
	if len(cut) >= was {
		return false
	}
	t.r.StackTrace = cut
	t.replaceNote("stack_trace: ", "cut to "+strconv.Itoa(len(cut))+" bytes")
	return true
}

// cutError cuts the error text.
func (t *trimmer) cutError(over int) bool {
	was := len(t.r.Error)
	cut := truncate(t.r.Error, max(was-over-len(truncMarker), 0))
	if len(cut) >= was {
		return false
	}
	t.r.Error = cut
	t.replaceNote("error: ", "cut to "+strconv.Itoa(len(cut))+" bytes")
	return true
}

// cutMessage cuts the message, never below messageFloor.
func (t *trimmer) cutMessage(over int) bool {
	was := len(t.r.Message)
	cut := truncate(t.r.Message, max(was-over-len(truncMarker), messageFloor(t.limit)))
	if len(cut) >= was {
		return false
	}
	t.r.Message = cut
	t.replaceNote("message: ", "cut to "+strconv.Itoa(len(cut))+" bytes")
	return true
}

// cutEverything handles what is left over: the breadcrumbs, the
// attributes, and the ids, the active run and the logger name, cut to a
// share of the limit each.
func (t *trimmer) cutEverything(int) bool {
	if len(t.m.breadcrumbs) > 0 {
		t.m.breadcrumbs = nil
		t.note("breadcrumbs: removed")
	}
	if len(t.attrs) > 0 {
		t.note("attributes: " + strconv.Itoa(len(t.attrs)) + " removed")
		t.attrs = nil
	}
	n := idShare(t.limit)
	t.r.Logger = truncate(t.r.Logger, n)
	t.m.installID, t.m.sessionID, t.m.userID = truncate(t.m.installID, n), truncate(t.m.sessionID, n), truncate(t.m.userID, n)
	if run := t.m.activeRun; run != nil {
		t.m.activeRun = &ActiveRun{ThreadID: truncate(run.ThreadID, n/2), RunID: truncate(run.RunID, n/2)}
	}
	t.note("logger and ids: cut to " + strconv.Itoa(n) + " bytes")
	return false // all it can do is done
}

// crumbSize returns the encoded size of one breadcrumb.
func crumbSize(c *Breadcrumb) int {
	return len(wire.AppendBreadcrumb(nil, &wire.Breadcrumb{
		Time: c.Time, Level: wire.LevelName(c.Level), Logger: c.Logger, Message: c.Message, Category: c.Category,
	}))
}

// lastOfEachKey returns attrs with each key once, where its last
// occurrence was: the attributes a reader of the entry gets.
func lastOfEachKey(attrs []slog.Attr) []slog.Attr {
	last := make(map[string]int, len(attrs))
	for i, a := range attrs {
		last[a.Key] = i
	}
	if len(last) == len(attrs) {
		return attrs
	}
	out := make([]slog.Attr, 0, len(last))
	for i, a := range attrs {
		if last[a.Key] == i {
			out = append(out, a)
		}
	}
	return out
}

// truncate cuts s to at most n bytes, on a rune boundary where s is valid
// UTF-8, and adds the marker; a string that already fits is returned as
// it is.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n] + truncMarker
}

// cutFrames cuts a goroutine stack to at most n bytes at a frame
// boundary (a function line with its file line), keeping the top frames,
// and adds the marker.
func cutFrames(stack string, n int) string {
	if len(stack) <= n {
		return stack
	}
	if n <= 0 {
		return truncMarker
	}
	head := stack[:n]
	for end := len(head); end > 0; {
		i := strings.LastIndexByte(head[:end], '\n')
		if i < 0 {
			break
		}
		if i+1 < len(stack) && stack[i+1] != '\t' {
			return stack[:i+1] + truncMarker
		}
		end = i
	}
	return truncate(stack, n)
}
