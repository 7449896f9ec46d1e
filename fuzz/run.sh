#!/usr/bin/env bash
# The fuzzing campaign: fuzz/run.sh [RUNS] [TARGET...]
#
# Builds every target (or those named) with libFuzzer's coverage
# instrumentation on the stable toolchain (the flags cargo-fuzz passes, with
# no sanitizer: safe Rust needs none, and `sys` is not fuzzed), seeds the
# corpora (seed-corpora.sh), and runs each target for RUNS executions
# (default 10,000,000) with a per-input timeout of 10 s, so that a hang is a
# finding like a crash. Prints one line per target: executions, coverage
# (libFuzzer's cov and ft), corpus size, seconds, findings (the crash-,
# timeout-, oom- and leak- files libFuzzer leaves in fuzz/artifacts/TARGET/);
# exits 1 when any target has a finding, 2 when a target does not build.
# JOBS targets run at once (default: the number of CPUs). Each target's
# whole libFuzzer output is kept in fuzz/logs/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-10000000}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^statmon-fuzz$')
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
# --target keeps the flags off build scripts and proc macros.
if ! cargo build --release --target "$triple" $(printf -- '--bin %s ' "${targets[@]}") >&2; then
    echo "fuzz/run.sh: a target does not build" >&2
    exit 2
fi
./seed-corpora.sh >&2
mkdir -p logs
jobs=${JOBS:-$(nproc)}

run_one() {
    local t=$1 start end
    mkdir -p "corpus/$t" "artifacts/$t"
    start=$(date +%s)
    "$CARGO_TARGET_DIR/$triple/release/$t" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "corpus/$t" >"logs/$t.log" 2>&1 || true
    end=$(date +%s)
    local execs cov ft corp found
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "logs/$t.log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "logs/$t.log" | tail -1 | cut -d' ' -f2)
    corp=$(ls "corpus/$t" | wc -l)
    found=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    printf '%-14s executions %10s  cov %6s  ft %7s  corpus %6s  %5ss  findings %s\n' \
        "$t" "${execs:-0}" "${cov:-?}" "${ft:-?}" "$corp" "$((end - start))" "$found"
}

export -f run_one
export runs triple
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}' | sort
findings=$(find artifacts -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
never=$(for t in "${targets[@]}"; do grep -q '^stat::number_of_executed_units' "logs/$t.log" || echo "$t"; done)
if [ -n "$never" ]; then
    echo "did not finish its runs: $never (see fuzz/logs/)"
    exit 1
fi
if [ "$findings" -gt 0 ]; then
    echo "findings: $findings (fuzz/artifacts/)"
    exit 1
fi
echo "findings: 0"
