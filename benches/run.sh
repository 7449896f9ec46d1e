#!/usr/bin/env bash
# One benchmark run whose whole output is kept: benches/run.sh [full]
#
# Runs both benchmarks (`cargo bench`, release build, as root) in one go
# and writes everything they print to benches/results/<date>-<commit>.txt,
# the file BENCHMARKS.md quotes. Every ratio in it is taken inside this run
# (statmon, Debian's daemons and the floors side by side).
#
# Default: the rows of the targets table and what they need, in about 10
# minutes on 2 cores (3 runs of 3 s per throughput figure; monitor lists
# of 0 and 100,000 hosts; 1,000 records at start; 1,000 and 10,000
# answering peers). `full`: every workload at the benches' own defaults
# (about 25 minutes), silent peers included.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short HEAD)
dirty=$(git status --porcelain --untracked-files=no | grep -q . && echo "-dirty" || true)
mkdir -p benches/results
out="benches/results/$(date -u +%Y-%m-%d)-$commit$dirty.txt"
if [ "${1:-}" != full ]; then
    export LOAD_BENCH=${LOAD_BENCH:-stat,monunmon,list,startup}
    export LOAD_BENCH_SECS=${LOAD_BENCH_SECS:-3}
    export LOAD_BENCH_SIZES=${LOAD_BENCH_SIZES:-0,100000}
    export LOAD_BENCH_SAMPLES=${LOAD_BENCH_SAMPLES:-21}
    export LOAD_BENCH_STARTUP=${LOAD_BENCH_STARTUP:-1000}
    export NOTIFY_BENCH=${NOTIFY_BENCH:-1000,10000}
fi
{
    echo "# benches/run.sh ${1:-} at $commit$dirty, $(date -u '+%Y-%m-%d %H:%M UTC')"
    env | grep -E '^(LOAD|NOTIFY)_BENCH' | sort | sed 's/^/# /'
    cargo bench 2>&1
} | tee "$out"
echo "saved: $out"
