//! How long the simulated parts take: each figure from the part's datasheet
//! where one gives it, an estimate where none does. `docs/LATENCIES.md` is
//! the same table with its sources; keep the two together.
//!
//! Fixed figures, never random: a scenario runs the same every time.

use lock_core::BiometricKind;

/// An R503-class fingerprint module takes an image: "image acquiring time
/// < 0.2 s" (Grow R503 user manual v1.2.2, Introduction), taken at its bound.
pub const FINGER_CAPTURE_MS: u64 = 200;
/// Img2Tz then Search over the library once an image is in. The R503
/// manual bounds feature extraction at 500 ms and 1:N matching at 10 ms a
/// template; the R503-class figure (search < 0.3 s) is used.
pub const FINGER_SEARCH_MS: u64 = 300;
/// How long the fingerprint driver asks for an image before it gives up
/// with no sample (lock-drivers `fingerprint::Config::present_timeout_ms`).
pub const FINGER_PRESENT_TIMEOUT_MS: u64 = 3_000;

/// An HLK-FM225-class face module recognises an enrolled face: estimate,
/// the "under a second" such modules are sold with.
pub const FACE_MATCH_MS: u64 = 1_000;
/// VERIFY's module-side timeout, as lock-drivers sends it
/// (`face::Config::verify_timeout_s`, the SDKs' 10 s): a face the module
/// does not know, or no face, is answered only when it runs out.
pub const FACE_SEARCH_TIMEOUT_MS: u64 = 10_000;
/// One head pose of a face enrolment (one ENROLL): estimate, a capture
/// with its liveness check, as long as a recognition.
pub const FACE_POSE_MS: u64 = 1_000;
/// One PALM_ENROLL_ITG, the module guiding the hand itself: estimate, a
/// few captures of the hand.
pub const PALM_ENROLL_MS: u64 = 3_000;

/// How long a search on the module of `kind` takes: when it answers after
/// it sees the sample, and how long it looks at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Search {
    /// From the sample to the answer.
    pub answer_ms: u64,
    /// From the start to "no sample" when nothing comes.
    pub window_ms: u64,
    /// A sample it does not know is answered only a whole window after it
    /// came (a face module keeps looking for a face it knows until VERIFY
    /// times out, then says "unknown user"), not after `answer_ms`
    /// ([`crate::world::Module::timed`]).
    pub no_match_at_timeout: bool,
}

/// The search times of the module of `kind`. Palm vein runs on the combined
/// face+palm module, so a palm searches as a face does.
pub const fn search(kind: BiometricKind) -> Search {
    match kind {
        BiometricKind::Finger => Search {
            answer_ms: FINGER_CAPTURE_MS + FINGER_SEARCH_MS,
            window_ms: FINGER_PRESENT_TIMEOUT_MS,
            no_match_at_timeout: false,
        },
        BiometricKind::Face | BiometricKind::Palm => Search {
            answer_ms: FACE_MATCH_MS,
            window_ms: FACE_SEARCH_TIMEOUT_MS,
            no_match_at_timeout: true,
        },
    }
}

/// How long one enrolment step of the simulated module takes once it has
/// the sample. The simulated module enrols from one capture (SPEC.md §8),
/// so its one step costs one capture: a fingerprint's image and the
/// search for a duplicate, one face pose, one palm enrolment.
pub const fn enroll_step_ms(kind: BiometricKind) -> u64 {
    match kind {
        BiometricKind::Finger => FINGER_CAPTURE_MS + FINGER_SEARCH_MS,
        BiometricKind::Face => FACE_POSE_MS,
        BiometricKind::Palm => PALM_ENROLL_MS,
    }
}

/// A clip the table of [`clip_ms`] does not know plays this long.
pub const UNKNOWN_CLIP_MS: u64 = 1_000;

