//! Keypad backlight patterns the runtime times itself: lock-hal's
//! [`Backlight`](lock_hal::Backlight) only switches LEDs.

use lock_core::{Backlight, Duration, Instant, Key, KeyMask};

/// Half a period of [`Backlight::Blink`]: on this long, off this long.
pub const BLINK_HALF_PERIOD: Duration = Duration::from_millis(500);
/// One flash of [`Backlight::FlashTwice`], and the dark gap after it.
pub const FLASH: Duration = Duration::from_millis(250);
/// How long each digit of [`Backlight::Spell`] stays lit.
pub const SPELL_DIGIT: Duration = Duration::from_millis(600);
/// The dark gap between spelled digits, so `0 0 1` reads as three.
pub const SPELL_GAP: Duration = Duration::from_millis(200);

/// On a single-LED keypad, each blink of a counted digit: on this long,
/// then off as long.
pub const COUNT_BLINK: Duration = Duration::from_millis(250);
/// On a single-LED keypad, the dark gap after each counted digit.
pub const COUNT_GAP: Duration = Duration::from_millis(1000);

/// A pattern under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pattern {
    shape: Shape,
    frame: u8,
    /// When the next frame (or the end) is due.
    pub(crate) next_at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Blink(u16),
    FlashTwice {
        then: u16,
    },
    Spell {
        digits: [u8; 3],
        then: u16,
    },
    /// A number on one LED: each digit as that many blinks (`0` as ten),
    /// leading zeros left out.
    Count {
        digits: [u8; 3],
        then: u16,
    },
}

/// What to show now for a backlight action: a steady mask, or the first frame
/// of a pattern that then needs [`Pattern::advance`] at `next_at`.
/// `single_led`: the keypad has one LED, so a spelled number is counted.
pub(crate) fn start(
    backlight: Backlight,
    now: Instant,
    single_led: bool,
) -> (u16, Option<Pattern>) {
    let shape = match backlight {
        Backlight::Off => return (0, None),
        Backlight::Steady(mask) => return (mask.0, None),
        Backlight::Blink(mask) => Shape::Blink(mask.0),
        Backlight::FlashTwice { then } => Shape::FlashTwice { then: then.0 },
        Backlight::Spell { number, then } if single_led => Shape::Count {
            digits: number.digits(),
            then: then.0,
        },
        Backlight::Spell { number, then } => Shape::Spell {
            digits: number.digits(),
            then: then.0,
        },
    };
    let pattern = Pattern {
        shape,
        frame: 0,
        next_at: now,
    };
    pattern.show(now)
}

impl Pattern {
    /// The next frame, at `now` (its `next_at` or later).
    pub(crate) fn advance(self, now: Instant) -> (u16, Option<Pattern>) {
        Pattern {
            frame: self.frame.saturating_add(1),
            ..self
        }
        .show(now)
    }

    fn show(self, now: Instant) -> (u16, Option<Pattern>) {
        match self.frame_at(self.frame) {
            Some((mask, lasts)) => (
                mask,
                Some(Pattern {
                    next_at: now + lasts,
                    ..self
                }),
            ),
            None => (self.final_mask(), None),
        }
    }

    /// Frame `n`: the mask and how long it lasts; `None` once finished.
    fn frame_at(&self, n: u8) -> Option<(u16, Duration)> {
        let lit = n.is_multiple_of(2);
        match self.shape {
            Shape::Blink(mask) => Some((if lit { mask } else { 0 }, BLINK_HALF_PERIOD)),
            Shape::FlashTwice { .. } => {
                (n < 4).then_some((if lit { KeyMask::ALL.0 } else { 0 }, FLASH))
            }
            Shape::Spell { digits, .. } => {
                let digit = digits.get(usize::from(n / 2))?;
                Some(if lit {
                    (KeyMask::of(Key::Digit(*digit)).0, SPELL_DIGIT)
                } else {
                    (0, SPELL_GAP)
                })
            }
            Shape::Count { digits, .. } => {
                // Frames run digit after digit, two per blink (on, off);
                // the last off of a digit is the longer gap. Leading zeros
                // are not counted (`002` is two blinks), as the buzzer
                // counts a person's number.
                let first = digits
                    .iter()
                    .position(|d| *d != 0)
                    .unwrap_or(digits.len() - 1);
                let mut n = n;
                for &d in digits.get(first..).unwrap_or(&[]) {
                    let blinks = if d == 0 { 10 } else { d };
                    let frames = blinks * 2;
                    if n < frames {
                        let last = n == frames - 1;
                        return Some(match (lit, last) {
                            (true, _) => (KeyMask::ALL.0, COUNT_BLINK),
                            (false, false) => (0, COUNT_BLINK),
                            (false, true) => (0, COUNT_GAP),
                        });
                    }
                    n -= frames;
                }
                None
            }
        }
    }

