//! Power cuts at every flash operation (S-ST-1, S-ST-2, R-LKO-4).
//!
//! A door driven through `lock_core::Lock` ([`Door::story`]) gives the steps
//! a runtime hands the store: people added, credentials added, failures
//! recorded, log records appended, a person deleted, a factory reset. Each
//! test replays the story on the mock flash and, for every step of its kind:
//!
//! 1. runs the step once uncut, recording every write and erase it makes
//!    (the reference: the state before is "old", after is "new", and "new" is
//!    what `Snapshot::apply` of the change gives);
//! 2. for every one of those operations, and at byte 0, byte 1, the last
//!    byte, a cut just after its last byte and two random bytes within it,
//!    starts again from the state before, cuts power there, restarts, loads
//!    twice on the same store and once more on a new one: the three agree
//!    and equal "old" or "new", never a third state.
//!
//! The story runs twice: on a fresh flash and on one aged by earlier writes,
//! so that page rotations, migrations and page erases fall on different
//! steps.

// clippy.toml lets `#[test]` functions unwrap, index and panic, but not the
// helpers of an integration test crate: a failing helper should fail the
// test loudly, like the test itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::door::{ADMIN_CODE, Door, config};
use common::{Rng, Seen, Step, canon, replay, run, seen, store, test_flash};
use lock_core::{
    AttemptRecord, BiometricKind, Change, Instant, Lock, LogEntry, Passcode, Person, PersonNumber,
    Role, Snapshot, TemplateId,
};
use lock_store::mock_flash::{Cut, MockFlash, OperationKind};

/// What the store holds after `step`, derived from what it held before.
fn expected(old: &Seen, old_snapshot: &Snapshot, step: &Step, seq: Option<u32>) -> Expect {
    let same_log = old.log.clone();
    match step {
        Step::Apply(change) => {
            let mut s = old_snapshot.clone();
            s.apply(change);
            match change {
                Change::PersonDeleted(n) => Expect::Deleted {
                    snapshot: canon(&s),
                    templates: old_snapshot
                        .person(*n)
                        .map(|p| p.all_templates().collect())
                        .unwrap_or_default(),
                    log: same_log,
                },
                Change::FactoryReset => Expect::Reset { log: same_log },
                // Storing a person never adds module work; it may drop some.
                Change::Person(_) => Expect::ExactButWork(Seen {
                    snapshot: canon(&s),
                    module_work: old.module_work.clone(),
                    log: same_log,
                }),
                _ => Expect::Exact(Seen {
                    snapshot: canon(&s),
                    module_work: old.module_work.clone(),
                    log: same_log,
                }),
            }
        }
        Step::Log(record) => Expect::Logged {
            snapshot: old.snapshot.clone(),
            module_work: old.module_work.clone(),
            first: lock_store::Logged {
                seq: seq.unwrap(),
                record: *record,
            },
            rest: same_log,
        },
        Step::ModuleDone => Expect::Exact(Seen {
            snapshot: old.snapshot.clone(),
            module_work: lock_store::ModuleWork::new(),
            log: same_log,
        }),
    }
}

/// "New", as precisely as it can be said before running the step.
enum Expect {
    Exact(Seen),
    /// Module work as it was or with some deletions dropped.
    ExactButWork(Seen),
    Deleted {
        snapshot: Vec<u8>,
        templates: Vec<(lock_core::BiometricKind, lock_core::TemplateId)>,
        log: Vec<lock_store::Logged>,
    },
    Reset {
        log: Vec<lock_store::Logged>,
    },
    /// The new record first, then the old ones (the oldest may have gone).
    Logged {
        snapshot: Vec<u8>,
        module_work: lock_store::ModuleWork,
        first: lock_store::Logged,
        rest: Vec<lock_store::Logged>,
    },
}

impl Expect {
    fn check(&self, new: &Seen) {
        match self {
            Expect::Exact(s) => assert_eq!(new, s),
            Expect::ExactButWork(s) => {
                assert_eq!(new.snapshot, s.snapshot);
                assert_eq!(new.log, s.log);
                for d in new.module_work.deletions() {
                    assert!(s.module_work.deletions().contains(d));
                }
            }
            Expect::Deleted {
                snapshot,
                templates,
                log,
            } => {
                assert_eq!(&new.snapshot, snapshot);
                assert_eq!(&new.log, log);
                // S-ST-2: the deleted person's templates are owed to the modules.
                for &(kind, t) in templates {
                    assert!(
                        new.module_work.clears(kind)
                            || new.module_work.deletions().contains(&(kind, t)),
                        "{kind:?} {t:?} not in {:?}",
                        new.module_work
                    );
                }
            }
            Expect::Reset { log } => {
                assert_eq!(new.snapshot, canon(&Snapshot::default()));
                // The reset's markers are log items: in a full log they
                // overwrite the oldest sector, as any append does.
                assert!(
                    log.starts_with(&new.log),
                    "the reset lost more than the oldest records"
                );
                for kind in lock_core::BiometricKind::ALL {
                    assert!(new.module_work.clears(kind));
                }
            }
            Expect::Logged {
                snapshot,
                module_work,
                first,
                rest,
            } => {
                assert_eq!(&new.snapshot, snapshot);
                assert_eq!(&new.module_work, module_work);
                assert_eq!(new.log.first(), Some(first));
                assert!(
                    rest.starts_with(&new.log[1..]),
                    "log lost more than its oldest"
                );
            }
        }
    }
}

