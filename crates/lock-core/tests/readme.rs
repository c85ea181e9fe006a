//! The README lists every root export of the crate exactly once, and nothing
//! else: its list under "The API" is compared with the `pub use` items of
//! `src/lib.rs` (the crate root), whose `internals` module is not part of
//! the public API.

// A failing check should fail loudly.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

const README: &str = include_str!("../README.md");
const LIB: &str = include_str!("../src/lib.rs");

/// The names the crate root re-exports: every top-level `pub use` item, the
/// name after `as` when renamed.
fn root_exports() -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = LIB;
    while let Some(at) = rest.find("\npub use ") {
        let item = &rest[at + "\npub use ".len()..];
        let end = item.find(';').expect("a `pub use` ends with `;`");
        let tree = &item[..end];
        let list = match tree.find('{') {
            Some(open) => &tree[open + 1..tree.rfind('}').expect("a closing brace")],
            None => tree.rsplit("::").next().expect("a path"),
        };
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let name = part.rsplit(" as ").next().expect("a name").trim();
            names.push(name.to_string());
        }
        rest = &item[end..];
    }
    names
}

/// The names the README's list links to: lines `- [`Name`]: …` under
/// "## The API", up to the next heading of that level.
fn readme_list() -> Vec<String> {
    let section = README
        .split("\n## ")
        .find(|s| s.starts_with("The API"))
        .expect("a section \"The API\"");
    section
        .lines()
        .filter_map(|line| line.strip_prefix("- [`"))
        .map(|line| line.split('`').next().expect("a name").to_string())
        .collect()
}

fn counts(names: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for name in names {
        *counts.entry(name.as_str()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_readme_lists_every_root_export_once_and_nothing_else() {
    let exports = root_exports();
    let listed = readme_list();
    assert!(
        exports.len() > 50,
        "parsed only {exports:?} from src/lib.rs"
    );
    let twice: Vec<_> = counts(&listed)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.is_empty(), "listed more than once: {twice:?}");
    let exported = counts(&exports);
    let listed = counts(&listed);
    let missing: Vec<_> = exported
        .keys()
        .filter(|n| !listed.contains_key(*n))
        .collect();
    let extra: Vec<_> = listed
        .keys()
        .filter(|n| !exported.contains_key(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "exported but not in the README: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in the README but not exported: {extra:?}"
    );
}
