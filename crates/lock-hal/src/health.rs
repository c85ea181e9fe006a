//! Continuous health tests for a noise source (NIST SP 800-90B §4.4): the
//! Repetition Count Test and the Adaptive Proportion Test, a start-up test
//! over the first [`STARTUP_SAMPLES`], and a wrapper that runs them on
//! every raw sample a source gives before the sample is used.
//!
//! The tests catch a source that broke (stuck, or grossly biased), not a
//! source that was weak from the start: its min-entropy per sample is a
//! claim the board makes ([`MinEntropy`]), and the cutoffs
//! follow from it.

use crate::{Error, ErrorKind};

/// The false-positive probability the cutoffs are computed for: α = 2⁻²⁰
/// per test (SP 800-90B §4.4 recommends 2⁻²⁰ ≤ α ≤ 2⁻⁴⁰), as −log₂ α.
pub const ALPHA_LOG2: u16 = 20;

/// Samples the start-up test runs both tests over, and discards, before
/// the first sample is used: SP 800-90B §4.3 asks for at least 1024
/// consecutive samples.
pub const STARTUP_SAMPLES: u32 = 1024;

/// The Adaptive Proportion Test's window for non-binary samples (SP 800-90B
/// §4.4.2; 1024 for binary samples).
pub const NON_BINARY_WINDOW: u16 = 512;

/// A claimed min-entropy per non-binary sample, in whole bits: what the
/// cutoffs of [`HealthConfig::non_binary`] are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MinEntropy {
    /// 1 bit per sample.
    Bits1 = 1,
    /// 2 bits per sample.
    Bits2 = 2,
    /// 3 bits per sample.
    Bits3 = 3,
    /// 4 bits per sample.
    Bits4 = 4,
    /// 5 bits per sample.
    Bits5 = 5,
    /// 6 bits per sample.
    Bits6 = 6,
    /// 7 bits per sample.
    Bits7 = 7,
    /// 8 bits per sample (a uniform byte).
    Bits8 = 8,
}

impl MinEntropy {
    /// Every claim, from 1 bit to 8.
    pub const ALL: [MinEntropy; 8] = [
        MinEntropy::Bits1,
        MinEntropy::Bits2,
        MinEntropy::Bits3,
        MinEntropy::Bits4,
        MinEntropy::Bits5,
        MinEntropy::Bits6,
        MinEntropy::Bits7,
        MinEntropy::Bits8,
    ];

    /// The claim in bits, H.
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// The Adaptive Proportion Test's cutoff for a 512-sample window and
    /// α = 2⁻²⁰: C = 1 + CRITBINOM(512, 2⁻ᴴ, 1 − α) (SP 800-90B §4.4.2),
    /// where CRITBINOM(n, p, q) is the smallest k with P(X ≤ k) ≥ q for X
    /// binomial with n trials of probability p, as in a spreadsheet.
    /// Computed with exact rational arithmetic; `tests/health.rs`
    /// recomputes them.
    const fn apt_cutoff_512(self) -> u16 {
        match self {
            MinEntropy::Bits1 => 311,
            MinEntropy::Bits2 => 177,
            MinEntropy::Bits3 => 103,
            MinEntropy::Bits4 => 62,
            MinEntropy::Bits5 => 39,
            MinEntropy::Bits6 => 25,
            MinEntropy::Bits7 => 18,
            MinEntropy::Bits8 => 13,
        }
    }
}

/// Which test failed: the source is not to be used (until a reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HealthFailure {
    /// The same sample value ran on for the Repetition Count Test's cutoff
    /// (SP 800-90B §4.4.1): the source is stuck.
    RepetitionCount,
    /// One value took too large a share of a window in the Adaptive
    /// Proportion Test (SP 800-90B §4.4.2): the source lost entropy.
    AdaptiveProportion,
}

impl Error for HealthFailure {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Device
    }
}

impl core::fmt::Display for HealthFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            HealthFailure::RepetitionCount => "entropy source failed the repetition count test",
            HealthFailure::AdaptiveProportion => {
                "entropy source failed the adaptive proportion test"
            }
        })
    }
}