/// Whether `got` is the old state (`Some(false)`), the new one
/// (`Some(true)`) or a third (`None`). The state proper (snapshot and module
/// work) must be one or the other as a whole. The log is judged record by
/// record (S-ST-1: "each record old or new"): every record shown is an old
/// one or the new one, and every old record the new state keeps is still
/// there; a cut while the oldest log sector is erased to make room may take
/// that sector's records without the new record arriving.
///
/// `oldest_may_go`: after a second cut, in the restart that finished what the
/// first one interrupted, each restart has appended to the log (a partial
/// item, a reset's completion marker), and like any append to a full log that
/// may overwrite the oldest sector: then only the oldest records may be
/// missing.
fn old_or_new(old: &Seen, new: &Seen, got: &Seen, oldest_may_go: bool) -> Option<bool> {
    let state = (&got.snapshot, &got.module_work);
    let is_new = if state == (&new.snapshot, &new.module_work) {
        // Appending a log record leaves the state as it was: then the log
        // says which.
        if state == (&old.snapshot, &old.module_work) {
            new.log.first().is_some_and(|r| got.log.first() == Some(r))
                && new.log.first() != old.log.first()
        } else {
            true
        }
    } else if state == (&old.snapshot, &old.module_work) {
        false
    } else {
        return None;
    };
    let shown_ok = got
        .log
        .iter()
        .all(|r| old.log.contains(r) || new.log.first() == Some(r));
    let kept = if oldest_may_go {
        let shown_old: Vec<_> = got.log.iter().filter(|r| old.log.contains(r)).collect();
        old.log.iter().zip(&shown_old).all(|(a, b)| a == *b)
    } else {
        old.log
            .iter()
            .filter(|r| new.log.contains(r))
            .all(|r| got.log.contains(r))
    };
    let ordered = got.log.windows(2).all(|w| w[0].seq > w[1].seq);
    (shown_ok && kept && ordered).then_some(is_new)
}

fn summary(s: &Seen) -> String {
    let seqs = |l: &[lock_store::Logged]| match (l.first(), l.last()) {
        (Some(a), Some(b)) => format!("{}..={} ({} records)", b.seq, a.seq, l.len()),
        _ => "empty".into(),
    };
    format!(
        "snapshot {} bytes {:x?}…, module work {:?}, log {}",
        s.snapshot.len(),
        &s.snapshot[..s.snapshot.len().min(24)],
        s.module_work,
        seqs(&s.log)
    )
}

/// Byte positions to cut at within an operation of `len` bytes.
fn positions(len: usize, rng: &mut Rng) -> Vec<usize> {
    let mut at = vec![0, 1, len.saturating_sub(1), len];
    if len > 2 {
        at.push(rng.range(1, len));
        at.push(rng.range(1, len));
    }
    at.sort_unstable();
    at.dedup();
    at.retain(|&b| b <= len);
    at
}

/// Three loads after a restart: the same store twice, a new one once. They
/// agree; their common answer is returned.
fn restart_and_load<const W: usize, const S: usize>(
    flash: MockFlash<W, S>,
) -> (Seen, MockFlash<W, S>) {
    let mut s = store(flash);
    let a = seen(&mut s).unwrap_or_else(|e| panic!("load after a cut: {e:?}"));
    let b = seen(&mut s).unwrap();
    let mut s = store(s.release());
    let c = seen(&mut s).unwrap();
    assert_eq!(a, b, "two loads disagree");
    assert_eq!(a, c, "a load after another restart disagrees");
    (a, s.release())
}

struct Outcome {
    trials: usize,
    old: usize,
    new: usize,
    /// Erases among the operations cut (page rotations, resets).
    erases: usize,
}

