package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// A display shows progress as a bar redrawn in place, as lines, or not at
// all (--progress); trouble is shown in every mode: in place of the bar,
// or as a line when it changes and every repeatEvery while it lasts.
type display struct {
	mode    string    // bar, lines or none
	out     io.Writer // lines mode's progress lines
	err     io.Writer // the bar, and trouble
	drawn   int       // length of the line drawn in place; 0: none
	lastN   int64
	key     string // the trouble shown last; "" when none
	shownAt time.Time
}

// repeatEvery is how often lasting trouble is repeated as a line, so that
// a run without a bar is never silent for long.
const repeatEvery = 15 * time.Second

func newDisplay(mode string, out, err io.Writer) *display {
	return &display{mode: mode, out: out, err: err, lastN: -1}
}

// inPlace redraws the line shown in place.
func (d *display) inPlace(s string) {
	pad := max(d.drawn-len(s), 0)
	fmt.Fprintf(d.err, "\r%s%s", s, strings.Repeat(" ", pad))
	d.drawn = len(s)
}

// done ends the line drawn in place.
func (d *display) done() {
	if d.drawn > 0 {
		fmt.Fprintln(d.err)
		d.drawn = 0
	}
}

func bar(label string, n, total int64) string {
	const width = 30
	filled := width
	if total > 0 {
		filled = int(min(width, max(0, n*width/total)))
	}
	return fmt.Sprintf("  %-10s [%s%s] %s/%s", label, strings.Repeat("#", filled), strings.Repeat("-", width-filled), num(n), num(total))
}

// logged shows the progress of writing: n of count records handed over
// and synced, and where the queue's records went.
func (d *display) logged(n, count int, delivered, dropped int64, queued int) {
	switch d.mode {
	case "lines":
		fmt.Fprintf(d.out, "logged %d: delivered %d, dropped %d, queued %d\n", n, delivered, dropped, queued)
	case "bar":
		s := bar("logging", int64(n), int64(count))
		if dropped > 0 {
			s += fmt.Sprintf(" (%s dropped)", num(dropped))
		}
		d.inPlace(s)
	}
}

// delivered shows the progress of delivery.
func (d *display) delivered(n, total int64) {
	if d.key != "" {
		d.key, d.lastN = "", -1 // trouble is over: redraw the progress
		if d.mode != "bar" {
			fmt.Fprintf(d.err, "offline-replay: delivering again\n")
		}
	}
	if n == d.lastN {
		return
	}
	d.lastN = n
	switch d.mode {
	case "lines":
		fmt.Fprintf(d.out, "delivered %d of %d\n", n, total)
	case "bar":
		d.inPlace(bar("delivering", n, total))
	}
}

// status shows trouble that is being retried; key changes only when the
// kind of trouble does.
func (d *display) status(key, text string) {
	if d.mode == "bar" {
		d.key = key
		d.inPlace("  " + text)
		return
	}
	if key == d.key && time.Since(d.shownAt) < repeatEvery {
		return
	}
	d.key, d.shownAt = key, time.Now()
	fmt.Fprintln(d.err, "offline-replay:", text)
}
