#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time and fails on any crash.
#
#   bash scripts/fuzz.sh          # smoke run: 20 s a target (the check script runs this)
#   bash scripts/fuzz.sh 3600     # an hour a target (nice -n 19 on a shared machine)
#
# Installs what it needs: the nightly toolchain and cargo-fuzz.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
seconds="${1:-20}"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

# Seeds: fuzz/seeds/<target>.txt holds one input a line, in hex (spaces
# allowed, `#` starts a comment): test vectors and datasheet frames written
# out. They are written into the corpus as seed-<line>; the corpus itself is
# not checked in (only scenario_parse's scenario files are).
seed() {
    local target="$1" n=0 line hex
    [ -f "seeds/$target.txt" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        hex="${line%%#*}"
        hex="${hex//[[:space:]]/}"
        [ -n "$hex" ] || continue
        printf '%b' "$(sed 's/../\\x&/g' <<<"$hex")" >"corpus/$target/seed-$n"
    done <"seeds/$target.txt"
}

targets=$(cargo +nightly fuzz list)
cargo +nightly fuzz build
for target in $targets; do
    echo "==> fuzz $target for ${seconds}s"
    mkdir -p "corpus/$target"
    seed "$target"
    # sequential-storage prints a line to stderr on every repair when built
    # for fuzzing: the store targets' own stderr is closed (libFuzzer keeps
    # its reports; run the crash input again to see a panic's message).
    extra=()
    case "$target" in store_*) extra=(-close_fd_mask=2) ;; esac
    # libFuzzer exits non-zero on a crash and leaves the input in artifacts/.
    log="$(mktemp)"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" "${extra[@]}" >"$log" 2>&1; then
        tail -40 "$log"
        crash="$(ls -t "artifacts/$target"/crash-* 2>/dev/null | head -1)"
        if [ "${#extra[@]}" -gt 0 ] && [ -n "$crash" ]; then
            # The panic's message, which the closed stderr did not show.
            cargo +nightly fuzz run "$target" "$crash" 2>&1 | grep -v 'General repair' | grep -A12 panicked || true
        fi
        echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -aE '^(#[0-9]+[[:space:]]+DONE|Done)' "$log" || true
    rm -f "$log"
done
echo "fuzz: $(wc -w <<<"$targets") targets ran ${seconds}s each without a crash"