/// Cuts power at every operation of `step`, starting from `before`.
fn cut_everywhere<const W: usize, const S: usize>(
    before: &MockFlash<W, S>,
    step: &Step,
    rng: &mut Rng,
    recovery_cuts: bool,
) -> Outcome {
    // The reference run.
    let mut s = store(before.clone());
    let old = seen(&mut s).unwrap();
    let old_snapshot = block_on_load_snapshot(&mut s);
    let first_op = s.flash().operations();
    s.flash_mut().start_trace();
    let seq = run(&mut s, step).unwrap_or_else(|e| panic!("{step:?}: {e:?}"));
    let ops = s.flash().trace().to_vec();
    let (new, _) = restart_and_load(s.release());
    expected(&old, &old_snapshot, step, seq).check(&new);

    let mut outcome = Outcome {
        trials: 0,
        old: 0,
        new: 0,
        erases: ops
            .iter()
            .filter(|o| o.kind == OperationKind::Erase)
            .count(),
    };
    for op in &ops {
        for byte in positions(op.len, rng) {
            let mut s = store(before.clone());
            seen(&mut s).unwrap();
            assert_eq!(
                s.flash().operations(),
                first_op,
                "loads are not deterministic"
            );
            s.flash_mut().cut_power(Cut::At {
                operation: op.index,
                byte,
            });
            let result = run(&mut s, step);
            let mut flash = s.release();
            assert!(
                result.is_err() && !flash.is_powered(),
                "the cut did not happen"
            );
            flash.power_on();
            let after_cut = flash.clone();
            flash.start_trace();
            if std::env::var("CUT_DEBUG").is_ok() {
                eprintln!("cut at byte {byte} of {op:?} during {step:?}");
            }
            let (got, flash) = restart_and_load(flash);
            outcome.trials += 1;
            match old_or_new(&old, &new, &got, false) {
                Some(true) => outcome.new += 1,
                Some(false) => outcome.old += 1,
                None => panic!(
                    "a third state after a cut at byte {byte} of {op:?} during {step:?}:\n\
                     old {}\nnew {}\ngot {}",
                    summary(&old),
                    summary(&new),
                    summary(&got)
                ),
            }
            // A second cut, while the restart finishes what the first one
            // interrupted: still old or new.
            if recovery_cuts {
                for rop in flash
                    .trace()
                    .iter()
                    .filter(|o| o.index >= after_cut.operations())
                {
                    // Fewer positions here: this loop runs once per first cut.
                    let mut at = vec![0, rop.len];
                    if rop.len > 1 {
                        at.push(rng.range(1, rop.len));
                    }
                    for byte in at {
                        let mut flash = after_cut.clone();
                        flash.cut_power(Cut::At {
                            operation: rop.index,
                            byte,
                        });
                        let mut s = store(flash);
                        let _ = seen(&mut s);
                        let mut flash = s.release();
                        assert!(!flash.is_powered(), "the second cut did not happen");
                        flash.power_on();
                        let (again, _) = restart_and_load(flash);
                        assert!(
                            old_or_new(&old, &new, &again, true).is_some(),
                            "a third state after a cut during recovery ({rop:?} byte {byte}) \
                             from a cut at byte {byte} of {op:?} during {step:?}:\n\
                             old {}\nnew {}\ngot {}",
                            summary(&old),
                            summary(&new),
                            summary(&again)
                        );
                        outcome.trials += 1;
                    }
                }
            }
        }
    }
    outcome
}

fn block_on_load_snapshot<const W: usize, const S: usize>(
    s: &mut lock_store::Store<MockFlash<W, S>>,
) -> Snapshot {
    common::block_on(s.load()).unwrap().snapshot
}

/// A flash aged by earlier use: ten people (numbers 050 to 059, so the
/// story's people are others), then `n` failure records and log records, so
/// that both partitions have wrapped and the story's page rotations,
/// migrations (which copy those people) and page erases fall on different
/// steps for different `n`.
fn aged<const W: usize, const S: usize>(start: MockFlash<W, S>, n: u16) -> MockFlash<W, S> {
    let mut steps = Vec::new();
    for i in 0..10u8 {
        let mut p = Person::new(PersonNumber::new(50 + i).unwrap(), Role::User);
        p.passcode = Some(Passcode::parse(&format!("6{:05}", 10_007 + u32::from(i) * 37)).unwrap());
        p.add_template(BiometricKind::Finger, TemplateId(0x5000 + u16::from(i)));
        steps.push(Step::Apply(Change::Person(p)));
    }
    for i in 0..n {
        steps.push(Step::Apply(Change::Attempts(AttemptRecord {
            recent: 0,
            since_success: i,
            lockout: None,
        })));
        steps.push(Step::Log(lock_core::LogRecord {
            at: Instant::from_millis(u64::from(i) * 1000),
            wall: None,
            entry: LogEntry::LockoutEnded,
        }));
    }
    steps.push(Step::Apply(Change::Attempts(AttemptRecord::default())));
    replay(start, &steps).1
}

