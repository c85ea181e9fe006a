//! SP 800-90B's health tests (S-HW-4): a stuck source fails the
//! repetition count test, a biased one the adaptive proportion test, a good
//! one passes, and a failure, at start-up or later, stays.

use lock_hal::{
    Error, ErrorKind, HealthConfig, HealthFailure, HealthTest, HealthTested, MinEntropy,
    NoiseSource, STARTUP_SAMPLES,
};

/// The configuration the Pico W uses: bytes, 1 bit of min-entropy each.
fn bytes_h1() -> HealthConfig {
    HealthConfig::non_binary(MinEntropy::Bits1)
}

/// splitmix64: a seeded stand-in for a good noise source.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

impl NoiseSource for SplitMix {
    type Sample = u8;
    fn sample(&mut self) -> u8 {
        self.byte()
    }
}

/// A source that is good for `good` samples, then stuck at `stuck`.
struct Breaks {
    rng: SplitMix,
    good: u32,
    taken: u32,
    stuck: u8,
}

impl NoiseSource for Breaks {
    type Sample = u8;
    fn sample(&mut self) -> u8 {
        self.taken += 1;
        if self.taken > self.good {
            self.stuck
        } else {
            self.rng.byte()
        }
    }
}

/// About 90 % zeros, the rest random non-zero bytes, with no run of zeros
/// longer than 9 (so the repetition count test alone would not see it).
struct Biased {
    rng: SplitMix,
    run: u32,
}

impl NoiseSource for Biased {
    type Sample = u8;
    fn sample(&mut self) -> u8 {
        if self.run < 9 && !self.rng.next().is_multiple_of(10) {
            self.run += 1;
            0
        } else {
            self.run = 0;
            self.rng.byte().max(1)
        }
    }
}

#[test]
fn s_hw_4_a_stuck_source_fails_the_repetition_count_test() {
    let config = bytes_h1();
    // C = 1 + ⌈20 / 1⌉.
    assert_eq!(config.rct_cutoff(), 21);
    let mut test = HealthTest::new(config);
    for n in 1..config.rct_cutoff() {
        assert_eq!(test.feed(0xA5u8), Ok(()), "sample {n} of the run");
    }
    assert_eq!(test.feed(0xA5), Err(HealthFailure::RepetitionCount));
    assert_eq!(test.failure(), Some(HealthFailure::RepetitionCount));

    // Every whole-bit H: a stuck source is caught within C samples.
    for h in MinEntropy::ALL {
        let config = HealthConfig::non_binary(h);
        let mut test = HealthTest::new(config);
        let failed_at = (1..=u32::from(config.rct_cutoff()))
            .find(|_| test.feed(0u8).is_err())
            .unwrap();
        assert_eq!(failed_at, u32::from(config.rct_cutoff()), "{h:?}");
    }
}

#[test]
fn s_hw_4_a_source_that_sticks_later_fails_within_the_cutoff() {
    let config = bytes_h1();
    let good = STARTUP_SAMPLES + 10_000;
    let mut source = HealthTested::new(
        Breaks {
            rng: SplitMix(7),
            good,
            taken: 0,
            stuck: 0xFF,
        },
        config,
    );
    let mut handed_out = 0u32;
    let failure = loop {
        match source.sample() {
            Ok(_) => handed_out += 1,
            Err(failure) => break failure,
        }
    };
    assert_eq!(failure, HealthFailure::RepetitionCount);
    // At most C − 1 stuck samples got out (plus one more if the last good
    // byte happened to be 0xFF), never C.
    let stuck_out = (handed_out + STARTUP_SAMPLES).saturating_sub(good);
    assert!(
        stuck_out < u32::from(config.rct_cutoff()),
        "{stuck_out} stuck samples handed out"
    );
}

#[test]
fn s_hw_4_a_biased_source_fails_the_adaptive_proportion_test() {
    let config = bytes_h1();
    assert_eq!((config.apt_window(), config.apt_cutoff()), (512, 311));
    let mut test = HealthTest::new(config);
    let mut source = Biased {
        rng: SplitMix(3),
        run: 0,
    };
    // The first window that starts on a zero (its A) fails it.
    let failed_at = (1..=4 * 512)
        .find(|_| test.feed(source.sample()).is_err())
        .unwrap();
    assert_eq!(test.failure(), Some(HealthFailure::AdaptiveProportion));
    assert!(failed_at <= 2 * 512, "failed only at sample {failed_at}");

    // The same through the wrapper: the start-up test refuses it.
    let mut source = HealthTested::new(
        Biased {
            rng: SplitMix(4),
            run: 0,
        },
        config,
    );
    assert_eq!(source.sample(), Err(HealthFailure::AdaptiveProportion));
    assert!(!source.is_started());
}

#[test]
fn s_hw_4_a_good_source_passes_for_a_long_run() {
    let config = bytes_h1();
    let mut source = HealthTested::new(SplitMix(0x5EED), config);
    let mut buf = [0u8; 256];
    // 4 MiB of samples: 8,192 adaptive proportion windows.
    for _ in 0..16_384 {
        source.fill(&mut buf).unwrap();
    }
    assert!(source.is_started());
    assert_eq!(source.failure(), None);

    // And under the strictest whole-bit claim, H = 8.
    let mut test = HealthTest::new(HealthConfig::non_binary(MinEntropy::Bits8));
    let mut rng = SplitMix(0xC0FFEE);
    for _ in 0..1_000_000 {
        test.feed(rng.byte()).unwrap();
    }
}

