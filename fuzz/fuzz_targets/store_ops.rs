//! lock-store operations with power cuts at arbitrary points, against a
//! model (S-ST-1, S-ST-2, R-LKO-4, R-APP-6; sequential-storage's
//! `map-power-cuts` target is the example).
//!
//! The input is a list of operations a runtime hands the store: store a
//! person (with credentials and templates from a small pool, so that
//! templates are handed out again after a deletion), delete one, settings,
//! failure counts, a used visitor code, app records, a factory reset, a log
//! record, "module work done", a restart. Each may come with a power cut at
//! any byte of any of its flash writes and erases (the mock flash tears the
//! byte it is cut at), and with a second cut during the restart's repair.
//! The model is `Snapshot::apply` of every change that returned `Ok`, the
//! log records that returned their sequence number, and the module work
//! owed. After every restart:
//!
//! - the store loads (never `Corrupted`), and two loads and a fresh store
//!   agree;
//! - the state is the model before the interrupted operation or after it,
//!   never a third; nothing that returned `Ok` earlier is lost;
//! - the log holds the records that returned `Ok`, newest first, each with
//!   its sequence number (only the oldest may have been overwritten, a
//!   sector at a time), plus the interrupted one or not; sequence numbers
//!   only grow, also across factory resets;
//! - module work owed for a deletion or a reset is reported until it is
//!   reported done (S-ST-2);
//! - an operation that failed without a cut is a typed refusal that wrote
//!   nothing.
#![no_main]

#[path = "common/store.rs"]
mod common;

use common::{FlashStore, block_on, canon, store};
use libfuzzer_sys::fuzz_target;
use lock_core::{BiometricKind, Change, LogRecord, Snapshot, TemplateId};
use lock_store::mock_flash::{Cut, MockFlashError};
use lock_store::{Logged, ModuleWork, StoreError};

type Error = StoreError<MockFlashError>;

/// Log records always kept: the log's four 1 KiB sectors hold at least 16
/// records each, and overwriting frees one sector at a time.
const KEPT: usize = 16;

#[derive(Debug, Clone)]
enum Op {
    Apply(Change),
    Log(LogRecord),
    ModuleDone,
    App(u8, Option<Vec<u8>>),
    Restart,
}

/// What the store must show: the model.
#[derive(Clone, Debug)]
struct Model {
    snapshot: Snapshot,
    /// Newest first.
    log: Vec<Logged>,
    /// Templates whose deletion from a module is owed, and modules to clear.
    owed: Vec<(BiometricKind, TemplateId)>,
    clear: bool,
    apps: [Option<Vec<u8>>; 4],
}

impl Model {
    fn after(&self, op: &Op, seq: Option<u32>) -> Model {
        let mut m = self.clone();
        match op {
            Op::Apply(change) => {
                match change {
                    Change::PersonDeleted(n) => {
                        if let Some(p) = m.snapshot.person(*n) {
                            m.owed.extend(p.all_templates());
                        }
                    }
                    Change::Person(p) => {
                        // A template handed out again is no longer owed.
                        m.owed.retain(|t| !p.all_templates().any(|u| u == *t));
                    }
                    Change::FactoryReset => {
                        m.owed.clear();
                        m.clear = true;
                        m.apps = Default::default();
                    }
                    _ => {}
                }
                m.snapshot.apply(change);
            }
            Op::Log(record) => {
                if let Some(seq) = seq {
                    m.log.insert(
                        0,
                        Logged {
                            seq,
                            record: *record,
                        },
                    );
                }
            }
            Op::ModuleDone => {
                m.owed.clear();
                m.clear = false;
            }
            Op::App(slot, record) => {
                if let Some(a) = m.apps.get_mut(usize::from(*slot)) {
                    *a = record.clone();
                }
            }
            Op::Restart => {}
        }
        m
    }
}

/// What a restarted lock sees.
#[derive(Debug, PartialEq)]
struct Seen {
    snapshot: Vec<u8>,
    work: ModuleWork,
    log: Vec<Logged>,
    apps: [Option<Vec<u8>>; 4],
}

