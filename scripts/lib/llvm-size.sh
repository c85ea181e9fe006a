# Sourced by the scripts that print section sizes (size-report.sh,
# boards.sh): sets `llvm_size` to the llvm-size of the toolchain's sysroot
# (rustup's llvm-tools component, under the host triple), adding the
# component when it is missing, and `llvm_nm` to the llvm-nm beside it.
# Exits with a message if it is still not there.

# Prints llvm-size's path, or fails.
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
    echo "llvm-size not found; adding rustup's llvm-tools component" >&2
    rustup component add llvm-tools
    if ! llvm_size="$(find_llvm_size)"; then
        echo "llvm-size still not found under $(rustc --print sysroot)/lib/rustlib/*/bin/" >&2
        exit 1
    fi
fi

# llvm-nm beside it (the same component).
llvm_nm="$(dirname "$llvm_size")/llvm-nm"
