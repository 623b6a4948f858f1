package backendsink

import (
	"log/slog"
	"slices"
	"time"

	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
)

// Attributes that keep what the sink repaired.
const (
	invalidTimestampKey   = wire.InvalidKeyPrefix + wire.FieldTimestamp
	invalidTraceIDKey     = wire.InvalidKeyPrefix + wire.FieldTraceID
	invalidSpanIDKey      = wire.InvalidKeyPrefix + wire.FieldSpanID
	invalidBreadcrumbsKey = wire.InvalidKeyPrefix + wire.FieldBreadcrumbs
)

// repair returns r and its breadcrumbs as a conforming backend accepts
// them, keeping what it replaced in fieldlog.invalid.* attributes:
//
//   - a zero time, or one outside years 0001–9999, becomes handed (when
//     the record was handed to the sink; now if that is unknown), the
//     original kept in fieldlog.invalid.timestamp;
//   - a trace or span id that is not lower-case hex of the right length
//     is sent as null, the original kept in fieldlog.invalid.trace_id or
//     fieldlog.invalid.span_id;
//   - a breadcrumb's time is repaired the same way with the record's time,
//     and a category outside the four becomes system; the originals are
//     kept in fieldlog.invalid.breadcrumbs, by index.
//
// A record with nothing to repair is returned as it is.
func repair(r logrecord.Record, crumbs []Breadcrumb, handed time.Time) (logrecord.Record, []Breadcrumb) {
	badTime := !wire.ValidTime(r.Time)
	badTrace := r.TraceID != "" && !wire.ValidTraceID(r.TraceID)
	badSpan := r.SpanID != "" && !wire.ValidSpanID(r.SpanID)
	badCrumbs := slices.ContainsFunc(crumbs, func(c Breadcrumb) bool {
		return !wire.ValidTime(c.Time) || !wire.IsCategory(c.Category)
	})
	if !badTime && !badTrace && !badSpan && !badCrumbs {
		return r, crumbs
	}
	var kept []slog.Attr
	if badTime {
		if handed.IsZero() {
			handed = time.Now()
		}
		kept = append(kept, slog.String(invalidTimestampKey, timeText(r.Time)))
		r.Time = handed
	}
	if badTrace {
		kept = append(kept, slog.String(invalidTraceIDKey, r.TraceID))
		r.TraceID = ""
	}
	if badSpan {
		kept = append(kept, slog.String(invalidSpanIDKey, r.SpanID))
		r.SpanID = ""
	}
	if badCrumbs {
		crumbs = slices.Clone(crumbs)
		var originals []any
		for i := range crumbs {
			c := &crumbs[i]
			var orig map[string]any
			if !wire.ValidTime(c.Time) {
				orig = map[string]any{"index": int64(i), wire.FieldTimestamp: timeText(c.Time)}
				c.Time = r.Time
			}
			if !wire.IsCategory(c.Category) {
				if orig == nil {
					orig = map[string]any{"index": int64(i)}
				}
				orig[wire.FieldCategory] = c.Category
				c.Category = logrecord.CategorySystem
			}
			if orig != nil {
				originals = append(originals, orig)
			}
		}
		kept = append(kept, slog.Any(invalidBreadcrumbsKey, originals))
	}
	return r.WithAttrs(kept...), crumbs
}

// timeText writes a time that may be outside what RFC 3339 allows.
func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
