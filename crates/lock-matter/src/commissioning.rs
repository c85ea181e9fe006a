//! The Matter side following the lock (R-MTR-1): a commissioning window
//! is open only while the lock's pairing mode is (R-MNU-7) — the one the
//! device opens for it, or one a fabric's administrator opens meanwhile
//! (OpenCommissioningWindow; outside pairing mode it is closed at the next
//! look, since the stack cannot be told to refuse it) — a fabric
//! that completes commissioning is told to the lock (which logs it as a
//! pairing and so ends pairing mode, as a phone's does), and a factory
//! reset (R-MNU-9) removes every fabric.
//!
//! Sans-IO: the device looks at the lock and at its Matter stack now and
//! then ([`Look`]), and [`Window::follow`] says what to do ([`Plan`]). The
//! simulator and the boards drive the same follower; only the calls into
//! rs-matter are theirs.

/// A set of fabric indices (rs-matter numbers fabrics `1..=254`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fabrics([u32; 8]);

impl Fabrics {
    /// No fabric.
    pub const EMPTY: Fabrics = Fabrics([0; 8]);

    /// Adds `fabric`.
    pub fn insert(&mut self, fabric: u8) {
        let (word, bit) = Self::place(fabric);
        if let Some(w) = self.0.get_mut(word) {
            *w |= bit;
        }
    }

    /// Whether `fabric` is in the set.
    pub fn contains(&self, fabric: u8) -> bool {
        let (word, bit) = Self::place(fabric);
        self.0.get(word).is_some_and(|w| w & bit != 0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The fabrics in `self` and not in `other`.
    pub fn without(&self, other: &Fabrics) -> Fabrics {
        let mut out = *self;
        for (w, o) in out.0.iter_mut().zip(other.0.iter()) {
            *w &= !o;
        }
        out
    }

    /// The fabric indices, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=u8::MAX).filter(|f| self.contains(*f))
    }

    fn place(fabric: u8) -> (usize, u32) {
        (usize::from(fabric / 32), 1 << (fabric % 32))
    }
}

impl FromIterator<u8> for Fabrics {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Self {
        let mut set = Fabrics::EMPTY;
        for fabric in iter {
            set.insert(fabric);
        }
        set
    }
}

/// What the device sees at a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// The lock's pairing mode is open (its published view; `false` before
    /// the first one).
    pub pairing: bool,
    /// The lock's power cycles so far, where the device outlives them (the
    /// simulator); a board restarts with the lock and passes `0`.
    pub power_cycles: u32,
    /// The lock's factory resets so far ([`Bridge::factory_resets`](crate::Bridge::factory_resets)).
    pub factory_resets: u32,
    /// The fabrics the Matter stack holds.
    pub fabrics: Fabrics,
    /// A commissioning window is open in the stack, whoever opened it.
    pub window_open: bool,
}

/// What to do after a look, in this order: tell the lock of each
/// commissioned fabric ([`Request::Commissioned`](crate::Request::Commissioned)),
/// close the window, forget every fabric, open the window.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Fabrics that completed commissioning since the last look.
    pub commissioned: Fabrics,
    /// Close the commissioning window. Also asked when it may already be
    /// closed (rs-matter closes it after a commissioning; a power cut or a
    /// reset ends pairing mode before the view says so): closing a closed
    /// window must be harmless.
    pub close: bool,
    /// The window was open as far as anyone was told: say it closed (once).
    pub say_closed: bool,
    /// The lock was factory reset: remove every fabric.
    pub forget_fabrics: bool,
    /// Open the commissioning window.
    pub open: bool,
}

/// The commissioning window as the device last set it from the lock.
#[derive(Debug, Clone)]
pub struct Window {
    /// Opened for the current pairing mode. rs-matter closes it itself
    /// after a commissioning; it is not opened again until pairing mode
    /// ends and opens again.
    open: bool,
    /// "Closed" is the last thing said of it.
    said_closed: bool,
    power_cycles: u32,
    factory_resets: u32,
    fabrics: Fabrics,
}

impl Window {
    /// A closed window that has seen `first` already: the fabrics the stack
    /// restored at start-up are not new, nor are the resets counted before.
    pub fn new(first: &Look) -> Self {
        Window {
            open: false,
            said_closed: true,
            power_cycles: first.power_cycles,
            factory_resets: first.factory_resets,
            fabrics: first.fabrics,
        }
    }

    /// Follows the lock after a look.
    pub fn follow(&mut self, look: &Look) -> Plan {
        let mut plan = Plan::default();
        // A power cut ends pairing mode (R-MNU-7) whatever the view said just
        // before it; a factory reset removes every fabric (R-MTR-1).
        let cut = look.power_cycles != self.power_cycles;
        let reset = look.factory_resets != self.factory_resets;
        self.power_cycles = look.power_cycles;
        self.factory_resets = look.factory_resets;
        if reset {
            // Whatever the stack holds is about to go, a fabric that
            // completed commissioning just now included: none is told to
            // the lock (should removing them fail, they are not new at the
            // next look either).
            plan.forget_fabrics = true;
        } else {
            plan.commissioned = look.fabrics.without(&self.fabrics);
        }
        self.fabrics = look.fabrics;
        if cut || reset || (!look.pairing && (self.open || look.window_open)) {
            plan.close = true;
            self.open = false;
            plan.say_closed = !self.said_closed;
            self.said_closed = true;
        }
        if look.pairing && !self.open {
            plan.open = true;
            self.open = true;
            self.said_closed = false;
        }
        plan
    }
}
