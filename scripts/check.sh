#!/usr/bin/env bash
# Every check the project has, in one command (the README's test command; CI
# runs it through .ci/run):
#
#   bash scripts/check.sh
#
# Stages: setup, fmt, clippy, test, scenarios, energy, scenarios in QEMU, no_std
# builds, traceability (rule → code → test, ~15 s), Matter controller tests,
# fuzz, size report, boards, docs.
# Stops at the first failure with a non-zero exit. Needs only rustup and a
# stable toolchain (Rust 1.95+); the setup stage adds the targets and
# components it uses.
set -Eeuo pipefail

# ---------------------------------------------------------------------------
# What to check. Add new crates here, nowhere else.

# The no_std crates, built for every target in NO_STD_TARGETS and linted for
# the first one. Each entry is "crate" or "crate:SET SET …": the crate is built
# without features and once per feature SET (features within a set joined by
# commas, e.g. "lock-store:serde,defmt").
NO_STD_CRATES=(
    "lock-core:serde"
    "lock-hal"
    "lock-proto"
    "lock-drivers:defmt embassy-time"
    "lock-store:blocking defmt"
    "lock-runtime:defmt log lock-proto lock-update"
    "lock-ble:defmt"
    "lock-update:embassy-boot"
    "lock-matter"
)
NO_STD_TARGETS=(thumbv6m-none-eabi riscv32imc-unknown-none-elf)

# Target-only packages (workspace members outside default-members), linted
# for their own target: "package:target". Boards go here too.
TARGET_PACKAGES=(
    "lock-size-probe:thumbv6m-none-eabi"
    "lock-esp32c3:riscv32imc-unknown-none-elf"
    "lock-stm32:thumbv7em-none-eabihf"
    "lock-stm32-boot:thumbv7em-none-eabihf"
    "lock-rp2040:thumbv6m-none-eabi"
    "lock-rp2040-boot:thumbv6m-none-eabi"
    "qemu-mps2:thumbv7m-none-eabi"
)

RUSTUP_COMPONENTS=(rustfmt clippy llvm-tools)

# ---------------------------------------------------------------------------

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A fresh machine may have rustup in ~/.cargo/bin without it being on PATH
# (non-login shells, CI).
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# CI builds once in a fresh clone on a machine whose disk it shares with
# whatever else is there: incremental data (about 2 GB here) is never reused,
# and full debug info doubles the test binaries. Line tables keep panics'
# backtraces readable. Developers' runs keep their usual settings, so they
# share artifacts with their own `cargo test`.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL=0
    export CARGO_PROFILE_DEV_DEBUG=line-tables-only
    export CARGO_PROFILE_TEST_DEBUG=line-tables-only
fi

# Free space where the builds go, printed at the start and on a failure: a
# full disk shows up as a linker's "Bus error" or a truncated rlib, far from
# its cause.
target_dir="${CARGO_TARGET_DIR:-target}"
# Measured: a CI run from a fresh clone, 2026-11-29 (target/ 5.3 GB, fuzz/target
# 0.8 GB); about 11.5 GB with incremental data and full debug info.
CHECK_FOOTPRINT="6 GB"
CHECK_FOOTPRINT_KB=$((6 * 1024 * 1024))
disk_dir() {
    if [ -d "$target_dir" ]; then echo "$target_dir"; else echo .; fi
}
disk_free() {
    df -Ph "$(disk_dir)" | awk 'NR == 2 { print $4 " free on " $6 }'
}

STAGE="start"
stage() {
    STAGE="$1"
    printf '\n==> %s\n' "$1"
}
on_error() {
    local status=$?
    # With errtrace (-E) the trap also fires in pipeline subshells: report once,
    # from the main shell.
    if [ "$BASHPID" != "$$" ]; then
        exit "$status"
    fi
    printf '\ncheck.sh: FAILED in stage "%s" (exit %d)\n' "$STAGE" "$status" >&2
    printf 'check.sh: disk: %s\n' "$(disk_free)" >&2
    exit "$status"
}
trap on_error ERR

# Runs a command after echoing it, so the log shows what failed.
run() {
    printf '+ %s\n' "$*"
    "$@"
}

# shellcheck source=lib/host-features.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/host-features.sh"

no_std_crate_names() {
    local entry
    for entry in "${NO_STD_CRATES[@]}"; do
        printf '%s\n' "${entry%%:*}"
    done
}

# ---------------------------------------------------------------------------
stage "setup: rustup targets and components"

# Adds only what is missing, so a machine that has everything stays quiet and
# needs no network.
installed_targets="$(rustup target list --installed)"
wanted_targets=("${NO_STD_TARGETS[@]}")
for entry in "${TARGET_PACKAGES[@]}"; do
    wanted_targets+=("${entry#*:}")
done
missing_targets=()
while IFS= read -r target; do
    if ! grep -qx "$target" <<<"$installed_targets"; then
        missing_targets+=("$target")
    fi
done < <(printf '%s\n' "${wanted_targets[@]}" | sort -u)
if [ "${#missing_targets[@]}" -gt 0 ]; then
    run rustup target add "${missing_targets[@]}"
fi

installed_components="$(rustup component list --installed)"
missing_components=()
for component in "${RUSTUP_COMPONENTS[@]}"; do
    # Installed names carry the host triple, and llvm-tools may be listed as
    # llvm-tools-preview on older toolchains.
    if ! grep -Eq "^${component}(-preview)?-" <<<"$installed_components"; then
        missing_components+=("$component")
    fi
done
if [ "${#missing_components[@]}" -gt 0 ]; then
    run rustup component add "${missing_components[@]}"