/// Runs the cut test for every story step that `pick` selects (given the
/// whole story and a step's index), on a fresh and on two aged flashes.
fn story_cuts(pick: impl Fn(&[Step], usize) -> bool, recovery_cuts: bool) -> Outcome {
    let story = Door::story();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut total = Outcome {
        trials: 0,
        old: 0,
        new: 0,
        erases: 0,
    };
    let mut steps_cut = 0;
    for start in [
        test_flash(),
        aged(test_flash(), 1000),
        aged(test_flash(), 1025),
    ] {
        let (before, _) = replay(start, &story);
        for (i, (flash, step)) in before.iter().zip(&story).enumerate() {
            if pick(&story, i) {
                let o = cut_everywhere(flash, step, &mut rng, recovery_cuts);
                total.trials += o.trials;
                total.old += o.old;
                total.new += o.new;
                total.erases += o.erases;
                steps_cut += 1;
            }
        }
    }
    assert!(steps_cut > 0, "the story has no such step");
    println!(
        "{steps_cut} steps ({} of their operations erases), {} cuts: {} left the old state, \
         {} the new one",
        total.erases, total.trials, total.old, total.new
    );
    // Both outcomes happen: the cuts do land on both sides of the commit.
    assert!(total.old > 0 && total.new > 0);
    total
}

/// Whether step `i` stores a person whose number was free: adding a person
/// (R-MNU-4) rather than a credential to someone stored.
fn adds_a_person(story: &[Step], i: usize) -> bool {
    let Step::Apply(Change::Person(p)) = &story[i] else {
        return false;
    };
    for step in story[..i].iter().rev() {
        match step {
            Step::Apply(Change::FactoryReset) => return true,
            Step::Apply(Change::PersonDeleted(n)) if *n == p.number => return true,
            Step::Apply(Change::Person(q)) if q.number == p.number => return false,
            _ => {}
        }
    }
    true
}

#[test]
fn s_st_1_add_a_person_cut_anywhere_leaves_old_or_new() {
    story_cuts(adds_a_person, false);
}

#[test]
fn s_st_1_add_a_credential_cut_anywhere_leaves_old_or_new() {
    story_cuts(
        |story, i| matches!(story[i], Step::Apply(Change::Person(_))) && !adds_a_person(story, i),
        false,
    );
}

#[test]
fn r_lko_4_s_st_1_record_a_failure_cut_anywhere_leaves_old_or_new() {
    story_cuts(
        |story, i| matches!(story[i], Step::Apply(Change::Attempts(_))),
        false,
    );
}

#[test]
fn s_st_2_delete_a_person_cut_anywhere_finishes_at_boot_with_module_work() {
    story_cuts(
        |story, i| {
            matches!(
                story[i],
                Step::Apply(Change::PersonDeleted(_)) | Step::ModuleDone
            )
        },
        true,
    );
}

#[test]
fn s_st_2_factory_reset_cut_anywhere_finishes_at_boot() {
    story_cuts(
        |story, i| matches!(story[i], Step::Apply(Change::FactoryReset)),
        true,
    );
}

#[test]
fn s_st_1_append_a_log_record_cut_anywhere_leaves_old_or_new() {
    story_cuts(|story, i| matches!(story[i], Step::Log(_)), false);
}

#[test]
fn s_st_1_settings_cut_anywhere_leaves_old_or_new() {
    story_cuts(
        |story, i| matches!(story[i], Step::Apply(Change::Settings(_))),
        false,
    );
}

