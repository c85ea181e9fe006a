//! The commissioning window follows the lock (R-MTR-1, R-MNU-7, R-MNU-9).

use lock_matter::{Fabrics, Look, Plan, Window};

fn look(pairing: bool, power_cycles: u32, factory_resets: u32, fabrics: &[u8]) -> Look {
    Look {
        pairing,
        power_cycles,
        factory_resets,
        fabrics: fabrics.iter().copied().collect(),
        window_open: false,
    }
}

fn fresh() -> Window {
    Window::new(&look(false, 0, 0, &[]))
}

#[test]
fn r_mtr_1_window_follows_pairing_mode() {
    let mut w = fresh();
    assert_eq!(w.follow(&look(false, 0, 0, &[])), Plan::default());
    let open = w.follow(&look(true, 0, 0, &[]));
    assert!(open.open && !open.close);
    // Still pairing (even after rs-matter closed it): nothing more.
    assert_eq!(w.follow(&look(true, 0, 0, &[])), Plan::default());
    let closed = w.follow(&look(false, 0, 0, &[]));
    assert!(closed.close && closed.say_closed && !closed.open);
    assert_eq!(w.follow(&look(false, 0, 0, &[])), Plan::default());
    // The next pairing mode opens it again.
    assert!(w.follow(&look(true, 0, 0, &[])).open);
}

#[test]
fn r_mtr_1_a_power_cut_closes_it_once() {
    let mut w = fresh();
    w.follow(&look(true, 0, 0, &[]));
    // The view turned false before the count of power cycles moved.
    assert!(w.follow(&look(false, 0, 0, &[])).say_closed);
    let after = w.follow(&look(false, 1, 0, &[]));
    assert!(after.close && !after.say_closed);
    // A power cut while the window is open, seen all at once.
    w.follow(&look(true, 1, 0, &[]));
    let p = w.follow(&look(false, 2, 0, &[]));
    assert!(p.close && p.say_closed && !p.open);
}

#[test]
fn r_mtr_1_a_factory_reset_forgets_the_fabrics_once() {
    let mut w = Window::new(&look(false, 1, 0, &[1, 2]));
    let p = w.follow(&look(false, 1, 1, &[1, 2]));
    assert!(p.forget_fabrics && p.close && p.commissioned.is_empty());
    // Removed; or, should removing them have failed, still not new.
    assert_eq!(w.follow(&look(false, 1, 1, &[1, 2])), Plan::default());
    assert_eq!(w.follow(&look(false, 1, 1, &[])), Plan::default());
    // A fabric commissioned after the reset reuses index 1: it is new.
    w.follow(&look(true, 1, 1, &[]));
    let p = w.follow(&look(true, 1, 1, &[1]));
    assert_eq!(p.commissioned.iter().collect::<Vec<_>>(), [1]);
}

#[test]
fn r_mtr_1_a_commissioned_fabric_is_told_once_and_restored_ones_never() {
    // Fabric 1 was restored from the store at start-up.
    let mut w = Window::new(&look(false, 0, 0, &[1]));
    assert!(w.follow(&look(true, 0, 0, &[1])).commissioned.is_empty());
    let p = w.follow(&look(true, 0, 0, &[1, 3]));
    assert_eq!(p.commissioned.iter().collect::<Vec<_>>(), [3]);
    assert!(!p.open && !p.close);
    assert!(w.follow(&look(true, 0, 0, &[1, 3])).commissioned.is_empty());
    // A fabric removed by its controller is not a commissioning.
    assert!(w.follow(&look(false, 0, 0, &[3])).commissioned.is_empty());
}

#[test]
fn r_mtr_1_a_window_an_administrator_opens_outside_pairing_mode_is_closed() {
    let mut w = Window::new(&look(false, 0, 0, &[1]));
    let admin = Look {
        window_open: true,
        ..look(false, 0, 0, &[1])
    };
    let p = w.follow(&admin);
    assert!(p.close && !p.open && !p.say_closed, "{p:?}");
    // In pairing mode it may stay (the person is at the lock).
    let pairing = Look {
        pairing: true,
        ..admin
    };
    assert!(!w.follow(&pairing).close);
}

#[test]
fn fabrics_is_a_set_of_every_index() {
    let all: Fabrics = (0..=u8::MAX).collect();
    assert_eq!(all.iter().count(), 256);
    assert!(all.contains(0) && all.contains(255));
    let some: Fabrics = [254, 1, 1, 32, 31].into_iter().collect();
    assert_eq!(some.iter().collect::<Vec<_>>(), [1, 31, 32, 254]);
    assert_eq!(
        all.without(&some).iter().count(),
        252,
        "the difference drops exactly the four"
    );
    assert!(some.without(&all).is_empty() && Fabrics::EMPTY.is_empty());
}
