#!/usr/bin/env bash
# The rule → code → test table, docs/TRACEABILITY.md, generated from the
# sources (issue 18):
#
#   bash scripts/traceability.sh           # writes docs/TRACEABILITY.md
#   bash scripts/traceability.sh --check   # fails when it is stale or a rule is untraced
#
# For every id of docs/SPEC.md and docs/SECURITY.md (R-…, S-…), in the spec's
# order: the rule's short title (its first sentence), the tagged sites that
# implement it and the tests named after it.
#
# A tagged site is an item (fn, const, static, struct, enum, union, impl, mod,
# type, trait) in crates/*/src or boards/*/src whose comment and attribute
# lines directly above it contain the id in a `//` or `///` comment, e.g.
#
#     /// S-BF-2: the failure is written before the prompt plays.
#     #[must_use]
#     pub fn push(…)
#
# Ids anywhere else (module docs `//!`, prose in a body, test code) are not
# sites. Test code is files named *tests.rs or under a tests/ directory, and
# everything from the first `#[cfg(test)]` line of a file.
#
# A test is a `fn` in crates/*/src or crates/*/tests marked by a `#[test]`-like
# attribute or inside `proptest!`, whose name starts with the id in snake case
# and `_`: r_lck_2_… is R-LCK-2 (never R-LCK-20). A name may start with several
# ids, r_lko_4_s_bf_2_… is both R-LKO-4 and S-BF-2.
#
# --check fails, and says why, when
#   - ../shared/SPEC.md or ../shared/SECURITY.md exist and differ from the
#     copies in docs/ (the spec changed: copy it and re-run);
#   - docs/TRACEABILITY.md is not what this script generates (diff shown);
#   - an id has no site or no test, unless docs/pending.txt lists it
#     (lines "ID #issue what remains"), or a pending id has both by now, or
#     pending.txt names an id the spec does not have;
#   - a test named after an id is not among `cargo test --all-features -- --list`
#     (in two runs, scripts/lib/host-features.sh)
#     (this builds the host tests);
#   - lock-core: an id occurs more than once in lock-core's non-test sources
#     (each id in lock-core lands on one implementing function).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LC_ALL=C

SPECS=(docs/SPEC.md docs/SECURITY.md)
TABLE=docs/TRACEABILITY.md
PENDING=docs/pending.txt

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *)
        echo "usage: bash scripts/traceability.sh [--check]" >&2
        exit 2
        ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --check runs in sections; each problem is printed as found and counted
# under its section for the summary at the end.
problems=0
declare -A section_problems=()
sections=()
current=""
section() {
    current="$1"
    sections+=("$1")
    section_problems["$1"]=0
    printf '== %s\n' "$1" >&2
}
problem() {
    printf 'traceability: %s\n' "$*" >&2
    problems=$((problems + 1))
    if [ -n "$current" ]; then
        section_problems["$current"]=$((section_problems["$current"] + 1))
    fi
}

# ---------------------------------------------------------------------------
# The spec: the repository carries a copy, so a fresh clone checks alone. Next
# to a ../shared checkout the copy must be the same text.

for spec in "${SPECS[@]}"; do
    shared="../shared/${spec#docs/}"
    if [ ! -f "$spec" ]; then
        echo "traceability: $spec is missing" >&2
        exit 1
    fi
    if [ -f "$shared" ] && ! cmp -s "$shared" "$spec"; then
        echo "traceability: the spec changed: $shared differs from $spec; copy it and re-run:" >&2
        echo "  cp $shared $spec && bash scripts/traceability.sh" >&2
        diff -u "$spec" "$shared" | head -n 40 >&2 || true
        exit 1
    fi
done

# ---------------------------------------------------------------------------
# Rules: "ID<TAB>title", in the spec's order. A rule is a list item
# "- **ID** text" with its continuation lines indented.