fn seen(s: &mut FlashStore) -> Result<Seen, Error> {
    block_on(async {
        let loaded = s.load().await?;
        let log = s.read_log::<256>(None).await?;
        let mut apps: [Option<Vec<u8>>; 4] = Default::default();
        for (slot, app) in apps.iter_mut().enumerate() {
            let mut buf = [0u8; lock_store::APP_RECORD_MAX];
            *app = s
                .read_app(slot as u8, &mut buf)
                .await?
                .map(|n| buf[..n].to_vec());
        }
        Ok(Seen {
            snapshot: canon(&loaded.snapshot),
            work: loaded.module_work,
            log: log.into_iter().collect(),
            apps,
        })
    })
}

fn run(s: &mut FlashStore, op: &Op) -> Result<Option<u32>, Error> {
    block_on(async {
        match op {
            Op::Apply(change) => s.apply(change).await.map(|()| None),
            Op::Log(record) => s.append_log(record).await.map(Some),
            Op::ModuleDone => s.module_work_done().await.map(|()| None),
            Op::App(slot, record) => s.write_app(*slot, record.as_deref()).await.map(|()| None),
            Op::Restart => Ok(None),
        }
    })
}

/// Whether `got`'s log is `m`'s, up to records overwritten at the old end.
fn log_matches(m: &Model, got: &[Logged]) -> bool {
    m.log.starts_with(got) && got.len() >= m.log.len().min(KEPT)
}

fn work_covers(m: &Model, work: &ModuleWork) -> bool {
    let clears = BiometricKind::ALL.iter().all(|&k| work.clears(k));
    (!m.clear || clears)
        && m.owed
            .iter()
            .all(|t| work.clears(t.0) || work.deletions().contains(t))
}

fn matches(m: &Model, got: &Seen) -> bool {
    got.snapshot == canon(&m.snapshot)
        && log_matches(m, &got.log)
        && work_covers(m, &got.work)
        && got.apps == m.apps
}

/// Schedules a cut; `Cut::At` counts operations from now.
fn schedule(s: &mut FlashStore, cut: Cut) {
    let done = s.flash().operations();
    s.flash_mut().cut_power(match cut {
        Cut::At { operation, byte } => Cut::At {
            operation: done + operation,
            byte,
        },
        other => other,
    });
}

/// Restarts on what the flash holds, perhaps cutting power again during the
/// restart's own repair; returns what the lock then sees.
fn restart(s: FlashStore, second_cut: Option<Cut>) -> (FlashStore, Seen) {
    let mut flash = s.release();
    flash.power_on();
    let mut s = store(flash);
    if let Some(cut) = second_cut {
        schedule(&mut s, cut);
        let _ = seen(&mut s);
        let mut flash = s.release();
        flash.power_on();
        s = store(flash);
    }
    let a = seen(&mut s).unwrap_or_else(|e| panic!("a restart after a cut does not load: {e:?}"));
    let b = seen(&mut s).expect("a second load");
    assert_eq!(a, b, "two loads after a restart disagree");
    let mut fresh = store(s.flash().clone());
    let c = seen(&mut fresh).expect("a fresh store loads");
    assert_eq!(a, c, "a fresh store sees another state");
    (s, a)
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
}

fn op(b: &mut Bytes<'_>) -> Op {
    let kind = b.byte();
    match kind % 12 {
        0..=2 => {
            let p = [b.byte(), b.byte(), b.byte(), b.byte(), b.byte(), b.byte()];
            Op::Apply(Change::Person(common::person(p, 8)))
        }
        3 => Op::Apply(Change::PersonDeleted(common::number(b.byte() % 8 + 1))),
        4 => Op::Apply(Change::Settings(common::settings(b.byte(), b.u16()))),
        5 => Op::Apply(common::attempts(b.byte(), b.u16(), b.u32() % 86_400_000)),
        6 => match b.byte() {
            mark @ 0x80.. => Op::Apply(common::clock_mark(u32::from(mark) << 16 | b.u32() >> 16)),
            armed @ 0x40..=0x7f => Op::Apply(Change::Armed(lock_core::Armed {
                leaving_home: armed & 1 != 0,
                duress: armed & 2 != 0,
                intrusion: armed & 4 != 0,
            })),
            id => Op::Apply(common::visitor_code_used(
                u64::from(id),
                b.u16().into(),
                b.u16().into(),
            )),
        },
        7 => Op::Apply(Change::FactoryReset),
        8 => Op::ModuleDone,
        9 => {
            // Slot 200 is out of range: refused.
            let slot = [0, 1, 2, 3, 200][usize::from(b.byte() % 5)];
            let len = usize::from(b.byte());
            // Up to two bytes over the limit: refused.
            let record = (len % 3 != 0).then(|| {
                (0..len % (lock_store::APP_RECORD_MAX + 3))
                    .map(|i| (i as u8) ^ kind)
                    .collect()
            });
            Op::App(slot, record)
        }
        10 => Op::Restart,
        _ => Op::Log(common::log_record(b.byte(), b.byte(), b.u32())),
    }
}