/// The two tests' cutoffs and the Adaptive Proportion Test's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HealthConfig {
    rct_cutoff: u16,
    apt_window: u16,
    apt_cutoff: u16,
}

impl HealthConfig {
    /// For non-binary samples (bytes, say) claimed to hold at least `h`
    /// bits of min-entropy each. A lower claim gives higher cutoffs: fewer
    /// false alarms, later detection.
    ///
    /// - Repetition Count Test (SP 800-90B §4.4.1): C = 1 + ⌈−log₂ α / H⌉
    ///   = 1 + ⌈20 / H⌉, so 21 for H = 1, 11 for H = 2, 4 for H = 8.
    /// - Adaptive Proportion Test (§4.4.2): W = 512, C = 1 + CRITBINOM(512,
    ///   2⁻ᴴ, 1 − 2⁻²⁰), so 311 for H = 1, 177 for H = 2, 13 for H = 8.
    pub const fn non_binary(h: MinEntropy) -> HealthConfig {
        HealthConfig {
            rct_cutoff: 1 + ALPHA_LOG2.div_ceil(h.bits() as u16),
            apt_window: NON_BINARY_WINDOW,
            apt_cutoff: h.apt_cutoff_512(),
        }
    }

    /// Cutoffs worked out elsewhere (binary samples, a fractional H: SP
    /// 800-90B §4.4.1 and §4.4.2 give the formulas). `None` unless
    /// `rct_cutoff ≥ 2`, `apt_window ≥ 2` and `2 ≤ apt_cutoff ≤ apt_window`.
    pub const fn new(rct_cutoff: u16, apt_window: u16, apt_cutoff: u16) -> Option<HealthConfig> {
        if rct_cutoff < 2 || apt_window < 2 || apt_cutoff < 2 || apt_cutoff > apt_window {
            return None;
        }
        Some(HealthConfig {
            rct_cutoff,
            apt_window,
            apt_cutoff,
        })
    }

    /// The Repetition Count Test's cutoff: this many equal samples in a row
    /// fail it.
    pub const fn rct_cutoff(&self) -> u16 {
        self.rct_cutoff
    }

    /// The Adaptive Proportion Test's window, in samples.
    pub const fn apt_window(&self) -> u16 {
        self.apt_window
    }

    /// The Adaptive Proportion Test's cutoff: this many samples of a
    /// window equal to its first (the first included) fail it.
    pub const fn apt_cutoff(&self) -> u16 {
        self.apt_cutoff
    }
}

/// S-HW-4: SP 800-90B's continuous health tests over a noise source's raw
/// samples, before any conditioning: the Repetition Count Test (§4.4.1)
/// and the Adaptive Proportion Test (§4.4.2), both on every sample, with
/// the cutoffs of a [`HealthConfig`]. A failure is latched: every later
/// sample fails with it until [`HealthTest::reset`] (or a reboot), so a
/// source that failed once stays refused (fail closed).
#[derive(Debug, Clone)]
pub struct HealthTest<S> {
    config: HealthConfig,
    /// The Repetition Count Test's last value and its run (B in §4.4.1).
    rct: Option<(S, u16)>,
    /// The Adaptive Proportion Test's window: its first value (A), how
    /// many samples equal it (B, the first included) and how many samples
    /// the window has had.
    apt: Option<(S, u16, u16)>,
    failure: Option<HealthFailure>,
}

impl<S: Copy + PartialEq> HealthTest<S> {
    /// Both tests, not yet fed.
    pub const fn new(config: HealthConfig) -> HealthTest<S> {
        HealthTest {
            config,
            rct: None,
            apt: None,
            failure: None,
        }
    }

    /// The cutoffs in use.
    pub const fn config(&self) -> &HealthConfig {
        &self.config
    }

