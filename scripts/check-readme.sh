#!/usr/bin/env bash
# Keeps the feature table (docs/FEATURES.md) true: every test it names must exist.
#
#   bash scripts/check-readme.sh
#
# A name in backticks in a table row that looks like a test (`module::r_…`,
# `r_…`, `s_…`) must be the tail of a test that `cargo test -- --list` lists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

listed="$(cargo test -q --all-features -- --list 2>/dev/null | sed -n 's/: test$//p' | sort -u)"
if [ -z "$listed" ]; then
    echo "check-readme: cargo listed no tests" >&2
    exit 1
fi

missing=0
named=0
while IFS= read -r name; do
    named=$((named + 1))
    if ! grep -Eq "(^|::)${name}\$" <<<"$listed"; then
        echo "docs/FEATURES.md or README.md names a test that does not exist: $name" >&2
        missing=$((missing + 1))
    fi
done < <(grep -hE '^\|' README.md docs/FEATURES.md | grep -oE '`[a-z_:0-9]+`' | tr -d '`' \
    | grep -E '(^|::)(r|s)_[a-z]+_[0-9]' | sort -u)

if [ "$missing" -gt 0 ]; then
    echo "check-readme: $missing of $named named tests missing" >&2
    exit 1
fi
echo "check-readme: all $named tests named in README.md and docs/FEATURES.md exist"
