package backendsink

import (
	"context"
	"errors"
	"fmt"
	"time"
)

type result int

const (
	resultOK        result = iota // everything given was confirmed or dropped
	resultStop                    // pause or backoff: stop this cycle
	resultFailed5xx               // isolating: the request got a server error
)

// send posts items (plus, at the top level, the lost-records entry) and
// reacts to the answer as the reaction table says. isolating is set while
// bisecting a batch that keeps failing with server errors: a 5xx is then
// returned to the caller instead of backing off.
func (u *uploader) send(ctx context.Context, token string, items []item, lost []byte, isolating bool) result {
	req := u.prepare(token, items, lost)
	return u.react(ctx, token, req, u.post.post(ctx, req), items, lost, isolating)
}

// prepare builds the request for items (and the lost-records entry).
func (u *uploader) prepare(token string, items []item, lost []byte) *request {
	endpoint := *u.endpoint.Load()
	req := &request{endpoint: endpoint, token: token, sent: len(items), gzip: u.opts.Gzip && !u.plain[endpoint]}
	if len(lost) > 0 {
		req.sent++
	}
	req.body = u.buildBody(items, lost)
	u.stats.requests.Add(1)
	u.stats.sent.Add(int64(len(items)))
	return req
}

// action classifies an answer.
func (u *uploader) action(ans Answer) Action {
	act := u.opts.Classify(ans)
	if act == Unexpected && u.opts.ConfirmAny2xx && ans.Status >= 200 && ans.Status < 300 {
		act = Confirm
	}
	return act
}

// react applies the reaction table to the answer to req.
func (u *uploader) react(ctx context.Context, token string, req *request, ans Answer, items []item, lost []byte, isolating bool) result {
	endpoint := req.endpoint
	if ans.Err != nil && ctx.Err() != nil {
		return resultStop // Flush's ctx or Close's deadline ended it: no verdict on the server
	}
	act := u.action(ans)
	if act == Confirm {
		u.confirm(items, lost, isolating)
		return resultOK
	}
	var failure error = ans.Err
	if failure == nil {
		failure = statusError(ans, token, u.now())
	}
	switch act {
	case PauseAuth:
		u.stopKey = "pause-auth"
		u.setPaused(PausedAuth, token, "", &stopError{kind: ErrPaused, what: "export paused until the token changes", cause: failure})
		u.setLastErr(failure)
		return resultStop
	case PauseEndpoint:
		u.stopKey = "pause-endpoint"
		u.setPaused(PausedEndpoint, "", endpoint, &stopError{kind: ErrPaused, what: "export paused until the endpoint changes", cause: failure})
		u.setLastErr(failure)
		return resultStop
	case Uncompressed:
		if req.gzip {
			u.plain[endpoint] = true
			u.report(&stopError{what: "sending uncompressed bodies to " + endpoint + " from now on", cause: failure})
			return u.send(ctx, token, items, lost, isolating)
		}
		return u.bisect(ctx, token, items, lost, isolating, Reject, failure)
	case Split, Reject:
		return u.bisect(ctx, token, items, lost, isolating, act, failure)
	case Unexpected:
		u.stopKey = "unexpected"
		u.fail(failure, 0)
		return resultStop
	case RateLimited:
		u.fail(failure, retryAfterOf(failure))
		return resultStop
	case ServerError:
		if isolating {
			u.setLastErr(failure)
			return resultFailed5xx
		}
		u.consecutive5xx++
		if u.consecutive5xx < poisonAttempts || len(items) == 0 {
			u.fail(failure, retryAfterOf(failure))
			return resultStop
		}
		return u.isolate(ctx, token, items)
	}
	// Unreachable, and actions a custom Classify invented.
	u.fail(failure, retryAfterOf(failure))
	return resultStop
}

// bisect sends items in halves to isolate the records the server refuses
// (act Reject) or finds too large (act Split), dropping a single record
// that is still refused.
func (u *uploader) bisect(ctx context.Context, token string, items []item, lost []byte, isolating bool, act Action, cause error) result {
	reason := DropRejected
	if act == Split {
		reason = DropTooLarge
	}
	if len(items) <= 1 {
		if len(items) == 1 {
			u.drop(items, reason, cause)
		} else if len(lost) > 0 {
			u.store.MarkReported(u.lostReport) // the lost-records entry itself is refused: do not retry it forever
		}
		return resultOK
	}
	if len(lost) > 0 {
		if r := u.send(ctx, token, nil, lost, isolating); r != resultOK {
			return r
		}
	}
	h := len(items) / 2
	if r := u.send(ctx, token, items[:h], nil, isolating); r != resultOK {
		return r
	}
	return u.send(ctx, token, items[h:], nil, isolating)
}