    fn final_mask(&self) -> u16 {
        match self.shape {
            Shape::Blink(mask) => mask,
            Shape::FlashTwice { then } | Shape::Spell { then, .. } | Shape::Count { then, .. } => {
                then
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock_core::PersonNumber;

    fn run(backlight: Backlight) -> Vec<(u64, u16)> {
        run_on(backlight, false)
    }

    fn run_on(backlight: Backlight, single_led: bool) -> Vec<(u64, u16)> {
        let (mask, mut pattern) = start(backlight, Instant::ZERO, single_led);
        let mut seen = vec![(0, mask)];
        let mut guard = 0;
        while let Some(p) = pattern {
            guard += 1;
            if guard > 80 {
                break;
            }
            let (mask, next) = p.advance(p.next_at);
            seen.push((p.next_at.millis(), mask));
            pattern = next;
        }
        seen
    }

    #[test]
    fn spell_lights_each_digit_in_turn_then_the_entry_keys() {
        let number = PersonNumber::new(12).unwrap();
        let seen = run(Backlight::Spell {
            number,
            then: KeyMask::ENTRY,
        });
        assert_eq!(
            seen,
            vec![
                (0, 1 << 0),
                (600, 0),
                (800, 1 << 1),
                (1400, 0),
                (1600, 1 << 2),
                (2200, 0),
                (2400, KeyMask::ENTRY.0),
            ]
        );
    }

    #[test]
    fn flash_twice_then_shows_the_keys_and_blink_never_ends() {
        let seen = run(Backlight::FlashTwice { then: KeyMask::ALL });
        assert_eq!(
            seen,
            vec![
                (0, KeyMask::ALL.0),
                (250, 0),
                (500, KeyMask::ALL.0),
                (750, 0),
                (1000, KeyMask::ALL.0),
            ]
        );
        let blink = run(Backlight::Blink(KeyMask::of(Key::Digit(0))));
        assert_eq!(blink.len(), 81);
        assert_eq!(&blink[..3], &[(0, 1), (500, 0), (1000, 1)]);
    }

    #[test]
    fn one_led_counts_each_digit_in_blinks_zero_as_ten() {
        // Person 010 on one LED: one blink, a gap, then ten.
        let number = PersonNumber::new(10).unwrap();
        let seen = run_on(
            Backlight::Spell {
                number,
                then: KeyMask::ENTRY,
            },
            true,
        );
        let on = |frames: &[(u64, u16)]| frames.iter().filter(|(_, m)| *m != 0).count();
        assert_eq!(on(&seen[..seen.len() - 1]), 1 + 10);
        assert_eq!(seen.last().map(|f| f.1), Some(KeyMask::ENTRY.0));
        // The first digit's blink ends with the long gap.
        assert_eq!(seen[1], (250, 0));
        assert_eq!(seen[2], (250 + 1000, KeyMask::ALL.0));
        // Person 002: two blinks, no leading zeros.
        let two = run_on(
            Backlight::Spell {
                number: PersonNumber::new(2).unwrap(),
                then: KeyMask::ENTRY,
            },
            true,
        );
        assert_eq!(on(&two[..two.len() - 1]), 2);
        // Two per-key patterns are unchanged on one LED.
        assert_eq!(
            run_on(Backlight::FlashTwice { then: KeyMask::ALL }, true),
            run(Backlight::FlashTwice { then: KeyMask::ALL })
        );
    }
}
