#!/usr/bin/env bash
# Memory checks, too slow for every CI run:
#   1. the Rust unit and property tests under AddressSanitizer (with LeakSanitizer), built on
#      the stable toolchain with RUSTC_BOOTSTRAP=1 (-Zsanitizer is otherwise nightly-only),
#      in target/sanitize-asan;
#   2. valgrind memcheck on tclsh8.6 loading the extension (a debug build, with symbols, in
#      target/sanitize-valgrind) over part of the tcltest suite.
#   scripts/sanitize.sh [asan|valgrind]...   (default: both)
# Environment: SANITIZE_TCLTEST_FILES (default "codec.test commands.test server.test"),
# SANITIZE_TIMEOUT seconds for the valgrind run (default 1200).
# Suppressions for tclsh and libc themselves are in scripts/valgrind.supp.
# Needs: valgrind (Debian package), and what scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ "${#parts[@]}" -gt 0 ] || parts=(asan valgrind)
host=$(rustc -vV | sed -n 's/^host: //p')
failed=()

asan() {
    echo "=== AddressSanitizer: cargo test --lib --test properties"
    # --target keeps build scripts and proc macros uninstrumented; only the tests get ASan.
    # The tokio runtime's worker threads are still running at exit; LeakSanitizer's report
    # covers what is unreachable then.
    if RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
        ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1" \
        nice cargo test --target "$host" --target-dir target/sanitize-asan \
        --lib --test properties; then
        echo "=== AddressSanitizer: clean"
    else
        failed+=(asan)
    fi
}

valgrind_run() {
    if ! command -v valgrind >/dev/null; then
        echo "sanitize: valgrind is missing (apt-get install valgrind)" >&2
        failed+=(valgrind)
        return
    fi
    echo "=== valgrind: building the extension with symbols"
    nice cargo build --lib --target-dir target/sanitize-valgrind
    local lib=$PWD/target/sanitize-valgrind/debug/libnssmtpd.so
    local files=${SANITIZE_TCLTEST_FILES:-codec.test commands.test server.test}
    local log=target/sanitize-valgrind/memcheck.log
    local out=target/sanitize-valgrind/tcltest.out
    echo "=== valgrind memcheck: tclsh8.6 tests/all.tcl -file \"$files\" (log: $log)"
    local status=0
    NSSMTPD_LIB=$lib timeout "${SANITIZE_TIMEOUT:-1200}" \
        valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins=yes --num-callers=30 \
        --suppressions=scripts/valgrind.supp --gen-suppressions=all \
        --log-file="$log" \
        tclsh8.6 tests/all.tcl -file "$files" >"$out" 2>&1 || status=$?
    grep -E "^all.tcl:|Failed" "$out" | tail -5 || true
    grep -E "ERROR SUMMARY|definitely lost|indirectly lost" "$log" | tail -3
    if [ "$status" -eq 99 ]; then
        echo "=== valgrind: memory errors, see $log"
        failed+=(valgrind)
    elif [ "$status" -ne 0 ]; then
        echo "=== valgrind: tclsh exited with $status (timeout: 124), see $out"
        failed+=(valgrind)
    else
        echo "=== valgrind: clean"
    fi
}

for p in "${parts[@]}"; do
    case $p in
        asan) asan ;;
        valgrind) valgrind_run ;;
        *) echo "sanitize: unknown part $p (asan, valgrind)" >&2; exit 2 ;;
    esac
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "sanitize: FAILED: ${failed[*]}"
    exit 1
fi
echo "sanitize: clean (${parts[*]})"
