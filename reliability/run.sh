#!/usr/bin/env bash
# Runs the long versions of the reliability suite and every fuzz target of
# the repository, and writes docs/RELIABILITY.md from their results.
#
#   reliability/run.sh                  # the published run: about 9 minutes on 2 cores
#   FUZZTIME=3s RELIABILITY_QUEUE_ROUNDS=10 RELIABILITY_SOAK_RECORDS=20000 reliability/run.sh   # a quick look
#
# Parameters, from the environment:
#   FUZZTIME                    time per fuzz target (default 20s)
#   RELIABILITY_QUEUE_ROUNDS    SIGKILL rounds of the disk queue (100)
#   RELIABILITY_SINK_ROUNDS     SIGKILL rounds of the backend sink (30)
#   RELIABILITY_SOAK_RECORDS    records of the fault soak (200000)
#   RELIABILITY_SOAK_BATCH      the sink's MaxBatch in the soak (0: its default)
#   RELIABILITY_FSIZE_LIMITS    file size limits of the disk-full sweep, e.g. "64K:lift,256K:hold"
#   RELIABILITY_FSIZE_RECORDS   records appended under each limit (6000)
#   RELIABILITY_SWEEP_RECORDS   records in the file the damage sweeps cut and change (3000)
#   RELIABILITY_TRUNCATIONS     random cuts, besides every half page (200)
#   RELIABILITY_DAMAGED_FILES   damaged copies (300)
#   RELIABILITY_SEED            seed of the random choices (default: the clock); results name it
#
# It exits non-zero when a check failed; the document says which.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
FUZZTIME=${FUZZTIME:-20s}
doc="$root/docs/RELIABILITY.md"
mkdir -p "$root/docs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RELIABILITY_OUT="$work/results.jsonl"
: >"$RELIABILITY_OUT"
status=0
start=$(date +%s)

# The command that reproduces this run: the script with the parameters set.
command="reliability/run.sh"
for v in $(env | sed -n 's/^\(RELIABILITY_[A-Z_]*\)=.*/\1/p' | grep -v -e '^RELIABILITY_OUT$' | sort); do
	command="$v=${!v} $command"
done
if [ "$FUZZTIME" != 20s ]; then
	command="FUZZTIME=$FUZZTIME $command"
fi

cd "$root"
echo "suite: long versions (go test -tags reliability ./reliability/)" >&2
go test -tags reliability -count=1 -timeout 30m -v \
	-run '^Test(QueueSIGKILL|SinkSIGKILL|FaultSoak|DiskFullSweep|TruncationSweep|DamageSweep)$' \
	./reliability/ >"$work/suite.log" 2>&1 || status=1
grep -E '^(--- |ok|FAIL)' "$work/suite.log" >&2

# Every fuzz target, in whichever module holds it.
mkdir -p "$work/fuzz"
n=0
while IFS= read -r file; do
	dir=$(cd "$(dirname "$file")" && pwd)
	mod=$dir
	while [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
	rel=${dir#"$mod"}
	pkg=".${rel}"
	modrel=${mod#"$root"}
	modrel=".${modrel}"
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		n=$((n + 1))
		log="$work/fuzz/$n.log"
		echo "fuzz: $target in ${dir#"$root"/} ($FUZZTIME)" >&2
		t0=$(date +%s)
		corpus="$dir/testdata/fuzz/$target"
		retries=0
		while :; do
			before=$(ls "$corpus" 2>/dev/null | wc -l)
			if (cd "$mod" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg") >"$log" 2>&1; then
				result=PASS
				break
			fi
			result=FAIL
			# Go 1.26's fuzzing coordinator can report its own -fuzztime
			# deadline as a failure (golang/go#75804): no failing input is
			# written then. Run such a target once more; a written input
			# is always a failure.
			after=$(ls "$corpus" 2>/dev/null | wc -l)
			if [ "$retries" -eq 0 ] && [ "$after" -eq "$before" ] && grep -q 'context deadline exceeded' "$log"; then
				retries=1
				echo "fuzz: $target stopped at its deadline with no failing input (golang/go#75804); once more" >&2
				continue
			fi
			break
		done
		if [ "$result" = FAIL ]; then
			status=1
			tail -n 20 "$log" >&2
		fi
		printf '{"part":"fuzz","module":"%s","package":"%s","target":"%s","fuzztime":"%s","result":"%s","retries":%d,"seconds":%d,"log":"%s"}\n' \
			"$modrel" "$pkg" "$target" "$FUZZTIME" "$result" "$retries" $(($(date +%s) - t0)) "$log" >>"$RELIABILITY_OUT"
	done
done < <(grep -rlE --include='*_test.go' --exclude-dir=testdata --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*\(' . | sort)

echo "report: $doc" >&2
RELIABILITY_REPORT="$doc" RELIABILITY_SUITE_LOG="$work/suite.log" \
	RELIABILITY_COMMAND="$command" RELIABILITY_SECONDS=$(($(date +%s) - start)) \
	RELIABILITY_GIT="$(git describe --always --dirty --tags 2>/dev/null || echo unknown)" \
	RELIABILITY_DATE="$(date -u +%Y-%m-%d)" \
	go test -count=1 -run '^TestWriteReport$' ./reliability/ >&2 || status=1
exit $status
