package ingest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kinds of TimelineItem.
const (
	KindMarker       = "marker"        // the session start marker
	KindRecord       = "record"        // any other record
	KindError        = "error"         // an error record, its breadcrumbs folded under it
	KindCrash        = "crash"         // a fatal record: a panic or a crash report
	KindUncleanExit  = "unclean_exit"  // the session ended with neither crash output nor Close, as the next start reported
	KindDropped      = "dropped"       // records the client lost before delivery, placed where the loss began
	KindLevelChange  = "level_change"  // the remote log level changed
	KindConnectivity = "connectivity"  // a record of a Connectivity or Network logger
	KindLateDelivery = "late_delivery" // the records after it reached the server LateAfter or more after they were written
)

// LateAfter is the delivery delay past which the timeline marks records
// as delivered late: written offline and replayed, or a client clock that
// is behind.
const LateAfter = time.Minute

// A Timeline is one session, as the support view shows it.
type Timeline struct {
	Session SessionSummary `json:"session"`
	Items   []TimelineItem `json:"items"` // in time order
}

// A TimelineItem is one record of a session, or a note about several.
//
// Time is when the client says the record happened; ReceivedAt when the
// server accepted it; DelayMillis the difference. A negative delay is a
// client clock ahead of the server's; a large one, delivery after an
// outage (or a clock behind).
type TimelineItem struct {
	Kind        string               `json:"kind"`
	Time        time.Time            `json:"time"`
	ReceivedAt  *time.Time           `json:"received_at,omitempty"`
	DelayMillis int64                `json:"delay_ms"`
	Level       string               `json:"level,omitempty"`
	Logger      string               `json:"logger,omitempty"`
	Message     string               `json:"message,omitempty"`
	Error       string               `json:"error,omitempty"`
	StackTrace  string               `json:"stack_trace,omitempty"`
	Fingerprint string               `json:"fingerprint,omitempty"`
	Truncated   []string             `json:"truncated,omitempty"` // what the client cut to fit (fieldlog.truncated)
	Attachments []TimelineAttachment `json:"attachments,omitempty"`
	Breadcrumbs []TimelineCrumb      `json:"breadcrumbs,omitempty"`
	ReportedBy  string               `json:"reported_by,omitempty"` // the later session that shipped this report
	Note        string               `json:"note,omitempty"`
	Attributes  map[string]any       `json:"attributes,omitempty"`
}

// A TimelineCrumb is a breadcrumb of an error. Delivered says the record
// also arrived on its own, and was folded here.
type TimelineCrumb struct {
	Breadcrumb
	Delivered bool `json:"delivered,omitempty"`
}

// A TimelineAttachment is a diagnostics attachment a record names: the
// attribute that names it, its id, and the path this server serves it at
// (GET AttachmentsPath/{id}, behind the same authentication). URL is empty
// for an id the server did not hand out.
type TimelineAttachment struct {
	Name string `json:"name"` // diagnostics.goroutines or diagnostics.heap
	ID   string `json:"id"`
	URL  string `json:"url,omitempty"`
}

// Attributes of diagnostics, as the crash package writes them: the ids,
// and, when the ids came after the record, the record they belong to.
const (
	diagForTimeKey    = "diagnostics.record_time"
	diagForMessageKey = "diagnostics.record_message"
)

// attachmentKeys are the attributes that name diagnostics attachments.
var attachmentKeys = []string{"diagnostics.goroutines", "diagnostics.heap"}

// buildTimeline orders a session's entries, folds breadcrumbs under their
// error, places lost-records entries where the loss began, and marks late
// deliveries.
func buildTimeline(sum SessionSummary, entries []StoredEntry) *Timeline {
	items := make([]TimelineItem, 0, len(entries)+4)
	for i := range entries {
		items = append(items, timelineItem(sum.SessionID, &entries[i]))
	}
	items = foldCrumbs(foldAttachments(items))
	slices.SortStableFunc(items, func(a, b TimelineItem) int {
		if a.Kind == KindMarker != (b.Kind == KindMarker) { // the marker first, whatever the clock
			if a.Kind == KindMarker {
				return -1
			}
			return 1
		}
		return a.Time.Compare(b.Time)
	})
	return &Timeline{Session: sum, Items: markLate(items)}
}

