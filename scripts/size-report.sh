#!/usr/bin/env bash
# What lock-core costs in flash and RAM on the smallest core we target.
#
#   bash scripts/size-report.sh
#
# Builds crates/lock-size-probe (a minimal Cortex-M0+ firmware that links
# lock-core and drives its state machine) in release for thumbv6m-none-eabi
# and prints its .text, .rodata, .data and .bss with llvm-size from rustup's
# llvm-tools component (`rustup component add llvm-tools`).
#
# The figures include cortex-m-rt's start-up code and vector table (a few
# hundred bytes), so they are an upper bound for the core itself. The probe
# keeps its `Lock` in a static, so `.bss` holds the lock's whole state; the
# stack used by `Lock::handle` is not measured here.
set -euo pipefail

PACKAGE=lock-size-probe
TARGET=thumbv6m-none-eabi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# shellcheck source=lib/llvm-size.sh
source scripts/lib/llvm-size.sh
# shellcheck source=lib/flip-link.sh
source scripts/lib/flip-link.sh

if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi

# Builds the probe with the given features (none, or "proto" for lock-proto's
# lock side too) and prints its sections; sets FLASH and RAM.
measure() {
    local features="$1" label="$2" build_json elf sections
    local args=(--release -p "$PACKAGE" --target "$TARGET")
    if [ -n "$features" ]; then
        args+=(--features "$features")
    fi
    # The ELF's path comes from cargo's own report (this respects
    # CARGO_TARGET_DIR and any build.target-dir setting). Diagnostics still
    # go to stderr in the usual human form.
    echo "+ cargo build ${args[*]}"
    build_json="$(cargo build "${args[@]}" --message-format=json-render-diagnostics)"
    elf="$(sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' <<<"$build_json" | tail -n 1)"
    if [ -z "$elf" ] || [ ! -f "$elf" ]; then
        echo "size-report: cargo reported no executable for $PACKAGE" >&2
        exit 1
    fi
    # `llvm-size -A` (SysV format) lists every section; Berkeley format lumps
    # .rodata into text and is meaningless on some targets (BOARDS.md).
    sections="$("$llvm_size" -A "$elf")"
    read -r FLASH RAM < <(awk -v elf="$elf" -v target="$TARGET" -v label="$label" '
        $1 ~ /^\./ && $2 ~ /^[0-9]+$/ { size[$1] = $2 }
        END {
            vt = size[".vector_table"] + 0
            text = size[".text"] + 0
            rodata = size[".rodata"] + 0
            data = size[".data"] + 0
            bss = size[".bss"] + 0
            uninit = size[".uninit"] + 0
            printf "%s size probe (%s, release)\n", label, target > "/dev/stderr"
            printf "  %s\n\n", elf > "/dev/stderr"
            printf "  %-14s %10s\n", "section", "bytes" > "/dev/stderr"
            printf "  %-14s %10s\n", "-------", "-----" > "/dev/stderr"
            printf "  %-14s %10d\n", ".vector_table", vt > "/dev/stderr"
            printf "  %-14s %10d\n", ".text", text > "/dev/stderr"
            printf "  %-14s %10d\n", ".rodata", rodata > "/dev/stderr"
            printf "  %-14s %10d\n", ".data", data > "/dev/stderr"
            printf "  %-14s %10d\n", ".bss", bss > "/dev/stderr"
            if (uninit > 0) printf "  %-14s %10d\n", ".uninit", uninit > "/dev/stderr"
            printf "\n" > "/dev/stderr"
            printf "  %-14s %10d  (.vector_table + .text + .rodata + .data)\n", "flash", vt + text + rodata + data > "/dev/stderr"
            printf "  %-14s %10d  (.data + .bss + .uninit; stack not included)\n\n", "static RAM", data + bss + uninit > "/dev/stderr"
            printf "%d %d\n", vt + text + rodata + data, data + bss + uninit
        }
    ' <<<"$sections" 2>&3)
}

exec 3>&1
measure "" "lock-core"
core_flash=$FLASH
measure "proto" "lock-core + lock-proto (lock side)"
proto_flash=$FLASH
printf 'lock-proto adds %d bytes of flash on %s (frames, AEAD, X25519 pairing, visitor codes)\n' \
    "$((proto_flash - core_flash))" "$TARGET"
