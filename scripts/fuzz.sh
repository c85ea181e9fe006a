#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time and fails on any crash.
#
#   bash scripts/fuzz.sh          # smoke run: 20 s a target (the check script runs this)
#   bash scripts/fuzz.sh 3600     # an hour a target
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

targets=$(cargo +nightly fuzz list)
cargo +nightly fuzz build
for target in $targets; do
    echo "==> fuzz $target for ${seconds}s"
    mkdir -p "corpus/$target"
    # libFuzzer exits non-zero on a crash and leaves the input in artifacts/.
    log="$(mktemp)"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^(#[0-9]+ +DONE|Done)' "$log" || true
    rm -f "$log"
done
echo "fuzz: $(wc -w <<<"$targets") targets ran ${seconds}s each without a crash"
