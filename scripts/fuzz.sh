#!/usr/bin/env bash
# Runs every fuzz target in fuzz/fuzz_targets/ with cargo-fuzz (libFuzzer) for a bounded time.
#   scripts/fuzz.sh [SECONDS]     each target for SECONDS (default 60)
#   scripts/fuzz.sh --short       each target for 15 s (the step in scripts/test-all.sh)
#   scripts/fuzz.sh TARGET... -- [SECONDS]   only the named targets
# Builds on the stable toolchain with `--sanitizer none`: the core is safe Rust, so what a
# fuzz run finds is a panic (assertions, overflow checks, slicing), a hang or runaway
# memory, none of which needs AddressSanitizer. FUZZ_SANITIZER=address adds it (on stable
# through RUSTC_BOOTSTRAP=1).
# New inputs go to fuzz/work/TARGET (not committed); the seeds in fuzz/corpus/TARGET are only
# read. A crash leaves its input in fuzz/artifacts/TARGET and makes the exit status non-zero.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=60
targets=()
while [ $# -gt 0 ]; do
    case $1 in
        --short) seconds=15 ;;
        --) shift; [ $# -gt 0 ] && seconds=$1; break ;;
        [0-9]*) seconds=$1 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
if [ "${#targets[@]}" -eq 0 ]; then
    for f in fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing (scripts/setup.sh installs it: cargo install --locked cargo-fuzz)" >&2
    exit 1
fi
sanitizer=${FUZZ_SANITIZER:-none}
if [ "$sanitizer" != none ] && ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1   # -Zsanitizer on the stable toolchain
fi
fuzz() { nice cargo fuzz "$@" --sanitizer "$sanitizer"; }

echo "fuzz: building ${#targets[@]} targets (sanitizer: $sanitizer)"
fuzz build

mkdir -p work
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "work/$t" "corpus/$t"
    log="work/$t.log"
    echo "fuzz: $t for ${seconds}s"
    status=0
    # The watchdog only guards against a stuck run; libFuzzer stops itself at max_total_time.
    timeout $((seconds + 300)) nice cargo fuzz run --sanitizer "$sanitizer" "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        summary+=("$(printf '%-14s %8s s  %12s execs  FAILED (exit %s, log fuzz/%s)' "$t" "$seconds" "${execs:-?}" "$status" "$log")")
        grep -E -A12 '^(thread .* panicked|==[0-9]+== ERROR|SUMMARY)' "$log" | head -40 >&2 || tail -30 "$log" >&2
    else
        summary+=("$(printf '%-14s %8s s  %12s execs  corpus %s files' "$t" "$seconds" "${execs:-?}" "$(ls "work/$t" | wc -l)")")
    fi
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (crashing inputs in fuzz/artifacts/)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
