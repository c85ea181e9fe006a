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

# llvm-size ships in the toolchain's sysroot, under the host triple.
find_llvm_size() {
    local sysroot host candidate
    sysroot="$(rustc --print sysroot)"
    host="$(rustc -vV | sed -n 's/^host: //p')"
    for candidate in "$sysroot/lib/rustlib/$host/bin/llvm-size" "$sysroot"/lib/rustlib/*/bin/llvm-size; do
        if [ -x "$candidate" ]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

if ! llvm_size="$(find_llvm_size)"; then
    echo "size-report: llvm-size not found; adding rustup's llvm-tools component" >&2
    rustup component add llvm-tools
    if ! llvm_size="$(find_llvm_size)"; then
        echo "size-report: llvm-size still not found under $(rustc --print sysroot)/lib/rustlib/*/bin/" >&2
        exit 1
    fi
fi

if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi

# Build, and take the ELF's path from cargo's own report (this respects
# CARGO_TARGET_DIR and any build.target-dir setting). Diagnostics still go to
# stderr in the usual human form.
echo "+ cargo build --release -p $PACKAGE --target $TARGET"
build_json="$(cargo build --release -p "$PACKAGE" --target "$TARGET" \
    --message-format=json-render-diagnostics)"
elf="$(sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' <<<"$build_json" | tail -n 1)"
if [ -z "$elf" ] || [ ! -f "$elf" ]; then
    echo "size-report: cargo reported no executable for $PACKAGE" >&2
    exit 1
fi

# `llvm-size -A` (SysV format) lists every section; Berkeley format lumps
# .rodata into text and is meaningless on some targets (BOARDS.md).
sections="$("$llvm_size" -A "$elf")"

awk -v elf="$elf" -v target="$TARGET" '
    $1 ~ /^\./ && $2 ~ /^[0-9]+$/ { size[$1] = $2 }
    END {
        vt = size[".vector_table"] + 0
        text = size[".text"] + 0
        rodata = size[".rodata"] + 0
        data = size[".data"] + 0
        bss = size[".bss"] + 0
        uninit = size[".uninit"] + 0
        printf "lock-core size probe (%s, release)\n", target
        printf "  %s\n\n", elf
        printf "  %-14s %10s\n", "section", "bytes"
        printf "  %-14s %10s\n", "-------", "-----"
        printf "  %-14s %10d\n", ".vector_table", vt
        printf "  %-14s %10d\n", ".text", text
        printf "  %-14s %10d\n", ".rodata", rodata
        printf "  %-14s %10d\n", ".data", data
        printf "  %-14s %10d\n", ".bss", bss
        if (uninit > 0) printf "  %-14s %10d\n", ".uninit", uninit
        printf "\n"
        printf "  %-14s %10d  (.vector_table + .text + .rodata + .data)\n", "flash", vt + text + rodata + data
        printf "  %-14s %10d  (.data + .bss + .uninit; stack not included)\n", "static RAM", data + bss + uninit
    }
' <<<"$sections"
