#!/usr/bin/env bash
# Runs the comparison benchmarks and writes docs/PERFORMANCE.md.
#
#   benchmarks/run.sh            # the published run: -count=6, 200,000-record bursts
#   COUNT=2 BURST=20000 JSONL_BURST=2000 CRASH=2000 benchmarks/run.sh   # a quick look
#
# Per-call benchmarks run in one process; each burst runs in a process of
# its own so that its peak RSS is its own; each crash round starts two
# processes. jsonl-fsync, at one fsync per record, runs shorter bursts
# (JSONL_BURST) and fewer of them (JSONL_COUNT). Takes about 6 to 7 minutes on
# 2 cores.
set -euo pipefail
{ # read whole before it runs: an edit during a run cannot change it

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
COUNT=${COUNT:-6}
BURST=${BURST:-200000}
BENCHTIME=${BENCHTIME:-500ms}
JSONL_BURST=${JSONL_BURST:-10000}
JSONL_COUNT=${JSONL_COUNT:-3}
CRASH=${CRASH:-20000}
CRASH_COUNT=${CRASH_COUNT:-3}
doc="$root/docs/PERFORMANCE.md"
mkdir -p "$root/docs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$here"
benchstat="$(go env GOPATH)/bin/benchstat"
if [ ! -x "$benchstat" ]; then
	go install golang.org/x/perf/cmd/benchstat@latest
fi
go test -c -o "$work/bench.test" .
bench() { "$work/bench.test" -test.run '^$' "$@" | grep -E '^(Benchmark|goos|goarch|pkg|cpu)'; }

echo "[${SECONDS}s] per-call: $COUNT x $BENCHTIME each" >&2
bench -test.bench '^BenchmarkLogCall$' -test.benchmem -test.count="$COUNT" -test.benchtime="$BENCHTIME" >"$work/percall.txt"
echo "[${SECONDS}s] per-call in bursts of 1,000: $COUNT x $BENCHTIME each" >&2
bench -test.bench '^BenchmarkLogCallBursts$' -test.benchmem -test.count="$COUNT" -test.benchtime="$BENCHTIME" >"$work/percallbursts.txt"

burst_peers="fieldlog fieldlog-one-request otel-no-drop otel-defaults naive-batcher jsonl-fsync"
outage_peers="fieldlog fieldlog-10MB-queue otel-no-drop otel-defaults naive-batcher jsonl-fsync"
crash_peers="fieldlog jsonl-fsync otel-no-drop naive-batcher"
# records PEER, runs PEER N and crash_records PEER: jsonl-fsync's shorter
# and fewer runs.
records() { if [ "$1" = jsonl-fsync ]; then echo "$JSONL_BURST"; else echo "$BURST"; fi; }
runs() { if [ "$1" = jsonl-fsync ]; then echo "$JSONL_COUNT"; else echo "$2"; fi; }
crash_records() { if [ "$1" = jsonl-fsync ]; then echo "$JSONL_BURST"; else echo "$CRASH"; fi; }

echo "[${SECONDS}s] bursts: $BURST records ($JSONL_BURST for jsonl-fsync), $COUNT processes per peer" >&2
for peer in $burst_peers; do
	for g in 1 8; do
		for _ in $(seq "$(runs "$peer" "$COUNT")"); do
			bench -test.bench "^BenchmarkBurst\$/^$peer\$/^goroutines=$g\$" -test.benchtime="$(records "$peer")x" >>"$work/burst.txt"
		done
	done
done
for _ in $(seq 3); do
	bench -test.bench '^BenchmarkBurstServerDown$' -test.benchtime="${BURST}x" >>"$work/down.txt"
done
echo "[${SECONDS}s] outage: $BURST records ($JSONL_BURST for jsonl-fsync), 3 processes per peer" >&2
for peer in $outage_peers; do
	for _ in $(seq 3); do
		bench -test.bench "^BenchmarkBurstOutage\$/^$peer\$" -test.benchtime="$(records "$peer")x" >>"$work/outage.txt"
	done
done
echo "crash: $CRASH records ($JSONL_BURST for jsonl-fsync), $CRASH_COUNT rounds per pipeline" >&2
for peer in $crash_peers; do
	bench -test.bench "^BenchmarkCrash\$/^$peer\$" -test.benchtime="$(crash_records "$peer")x" -test.count="$CRASH_COUNT" >>"$work/crash.txt"
done

# medians UNIT FILE: the median of UNIT per benchmark name.
medians() {
	awk -v unit="$1" '
	/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name)
		for (i = 3; i <= NF; i++) if ($i == unit) { n[name]++; v[name, n[name]] = $(i-1) }
	}
	END {
		for (k in n) {
			c = n[k]
			for (i = 1; i <= c; i++) a[i] = v[k, i] + 0
			for (i = 2; i <= c; i++) { x = a[i]; j = i - 1; while (j > 0 && a[j] > x) { a[j+1] = a[j]; j-- }; a[j+1] = x }
			m = (c % 2) ? a[(c+1)/2] : (a[c/2] + a[c/2+1]) / 2
			printf "%s %s\n", k, m
		}
	}' "$2" | sort
}
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
# verdict A B LIMIT max|min: whether A/B meets a target of at most (max) or
# at least (min) LIMIT, and by how much it misses.
verdict() {
	awk -v a="$1" -v b="$2" -v l="$3" -v d="$4" 'BEGIN {
		if (b <= 0 || a == "") { print "n/a"; exit }
		r = a / b
		if ((d == "max" && r <= l) || (d == "min" && r >= l)) print "met"
		else if (d == "max") printf "missed: %.2f times the limit\n", r / l
		else printf "missed: %.0f%% below the target\n", 100 * (1 - r / l)
	}'
}
fmt() { awk -v x="$1" 'BEGIN { if (x >= 100) printf "%.0f", x; else printf "%.3g", x }'; }