func timelineItem(session string, e *StoredEntry) TimelineItem {
	it := TimelineItem{Kind: KindRecord, Time: e.Time(), Level: e.Level, Logger: e.Logger, Message: e.Message}
	if s, ok := e.Attributes[ReceivedAtKey].(string); ok {
		if t, ok := parseTime(s, true); ok {
			it.ReceivedAt = &t
			if !it.Time.IsZero() {
				it.DelayMillis = t.Sub(it.Time).Milliseconds()
			}
		}
	}
	if e.Error != nil {
		it.Error = *e.Error
	}
	if e.StackTrace != nil {
		it.StackTrace = *e.StackTrace
	}
	it.Fingerprint, _ = e.Attributes[FingerprintKey].(string)
	for _, k := range attachmentKeys {
		if id, ok := e.Attributes[k].(string); ok && id != "" {
			it.Attachments = append(it.Attachments, TimelineAttachment{Name: k, ID: id, URL: attachmentURL(id)})
		}
	}
	it.Truncated = stringList(e.Attributes[TruncatedKey])
	for _, c := range e.Breadcrumbs {
		it.Breadcrumbs = append(it.Breadcrumbs, TimelineCrumb{Breadcrumb: c})
	}
	if other, ok := e.Attributes[CrashSessionKey].(string); ok && other == session && e.SessionID != session {
		it.ReportedBy = e.SessionID
	}
	it.Attributes = otherAttrs(e.Attributes)
	switch {
	case isMarker(e):
		it.Kind = KindMarker
	case e.Attributes[CrashKindKey] == crashUncleanExit:
		it.Kind = KindUncleanExit
		if last, ok := e.Attributes["crash.last_seen"].(string); ok {
			if t, ok := parseTime(last, true); ok {
				it.Time = t // where the session went silent
			}
		}
		it.Note = "the session ended without crash output or a clean exit (killed, out of memory, power loss)"
	case e.Level == "fatal":
		it.Kind = KindCrash
	case e.Level == "error":
		it.Kind = KindError
	case e.Logger == markerLogger && e.Attributes[DroppedTotalKey] != nil:
		it.Kind = KindDropped
		if from, ok := e.Attributes[DroppedFromKey].(string); ok {
			if t, ok := parseTime(from, true); ok {
				it.Time = t
			}
		}
		n, _ := number(e.Attributes[DroppedTotalKey])
		it.Note = fmt.Sprintf("%d records lost before delivery", n)
	case e.Message == "log_level_changed":
		it.Kind = KindLevelChange
	case hasPrefixFold(e.Logger, "connectivity") || hasPrefixFold(e.Logger, "network"):
		it.Kind = KindConnectivity
	}
	if len(it.Truncated) > 0 && it.Note == "" {
		it.Note = "cut to fit: " + strings.Join(it.Truncated, ", ")
	}
	return it
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// stringList reads an attribute that is a string or a list of strings.
func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return t
	}
	return nil
}

// otherAttrs returns the attributes the item does not show in its own
// fields.
func otherAttrs(attrs map[string]any) map[string]any {
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		switch k {
		case ReceivedAtKey, FingerprintKey, TruncatedKey:
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// crumbKey identifies a record and its breadcrumb: time, logger, message.
func crumbKey(t time.Time, logger, message string) string {
	return t.UTC().Format(time.RFC3339Nano) + "\x00" + logger + "\x00" + message
}

// foldCrumbs removes records that also arrived as a breadcrumb of an
// error or crash, marking the breadcrumb delivered.
func foldCrumbs(items []TimelineItem) []TimelineItem {
	where := map[string][]*TimelineCrumb{}
	for i := range items {
		for j := range items[i].Breadcrumbs {
			c := &items[i].Breadcrumbs[j]
			if t, ok := parseTime(c.Timestamp, true); ok {
				k := crumbKey(t, c.Logger, c.Message)
				where[k] = append(where[k], c)
			}
		}
	}
	if len(where) == 0 {
		return items
	}
	out := items[:0]
	for _, it := range items {
		if it.Kind == KindRecord || it.Kind == KindConnectivity || it.Kind == KindLevelChange {
			if cs := where[crumbKey(it.Time, it.Logger, it.Message)]; len(cs) > 0 {
				for _, c := range cs {
					c.Delivered = true
				}
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// foldAttachments moves the ids of a "diagnostics attached" record, which
// follows a record that could not wait for them, to that record.
func foldAttachments(items []TimelineItem) []TimelineItem {
	type key struct {
		ms  int64
		msg string
	}
	var (
		where map[key]int
		moved []bool
	)
	for i := range items {
		it := &items[i]
		at, ok := it.Attributes[diagForTimeKey].(string)
		if !ok || len(it.Attachments) == 0 {
			continue
		}
		t, ok := parseTime(at, true)
		if !ok {
			continue
		}
		if where == nil {
			where = make(map[key]int, len(items))
			for j := range items {
				where[key{items[j].Time.UnixMilli(), items[j].Message}] = j
			}
			moved = make([]bool, len(items))
		}
		msg, _ := it.Attributes[diagForMessageKey].(string)
		if j, found := where[key{t.UnixMilli(), msg}]; found && j != i && !moved[j] {
			items[j].Attachments = append(items[j].Attachments, it.Attachments...)
			moved[i] = true
		}
	}
	if moved == nil {
		return items
	}
	out := items[:0]
	for i, it := range items {
		if !moved[i] {
			out = append(out, it)
		}
	}
	return out
}

// markLate inserts a KindLateDelivery item before each run of records
// delivered LateAfter or more after they were written.
func markLate(items []TimelineItem) []TimelineItem {
	late := func(it *TimelineItem) bool {
		return it.ReceivedAt != nil && it.DelayMillis >= LateAfter.Milliseconds() &&
			it.Kind != KindMarker && it.Kind != KindDropped && it.Kind != KindUncleanExit && it.ReportedBy == ""
	}
	out := make([]TimelineItem, 0, len(items))
	for i := 0; i < len(items); {
		if !late(&items[i]) {
			out = append(out, items[i])
			i++
			continue
		}
		j := i
		for j < len(items) && late(&items[j]) {
			j++
		}
		first, last := items[i], items[j-1]
		out = append(out, TimelineItem{
			Kind: KindLateDelivery, Time: first.Time, ReceivedAt: first.ReceivedAt, DelayMillis: first.DelayMillis,
			Note: fmt.Sprintf("%d records written from %s to %s reached the server late (first %s after it was written): kept offline and replayed, or a clock behind",
				j-i, first.Time.UTC().Format(time.RFC3339), last.Time.UTC().Format(time.RFC3339), (time.Duration(first.DelayMillis) * time.Millisecond).String()),
		})
		out = append(out, items[i:j]...)
		i = j
	}
	return out
}