awk '
    # The first sentence or clause, at most 80 characters cut at a word, with
    # no bracket or backtick left open by the cut.
    function title(t,    before) {
        if (match(t, /[.;]( |$)/)) t = substr(t, 1, RSTART - (substr(t, RSTART, 1) == ";"))
        if (length(t) <= 80) return t
        t = substr(t, 1, 80)
        sub(/ [^ ]*$/, "", t)
        while (gsub(/\(/, "(", t) > gsub(/\)/, ")", t) || gsub(/`/, "`", t) % 2 == 1) {
            before = t
            sub(/ [^ ]*$/, "", t)
            if (t == before) break
        }
        sub(/[,:;]$/, "", t)
        return t " …"
    }
    function flush() {
        gsub(/\|/, "\\|", text)
        if (id != "") print id "\t" title(text)
        id = ""
    }
    /^- \*\*[RS]-[A-Z]+-[0-9]+\*\*/ {
        flush()
        id = $2
        gsub(/\*/, "", id)
        text = $0
        sub(/^- \*\*[^*]+\*\* */, "", text)
        next
    }
    id != "" && /^  +[^ -]/ {
        line = $0
        sub(/^ +/, "", line)
        text = text " " line
        next
    }
    { flush() }
    END { flush() }
' "${SPECS[@]}" >"$work/rules"
cut -f1 "$work/rules" >"$work/ids"
if [ ! -s "$work/ids" ]; then
    echo "traceability: no rule ids found in ${SPECS[*]}" >&2
    exit 1
fi

# ---------------------------------------------------------------------------
# Source files. Non-test files are where sites are; every file may hold tests.

find crates/*/src boards/*/src -name '*.rs' | sort >"$work/src-files"
grep -Ev '(tests\.rs$|/tests/)' "$work/src-files" >"$work/non-test-files" || true
{
    cat "$work/src-files"
    find crates/*/tests -name '*.rs' 2>/dev/null || true
} | grep '^crates/' | sort >"$work/test-files"

# Prints each line up to a file's first `#[cfg(test)]` as "file<TAB>line<TAB>text".
non_test_lines() {
    # shellcheck disable=SC2016
    xargs awk '
        FNR == 1 { in_test = 0 }
        /^[ \t]*#\[cfg\(test\)\]/ { in_test = 1 }
        !in_test { print FILENAME "\t" FNR "\t" $0 }
    ' <"$1"
}

# ---------------------------------------------------------------------------
# Sites: "ID<TAB>file<TAB>item", one per tagged item. No line numbers: the
# table would go stale with every edit above a tagged item.

non_test_lines "$work/non-test-files" | awk -F'\t' '
    function ids_in(s,    found) {
        found = ""
        while (match(s, /[RS]-[A-Z]+-[0-9]+/)) {
            found = found " " substr(s, RSTART, RLENGTH)
            s = substr(s, RSTART + RLENGTH)
        }
        return found
    }
    function count(s, re) { return gsub(re, "", s) }
    # "fn name", "struct Name", "impl Trait for Type", …
    function item_name(s,    kind, depth, c) {
        sub(/^pub(\([^)]*\))? +/, "", s)
        while (match(s, /^(const|async|unsafe|default|extern( +"[^"]*")?) +/) && s !~ /^const +[A-Z_0-9]+ *:/)
            s = substr(s, RLENGTH + 1)
        match(s, /^[a-z]+/)
        kind = substr(s, 1, RLENGTH)
        s = substr(s, RLENGTH + 1)
        if (kind == "impl") {
            # Drop the generic parameters right after `impl`, then the body.
            if (substr(s, 1, 1) == "<") {
                depth = 0
                while (s != "") {
                    c = substr(s, 1, 1)
                    s = substr(s, 2)
                    if (c == "<") depth++
                    if (c == ">" && --depth == 0) break
                }
            }
            sub(/ *( where( .*)?|\{.*)$/, "", s)
            sub(/^ +/, "", s)
            return "impl " s
        }
        sub(/^ +(mut +)?/, "", s)
        match(s, /^[A-Za-z_][A-Za-z0-9_]*/)
        return kind " " substr(s, 1, RLENGTH)
    }
    $1 != file { file = $1; tags = ""; attr_depth = 0 }
    {
        line = $3
        sub(/^[ \t]+/, "", line)
    }
    attr_depth > 0 {
        attr_depth += count(line, "\\[") - count(line, "\\]")
        next
    }
    line ~ /^\/\/!/ { tags = ""; next }
    line ~ /^\/\// { tags = tags ids_in(line); next }
    line ~ /^#\[/ { attr_depth = count(line, "\\[") - count(line, "\\]"); next }
    line ~ /^(pub(\([^)]*\))? +)?((const|async|unsafe|default|extern( +"[^"]*")?) +)*(fn|const|static|struct|enum|union|impl|mod|type|trait)([ <(]|$)/ {
        if (tags != "") {
            name = item_name(line)
            n = split(tags, list, " ")
            for (i = 1; i <= n; i++) print list[i] "\t" $1 "\t" name
        }
        tags = ""
        next
    }
    { tags = "" }
' | sort -u -t$'\t' -k1,1 -k2,2 -k3,3 >"$work/sites"

# ---------------------------------------------------------------------------
# Tests: "ID<TAB>test<TAB>file".

xargs awk '
    function count(s, re) { return gsub(re, "", s) }
    FNR == 1 { marked = 0; in_proptest = 0 }
    {
        line = $0
        sub(/^[ \t]+/, "", line)
    }
    in_proptest {
        depth += count(line, "\\{") - count(line, "\\}")
        if (depth <= 0) in_proptest = 0
    }
    line ~ /^proptest! *\{/ {
        in_proptest = 1
        depth = count(line, "\\{") - count(line, "\\}")
        next
    }
    line ~ /^#\[([A-Za-z_0-9]+::)*test(\(.*\))?\]/ { marked = 1; next }
    line ~ /^(#\[|\/\/)/ { next }
    line ~ /^(pub(\([^)]*\))? +)?(async +)?fn +[a-z]/ {
        name = line
        sub(/^.*fn +/, "", name)
        match(name, /^[a-z0-9_]+/)
        name = substr(name, 1, RLENGTH)
        if (marked || in_proptest) {
            rest = name
            while (match(rest, /^[rs]_[a-z][a-z][a-z]?_[0-9]+_/)) {
                id = toupper(substr(rest, 1, RLENGTH - 1))
                gsub(/_/, "-", id)
                print id "\t" name "\t" FILENAME
                rest = substr(rest, RLENGTH + 1)
            }
        }
    }
    { marked = 0 }
' <"$work/test-files" | sort -u -t$'\t' -k1,1 -k3,3 -k2,2 >"$work/tests"

# ---------------------------------------------------------------------------
# The pending list: "ID #issue what remains"; comments (#…) and blank lines
# skipped.

: >"$work/pending"
if [ -f "$PENDING" ]; then
    awk '
        /^[ \t]*(#|$)/ { next }
        {
            id = $1
            issue = $2
            what = $0
            sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]*/, "", what)
            print id "\t" issue "\t" what "\t" FNR
        }
    ' "$PENDING" >"$work/pending"
fi

# ---------------------------------------------------------------------------
# The table.

has() { grep -q "^$2"$'\t' "$work/$1"; }

generate() {
    cat <<'EOF'
# Traceability: rule → code → test

Generated by `bash scripts/traceability.sh` from [SPEC.md](SPEC.md),
[SECURITY.md](SECURITY.md), the sources and [pending.txt](pending.txt); do not
edit it by hand. `bash scripts/traceability.sh --check` (a stage of
`scripts/check.sh`) fails when it is stale, when a rule has no tagged site or
no test and is not pending, and when a named test does not exist.

A site is an item whose comment block names the id (`/// R-LCK-3: …` directly
above the `fn`, `struct`, …); a test is a test function named after the id
(`r_lck_3_…`). Scenarios in `scenarios/`
show many rules end to end ([FEATURES.md](FEATURES.md)).

EOF
    local total pending_count
    total="$(wc -l <"$work/ids")"
    pending_count="$(cut -f1 "$work/pending" | sort -u | grep -cxFf "$work/ids" || true)"
    printf '%d rules; %d pending.\n\n' "$total" "$pending_count"

    printf '| id | rule | sites | tests |\n|---|---|---|---|\n'
    while IFS=$'\t' read -r id title; do
        local issue sites tests
        issue="$(awk -F'\t' -v id="$id" '$1 == id { print $2; exit }' "$work/pending")"
        sites="$(grep -c "^$id"$'\t' "$work/sites" || true)"
        tests="$(grep -c "^$id"$'\t' "$work/tests" || true)"
        if [ -n "$issue" ]; then
            printf '| [%s](#%s) | %s | pending (%s) | pending (%s) |\n' \
                "$id" "$(anchor "$id")" "$title" "$issue" "$issue"
        else
            printf '| [%s](#%s) | %s | %s | %s |\n' "$id" "$(anchor "$id")" "$title" "$sites" "$tests"
        fi
    done <"$work/rules"

    while IFS=$'\t' read -r id title; do
        printf '\n## %s\n\n%s\n\n' "$id" "$title"
        awk -F'\t' -v id="$id" '$1 == id { printf "Pending (%s): %s\n\n", $2, $3 }' "$work/pending"
        if has sites "$id"; then
            awk -F'\t' -v id="$id" '$1 == id { printf "- site `%s` `%s`\n", $2, $3 }' "$work/sites"
        else
            echo "- no tagged site"
        fi
        if has tests "$id"; then
            awk -F'\t' -v id="$id" '$1 == id { printf "- test `%s` (%s)\n", $2, $3 }' "$work/tests"
        else
            echo "- no test"
        fi
    done <"$work/rules"
}

# GitHub's heading anchor for an id: lower case, dashes kept.
anchor() { tr '[:upper:]' '[:lower:]' <<<"$1"; }

generate >"$work/table"

if ! $check; then
    cp "$work/table" "$TABLE"
    echo "traceability: wrote $TABLE ($(wc -l <"$work/ids") rules)"
    exit 0
fi

# ---------------------------------------------------------------------------
# --check

section "the table is up to date"
if [ ! -f "$TABLE" ]; then
    problem "$TABLE is missing: run bash scripts/traceability.sh"
elif ! diff -u "$TABLE" "$work/table"; then
    problem "$TABLE is stale (diff above): run bash scripts/traceability.sh and commit it"
fi

section "every rule has a tagged site and a test, or is pending"
while IFS= read -r id; do
    pending_line="$(awk -F'\t' -v id="$id" '$1 == id { print $4; exit }' "$work/pending")"
    missing=()
    has sites "$id" || missing+=("no tagged site in crates/*/src or boards/*/src")
    has tests "$id" || missing+=("no test named $(tr 'A-Z-' 'a-z_' <<<"$id")_…")
    if [ -n "$pending_line" ]; then
        if [ "${#missing[@]}" -eq 0 ]; then
            problem "$id has a site and a test now: remove it from $PENDING (line $pending_line)"
        fi
    else
        for what in "${missing[@]}"; do
            problem "$id: $what (tag the implementing item, name a test after it, or list it in $PENDING)"
        done
    fi
done <"$work/ids"
while IFS=$'\t' read -r id issue _ line; do
    if ! grep -qxF "$id" "$work/ids"; then
        problem "$PENDING:$line names $id, which is not a rule of ${SPECS[*]}"
    fi
    if [[ ! "$issue" =~ ^#[0-9]+$ ]]; then
        problem "$PENDING:$line: expected \"ID #issue what remains\", got issue \"$issue\""
    fi
done <"$work/pending"
cut -f1 "$work/pending" | sort | uniq -d | while IFS= read -r id; do
    problem "$PENDING lists $id twice"
done

section "lock-core: each id lands on one implementing function"
# Every occurrence of an id in lock-core's non-test sources, tag or prose.
grep -E '^crates/lock-core/' "$work/non-test-files" >"$work/core-files" || true
non_test_lines "$work/core-files" | awk -F'\t' '
    {
        s = $3
        while (match(s, /[RS]-[A-Z]+-[0-9]+/)) {
            print substr(s, RSTART, RLENGTH) "\t" $1 ":" $2
            s = substr(s, RSTART + RLENGTH)
        }
    }
' >"$work/core-ids"
while read -r count id; do
    if [ "$count" -gt 1 ]; then
        problem "lock-core: $id occurs $count times; each id in lock-core lands on one implementing function (move the others to that function's doc or drop them):"
        awk -F'\t' -v id="$id" '$1 == id { print "    " $2 }' "$work/core-ids" >&2
    fi
done < <(cut -f1 "$work/core-ids" | sort | uniq -c)

section "every test named after a rule, or in the docs, exists (cargo test --list)"
# Tests behind a feature or in a binary count: the list is built with every
# feature, as the test stage runs them. The docs (README.md, docs/, the crates'
# and boards' READMEs) name tests in backticks, `r_…` / `s_…` or
# `module::r_…`; each must be the tail of a listed test.
# shellcheck source=lib/host-features.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/host-features.sh"
listed="$(for_host_features cargo test -q -- --list 2>/dev/null | sed -n 's/: test$//p' | sort -u)"
if [ -z "$listed" ]; then
    problem "cargo listed no tests"
else
    while IFS=$'\t' read -r _ name file; do
        if ! grep -Eq "(^|::)${name}\$" <<<"$listed"; then
            problem "$name ($file) is named after a rule but cargo does not list it (cfg'd out? not a test?)"
        fi
    done < <(sort -u -t$'\t' -k2,2 "$work/tests")
    docs=()
    for doc in README.md docs/*.md crates/*/README.md boards/*/README.md; do
        if [ -f "$doc" ] && [ "$doc" != "$TABLE" ]; then docs+=("$doc"); fi
    done
    while IFS=: read -r file name; do
        if ! grep -Eq "(^|::)${name}\$" <<<"$listed"; then
            problem "$file names a test that does not exist: $name"
        fi
    done < <(grep -oE '`[a-z_:0-9]+`' "${docs[@]}" | tr -d '`' \
        | grep -E ':([a-z_0-9]+::)*[rs]_[a-z]+_[0-9]+_' | sort -u)
fi

if [ "$problems" -gt 0 ]; then
    echo "traceability: FAILED, $problems problem(s):" >&2
    for name in "${sections[@]}"; do
        printf '  %-72s %s\n' "$name" "${section_problems[$name]}" >&2
    done
    exit 1
fi
echo "traceability: $(wc -l <"$work/ids") rules traced, $(cut -f2 "$work/tests" | sort -u | wc -l) tests listed"