#[test]
fn s_hw_4_start_up_tests_1024_samples_and_discards_them() {
    /// Never repeats: passes both tests.
    struct Counter(u32);
    impl NoiseSource for Counter {
        type Sample = u32;
        fn sample(&mut self) -> u32 {
            self.0 += 1;
            self.0
        }
    }
    let mut source = HealthTested::new(Counter(0), bytes_h1());
    assert!(!source.is_started());
    // The first sample handed out is the 1025th taken.
    assert_eq!(source.sample(), Ok(STARTUP_SAMPLES + 1));
    assert!(source.is_started());
    assert_eq!(source.sample(), Ok(STARTUP_SAMPLES + 2));
}

#[test]
fn s_hw_4_a_start_up_failure_fails_closed() {
    // Stuck from the start: the start-up test fails, nothing is handed out.
    let mut source = HealthTested::new(
        Breaks {
            rng: SplitMix(1),
            good: 100,
            taken: 0,
            stuck: 0,
        },
        bytes_h1(),
    );
    assert_eq!(source.start(), Err(HealthFailure::RepetitionCount));
    assert!(!source.is_started());
    // It stays failed, however many samples are asked for: the source is
    // not even read again.
    let mut buf = [0u8; 64];
    for _ in 0..10 {
        assert_eq!(source.fill(&mut buf), Err(HealthFailure::RepetitionCount));
        assert_eq!(source.sample(), Err(HealthFailure::RepetitionCount));
    }
    assert_eq!(buf, [0u8; 64]);
    assert_eq!(HealthFailure::RepetitionCount.kind(), ErrorKind::Device);

    // A reset (as a reboot) runs the start-up test again, which fails again.
    source.reset();
    assert_eq!(source.sample(), Err(HealthFailure::RepetitionCount));
}

#[test]
fn s_hw_4_a_failure_is_latched_until_reset() {
    let mut test = HealthTest::new(bytes_h1());
    for _ in 0..21 {
        let _ = test.feed(9u8);
    }
    assert_eq!(test.failure(), Some(HealthFailure::RepetitionCount));
    // Good samples after the failure do not clear it.
    let mut rng = SplitMix(2);
    for _ in 0..10_000 {
        assert_eq!(test.feed(rng.byte()), Err(HealthFailure::RepetitionCount));
    }
    test.reset();
    assert_eq!(test.failure(), None);
    for _ in 0..10_000 {
        test.feed(rng.byte()).unwrap();
    }
}

/// P(X ≥ k) for X binomial with `n` trials of probability `p`, in f64.
fn binomial_tail(n: u32, p: f64, k: u32) -> f64 {
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let mut ln_choose = 0.0f64; // ln C(n, 0)
    let mut tail = 0.0;
    for i in 0..=n {
        if i > 0 {
            ln_choose += f64::from(n - i + 1).ln() - f64::from(i).ln();
        }
        if i >= k {
            tail += (ln_choose + f64::from(i) * ln_p + f64::from(n - i) * ln_q).exp();
        }
    }
    tail
}

#[test]
fn s_hw_4_the_cutoffs_are_sp_800_90b_s() {
    let alpha = 2f64.powi(-20);
    for entropy in MinEntropy::ALL {
        let h = entropy.bits();
        let config = HealthConfig::non_binary(entropy);
        // §4.4.1: C = 1 + ⌈−log₂ α / H⌉, here C − 1 ≥ 20 / H > C − 2.
        let rct = f64::from(config.rct_cutoff());
        assert!(
            rct - 1.0 >= 20.0 / f64::from(h) && 20.0 / f64::from(h) > rct - 2.0,
            "RCT cutoff {rct}, H = {h}"
        );
        // §4.4.2: C − 1 = CRITBINOM(W, 2⁻ᴴ, 1 − α), the smallest k with
        // P(X ≤ k) ≥ 1 − α: P(X ≥ C) ≤ α < P(X ≥ C − 1).
        let (w, c) = (config.apt_window(), config.apt_cutoff());
        assert_eq!(w, 512);
        let p = 2f64.powi(-i32::from(h));
        let at = binomial_tail(u32::from(w), p, u32::from(c));
        let below = binomial_tail(u32::from(w), p, u32::from(c) - 1);
        assert!(
            at <= alpha && below > alpha,
            "APT cutoff {c}, H = {h}: {at:e}, {below:e}"
        );
    }
    // Binary samples, H = 1: W = 1024, C = 1 + CRITBINOM(1024, 0.5, 1 − α).
    let binary = HealthConfig::new(21, 1024, 589).unwrap();
    let at = binomial_tail(1024, 0.5, u32::from(binary.apt_cutoff()));
    let below = binomial_tail(1024, 0.5, u32::from(binary.apt_cutoff()) - 1);
    assert!(at <= alpha && below > alpha, "binary: {at:e}, {below:e}");
    assert_eq!(HealthConfig::new(1, 512, 311), None);
    assert_eq!(HealthConfig::new(21, 512, 513), None);
}