for u in ns/op B/op allocs/op; do medians "$u" "$work/percall.txt" >"$work/pc.${u%%/*}"; done
for u in ns/op B/op allocs/op; do medians "$u" "$work/percallbursts.txt" >"$work/pcb.${u%%/*}"; done
for u in %delivered delivered/s peak-RSS-MB disk-B/record worst-call-ms; do
	f=$(echo "$u" | tr -c 'a-zA-Z\n' '_')
	medians "$u" "$work/burst.txt" >"$work/bu.$f"
done

for u in %delivered %stored peak-RSS-MB; do
	f=$(echo "$u" | tr -c 'a-zA-Z\n' '_')
	medians "$u" "$work/outage.txt" >"$work/out.$f"
done
for u in %delivered %on-disk durable-lost duplicates; do
	f=$(echo "$u" | tr -c 'a-zA-Z\n' '_')
	medians "$u" "$work/crash.txt" >"$work/cr.$f"
done

modver() { (cd "$here" && go list -m -f '{{.Version}}' "$1"); }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
	echo "# Performance"
	echo
	echo "fieldlog measured beside the libraries it is compared with, in the same run on"
	echo "the same machine. Generated by \`benchmarks/run.sh\`; every figure is a median of"
	echo "$COUNT runs unless its section says otherwise."
	echo
	echo "- Machine: $(nproc) CPUs, $cpu, $(uname -sr)"
	echo "- Go: $(go env GOVERSION)"
	echo "- Generated: $(date -u +%Y-%m-%d)"
	echo "- Versions: fieldlog $(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown);" \
		"go.uber.org/zap $(modver go.uber.org/zap); go.opentelemetry.io/otel/sdk/log $(modver go.opentelemetry.io/otel/sdk/log);" \
		"otlploghttp $(modver go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp)"
	echo "- Run time: $((SECONDS / 60)) min $((SECONDS % 60)) s"
	echo "- Reproduce: \`benchmarks/run.sh\` (COUNT=$COUNT BURST=$BURST BENCHTIME=$BENCHTIME JSONL_BURST=$JSONL_BURST JSONL_COUNT=$JSONL_COUNT CRASH=$CRASH CRASH_COUNT=$CRASH_COUNT)"
	echo
	echo "## Cost of one log call"
	echo
	echo "A message and three attributes, on the caller's goroutine, calls back to back"
	echo "(\`BenchmarkLogCall\`). Work a library does after the call returns, on its own"
	echo "goroutines, is not charged to the call directly, but on a 2-CPU machine it competes"
	echo "with the caller for the CPUs; and once a library's buffer is full its calls either"
	echo "wait for room (fieldlog, which delivers everything: a call then costs what the whole"
	echo "pipeline — redaction, disk, upload, the receiver in the same process — takes per"
	echo "record) or drop the record (the OpenTelemetry SDK with its defaults)."
	echo "Ratio: fieldlog (one-call setup) / the library; below 1x fieldlog is cheaper."
	echo
	echo "| library | ns/op single | ns/op parallel | B/op | allocs/op | ratio single | ratio parallel |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	fs=$(get BenchmarkLogCall/fieldlog/single "$work/pc.ns")
	fp=$(get BenchmarkLogCall/fieldlog/parallel "$work/pc.ns")
	for c in fieldlog fieldlog-manager slog-json-discard slog-json-file zap-production-discard zap-production-file otel-sdk jsonl-fsync; do
		s=$(get "BenchmarkLogCall/$c/single" "$work/pc.ns")
		p=$(get "BenchmarkLogCall/$c/parallel" "$work/pc.ns")
		echo "| $c | $(fmt "$s") | $(fmt "$p") | $(get "BenchmarkLogCall/$c/single" "$work/pc.B") | $(get "BenchmarkLogCall/$c/single" "$work/pc.allocs") | $(ratio "$fs" "$s") | $(ratio "$fp" "$p") |"
	done
	echo
	echo "- fieldlog: \`fieldlog.New\` shipping to a local receiver (redaction, breadcrumbs, disk queue, backend sink)."
	echo "- fieldlog-manager: \`sink.NewManager\` over the backend sink alone."
	echo "- slog-json-*: \`slog.NewJSONHandler\` to io.Discard, and to a file through a 64 KiB bufio.Writer."
	echo "- zap-production-*: zap's production encoder, level, caller and stack settings, sampling off so that every call is a record; to io.Discard, and to a file through \`zapcore.BufferedWriteSyncer\`."
	echo "- otel-sdk: the logs SDK, default BatchProcessor, \`otlploghttp\` to a local receiver. With its defaults the queue is full after 2,048 records and further records are dropped, so most calls in this benchmark are calls that drop."
	echo "- jsonl-fsync: each call appends one JSON line to a file and fsyncs the file before it returns, under a lock; a goroutine reads the file and POSTs arrays of up to 100 records to a local receiver. The call's cost is mostly the fsync's."
	echo
	echo "### In bursts of 1,000 calls"
	echo
	echo "The same call, in bursts of 1,000 with the pipeline given time to catch up between"
	echo "them, as a service's requests log (\`BenchmarkLogCallBursts\`): between bursts the"
	echo "timer stops and fieldlog delivers everything (\`Client.Flush\`), the OpenTelemetry SDK"
	echo "exports what it holds (\`ForceFlush\`). What a library's goroutines do during a burst"
	echo "is charged; what is left after it is not."
	echo
	echo "| library | ns/op | B/op | allocs/op | ratio |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	fb=$(get BenchmarkLogCallBursts/fieldlog "$work/pcb.ns")
	for c in fieldlog slog-json-discard zap-production-discard otel-sdk; do
		s=$(get "BenchmarkLogCallBursts/$c" "$work/pcb.ns")
		echo "| $c | $(fmt "$s") | $(get "BenchmarkLogCallBursts/$c" "$work/pcb.B") | $(get "BenchmarkLogCallBursts/$c" "$work/pcb.allocs") | $(ratio "$fb" "$s") |"
	done
	echo
	echo "## Burst: $BURST records, end to end"
	echo
	echo "A program logs $BURST records as fast as it can from 1 or 8 goroutines, then closes its"
	echo "pipeline, which delivers what it can (deadline 2 minutes). A local receiver counts the"
	echo "records it gets. One process per run (\`BenchmarkBurst\`); peak RSS is the process's"
	echo "VmHWM; disk is write_bytes from /proc/self/io per record logged. jsonl-fsync logs"
	jn=$(get BenchmarkLogCall/jsonl-fsync/single "$work/pc.ns")
	echo "$JSONL_BURST records per run, median of $JSONL_COUNT runs: at one fsync per record ($(fmt "$(awk -v n="$jn" 'BEGIN { print n / 1000 }')") µs per call above)"
	echo "a $BURST-record run would take about $(awk -v n="$jn" -v b="$BURST" 'BEGIN { printf "%.0f", n * b / 1e9 }') s, and its cost per record does not grow with the burst's length."
	echo
	echo "| pipeline | goroutines | records | delivered | delivered/s | peak RSS MB | disk B/record | slowest call ms | delivered/s ratio | RSS ratio |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for g in 1 8; do
		fd=$(get "BenchmarkBurst/fieldlog/goroutines=$g" "$work/bu.delivered_s")
		fr=$(get "BenchmarkBurst/fieldlog/goroutines=$g" "$work/bu.peak_RSS_MB")
		for peer in $burst_peers; do
			k="BenchmarkBurst/$peer/goroutines=$g"
			d=$(get "$k" "$work/bu.delivered_s")
			r=$(get "$k" "$work/bu.peak_RSS_MB")
			echo "| $peer | $g | $(records "$peer") | $(fmt "$(get "$k" "$work/bu._delivered")")% | $(fmt "$d") | $(fmt "$r") | $(fmt "$(get "$k" "$work/bu.disk_B_record")") | $(fmt "$(get "$k" "$work/bu.worst_call_ms")") | $(ratio "$fd" "$d") | $(ratio "$fr" "$r") |"
		done
	done
	echo
	echo "Ratios are fieldlog / the pipeline: delivered/s above 1x and RSS below 1x favour fieldlog."
	echo
	echo "- fieldlog: \`backendsink\` with default options (disk queue, several requests in flight); fieldlog-one-request: one request in flight."
	echo "- otel-no-drop: BatchProcessor with its queue sized to the burst; otel-defaults: the documented defaults (queue 2,048, records beyond it are dropped without an error to the caller)."
	echo "- naive-batcher: a blocking channel of 1,024 records and one goroutine posting arrays of 100; nothing on disk, and the caller blocks when the channel is full."
	echo "- jsonl-fsync: one write and one fsync per record on the caller's goroutine, under a lock, so the callers wait for the disk one at a time; one goroutine reads the file from the offset it last had confirmed, POSTs arrays of up to 100 records and, after each 2xx, writes the new offset to a second file and fsyncs it. Nothing waits in memory."
	echo
	echo "## Outage: receiver down for the first half"
	echo
	echo "The same burst from one goroutine, the receiver answering 503 while the first half is"
	echo "logged and accepting afterwards (\`BenchmarkBurstOutage\`, one process per run, median of 3)."
	echo "Delivered is counted by the receiver after each pipeline's close (deadline 2 minutes)."
	echo
	echo "| pipeline | records | delivered by close | kept on disk for the next run | peak RSS MB | RSS ratio |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	or=$(get BenchmarkBurstOutage/fieldlog "$work/out.peak_RSS_MB")
	for peer in $outage_peers; do
		k="BenchmarkBurstOutage/$peer"
		r=$(get "$k" "$work/out.peak_RSS_MB")
		st=$(get "$k" "$work/out._stored")
		if [ -n "$st" ]; then st="$(fmt "$st")%"; else st=none; fi
		echo "| $peer | $(records "$peer") | $(fmt "$(get "$k" "$work/out._delivered")")% | $st | $(fmt "$r") | $(ratio "$or" "$r") |"
	done
	echo
	echo "- fieldlog: the backend sink with the 256 MB queue the one-call setup gives a service; fieldlog-10MB-queue: the backend sink's own default, sized for field devices, which keeps the newest records that fit and counts the oldest as dropped at the cap."
	echo "- otel-no-drop and naive-batcher hold the records in memory: a process that exits during the outage loses them. naive-batcher discards a batch whose request fails."
	echo "- jsonl-fsync keeps every record in its file and sends a failed batch again after a backoff (1 s doubling to 30 s); a close during the backoff retries at once."
	echo
	echo "## Crash: SIGKILL with records waiting, then a restart"
	echo
	echo "A process logs $CRASH records ($JSONL_BURST for jsonl-fsync) from one goroutine while the receiver answers 503, so that"
	echo "nothing can be delivered, and is killed with SIGKILL as soon as its last log call has"
	echo "returned. A second process opens the same directory with the receiver up and closes its"
	echo "pipeline (deadline 2 minutes). The receiver counts distinct records by an id attribute."
	echo "Halfway through, the first process waits for the pipeline's durability boundary where"
	echo "it has one (the backend sink's \`Sync\`); just before the kill it takes the number of"
	echo "records the pipeline says are on disk (the backend sink's \`Stats().Pending\`; for"
	echo "jsonl-fsync, every record whose call returned). On-disk records lost counts records"
	echo "behind the boundary that never arrived, or the shortfall of delivered records against the"
	echo "on-disk count, whichever is larger (\`BenchmarkCrash\`, median of $CRASH_COUNT rounds)."
	echo
	echo "| pipeline | records | on disk at the kill | delivered after the restart | on-disk records lost | duplicates |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	for peer in $crash_peers; do
		k="BenchmarkCrash/$peer"
		echo "| $peer | $(crash_records "$peer") | $(fmt "$(get "$k" "$work/cr._on_disk")")% | $(fmt "$(get "$k" "$work/cr._delivered")")% | $(get "$k" "$work/cr.durable_lost") of $(awk -v p="$(get "$k" "$work/cr._on_disk")" -v n="$(crash_records "$peer")" 'BEGIN { printf "%.0f", p * n / 100 }') | $(get "$k" "$work/cr.duplicates") |"
	done
	echo
	echo "- fieldlog: the backend sink with a 256 MB queue. Records reach the disk in group commits, milliseconds after the call; the kill comes right after the last call returns, so the records logged in the last tens of milliseconds (here the whole second half, logged in about 20 ms without a pause) are not on disk yet, and the sink has not said they are."
	echo "- jsonl-fsync: every call returns after its fsync, so every record logged is on disk; the second process continues from the saved offset."
	echo "- otel-no-drop and naive-batcher hold records in memory until delivered: the kill loses every record not yet delivered, and the second process has nothing to send."
	echo
	echo "## Receiver down for the whole burst"
	echo
	echo "fieldlog only, backend sink defaults (10 MB queue) (\`BenchmarkBurstServerDown\`): what is kept on disk for the next run, what is dropped at the queue cap, median of 3."
	echo
	echo '```'
	"$benchstat" "down=$work/down.txt"
	echo '```'
	echo
	echo "## Against the targets"
	echo
	sd=$(get BenchmarkLogCall/slog-json-discard/single "$work/pc.ns")
	nd1=$(get BenchmarkBurst/otel-no-drop/goroutines=1 "$work/bu.delivered_s")
	nr1=$(get BenchmarkBurst/otel-no-drop/goroutines=1 "$work/bu.peak_RSS_MB")
	fd1=$(get BenchmarkBurst/fieldlog/goroutines=1 "$work/bu.delivered_s")
	fr1=$(get BenchmarkBurst/fieldlog/goroutines=1 "$work/bu.peak_RSS_MB")
	fdel=$(get BenchmarkBurst/fieldlog/goroutines=1 "$work/bu._delivered")
	clost=$(get BenchmarkCrash/fieldlog "$work/cr.durable_lost")
	odel=$(get BenchmarkBurstOutage/fieldlog "$work/out._delivered")
	ost=$(get BenchmarkBurstOutage/fieldlog "$work/out._stored")
	sdb=$(get BenchmarkLogCallBursts/slog-json-discard "$work/pcb.ns")
	echo "- Per-call cost, fieldlog / slog JSON to io.Discard (target at most 2x): calls back to back, $(ratio "$fs" "$sd") single, $(verdict "$fs" "$sd" 2 max) (the caller waits for the pipeline, which delivers every record); in bursts of 1,000, $(ratio "$fb" "$sdb"), $(verdict "$fb" "$sdb" 2 max)."
	echo "- Delivered records/s, fieldlog / OpenTelemetry SDK not dropping (target at least 1x): $(ratio "$fd1" "$nd1") from 1 goroutine; $(verdict "$fd1" "$nd1" 1 min)."
	echo "- Peak RSS, fieldlog / OpenTelemetry SDK not dropping (target at most 0.25x): $(ratio "$fr1" "$nr1") from 1 goroutine; $(verdict "$fr1" "$nr1" 0.25 max)."
	echo "- Delivered in the burst (target 100%): fieldlog $(fmt "$fdel")%, OpenTelemetry defaults $(fmt "$(get BenchmarkBurst/otel-defaults/goroutines=1 "$work/bu._delivered")")% (1 goroutine); $(verdict "$fdel" 100 1 min)."
	echo "- On-disk records lost in the crash (target 0): fieldlog $clost; $(awk -v n="$clost" 'BEGIN { print (n == 0 && n != "") ? "met" : "missed" }'). Delivered after the restart: $(fmt "$(get BenchmarkCrash/fieldlog "$work/cr._delivered")")% (records not yet on disk at the kill are lost)."
	echo "- Records lost in the outage under the cap (target 0): fieldlog delivered $(fmt "$odel")% by close and kept $(fmt "$ost")% on disk; $(verdict "$(awk -v a="$odel" -v b="$ost" 'BEGIN { print a + b }')" 100 1 min)."
	echo
	echo "## benchstat output"
	echo
	echo '```'
	"$benchstat" "percall=$work/percall.txt"
	echo
	"$benchstat" "bursts-of-1000=$work/percallbursts.txt"
	echo
	"$benchstat" "burst=$work/burst.txt"
	echo
	"$benchstat" "outage=$work/outage.txt"
	echo
	"$benchstat" "crash=$work/crash.txt"
	echo '```'
} >"$work/doc.md"
mv "$work/doc.md" "$doc" # written whole at the end: git describe above sees the tree as committed
echo "wrote $doc" >&2
exit
}
