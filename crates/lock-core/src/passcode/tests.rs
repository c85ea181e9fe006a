use super::*;
use proptest::prelude::*;

fn code(s: &str) -> Passcode {
    Passcode::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

fn entry(s: &str) -> Entry {
    let digits: heapless::Vec<u8, 64> = s.bytes().map(|b| b - b'0').collect();
    Entry::from_digits(&digits)
}

fn person(n: u8) -> PersonNumber {
    PersonNumber::new(n).unwrap()
}

#[test]
fn r_pin_1_length_six_to_ten() {
    assert_eq!(
        Passcode::parse("13579").err(),
        Some(PasscodeError::TooShort)
    );
    assert!(Passcode::parse("135792").is_ok());
    assert!(Passcode::parse("1357924680").is_ok());
    assert_eq!(
        Passcode::parse("13579246801").err(),
        Some(PasscodeError::TooLong)
    );
    assert_eq!(
        Passcode::parse("13579a").err(),
        Some(PasscodeError::NotADigit)
    );
    assert_eq!(
        Passcode::new(&[1, 2, 3, 4, 5, 10]).err(),
        Some(PasscodeError::NotADigit)
    );
}

#[test]
fn r_pin_2_weak_codes_refused() {
    for weak in [
        "111111",
        "0000000000",
        "123456",
        "3456789",
        "654321",
        "9876543210",
    ] {
        assert_eq!(
            code(weak).check_strength(),
            Err(PasscodeError::TooWeak),
            "{weak}"
        );
    }
    for fine in ["890123", "112233", "135792", "123457", "098765"] {
        assert_eq!(code(fine).check_strength(), Ok(()), "{fine}");
    }
}

#[test]
fn r_pin_5_overlap_both_ways() {
    assert!(code("1357924").overlaps(&code("357924")));
    assert!(code("357924").overlaps(&code("1357924")));
    assert!(code("135792").overlaps(&code("135792")));
    assert!(!code("135792").overlaps(&code("246801")));
    let mut t = PasscodeTable::new();
    t.insert(code("13579246"), person(1), PasscodeKind::Normal)
        .unwrap();
    assert!(t.overlaps(&code("579246")));
    assert!(t.overlaps(&code("0135792468")));
    assert!(!t.overlaps(&code("975310")));
}

#[test]
fn mask_below_is_all_ones_exactly_below_len() {
    for len in 0..=10u8 {
        for i in 0..=15u8 {
            assert_eq!(mask_below(i, len), if i < len { 0xFF } else { 0 });
        }
    }
}

#[test]
fn r_pin_4_entry_capped_at_16_digits() {
    let mut e = Entry::new();
    for _ in 0..16 {
        assert!(e.push(7));
    }
    assert!(!e.push(1), "17th digit ignored");
    assert_eq!(e.len(), 16);
    assert!(!e.push(10));
}

#[test]
fn r_pin_4_anti_peeping_finds_code_anywhere_in_entry() {
    let mut t = PasscodeTable::new();
    t.insert(code("482915"), person(3), PasscodeKind::Normal)
        .unwrap();
    t.insert(code("7310582"), person(4), PasscodeKind::Duress)
        .unwrap();
    let m = t.find(&entry("99482915")).unwrap();
    assert_eq!((m.owner, m.kind), (person(3), PasscodeKind::Normal));
    assert!(t.find(&entry("482915")).is_some());
    assert!(
        t.find(&entry("0000000000482915")).is_some(),
        "at the very end of 16"
    );
    assert!(
        t.find(&entry("00000000000482915")).is_none(),
        "the 17th digit was ignored"
    );
    assert!(t.find(&entry("48291")).is_none());
    assert!(
        t.find(&entry("4829 15".replace(' ', "0").as_str()))
            .is_none()
    );
    let m = t.find(&entry("17310582")).unwrap();
    assert_eq!((m.owner, m.kind), (person(4), PasscodeKind::Duress));
    assert!(t.confirm(&entry("17310582"), &m));
    assert!(
        !t.confirm(&entry("482915"), &m),
        "second check is independent"
    );
}

#[test]
fn remove_owner_and_capacity() {
    let mut t = PasscodeTable::new();
    for i in 0..PASSCODE_CAPACITY {
        let c = Passcode::new(&[1, 3, 5, (i / 10) as u8, (i % 10) as u8, 8, 0]).unwrap();
        t.insert(c, person((i % 100 + 1) as u8), PasscodeKind::Normal)
            .unwrap();
    }
    assert!(t.is_full());
    assert_eq!(
        t.insert(code("246802"), person(1), PasscodeKind::Normal),
        Err(PasscodeError::Full)
    );
    t.remove_owner(person(1));
    assert_eq!(t.len(), PASSCODE_CAPACITY - 1);
    assert!(t.find(&entry("1350080")).is_none());
    assert!(t.find(&entry("1350180")).is_some());
}

fn naive_contains(entry: &[u8], code: &[u8]) -> bool {
    let entry = &entry[..entry.len().min(ENTRY_MAX_DIGITS)];
    contains(entry, code)
}

proptest! {
    /// R-PIN-4: an entry is accepted iff a stored code is a contiguous run of
    /// its first 16 digits.
    #[test]
    fn r_pin_4_search_matches_naive_substring(
        codes in prop::collection::vec(prop::collection::vec(0u8..10, 6..=10), 0..8),
        typed in prop::collection::vec(0u8..10, 0..24),
    ) {
        let mut t = PasscodeTable::new();
        let mut stored: std::vec::Vec<Passcode> = std::vec::Vec::new();
        for (i, c) in codes.iter().enumerate() {
            let c = Passcode::new(c).unwrap();
            if !t.overlaps(&c) {
                t.insert(c, person(i as u8 + 1), PasscodeKind::Normal).unwrap();
                stored.push(c);
            }
        }
        let e = Entry::from_digits(&typed);
        let expected = stored.iter().any(|c| naive_contains(&typed, c.digits()));
        let got = t.find(&e);
        prop_assert_eq!(got.is_some(), expected);
        if let Some(m) = got {
            prop_assert!(t.confirm(&e, &m));
        }
    }

    /// The packed, branch-free search agrees with the plain substring
    /// search for any entry (empty to past 16 digits) and any code,
    /// including codes planted at any offset and running past the end.
    #[test]
    fn packed_search_agrees_with_plain_contains(
        typed in prop::collection::vec(0u8..10, 0..20),
        digits in prop::collection::vec(0u8..10, 6..=10),
        plant in prop::option::of(0usize..20),
    ) {
        let mut typed = typed;
        if let Some(at) = plant {
            // Overwrite from `at` with the code, so it often occurs.
            for (slot, &d) in typed.iter_mut().skip(at).zip(&digits) {
                *slot = d;
            }
        }
        let c = Passcode::new(&digits).unwrap();
        let e = Entry::from_digits(&typed);
        let expected = naive_contains(&typed, c.digits());
        prop_assert_eq!(bool::from(e.contains_ct(&c)), expected);
        let mut t = PasscodeTable::new();
        t.insert(c, person(7), PasscodeKind::Normal).unwrap();
        let got = t.find(&e);
        prop_assert_eq!(got.is_some(), expected);
        if let Some(m) = got {
            prop_assert_eq!((m.owner, m.slot, m.len), (person(7), 0, c.len()));
            prop_assert!(t.confirm(&e, &m));
        }
        prop_assert!(t.overlaps(&c));
    }

    #[test]
    fn r_pin_5_overlap_is_substring_either_way(
        a in prop::collection::vec(0u8..10, 6..=10),
        b in prop::collection::vec(0u8..10, 6..=10),
    ) {
        let (pa, pb) = (Passcode::new(&a).unwrap(), Passcode::new(&b).unwrap());
        prop_assert_eq!(pa.overlaps(&pb), contains(&a, &b) || contains(&b, &a));
        // The table's overlap rule works on packed codes.
        let mut t = PasscodeTable::new();
        t.insert(pa, person(1), PasscodeKind::Normal).unwrap();
        prop_assert_eq!(t.overlaps(&pb), pa.overlaps(&pb));
    }
}
