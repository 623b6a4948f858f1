package rum

import (
	"context"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// Time starts timing the operation op with the Monitor ctx carries (see
// NewContext; the middleware puts one in every request's context) and
// returns the function that ends it:
//
//	defer rum.Time(ctx, "checkout")()
//
// Without a Monitor in ctx it does nothing.
func Time(ctx context.Context, op string) func() {
	return FromContext(ctx).Time(ctx, op)
}

func noop() {}

// Time starts timing the operation op and returns the function that ends
// it. Each operation name is counted in its own summary; a run that takes
// SlowOperation or longer is logged at warning (metric op), at most
// Options.Warnings per name per summary window, and when debug is enabled
// for the "op" logger every other run is logged at debug. Inside a request
// served by the middleware, the record names the request's route. A nil
// Monitor returns a function that does nothing.
func (m *Monitor) Time(ctx context.Context, op string) func() {
	if m == nil || m.closed.Load() {
		return noop
	}
	start := time.Now()
	return func() { m.finishOp(ctx, op, time.Since(start)) }
}

func (m *Monitor) finishOp(ctx context.Context, op string, d time.Duration) {
	s := m.ops.get(seriesKey{name: op})
	s.observe(d)
	slow := d >= m.opts.SlowOperation
	if slow {
		s.slow.Add(1)
	}
	level, ok := s.levelFor(slow, m.opts.Warnings, m.opLog)
	if !ok {
		return
	}
	msg := "operation"
	if level == logrecord.LevelWarning {
		msg = "slow operation"
	}
	args := []any{"metric", metricOp, "ms", millis(d), "op", op}
	if route, ok := routeOf(ctx); ok {
		args = append(args, "route", route)
	}
	m.opLog.Log(ctx, level, msg, nil, args...)
}
