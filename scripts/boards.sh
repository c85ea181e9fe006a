#!/usr/bin/env bash
# Builds every board's firmware in release and prints its sections.
#
#   bash scripts/boards.sh
#
# Each board in BOARDS is a workspace member outside default-members, built
# alone for its own target (BOARDS.md: never `--workspace` for one target).
# The figures are `llvm-size -A` from rustup's llvm-tools component: the
# section table, which is what means something on these targets (Berkeley
# `size` lumps sections together wrongly for the ESP32-C3). Missing rustup
# targets and llvm-tools are added; nothing else is needed (no espflash: the
# figures come from the ELF). A second run with nothing changed only checks
# the build, so it takes seconds.
set -euo pipefail

# "package:target", or "package:target:features" for a board's build with
# cargo features (the same target directory, so the two builds share what
# the features do not change). Add new boards here.
BOARDS=(
    "lock-esp32c3:riscv32imc-unknown-none-elf"
    "lock-esp32c3:riscv32imc-unknown-none-elf:matter"
    "lock-stm32:thumbv7em-none-eabihf"
    "lock-stm32-boot:thumbv7em-none-eabihf"
    "lock-rp2040:thumbv6m-none-eabi"
    "lock-rp2040-boot:thumbv6m-none-eabi"
)

# Sections worth reading: code and constants in flash, initialised and
# zeroed RAM, the stack the linker left. Debug sections are skipped.
SECTIONS='^\.(vector_table|boot2|text|rodata|data|bss|stack|trap|rwtext|flash\.appdesc|noinit|uninit|dram2_uninit)(\.[a-z_]+)?\s'

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# shellcheck source=lib/llvm-size.sh
source scripts/lib/llvm-size.sh
# shellcheck source=lib/flip-link.sh
source scripts/lib/flip-link.sh

installed_targets="$(rustup target list --installed)"
for entry in "${BOARDS[@]}"; do
    package="${entry%%:*}"
    target="${entry#*:}"
    features=()
    if [[ "$target" == *:* ]]; then
        features=(--features "${target#*:}")
        label="$package (${target%%:*}, features ${target#*:})"
        target="${target%%:*}"
    else
        label="$package ($target)"
    fi
    if ! grep -qx "$target" <<<"$installed_targets"; then
        echo "+ rustup target add $target"
        rustup target add "$target"
        installed_targets="$(rustup target list --installed)"
    fi

    echo "+ cargo build --release -p $package --target $target ${features[*]}"
    build_json="$(cargo build --release -p "$package" --target "$target" "${features[@]}" \
        --message-format=json-render-diagnostics)"
    elf="$(sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' <<<"$build_json" | tail -n 1)"
    if [ -z "$elf" ] || [ ! -f "$elf" ]; then
        echo "boards: cargo reported no executable for $package" >&2
        exit 1
    fi

    echo
    echo "$label: llvm-size -A, bytes"
    "$llvm_size" -A "$elf" | grep -E "$SECTIONS" | awk '$2 > 0 { printf "  %-16s %9d\n", $1, $2 }'
    # Flash: what the image carries (the vector table, the RP2040's second
    # stage boot loader, code, constants, the RAM code and data copied at
    # start); RAM: what is placed there besides the stack.
    "$llvm_size" -A "$elf" | awk '
        $1 ~ /^\.(vector_table|boot2|text|rodata|flash\.appdesc|trap|rwtext|data)(\.[a-z_]+)?$/ { flash += $2 }
        $1 ~ /^\.(trap|rwtext|data|bss|noinit|uninit|dram2_uninit)(\.[a-z_]+)?$/ { ram += $2 }
        END { printf "  %-16s %9d\n  %-16s %9d\n", "flash (image)", flash, "RAM (static)", ram }'
    # The Cortex-M images are linked by flip-link (.cargo/config.toml): the
    # stack must lie below .data and .bss, so that an overflow faults at
    # the start of RAM instead of overwriting them. Checked, not assumed.
    case "$target" in
    thumb*)
        read -r stack_start stack_end data_start < <("$llvm_nm" "$elf" | awk '
            $3 == "_stack_start" { top = $1 }
            $3 == "_stack_end" { bottom = $1 }
            $3 == "__sdata" { data = $1 }
            END { print top, bottom, data }')
        if [ -z "$data_start" ] || [ $((16#$stack_start)) -gt $((16#$data_start)) ]; then
            echo "boards: $package's stack is not below its .data (is flip-link the linker?)" >&2
            exit 1
        fi
        printf '  %-16s %9d (below .data and .bss: flip-link)\n' "stack" $((16#$stack_start - 16#$stack_end))
        ;;
    esac
done