func retryAfterOf(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// isolate bisects items, which just failed with a server error, to find
// the records the server cannot take. A half that succeeds is confirmed; a
// half that fails is halved again; when both halves fail, the server is
// failing in general and the sink backs off on the whole batch.
func (u *uploader) isolate(ctx context.Context, token string, items []item) result {
	if len(items) == 1 {
		return u.failedAlone(ctx, token, items[0])
	}
	h := len(items) / 2
	ra := u.send(ctx, token, items[:h], nil, true)
	if ra == resultStop {
		return ra
	}
	rb := u.send(ctx, token, items[h:], nil, true)
	if rb == resultStop {
		return rb
	}
	switch {
	case ra == resultFailed5xx && rb == resultFailed5xx:
		u.consecutive5xx = 0
		u.fail(u.lastErr, 0)
		return resultStop
	case ra == resultFailed5xx:
		return u.isolate(ctx, token, items[:h])
	case rb == resultFailed5xx:
		return u.isolate(ctx, token, items[h:])
	}
	return resultOK
}

// failedAlone counts a server error for a record sent on its own. It is
// the poison pill once it has failed alone poisonAttempts times, each time
// with another request succeeding since its previous failure. When nothing
// has succeeded since, an empty batch probes the server: if that fails
// too, the server is failing in general, which never costs a record.
func (u *uploader) failedAlone(ctx context.Context, token string, it item) result {
	sp, seen := u.suspects[it.id]
	if (seen && sp.okAt == u.okCount) || (!seen && u.okCount == 0) {
		if r := u.send(ctx, token, nil, nil, true); r != resultOK {
			if r == resultFailed5xx {
				u.fail(u.lastErr, 0)
			}
			return resultStop
		}
	}
	sp.failures++
	sp.okAt = u.okCount
	u.suspects[it.id] = sp
	if sp.failures >= poisonAttempts {
		delete(u.suspects, it.id)
		u.drop([]item{it}, DropPoison, fmt.Errorf("failed alone %d times while other requests succeeded", sp.failures))
		return resultOK
	}
	u.fail(u.lastErr, 0)
	return resultStop
}

// fail records a failed upload and backs off, for at least retryAfter.
func (u *uploader) fail(err error, retryAfter time.Duration) {
	u.setLastErr(err)
	d := max(u.bo.NextBackOff(), retryAfter)
	u.retryAt = u.now().Add(d)
	u.stats.retries.Add(1)
	u.stats.mu.Lock()
	u.stats.backoffUntil = u.retryAt
	u.stats.mu.Unlock()
}

func (u *uploader) setLastErr(err error) {
	u.lastErr = err
	u.stats.mu.Lock()
	u.stats.lastErr = err
	u.stats.mu.Unlock()
}

func (u *uploader) confirm(items []item, lost []byte, isolating bool) {
	if len(items) > 0 {
		if err := u.store.Delete(ids(items)); err != nil {
			u.report(fmt.Errorf("backendsink: confirm %d records: %w", len(items), err))
		}
	}
	if len(lost) > 0 {
		u.store.MarkReported(u.lostReport)
	}
	for _, it := range items {
		delete(u.suspects, it.id)
	}
	u.okCount++
	if !isolating {
		u.consecutive5xx = 0
	}
	u.bo.Reset()
	u.retryAt = time.Time{}
	u.lastErr = nil
	u.told = ""
	u.stats.confirmed.Add(int64(len(items)))
	u.stats.mu.Lock()
	u.stats.lastSuccess = u.now()
	u.stats.lastErr = nil
	u.stats.backoffUntil = time.Time{}
	u.stats.mu.Unlock()
}

// drop removes records the server will never take, counting them, and
// reports each drop with its cause.
func (u *uploader) drop(items []item, reason string, cause error) {
	if err := u.store.Discard(reason, ids(items)); err != nil {
		u.report(fmt.Errorf("backendsink: drop %d records: %w", len(items), err))
	}
	u.report(&stopError{what: fmt.Sprintf("dropped %d record(s) (%s)", len(items), reason), cause: cause})
}

func ids(items []item) []uint64 {
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = it.id
	}
	return out
}

// buildBody assembles {"logs":[…],"resource":{…}} from encoded entries.
func (u *uploader) buildBody(items []item, lost []byte) []byte {
	b := &u.body
	b.Reset()
	b.WriteString(`{"logs":[`)
	n := 0
	if len(lost) > 0 {
		b.Write(lost)
		n++
	}
	for _, it := range items {
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(it.data)
		n++
	}
	b.WriteString(`],"resource":`)
	b.Write(u.resource)
	b.WriteByte('}')
	return b.Bytes()
}
