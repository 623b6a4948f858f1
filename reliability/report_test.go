//go:build unix

package reliability_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fuzzRun is one fuzz target's run, as run.sh records it.
type fuzzRun struct {
	Part     string  `json:"part"`
	Module   string  `json:"module"`
	Package  string  `json:"package"`
	Target   string  `json:"target"`
	FuzzTime string  `json:"fuzztime"`
	Result   string  `json:"result"`
	Retries  int     `json:"retries"` // runs again after the toolchain's own deadline report
	Seconds  float64 `json:"seconds"`
	Log      string  `json:"log"` // go test's output
}

// testOutcome is what go test -v said of one test.
type testOutcome struct {
	Result   string
	Seconds  string
	Messages []string
}

// TestWriteReport writes docs/RELIABILITY.md (the file RELIABILITY_REPORT
// names) from the results run.sh gathered: RELIABILITY_OUT (the tests'
// result lines and the fuzz runs) and RELIABILITY_SUITE_LOG (go test -v's
// output). Without RELIABILITY_REPORT it does nothing.
func TestWriteReport(t *testing.T) {
	dst := os.Getenv("RELIABILITY_REPORT")
	if dst == "" {
		t.Skip("run by run.sh")
	}
	raw, err := os.ReadFile(os.Getenv("RELIABILITY_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	var r report
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var head struct{ Part string }
		if err := json.Unmarshal(line, &head); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		var dst any
		switch head.Part {
		case "queue_sigkill":
			r.queue = append(r.queue, queueCrashResult{})
			dst = &r.queue[len(r.queue)-1]
		case "sink_sigkill":
			r.sink = append(r.sink, sinkCrashResult{})
			dst = &r.sink[len(r.sink)-1]
		case "soak":
			r.soak = append(r.soak, soakResult{})
			dst = &r.soak[len(r.soak)-1]
		case "disk_full":
			r.full = append(r.full, diskFullResult{})
			dst = &r.full[len(r.full)-1]
		case "truncation", "damage":
			r.sweeps = append(r.sweeps, sweepResult{})
			dst = &r.sweeps[len(r.sweeps)-1]
		case "fuzz":
			r.fuzz = append(r.fuzz, fuzzRun{})
			dst = &r.fuzz[len(r.fuzz)-1]
		default:
			t.Fatalf("unknown part %q", head.Part)
		}
		if err := json.Unmarshal(line, dst); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	if log := os.Getenv("RELIABILITY_SUITE_LOG"); log != "" {
		if r.tests, err = parseTestLog(log); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dst, r.markdown(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type report struct {
	queue  []queueCrashResult
	sink   []sinkCrashResult
	soak   []soakResult
	full   []diskFullResult
	sweeps []sweepResult
	fuzz   []fuzzRun
	tests  map[string]testOutcome
}

// parseTestLog reads go test -v's output: each top-level test's result
// and the messages of its failed checks.
func parseTestLog(path string) (map[string]testOutcome, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	done := regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (Test\w+) \(([0-9.]+)s\)`)
	run := regexp.MustCompile(`^=== (RUN|CONT)\s+(Test\w+)$`)
	out := map[string]testOutcome{}
	msgs := map[string][]string{}
	current := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if m := run.FindStringSubmatch(line); m != nil {
			current = m[2]
			continue
		}
		if m := done.FindStringSubmatch(line); m != nil {
			out[m[2]] = testOutcome{Result: m[1], Seconds: m[3], Messages: msgs[m[2]]}
			continue
		}
		if _, msg, ok := strings.Cut(line, "Messages:"); ok && current != "" {
			msg = strings.TrimSpace(msg)
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			msgs[current] = append(msgs[current], msg)
		}
	}
	return out, sc.Err()
}

// fuzzStats is what a fuzz run's log says.
type fuzzStats struct {
	execs, corpus int64
	failure       string
}

var (
	execsRe  = regexp.MustCompile(`execs: (\d+)`)
	corpusRe = regexp.MustCompile(`\(total: (\d+)\)`)
)

func fuzzLog(path string) fuzzStats {
	var st fuzzStats
	raw, err := os.ReadFile(path)
	if err != nil {
		return st
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if m := execsRe.FindStringSubmatch(l); m != nil {
			st.execs, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if m := corpusRe.FindStringSubmatch(l); m != nil {
			st.corpus, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if st.failure == "" && (strings.Contains(l, "Failing input written to") || strings.HasPrefix(strings.TrimSpace(l), "--- FAIL")) {
			st.failure = strings.TrimSpace(l)
		}
	}
	return st
}