fi
# tmux drives the simulator's interactive test (crates/lock-sim/tests/interactive.rs).
if ! command -v tmux >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        run apt-get update -qq
        run apt-get install -y -qq tmux
    else
        echo "tmux missing and cannot be installed here: the interactive test will be skipped"
    fi
fi
run rustc --version
run cargo --version
printf 'disk: %s (a run from a fresh clone writes about %s)\n' "$(disk_free)" "$CHECK_FOOTPRINT"
free_kb="$(df -Pk "$(disk_dir)" | awk 'NR == 2 { print $4 }')"
if [ "${free_kb:-0}" -lt "$CHECK_FOOTPRINT_KB" ]; then
    echo "check.sh: warning: less free disk than a run may need; builds may fail with I/O or linker errors" >&2
fi

# ---------------------------------------------------------------------------
stage "fmt"
run cargo fmt --all -- --check

# ---------------------------------------------------------------------------
stage "clippy: host crates (default members)"
# In two runs: lock-sim's `matter` cannot share a build with lock-drivers'
# tests (scripts/lib/host-features.sh says why).
run for_host_features cargo clippy --all-targets -- -D warnings

stage "clippy: no_std crates for ${NO_STD_TARGETS[0]}"
clippy_packages=()
while IFS= read -r crate; do
    clippy_packages+=(-p "$crate")
done < <(no_std_crate_names)
run cargo clippy "${clippy_packages[@]}" --target "${NO_STD_TARGETS[0]}" -- -D warnings

for entry in "${TARGET_PACKAGES[@]}"; do
    package="${entry%%:*}"
    target="${entry#*:}"
    stage "clippy: $package for $target"
    features=()
    # The size probe's builds are its features (the whole lock is one).
    if [ "$package" = lock-size-probe ]; then
        features=(--all-features)
    fi
    run cargo clippy -p "$package" --target "$target" "${features[@]}" -- -D warnings
    # The ESP32-C3's Matter over Wi-Fi is a feature of its own
    # (boards/esp32c3/README.md): linted too, so that it does not rot.
    if [ "$package" = lock-esp32c3 ]; then
        stage "clippy: $package for $target, feature matter"
        run cargo clippy -p "$package" --target "$target" --features matter -- -D warnings
    fi
done

# ---------------------------------------------------------------------------
stage "test: host crates (default members)"
test_log="$(mktemp)"
cleanup() { rm -f "$test_log"; }
trap cleanup EXIT
# The full output goes to the terminal (CI reads cargo's "test result:"
# lines); a copy is kept to total them at the end.
run for_host_features cargo test 2>&1 | tee "$test_log"

# ---------------------------------------------------------------------------
stage "scenarios: the simulator runs scenarios/*.lock (SPEC.md §8)"
run cargo run -q -p lock-sim -- run scenarios/*.lock

stage "energy: each board's battery life for a day of use (R-NRG-2, ~5 s)"
run bash scripts/energy.sh --check

stage "qemu: the scenarios on a Cortex-M3, stack and instructions per step"
# Installs qemu-system-arm from Debian when missing; fails if QEMU and the
# host disagree on any file (boards/qemu-mps2/README.md).
run bash scripts/qemu.sh

# ---------------------------------------------------------------------------
for entry in "${NO_STD_CRATES[@]}"; do
    crate="${entry%%:*}"
    feature_sets=()
    if [ "$entry" != "$crate" ]; then
        read -r -a feature_sets <<<"${entry#*:}"
    fi
    for target in "${NO_STD_TARGETS[@]}"; do
        stage "no_std build: $crate for $target"
        run cargo build -p "$crate" --target "$target"
        for features in "${feature_sets[@]}"; do
            stage "no_std build: $crate for $target, features $features"
            run cargo build -p "$crate" --target "$target" --features "$features"
        done
    done
done

# About 15 s after the test stage (cargo only lists the tests it built).
stage "traceability: docs/TRACEABILITY.md current, every rule traced, named tests exist"
run bash scripts/traceability.sh --check

# ---------------------------------------------------------------------------
stage "matter: the CHIP controller against lock-sim matter (SPEC §10, TC-DRLK; ~2 min)"
# Installs the libnl packages and a Python venv with the CHIP controller
# itself, builds lock-sim with Matter, and runs tests/matter in a network
# namespace of its own, IPv6 only (tests/matter/README.md).
run bash scripts/matter-test.sh

# ---------------------------------------------------------------------------
stage "fuzz: every target for a bounded time (nightly, cargo-fuzz)"
run bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

# ---------------------------------------------------------------------------
stage "size report"
if [ -f scripts/size-report.sh ]; then
    run bash scripts/size-report.sh
else
    echo "scripts/size-report.sh not present yet: skipped"
fi

# ---------------------------------------------------------------------------
stage "boards: release builds and section sizes"
run bash scripts/boards.sh

# ---------------------------------------------------------------------------
stage "docs: host crates (default members)"
printf '+ RUSTDOCFLAGS="-D warnings" cargo doc --no-deps\n'
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps

# ---------------------------------------------------------------------------
# The last line totals every "test result:" line of the test stage, in the
# plain "N passed, N failed, N skipped" form (skipped = cargo's "ignored").
totals="$(awk '
    /^test result: / {
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed;?$/)  passed  += $i
            if ($(i + 1) ~ /^failed;?$/)  failed  += $i
            if ($(i + 1) ~ /^ignored;?$/) ignored += $i
        }
    }
    END { printf "%d passed, %d failed, %d skipped", passed, failed, ignored }
' "$test_log")"
printf '\ncheck.sh: all stages passed\n'
printf 'tests: %s\n' "$totals"