/// How long voice clip `clip` plays (clip numbers from lock-runtime's
/// `prompt` module). Every figure is an estimate: the recordings are the
/// lock maker's, so the lengths are those of typical lock prompts at a
/// calm speaking pace (about three words a second): a digit ~350 ms, a
/// word or two ~0.6–1 s, a sentence 1.2–2.5 s, a spoken menu longer.
pub const fn clip_ms(clip: u16) -> u64 {
    match known_clip_ms(clip) {
        Some(ms) => ms,
        None => UNKNOWN_CLIP_MS,
    }
}

/// The length of a clip lock-drivers' clip table (`prompts`) uses, `None`
/// for any other number.
pub const fn known_clip_ms(clip: u16) -> Option<u64> {
    Some(match clip {
        // The digits "zero" to "nine", and "point".
        1..=11 => 350,
        // "Choose the door direction: press ✓, then 1 for right-opening,
        // 2 for left-opening."
        20 => 4_000,
        // "Press ✓ to create the administrator."
        21 => 2_000,
        // "Enter the passcode, then press ✓."
        22 => 1_800,
        // "Enter the passcode again, then press ✓."
        23 => 2_000,
        // "Verify an administrator."
        24 => 1_400,
        // "1 add administrator, 2 add user, 3 delete, 4 settings,
        // 5 system information."
        25 => 4_500,
        // "1 face, 2 palm, 3 fingerprint, 4 passcode."
        26 => 2_800,
        // "Enter the person's number, then press ✓."
        27 => 2_000,
        // "1 volume, 2 countdown lock, 3 remote unlock."
        28 => 2_800,
        // The success sound.
        29 => 500,
        // "Unlocked." / "Locked."
        30 | 31 => 700,
        // "System locked." / "Pairing mode."
        32 | 33 => 1_000,
        // "Press ✓ to restore factory settings."
        34 => 2_200,
        // "Factory settings restored."
        35 => 1_600,
        // "Battery low, please replace."
        36 => 1_800,
        // The doorbell chime (ding-dong).
        37 => 1_500,
        // "Leaving-home mode on." / "The bolt is jammed."
        38 | 39 => 1_400,
        // "User number" / "serial number" / "firmware version" /
        // "verification code", each before its digits.
        40 | 41 => 900,
        42 | 43 => 1_100,
        // One credential choice each, when not all three modules are
        // fitted: "1 face", "2 palm", "3 fingerprint", "4 passcode".
        44..=47 => 800,
        // Enrolment steps of the three kinds, in EnrollStep order: "present
        // your face (palm, finger)", "lift your finger", then the head
        // poses and "closer" / "further".
        50 | 60 | 70 => 1_300,
        51..=58 | 61..=68 | 71..=78 => 1_000,
        // The failure sound.
        80 => 500,
        // Why it failed: one short sentence each.
        81..=99 | 100..=106 | 110..=114 => 1_500,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clip_a_prompt_can_play_has_a_length_of_its_own() {
        // Clips lock-drivers' table uses (prompts.rs): none falls through
        // to the unknown length.
        let used = (1..=11)
            .chain(20..=47)
            .chain(50..=58)
            .chain(60..=68)
            .chain(70..=78)
            .chain(80..=106)
            .chain(110..=114);
        for clip in used {
            let ms = known_clip_ms(clip);
            assert!(
                ms.is_some_and(|ms| (300..=5_000).contains(&ms)),
                "clip {clip}"
            );
        }
        assert_eq!(known_clip_ms(999), None);
        assert_eq!(clip_ms(999), UNKNOWN_CLIP_MS);
    }

    #[test]
    fn a_face_search_that_finds_no_one_takes_the_whole_timeout() {
        let face = search(BiometricKind::Face);
        assert!(face.no_match_at_timeout);
        assert_eq!(face.window_ms, FACE_SEARCH_TIMEOUT_MS);
        let finger = search(BiometricKind::Finger);
        assert!(!finger.no_match_at_timeout);
        assert_eq!(finger.answer_ms, 500);
    }
}
