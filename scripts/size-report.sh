#!/usr/bin/env bash
# What the lock's own code costs in flash and RAM, against its budgets.
#
#   bash scripts/size-report.sh
#
# Builds crates/lock-size-probe in release (the workspace's profile: fat LTO,
# opt-level "s"), three ways:
#   - `lock-size-probe` for thumbv6m-none-eabi (Cortex-M0+): one `Lock` in a
#     static, driven through `handle`: lock-core alone;
#   - the same with its `proto` feature: lock-proto's lock side too (a
#     `Protocol` handling a frame, the visitor-code book), so the difference
#     is what the app protocol and its crypto add;
#   - `lock-whole` (feature `whole`) for thumbv6m-none-eabi and
#     thumbv7em-none-eabihf (Cortex-M4F): the whole lock, lock-runtime over
#     lock-drivers' drivers, lock-store with sequential-storage and
#     lock-proto behind `ProtoApp`, over opaque board parts on
#     embassy-executor (crates/lock-size-probe/src/whole.rs).
# It prints each build's sections (llvm-size -A, from rustup's llvm-tools),
# the whole lock's flash per crate (scripts/lib/crate-sizes.awk says how
# inlined code is attributed), and every figure beside its budget (issue 22).
# It reports; it does not fail on a budget. Stack is measured in QEMU
# (scripts/qemu.sh prints it with the instruction counts).
#
# The figures include cortex-m-rt's start-up code and vector table (a few
# hundred bytes) and, in the whole lock, the probe's opaque parts (about
# 2.4 KB, listed as lock-size-probe) and the executor.
set -euo pipefail

PACKAGE=lock-size-probe
M0=thumbv6m-none-eabi
M4=thumbv7em-none-eabihf

# Budgets, issue 22 (Cortex-M0+, release).
KIB=1024
CORE_FLASH_BUDGET=$((24 * KIB))
CORE_RAM_BUDGET=$((8 * KIB))
PROTO_FLASH_BUDGET=$((32 * KIB))
WHOLE_FLASH_BUDGET=$((96 * KIB))
WHOLE_RAM_BUDGET=$((24 * KIB))

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# shellcheck source=lib/llvm-size.sh
source scripts/lib/llvm-size.sh
# shellcheck source=lib/flip-link.sh
source scripts/lib/flip-link.sh
llvm_objdump="$(dirname "$llvm_size")/llvm-objdump"

for target in "$M0" "$M4"; do
    if ! rustup target list --installed | grep -qx "$target"; then
        rustup target add "$target"
    fi
done

# 1,234,567
thousands() {
    printf '%d' "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'
}

