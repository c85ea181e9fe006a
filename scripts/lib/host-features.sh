# Sourced by check.sh and traceability.sh: the host crates (the workspace's
# default members) with every feature, in two cargo runs.
#
# lock-sim's `matter` feature brings rs-matter's `os` backend, and with it
# embassy-time's std time driver; lock-drivers' tests link embassy-time's
# mock driver. Two drivers cannot link into one build graph, so
# `cargo … --all-features` over every default member fails. The first run
# takes every default member but lock-sim with all features; the second
# lock-sim alone with all of its own.
#
#   for_host_features cargo test -q   # runs: cargo test -q <first set>; cargo test -q <second>
#
# Extra arguments after `--` (e.g. `-- --list`) go to both runs.

host_feature_sets() {
    local root="${1:-.}" path name
    local others=()
    while IFS= read -r path; do
        name="$(sed -n 's/^name = "\(.*\)"/\1/p' "$root/$path/Cargo.toml" | head -1)"
        [ "$name" = lock-sim ] && continue
        others+=(-p "$name")
    done < <(sed -n 's/^default-members = \[\(.*\)\]/\1/p' "$root/Cargo.toml" | tr -d '" ' | tr ',' '\n')
    printf '%s\n' "${others[*]} --all-features" "-p lock-sim --all-features"
}

for_host_features() {
    local cmd=() rest=() seen_dashdash=0 set
    for a in "$@"; do
        if [ "$a" = -- ] && [ "$seen_dashdash" = 0 ]; then
            seen_dashdash=1
            continue
        fi
        if [ "$seen_dashdash" = 1 ]; then rest+=("$a"); else cmd+=("$a"); fi
    done
    while IFS= read -r set; do
        # shellcheck disable=SC2086 # word splitting of the package set is wanted
        if [ "${#rest[@]}" -gt 0 ]; then
            "${cmd[@]}" $set -- "${rest[@]}" || return $?
        else
            "${cmd[@]}" $set || return $?
        fi
    done < <(host_feature_sets)
}
