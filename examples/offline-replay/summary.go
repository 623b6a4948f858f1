package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/diskqueue"
)

// A tally accounts for every record a command touched:
//
//	before + written = delivered + dropped + queued
type tally struct {
	dir        string
	before     int              // in the queue when the command opened it
	written    int              // logged by this run (log, demo)
	committed  int64            // of the records this run wrote, those that reached the queue file
	delivered  int64            // confirmed by the ingest server
	dropped    map[string]int64 // by reason, during this run
	queued     int              // still in the queue
	earlier    map[string]int64 // dropped before this run, over the queue file's life
	reported   int64            // drops the server was told of during this run
	unreported int64            // drops not yet told
	maxBytes   int64            // the cap this run used; 0: none
	diskError  string           // the last failed commit
	closeErr   error            // making records durable or closing the queue failed
}

// balance is what the equation misses: zero when every record is
// accounted for.
func (t *tally) balance() int64 {
	return int64(t.before+t.written) - t.delivered - sum(t.dropped) - int64(t.queued)
}

// dropReason explains each reason a record can be dropped for.
func dropReason(reason string, t *tally) string {
	switch reason {
	case diskqueue.DropCap:
		if t.maxBytes > 0 {
			return fmt.Sprintf("the queue's %s cap evicted the oldest records (raise --max-queue-bytes)", formatBytes(t.maxBytes))
		}
		return "the queue's cap evicted the oldest records"
	case diskqueue.DropBufferFull:
		return "records arrived faster than the disk took them"
	case diskqueue.DropDiskError:
		if t.diskError != "" {
			return "writing them to disk failed: " + withoutPrefixes(t.diskError)
		}
		return "writing them to disk failed"
	case diskqueue.DropCorrupt:
		return "damaged on disk (checksum failed)"
	case diskqueue.DropCleared:
		return "the queue was cleared"
	case backendsink.DropRejected:
		return "the server rejected them as invalid (400, 422)"
	case backendsink.DropPoison:
		return "each failed alone with a server error while other records got through"
	case backendsink.DropTooLarge:
		return "too large for the server (413)"
	case backendsink.DropShutdown:
		return "still in memory when the program had to stop"
	}
	return ""
}

// print writes the summary. what names the records a run wrote
// ("logged by this run").
func (t *tally) print(w io.Writer, what string) {
	row := func(indent int, label string, n int64, note string) {
		line := fmt.Sprintf("%s%-*s %11s", strings.Repeat(" ", indent), 18-indent, label, num(n))
		if note != "" {
			line += "   " + note
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, "Summary")
	if t.before > 0 || t.written == 0 {
		row(2, "queued before", int64(t.before), "in "+t.dir+" when this run started")
	}
	var lhs []string
	if t.before > 0 || t.written == 0 {
		lhs = append(lhs, num(t.before)+" queued before")
	}
	if t.written > 0 {
		row(2, "written", int64(t.written), what)
		row(4, "on disk", t.committed, "reached the queue file")
		lhs = append(lhs, num(t.written)+" written")
	}
	row(2, "delivered", t.delivered, "confirmed by the ingest server")
	row(2, "dropped", sum(t.dropped), "")
	for _, k := range sortedKeys(t.dropped) {
		if t.dropped[k] > 0 {
			row(4, k, t.dropped[k], dropReason(k, t))
		}
	}
	note := "nothing left"
	if t.queued > 0 {
		note = "safe on disk in " + t.dir
	}
	row(2, "still queued", int64(t.queued), note)
	eq := fmt.Sprintf("  %s = %s delivered + %s dropped + %s still queued", strings.Join(lhs, " + "),
		num(t.delivered), num(sum(t.dropped)), num(t.queued))
	if b := t.balance(); b != 0 {
		eq += fmt.Sprintf("; %s unaccounted for (a counting error: inspect the queue)", num(b))
	}
	fmt.Fprintln(w, eq)
	if n := sum(t.earlier); n > 0 {
		fmt.Fprintf(w, "  earlier runs dropped %s records (%s)\n", num(n), formatCounts(t.earlier))
	}
	if t.reported > 0 {
		fmt.Fprintf(w, "  the server was told of %s dropped records in a \"records dropped\" entry\n", num(t.reported))
	}
	if t.unreported > 0 {
		fmt.Fprintf(w, "  %s dropped records are not yet reported to the server: the next delivery tells it\n", num(t.unreported))
	}
}

// A verdict is how a command ended and what to do about it.
type verdict struct {
	code int
	msg  string // cause and advice, printed once with the command's prefix; "" when all is well
}

// conclude turns how delivery ended and the tally into the exit code and
// the closing message.
func conclude(end delivery, t *tally, f *shipFlags) verdict {
	queued := fmt.Sprintf("%s safely queued in %s", plural(t.queued, "record stays", "records stay"), t.dir)
	if t.queued == 0 {
		queued = "nothing is left queued"
	}
	switch {
	case end.kind == endInterrupted:
		return verdict{interruptCode(end.sig), fmt.Sprintf("%s: %s; run replay to deliver them", interruption{end.sig}, queued)}
	case end.kind == endFailed:
		return verdict{exitFailure, end.msg + "; " + queued}
	case t.closeErr != nil:
		return verdict{exitFailure, "closing the queue failed: " + describe(t.closeErr) + "; " + queued}
	case end.kind == endStopped:
		return verdict{exitStopped, end.msg + "; " + queued + ": run replay with the corrected flags to deliver them"}
	case t.queued > 0:
		msg := "delivery ended with records left"
		if end.kind == endTimeout {
			msg = "gave up after --timeout " + f.timeout.String()
		}
		if end.msg != "" {
			msg += ": " + end.msg
		}
		return verdict{exitQueued, msg + "; " + queued + ": run replay when the server is back"}
	case sum(t.dropped) > 0:
		return verdict{exitDropped, fmt.Sprintf("%s dropped (%s); the summary says why",
			plural(sum(t.dropped), "record was", "records were"), formatCounts(t.dropped))}
	}
	return verdict{code: exitOK}
}

// finish prints the summary and the verdict, and returns the exit code.
func finish(stdout, stderr io.Writer, t *tally, what string, v verdict) int {
	fmt.Fprintln(stdout)
	t.print(stdout, what)
	if v.msg != "" {
		fmt.Fprintln(stderr, "offline-replay:", v.msg)
	} else {
		fmt.Fprintf(stdout, "  all %s records delivered\n", num(int64(t.before+t.written)))
	}
	return v.code
}

// plural writes n and the form of words for it: 1 record was, 2 records were.
func plural[T ~int | ~int64](n T, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return num(n) + " " + many
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func sortedKeys(m map[string]int64) []string { return slices.Sorted(maps.Keys(m)) }
