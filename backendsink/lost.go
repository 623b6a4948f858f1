package backendsink

import (
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
)

// lostEntry returns the encoded "records dropped" entry for the store's
// drops not yet reported to the server, or nil, and keeps in u.lostReport
// what it covers, to be marked reported once the server confirms the
// batch that carries it (a crash before then reports it again, never not
// at all).
func (u *uploader) lostEntry() []byte {
	un := u.store.Unreported()
	u.lostReport = un
	total := un.Total()
	if total == 0 {
		return nil
	}
	byReason := map[string]int64{}
	var high int64
	for _, c := range un.Counts {
		byReason[c.Reason] += c.N
		if c.Class == diskqueue.High {
			high += c.N
		}
	}
	attrs := []slog.Attr{slog.Int64("dropped_total", total), slog.Int64("dropped_high", high)}
	for _, k := range slices.Sorted(maps.Keys(byReason)) {
		attrs = append(attrs, slog.Int64("dropped."+k, byReason[k]))
	}
	msg := "dropped " + strconv.FormatInt(total, 10) + " records before delivery"
	if !un.From.IsZero() {
		from, to := un.From.UTC().Format(time.RFC3339Nano), un.To.UTC().Format(time.RFC3339Nano)
		attrs = append(attrs, slog.String("dropped_from", from), slog.String("dropped_to", to))
		msg += " between " + from + " and " + to
	}
	r := logrecord.New(u.now(), logrecord.LevelWarning, "fieldlog", msg, attrs...)
	id := u.ident.Load()
	meta := entryMeta{installID: u.opts.InstallID, sessionID: u.opts.SessionID, userID: id.userID, activeRun: id.run}
	return u.enc.entry(nil, &r, &meta, MaxEntryBytes)
}

// encodeResource encodes the resource object once: every value as a
// string, exactly (a string as it is, anything else as the text of its
// coerced value).
func encodeResource(res map[string]any) []byte {
	m := make(map[string]string, len(res))
	for k, v := range res {
		m[k] = resourceText(v)
	}
	return wire.AppendResource(nil, m)
}

// resourceText returns the string a resource value is sent as.
func resourceText(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	v := logrecord.Coerce(slog.AnyValue(x))
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case slog.KindUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.FormatBool(v.Bool())
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	case slog.KindAny:
		if v.Any() == nil {
			return ""
		}
	}
	return string(wire.AppendValue(nil, v)) // a list or an object: its JSON text
}
