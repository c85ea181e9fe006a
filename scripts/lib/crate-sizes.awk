# Flash per crate from `llvm-objdump -d -l --no-show-raw-insn ELF`: every
# instruction and literal word of the image is counted to one crate.
# Used by scripts/size-report.sh.
#
# How a byte is attributed:
# - to the crate whose source line produced it, by the DWARF line table
#   (objdump's `; /path/file.rs:line` lines). With fat LTO the optimiser
#   inlines freely: lock-core's code inlined into lock-runtime's control loop
#   counts to lock-core, a driver's parser inlined into a runtime lane to
#   lock-drivers, sequential-storage's code to sequential-storage;
# - except Rust's own library (`core`, compiler-builtins, source under
#   /rustc/): a generic of `core` inlined into a function (`Option::map`,
#   `ptr::write` of a state, slice iteration) counts to the crate of the
#   function it is inlined into, named by its symbol; only functions of the
#   library's own that stayed functions (`memcpy`, `memmove`, integer
#   division, `core::fmt`, a drop glue) count to `core`;
# - and code without line information counts to its symbol's crate.
# The symbol's crate is the first path segment of its legacy-mangled name,
# or of the implementing type for `<T as Trait>::f` and `impl T` blocks.
#
# Prints `crate bytes` lines, unsorted.

# The crate of a source path, or "" for Rust's own library.
function crate_of_path(path,    m) {
    if (path ~ /^\/rustc\//) return ""
    if (match(path, /\/(crates|boards)\/[^\/]+\//)) {
        m = substr(path, RSTART, RLENGTH)
        sub(/^\/(crates|boards)\//, "", m)
        sub(/\/$/, "", m)
        return m
    }
    # A registry or git checkout: .../NAME-1.2.3/src/... or .../NAME-<hash>/...
    if (match(path, /\/(index\.crates\.io-[0-9a-f]+|checkouts)\/[^\/]+\//)) {
        m = substr(path, RSTART, RLENGTH)
        sub(/^\/[^\/]+\//, "", m)
        sub(/\/$/, "", m)
        sub(/-[0-9]+\.[0-9]+\.[0-9]+.*$/, "", m)
        sub(/-[0-9a-f]+$/, "", m)
        gsub(/_/, "-", m)
        return m
    }
    return "unknown"
}

# The crate of a symbol.
function crate_of_symbol(sym,    s, n, rest, g) {
    # Rust's library is prebuilt with v0 mangling (`_R…`); compiler
    # intrinsics (`__aeabi_memcpy`, `memcmp`) are unmangled; the rest
    # unmangled is the start-up code (`__stext`, `main`, the handlers).
    if (sym ~ /^_R/) return "core"
    if (sym ~ /^(__aeabi|__udiv|__div|__mod|__umod|__clz|__ctz|__mul|__ashl|__ashr|__lshr|__popcount|mem)/) return "core"
    # The machine outliner's shared sequences (opt-level "z" on ARMv7-M):
    # code of several functions, of no one crate.
    if (sym ~ /^OUTLINED_FUNCTION_/) return "(outlined)"
    if (sym !~ /^_ZN/) return "cortex-m-rt"
    # `_ZN` then length-prefixed segments: the first one names the crate,
    # or is `<T as Trait>` / `impl T`, whose type's path names it.
    s = substr(sym, 4)
    match(s, /^[0-9]+/)
    n = substr(s, 1, RLENGTH) + 0
    s = substr(s, RLENGTH + 1, n)
    sub(/^_/, "", s)
    sub(/^\$LT\$/, "", s)
    sub(/^impl\$u20\$/, "", s)
    sub(/^(\$RF\$|\$BP\$|mut\$u20\$|\$u5b\$)+/, "", s)
    n = index(s, "..")
    if (n > 0) s = substr(s, 1, n - 1)
    # `<T as Trait>` of a type parameter, `<[T; N] as Trait>`: the crate is
    # in the generics, as for the library's own generics below.
    if (s !~ /^[a-z_][a-z0-9_]*$/) s = "core"
    if (s == "compiler_builtins" || s == "alloc") s = "core"
    # Generic code of the library for a crate's type (the drop glue of a
    # lock-runtime future, `Option<lock_core::Person>::clone`) is that
    # crate's.
    if (s == "core") {
        rest = sym
        while (match(rest, /\$LT\$[a-z_][a-z0-9_]*\.\./)) {
            g = substr(rest, RSTART + 4, RLENGTH - 6)
            rest = substr(rest, RSTART + RLENGTH)
            if (g != "core" && g != "alloc" && g != "impl") {
                s = g
                break
            }
        }
    }
    gsub(/_/, "-", s)
    return s
}

# mawk has no strtonum.
function hex(h,    i, n, d) {
    n = 0
    h = tolower(h)
    sub(/^0x/, "", h)
    for (i = 1; i <= length(h); i++) {
        d = index("0123456789abcdef", substr(h, i, 1)) - 1
        if (d < 0) return n
        n = n * 16 + d
    }
    return n
}

function count(addr,    size, c) {
    if (prev_addr >= 0 && addr > prev_addr) {
        size = addr - prev_addr
        c = prev_crate
        bytes[c] += size
    }
    prev_addr = -1
}

BEGIN { prev_addr = -1 }

# A symbol: `000012ab <name>:`
/^[0-9a-f]+ <.*>:$/ {
    addr = hex($1)
    count(addr)
    sym = $2
    sub(/^</, "", sym)
    sub(/>:$/, "", sym)
    symbol_crate = crate_of_symbol(sym)
    line_crate = ""
    next
}

# A source line: `; /path/file.rs:123`
/^; \// {
    path = substr($0, 3)
    sub(/:[0-9]+$/, "", path)
    line_crate = crate_of_path(path)
    next
}

# An instruction or literal: `    12ac:  ...`
/^ *[0-9a-f]+:/ {
    a = $1
    sub(/:$/, "", a)
    addr = hex(a)
    count(addr)
    prev_addr = addr
    if (line_crate == "") {
        prev_crate = symbol_crate
    } else {
        prev_crate = line_crate
    }
    if (prev_crate == "") prev_crate = "core"
    next
}

# The end of the last instruction is the section's end, which objdump does
# not print: the caller passes it as END.
END {
    if (END_ADDR != "") count(hex(END_ADDR))
    for (c in bytes) print c, bytes[c]
}
