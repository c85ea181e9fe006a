//! Flash contents are untrusted input (S-ST-3, S-HW-3): `lock_store::Store::load`
//! over arbitrary flash images. The input picks one of a few real images
//! (erased; after a lock's story with a deletion's module work pending; the
//! same story aged until pages rotated; a factory reset cut half-way) and
//! damages it: bytes overwritten, XORed, erased or zeroed at any offset, or
//! a run of raw input written anywhere, so both garbage and nearly-valid
//! images reach the decoder. Then:
//!
//! - `load` never panics: it returns a snapshot (which `Lock::restore` then
//!   checks without panicking) or a typed error;
//! - loading twice on the same store agrees (a repair the first load made
//!   does not change what the second sees), unless the first failed with a
//!   flash error half-way (the runtime then loads again);
//! - `UnsupportedVersion` leaves the flash untouched;
//! - a factory reset afterwards always succeeds, and the next load gives an
//!   empty snapshot with every module to be cleared (the way a lock that
//!   failed secure comes back).
#![no_main]

#[path = "common/store.rs"]
mod common;

use std::sync::OnceLock;

use common::{Flash, block_on, canon, erased, store};
use libfuzzer_sys::fuzz_target;
use lock_core::{BiometricKind, Change, Config, Instant, Lock, Snapshot};
use lock_store::StoreError;
use lock_store::mock_flash::Cut;

/// Runs a lock's worth of changes and log records on `flash`.
fn story(flash: Flash, rounds: u8) -> Flash {
    let mut s = store(flash);
    block_on(async {
        s.load().await.expect("first start");
        s.module_work_done().await.expect("module work");
        s.apply(&Change::Settings(common::settings(1, 30)))
            .await
            .expect("settings");
        for round in 0..rounds {
            for i in 0..6u8 {
                let p = common::person([i, i, i.wrapping_add(round), 6 + i, i * 5 + round, i], 8);
                s.apply(&Change::Person(p)).await.expect("person");
                s.append_log(&common::log_record(
                    i,
                    i,
                    u32::from(round) * 100 + u32::from(i),
                ))
                .await
                .expect("log");
            }
            s.apply(&common::attempts(round, u16::from(round), 0))
                .await
                .expect("attempts");
            s.apply(&common::visitor_code_used(u64::from(round), 9000, 10))
                .await
                .expect("visitor code");
            s.apply(&common::clock_mark(u32::from(round) * 900))
                .await
                .expect("clock mark");
            s.apply(&Change::PersonDeleted(common::number(2)))
                .await
                .expect("delete");
        }
    });
    s.release()
}

/// The images the damage starts from.
fn bases() -> &'static [Flash] {
    static BASES: OnceLock<Vec<Flash>> = OnceLock::new();
    BASES.get_or_init(|| {
        let fresh = story(erased(), 1);
        let aged = story(erased(), 12);
        // A factory reset cut after its marker, during the erase of the state.
        let mut cut = store(aged.clone());
        block_on(cut.load()).expect("aged image loads");
        let at = cut.flash().operations() + 2;
        cut.flash_mut().cut_power(Cut::At {
            operation: at,
            byte: 700,
        });
        let _ = block_on(cut.apply(&Change::FactoryReset));
        let mut resetting = cut.release();
        resetting.power_on();
        vec![erased(), fresh, aged, resetting]
    })
}

type Seen =
    Result<(Vec<u8>, lock_store::ModuleWork), StoreError<lock_store::mock_flash::MockFlashError>>;

fn load(s: &mut common::FlashStore) -> Seen {
    let loaded = block_on(s.load())?;
    Ok((canon(&loaded.snapshot), loaded.module_work))
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let bases = bases();
    let mut flash = bases[usize::from(pick) % bases.len()].clone();
    flash.damage(data);
    let before = flash.bytes().to_vec();

    let mut s = store(flash);
    let first = load(&mut s);
    match &first {
        Ok(_) => {
            let loaded = block_on(s.load()).expect("loaded once, loads again");
            if let Ok(mut lock) = Lock::restore(Config::default(), &loaded.snapshot, Instant::ZERO)
            {
                lock.handle(Instant::ZERO, lock_core::Event::Boot { set_held: false });
            }
        }
        Err(StoreError::UnsupportedVersion(_)) => {
            assert_eq!(
                s.flash().bytes(),
                &before[..],
                "a newer format was written to"
            );
        }
        Err(StoreError::Corrupted | StoreError::Flash(_) | StoreError::Full) => {}
        Err(e) => panic!("load gave {e:?}"),
    }
    let second = load(&mut s);
    // A flash error may come half-way through a repair, and the runtime
    // loads again (lock-runtime's `LOAD_ATTEMPTS`); any other outcome is
    // final: a state, or a refusal until a factory reset.
    if !matches!(first, Err(StoreError::Flash(_))) {
        assert_eq!(first, second, "two loads disagree");
    }

    // A factory reset always brings the lock back.
    if let Err(e) = block_on(s.apply(&Change::FactoryReset)) {
        panic!("a factory reset failed after {first:?}: {e:?}");
    }
    let mut s = store(s.release());
    let fresh = load(&mut s).unwrap_or_else(|e| panic!("load after a reset: {e:?}"));
    assert_eq!(fresh.0, canon(&Snapshot::default()), "a reset left a state");
    for k in BiometricKind::ALL {
        assert!(fresh.1.clears(k), "a reset must clear the {k:?} module");
    }
});