fn cut(b: &mut Bytes<'_>) -> Option<Cut> {
    let c = b.byte();
    match c % 4 {
        0 | 1 => None,
        2 => Some(Cut::At {
            operation: u64::from(c >> 2),
            byte: usize::from(b.u16()),
        }),
        _ => Some(Cut::AfterBytes(
            u64::from(b.u16()) * u64::from(c >> 2).max(1),
        )),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut s = store(common::erased());
    // First start: an erased flash is a factory-fresh lock that owes the
    // modules a clearing.
    let first = seen(&mut s).expect("an erased flash loads");
    let mut model = Model {
        snapshot: Snapshot::default(),
        log: Vec::new(),
        owed: Vec::new(),
        clear: true,
        apps: Default::default(),
    };
    assert!(matches(&model, &first), "first start: {first:?}");
    // The highest sequence number ever handed out.
    let mut highest: Option<u32> = None;
    let mut steps = 0;
    while !b.0.is_empty() && steps < 48 {
        steps += 1;
        let op = op(&mut b);
        let first_cut = cut(&mut b);
        let second_cut = first_cut.and_then(|_| cut(&mut b));
        if let Op::Restart = op {
            let (restarted, got) = restart(s, None);
            s = restarted;
            assert!(
                matches(&model, &got),
                "a restart changed the state: {got:?}\nmodel {model:?}"
            );
            continue;
        }
        if let Some(c) = first_cut {
            schedule(&mut s, c);
        }
        let result = run(&mut s, &op);
        let powered = s.flash().is_powered();
        // A cut scheduled past the operation's end must not reach the next.
        s.flash_mut().power_on();
        match result {
            Ok(seq) => {
                assert!(powered, "Ok after the power went");
                if let Some(seq) = seq {
                    assert!(
                        highest.is_none_or(|h| seq > h),
                        "sequence number {seq} after {highest:?}"
                    );
                    highest = Some(seq);
                }
                model = model.after(&op, seq);
            }
            Err(e) if powered => {
                // A refusal: typed, and nothing written.
                assert!(
                    matches!(
                        e,
                        StoreError::ModuleWorkFull | StoreError::Invalid | StoreError::Full
                    ),
                    "{op:?} failed with power on: {e:?}"
                );
                let (restarted, got) = restart(s, None);
                s = restarted;
                assert!(
                    matches(&model, &got),
                    "a refused {op:?} changed the state: {got:?}"
                );
            }
            Err(_) => {
                let (restarted, got) = restart(s, second_cut);
                s = restarted;
                // The interrupted operation happened or did not.
                let new_seq = got.log.first().map(|l| l.seq).filter(|&q| {
                    matches!(op, Op::Log(_))
                        && highest.is_none_or(|h| q > h)
                        && got
                            .log
                            .first()
                            .is_some_and(|l| matches!(&op, Op::Log(r) if l.record == *r))
                });
                let new = model.after(&op, new_seq);
                // A cut while storing a person may drop owed module work of
                // that person's templates before the person is stored.
                let mut old = model.clone();
                if let Op::Apply(Change::Person(p)) = &op {
                    old.owed.retain(|t| !p.all_templates().any(|u| u == *t));
                }
                if matches(&new, &got) {
                    model = new;
                    if new_seq.is_some() {
                        highest = new_seq;
                    }
                } else if matches(&old, &got) {
                    // Module work the operation did not change stays owed;
                    // module work done may or may not have been recorded.
                    model = old;
                } else {
                    panic!(
                        "after a cut during {op:?} the store shows a third state:\n{got:?}\nold {model:?}\nnew {new:?}"
                    );
                }
                if let Op::ModuleDone = op {
                    if got.work.is_empty() {
                        model.owed.clear();
                        model.clear = false;
                    }
                }
            }
        }
    }
    let (_, got) = restart(s, None);
    assert!(
        matches(&model, &got),
        "the end state: {got:?}\nmodel {model:?}"
    );
});