/// Failures and log records across several page rotations of both
/// partitions, with people to migrate, after `aging` earlier ones brought
/// the state map near its first wrap: every step that erases a page is cut
/// everywhere (and cut again during the recovery), and so is every
/// `every`-th of the others.
fn rotations<const W: usize, const S: usize>(aging: u16, count: u16, every: usize) {
    let mut steps = Vec::new();
    for i in 0..count {
        steps.push(Step::Apply(Change::Attempts(AttemptRecord {
            recent: u8::try_from(i % 5).unwrap(),
            since_success: i,
            lockout: None,
        })));
        steps.push(Step::Log(lock_core::LogRecord {
            at: Instant::from_millis(u64::from(i) * 777),
            wall: None,
            entry: LogEntry::Locked(lock_core::LockMethod::InsideButton),
        }));
    }
    let (before, _) = replay(aged(common::flash_for::<W, S>(), aging), &steps);
    let mut rng = Rng(0x0dd_ba11);
    let (mut trials, mut erase_steps) = (0, 0);
    for (i, (flash, step)) in before.iter().zip(&steps).enumerate() {
        let mut probe = store(flash.clone());
        seen(&mut probe).unwrap();
        probe.flash_mut().start_trace();
        run(&mut probe, step).unwrap();
        let erases = probe
            .flash()
            .trace()
            .iter()
            .any(|o| o.kind == OperationKind::Erase);
        if erases || i % every == 0 {
            erase_steps += usize::from(erases);
            trials += cut_everywhere(flash, step, &mut rng, erases).trials;
        }
    }
    println!("{W}-byte words, {S}-byte sectors: {erase_steps} steps erased a page; {trials} cuts");
    assert!(erase_steps >= 4, "the steps did not rotate pages");
}

#[test]
fn s_st_1_page_rotations_migrations_and_erases_cut_anywhere_leave_old_or_new() {
    rotations::<4, 1024>(1100, 150, 7);
}

#[test]
fn s_st_1_page_rotations_cut_anywhere_on_stm32l4_geometry() {
    // 8-byte words, 2 KiB pages: a cut erase leaves a whole marker word
    // erased (this found sequential-storage's unrepaired `fetch_all_items`).
    rotations::<8, 2048>(1650, 150, 11);
}

#[test]
fn s_st_1_page_rotations_cut_anywhere_on_rp2040_geometry() {
    // Byte writes, 4 KiB sectors.
    rotations::<1, 4096>(1800, 700, 61);
}

#[test]
fn r_lko_4_a_failure_on_flash_survives_a_cut_during_its_log_record() {
    // The lock persists the failure first (S-BF-2); power goes while the
    // log record that follows it is written.
    let mut door = Door::fresh();
    door.first_start(ADMIN_CODE);
    let setup = std::mem::take(&mut door.steps);
    let (_, flash) = replay(test_flash(), &setup);
    let mut s = store(flash);
    seen(&mut s).unwrap();
    for failures in 1..=5u8 {
        door.wrong_code();
        let steps = std::mem::take(&mut door.steps);
        let attempts = steps
            .iter()
            .position(|st| matches!(st, Step::Apply(Change::Attempts(_))))
            .unwrap();
        for step in &steps[..=attempts] {
            run(&mut s, step).unwrap();
        }
        // Cut inside the next write, whatever it is.
        let next = s.flash().operations();
        s.flash_mut().cut_power(Cut::At {
            operation: next,
            byte: 3,
        });
        let rest = &steps[attempts + 1..];
        assert!(
            !rest.is_empty(),
            "the failure is logged after it is persisted"
        );
        assert!(run(&mut s, &rest[0]).is_err());
        let mut flash = s.release();
        flash.power_on();
        s = store(flash);
        let loaded = common::block_on(s.load()).unwrap();
        let restored = Lock::restore(config(), &loaded.snapshot, Instant::ZERO).unwrap();
        assert_eq!(
            restored.failures_since_success(),
            u16::from(failures),
            "the count includes the failure"
        );
        if failures == 5 {
            // R-LKO-1's lockout survives too.
            assert!(loaded.snapshot.attempts.lockout.is_some());
        }
    }
}

/// What the runtime does when a write fails: it tries the same write again,
/// with no load between. The store reads the flash back by itself first
/// (`Store::recover`), so the retry succeeds and the state ends as if the
/// first attempt had never been made. Modelled by a write that fails
/// half-way (power gone at its fourth byte, back at once), at every step of
/// the door's story.
#[test]
fn s_st_1_a_write_retried_after_it_failed_recovers_without_a_load() {
    let story = Door::story();
    let (_, reference) = replay(test_flash(), &story);
    let want = seen(&mut store(reference)).unwrap();
    for failing in 0..story.len() {
        let mut s = store(test_flash());
        seen(&mut s).unwrap();
        for (i, step) in story.iter().enumerate() {
            if i == failing {
                let next = s.flash().operations();
                s.flash_mut().cut_power(Cut::At {
                    operation: next,
                    byte: 3,
                });
                assert!(run(&mut s, step).is_err(), "step {i} fails");
                s.flash_mut().power_on();
            }
            run(&mut s, step).unwrap_or_else(|e| panic!("step {i} ({}): {e:?}", step.kind()));
        }
        let got = seen(&mut store(s.release())).unwrap();
        assert_eq!(got.snapshot, want.snapshot, "failing step {failing}");
        assert_eq!(got.module_work, want.module_work, "failing step {failing}");
    }
}
