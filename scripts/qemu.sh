#!/usr/bin/env bash
# The scenario files on a Cortex-M3 in QEMU, then the on-target figures:
#
#   bash scripts/qemu.sh [FILE…]      (default: scenarios/*.lock)
#
# Builds boards/qemu-mps2 in release for thumbv7m-none-eabi and runs it on
# QEMU's mps2-an385 with semihosting: the same scenario runner as the host's
# `lock-sim run` (lock-sim without its `std` feature) on the real lock-core,
# lock-store and lock-runtime. Its PASS/FAIL lines must equal the host's, line
# for line; then it prints the stack's high-water mark and a table of
# instructions and stack per representative step (-icount, see
# boards/qemu-mps2/README.md). Exits non-zero if a scenario fails in QEMU or
# the two disagree.
#
# Installs what it needs when missing: qemu-system-arm from Debian (apt-get,
# as root) and the rustup target.
set -Eeuo pipefail

TARGET=thumbv7m-none-eabi
PACKAGE=qemu-mps2
# One guest instruction is 2^7 ns of virtual time: the board's 25 MHz timer
# then counts instructions exactly (boards/qemu-mps2/src/counter.rs).
ICOUNT_SHIFT=7
# A hung guest must not hold CI: QEMU needs about a second for all of it.
QEMU_TIMEOUT=300

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

run() {
    printf '+ %s\n' "$*"
    "$@"
}

if ! command -v qemu-system-arm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        run apt-get update -qq
        DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq --no-install-recommends qemu-system-arm
    else
        echo "qemu.sh: qemu-system-arm is missing and cannot be installed here" >&2
        echo "qemu.sh: (needs apt-get and root; on Debian or Ubuntu: sudo apt-get install qemu-system-arm)" >&2
        exit 1
    fi
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
    run rustup target add "$TARGET"
fi

if [ "$#" -gt 0 ]; then
    files=("$@")
else
    files=(scenarios/*.lock)
fi

run cargo build --release -p "$PACKAGE" --target "$TARGET"
elf="${CARGO_TARGET_DIR:-target}/$TARGET/release/$PACKAGE"

# Arguments reach the guest through semihosting, one `arg=` each (a comma in
# a QEMU option is written twice); the guest splits the command line at
# spaces.
qemu() {
    local config="enable=on,target=native,arg=$PACKAGE" arg
    for arg in "$@"; do
        config+=",arg=${arg//,/,,}"
    done
    timeout "$QEMU_TIMEOUT" qemu-system-arm -cpu cortex-m3 -machine mps2-an385 \
        -nographic -monitor none -serial none -icount shift="$ICOUNT_SHIFT" \
        -semihosting-config "$config" -kernel "$elf"
}

for file in "${files[@]}"; do
    if [[ "$file" == *" "* ]]; then
        echo "qemu.sh: a file name with a space cannot be passed to the guest: $file" >&2
        exit 2
    fi
done

echo "+ qemu-system-arm … $elf run ${files[*]}"
status=0
target_out="$(qemu run "${files[@]}")" || status=$?
printf '%s\n' "$target_out"

# The same files on the host, for the comparison. Only the wording of an
# unreadable file's error may differ (the host's OS message against
# semihosting's).
same_words() {
    grep -v '^stack: ' | sed 's/: cannot read: .*/: cannot read/'
}
host_out="$(cargo run -q -p lock-sim -- run "${files[@]}")" || true
if ! diff <(same_words <<<"$target_out") <(same_words <<<"$host_out") >/dev/null; then
    echo "qemu.sh: QEMU and the host disagree (< QEMU, > host):" >&2
    diff <(same_words <<<"$target_out") <(same_words <<<"$host_out") >&2 || true
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "qemu.sh: the scenarios failed in QEMU (exit $status), as on the host" >&2
    exit "$status"
fi
echo "qemu.sh: QEMU and the host agree on every file"

echo "+ qemu-system-arm … $elf bench"
qemu bench