    /// Runs both tests on the next sample. `Err` when this sample made one
    /// fail, or when one failed before (the failure is latched).
    pub fn feed(&mut self, sample: S) -> Result<(), HealthFailure> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        // §4.4.1: B counts the run of the current value; B ≥ C fails.
        let run = match self.rct {
            Some((last, run)) if last == sample => run.saturating_add(1),
            _ => 1,
        };
        self.rct = Some((sample, run));
        if run >= self.config.rct_cutoff {
            return Err(self.fail(HealthFailure::RepetitionCount));
        }
        // §4.4.2: A is the window's first sample, B counts the window's
        // samples equal to it (A included); B ≥ C fails. A window of W
        // samples ends and the next sample starts a new one.
        let (first, count, seen) = match self.apt {
            Some((first, count, seen)) if seen < self.config.apt_window => {
                (first, count + u16::from(sample == first), seen + 1)
            }
            _ => (sample, 1, 1),
        };
        self.apt = Some((first, count, seen));
        if count >= self.config.apt_cutoff {
            return Err(self.fail(HealthFailure::AdaptiveProportion));
        }
        Ok(())
    }

    /// The failure latched, if any.
    pub const fn failure(&self) -> Option<HealthFailure> {
        self.failure
    }

    /// Forgets every sample and any failure, as a reboot would. A wrapper
    /// runs the start-up test again after this ([`HealthTested::reset`]).
    pub fn reset(&mut self) {
        *self = HealthTest::new(self.config);
    }

    fn fail(&mut self, failure: HealthFailure) -> HealthFailure {
        self.failure = Some(failure);
        failure
    }
}

/// A noise source's raw samples, before any conditioning: what the health
/// tests run on (a ring oscillator's bits gathered into a byte, an ADC's
/// low bits).
pub trait NoiseSource {
    /// One raw sample.
    type Sample: Copy + PartialEq;

    /// Takes the next raw sample.
    fn sample(&mut self) -> Self::Sample;
}

/// A noise source whose samples all go through a [`HealthTest`]: the
/// start-up test first ([`STARTUP_SAMPLES`] samples tested and discarded,
/// SP 800-90B §4.3), then the continuous tests on every sample before
/// it is handed out. A failure, at start-up or later, refuses every sample
/// from then on until [`HealthTested::reset`] (fail closed).
#[derive(Debug, Clone)]
pub struct HealthTested<N: NoiseSource> {
    source: N,
    test: HealthTest<N::Sample>,
    started: bool,
}

impl<N: NoiseSource> HealthTested<N> {
    /// `source` behind the tests of `config`; the start-up test runs on
    /// the first call to [`HealthTested::start`] or
    /// [`HealthTested::sample`].
    pub const fn new(source: N, config: HealthConfig) -> HealthTested<N> {
        HealthTested {
            source,
            test: HealthTest::new(config),
            started: false,
        }
    }

    /// Runs the start-up test, if it has not passed yet: both tests over
    /// [`STARTUP_SAMPLES`] samples, which are then discarded.
    pub fn start(&mut self) -> Result<(), HealthFailure> {
        if let Some(failure) = self.test.failure() {
            return Err(failure);
        }
        if !self.started {
            for _ in 0..STARTUP_SAMPLES {
                let sample = self.source.sample();
                self.test.feed(sample)?;
            }
            self.started = true;
        }
        Ok(())
    }

    /// The next raw sample, once it (and every one before it) passed.
    pub fn sample(&mut self) -> Result<N::Sample, HealthFailure> {
        self.start()?;
        let sample = self.source.sample();
        self.test.feed(sample)?;
        Ok(sample)
    }

    /// Fills `buf` with raw samples that passed, or fails with none of
    /// them to be used.
    pub fn fill(&mut self, buf: &mut [N::Sample]) -> Result<(), HealthFailure> {
        for slot in buf.iter_mut() {
            *slot = self.sample()?;
        }
        Ok(())
    }

    /// Whether the start-up test has passed (and nothing failed since).
    pub fn is_started(&self) -> bool {
        self.started && self.test.failure().is_none()
    }

    /// The failure latched, if any.
    pub fn failure(&self) -> Option<HealthFailure> {
        self.test.failure()
    }

    /// Clears a latched failure and runs the start-up test again before the
    /// next sample, as a reboot would.
    pub fn reset(&mut self) {
        self.test.reset();
        self.started = false;
    }
}
