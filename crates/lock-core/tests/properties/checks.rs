//! What the properties look for in a step (an unlock, a lifted lockout, a
//! recorded failure), people as comparable values, the SPEC's validity rule
//! written out, and the proptest configuration of every property.

use std::collections::BTreeMap;

use lock_core::{
    Action, Actions, AppCommand, AppRequest, BoltPosition, Event, LogEntry, Passcode, Person, Role,
    Setting, TemplateId, Timestamp, Validity,
};
use proptest::test_runner::Config as ProptestConfig;
use subtle::ConstantTimeEq;

// ----- helpers for the properties ----------------------------------------------------

pub(crate) fn unlocks(actions: &Actions) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::DriveBolt {
                to: BoltPosition::Unlocked,
                ..
            }
        )
    })
}

/// A batch that ends a lockout on purpose (R-LKO-3).
pub(crate) fn lifts_lockout(event: &Event) -> bool {
    matches!(
        event,
        Event::App(AppRequest {
            command: AppCommand::LiftLockout
                | AppCommand::Configure(Setting::LockoutProtection(false)),
            ..
        })
    )
}

/// A failed verification was recorded in this batch.
pub(crate) fn has_failure(actions: &Actions) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::Log(r) if matches!(r.entry, LogEntry::UnlockFailed { reason: lock_core::Refusal::NoMatch, .. })
        )
    })
}

/// A person's record as comparable values (a [`Passcode`] has no `PartialEq`:
/// its digits are compared, in a test, in the open).
type PersonView = (
    u8,
    Role,
    Validity,
    Vec<TemplateId>,
    Vec<TemplateId>,
    Vec<TemplateId>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

pub(crate) fn view(people: &[Person]) -> BTreeMap<u8, PersonView> {
    people
        .iter()
        .map(|p| {
            (
                p.number.get(),
                (
                    p.number.get(),
                    p.role,
                    p.validity,
                    p.faces.to_vec(),
                    p.palms.to_vec(),
                    p.fingers.to_vec(),
                    p.passcode.map(|c| c.digits().to_vec()),
                    p.duress.map(|c| c.digits().to_vec()),
                ),
            )
        })
        .collect()
}

/// R-USR-6 and S-VC-2 as the SPEC words them, written out here rather than
/// taken from the crate: both ends inclusive, either open; a bounded period
/// without a trusted clock admits nothing.
pub(crate) fn admits(v: &Validity, wall: Option<Timestamp>) -> bool {
    match (v.from, v.until, wall) {
        (None, None, _) => true,
        (_, _, None) => false,
        (from, until, Some(t)) => {
            from.is_none_or(|f| t.0 >= f.0) && until.is_none_or(|u| t.0 <= u.0)
        }
    }
}

pub(crate) fn same_passcode(a: Option<Passcode>, b: Option<Passcode>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => bool::from(a.ct_eq(&b)),
        (None, None) => true,
        _ => false,
    }
}

// ----- the properties' configuration ------------------------------------------

/// `cases` per property, sized so the whole test binary runs in well under
/// 30 s in a debug build; `PROPTEST_CASES` overrides it for a deeper run.
pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        ..ProptestConfig::default()
    }
}