# Builds one binary of the probe and prints its sections; sets ELF, FLASH,
# RAM and TEXT_END (where .text ends, for the per-crate attribution).
measure() {
    local target="$1" bin="$2" features="$3" label="$4" build_json sections
    local args=(--release -p "$PACKAGE" --bin "$bin" --target "$target")
    if [ -n "$features" ]; then
        args+=(--features "$features")
    fi
    # The ELF's path comes from cargo's own report (this respects
    # CARGO_TARGET_DIR and any build.target-dir setting). Diagnostics still
    # go to stderr in the usual human form.
    echo "+ cargo build ${args[*]}"
    build_json="$(cargo build "${args[@]}" --message-format=json-render-diagnostics)"
    ELF="$(sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' <<<"$build_json" | tail -n 1)"
    if [ -z "$ELF" ] || [ ! -f "$ELF" ]; then
        echo "size-report: cargo reported no executable for $PACKAGE ($bin)" >&2
        exit 1
    fi
    # `llvm-size -A` (SysV format) lists every section; Berkeley format lumps
    # .rodata into text and is meaningless on some targets (BOARDS.md).
    sections="$("$llvm_size" -A "$ELF")"
    read -r FLASH RAM TEXT_END < <(awk -v elf="$ELF" -v target="$target" -v label="$label" '
        $1 ~ /^\./ && $2 ~ /^[0-9]+$/ { size[$1] = $2; addr[$1] = $3 }
        END {
            vt = size[".vector_table"] + 0
            text = size[".text"] + 0
            rodata = size[".rodata"] + 0
            data = size[".data"] + 0
            bss = size[".bss"] + 0
            uninit = size[".uninit"] + 0
            printf "%s (%s, release)\n", label, target > "/dev/stderr"
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
            printf "%d %d %s\n", vt + text + rodata + data, data + bss + uninit, sprintf("0x%x", addr[".text"] + text)
        }
    ' <<<"$sections" 2>&3)
}

# Flash per crate of the last ELF measured: `crate bytes` lines, largest
# first (.text only; .rodata and .vector_table are in the build's total).
crates() {
    # The probe's two binaries are one crate here.
    "$llvm_objdump" -d -l --no-show-raw-insn "$ELF" |
        awk -v END_ADDR="$TEXT_END" -f scripts/lib/crate-sizes.awk |
        awk '{ if ($1 == "lock-whole") $1 = "lock-size-probe"; s[$1] += $2 } END { for (c in s) print c, s[c] }' |
        sort -k2,2nr
}

# `figure budget` → "over by N" or "within, N to spare".
verdict() {
    if [ "$1" -le "$2" ]; then
        printf 'met (%s B to spare)' "$(thousands $(($2 - $1)))"
    else
        printf 'NOT MET: over by %s B (%d%%)' "$(thousands $(($1 - $2)))" $(((($1 - $2) * 100 + $2 - 1) / $2))
    fi
}

exec 3>&1
measure "$M0" lock-size-probe "" "lock-core size probe"
core_flash=$FLASH core_ram=$RAM
measure "$M0" lock-size-probe proto "lock-core + lock-proto (lock side) size probe"
proto_flash=$((FLASH - core_flash))
printf 'lock-proto adds %s bytes of flash on %s (frames, AEAD, X25519 pairing, visitor codes)\n\n' \
    "$(thousands "$proto_flash")" "$M0"

measure "$M0" lock-whole whole "the whole lock"
whole_flash=$FLASH whole_ram=$RAM
m0_crates="$(crates)"
measure "$M4" lock-whole whole "the whole lock"
m4_flash=$FLASH m4_ram=$RAM
m4_crates="$(crates)"

echo "The whole lock's .text per crate (bytes; inlined code counts to the crate"
echo "whose source it is, Rust's library generics to the function they are in:"
echo "scripts/lib/crate-sizes.awk)"
echo
printf '  %-22s %22s %22s\n' "crate" "$M0" "$M4"
printf '  %-22s %22s %22s\n' "-----" "----" "----"
join -a1 -a2 -e 0 -o 0,1.2,2.2 <(sort -k1,1 <<<"$m0_crates") <(sort -k1,1 <<<"$m4_crates") |
    sort -k2,2nr |
    while read -r crate m0 m4; do
        printf '  %-22s %22s %22s\n' "$crate" "$(thousands "$m0")" "$(thousands "$m4")"
    done
lock_own() {
    awk '$1 ~ /^lock-(core|hal|store|proto|drivers|runtime)$/ { s += $2 } END { print s + 0 }' <<<"$1"
}
printf '  %-22s %22s %22s\n' "the lock's own crates" "$(thousands "$(lock_own "$m0_crates")")" \
    "$(thousands "$(lock_own "$m4_crates")")"
echo

echo "Budgets (issue 22; release, fat LTO, opt-level \"z\" where the lock is instantiated, as the M0+ board builds it)"
echo
printf '  %-58s %10s %10s  %s\n' "what" "bytes" "budget" "verdict"
printf '  %-58s %10s %10s  %s\n' "----" "-----" "------" "-------"
row() {
    printf '  %-58s %10s %10s  %s\n' "$1" "$(thousands "$2")" "$(thousands "$3")" "$(verdict "$2" "$3")"
}
row "lock-core flash ($M0)" "$core_flash" "$CORE_FLASH_BUDGET"
row "lock-core static RAM, full capacity ($M0)" "$core_ram" "$CORE_RAM_BUDGET"
row "lock-proto lock side + crypto flash ($M0)" "$proto_flash" "$PROTO_FLASH_BUDGET"
row "whole lock flash ($M0)" "$whole_flash" "$WHOLE_FLASH_BUDGET"
row "whole lock static RAM ($M0)" "$whole_ram" "$WHOLE_RAM_BUDGET"
printf '  %-58s %10s %10s  %s\n' "whole lock flash ($M4)" "$(thousands "$m4_flash")" "-" "(no budget: for comparison)"
printf '  %-58s %10s %10s  %s\n' "whole lock static RAM ($M4)" "$(thousands "$m4_ram")" "-" "(no budget: for comparison)"
echo
echo "Stack and the passcode check's instructions: bash scripts/qemu.sh (Cortex-M3 in QEMU)."
