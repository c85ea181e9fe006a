//! The device's onboarding codes (R-MTR-1): a setup passcode and a 12-bit
//! discriminator drawn at the first start and kept beside the flash file
//! (`FILE.onboarding`), as a real lock's are printed on its label.

use std::io;
use std::path::Path;

use rand::RngExt;

/// The highest setup passcode the Matter core spec allows (5.1.7.1).
pub const PASSCODE_MAX: u32 = 99_999_998;

/// Passcodes the Matter core spec forbids (5.1.7.1): all one digit, and
/// the two runs of digits.
const FORBIDDEN: [u32; 12] = [
    0, 11_111_111, 22_222_222, 33_333_333, 44_444_444, 55_555_555, 66_666_666, 77_777_777,
    88_888_888, 99_999_999, 12_345_678, 87_654_321,
];

/// One device's onboarding codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Onboarding {
    /// The setup passcode, 1…99999998 and not a forbidden one.
    pub passcode: u32,
    /// The discriminator, 12 bits.
    pub discriminator: u16,
}

/// A passcode the Matter core spec allows.
pub fn valid_passcode(passcode: u32) -> bool {
    (1..=PASSCODE_MAX).contains(&passcode) && !FORBIDDEN.contains(&passcode)
}

impl Onboarding {
    /// New codes from `rng` (a cryptographic one: the passcode is the
    /// secret that lets a controller in during pairing mode).
    pub fn draw(rng: &mut impl rand::Rng) -> Onboarding {
        let passcode = loop {
            let p = rng.random_range(1..=PASSCODE_MAX);
            if valid_passcode(p) {
                break p;
            }
        };
        Onboarding {
            passcode,
            discriminator: rng.random_range(0..=0x0FFF),
        }
    }

    /// The codes as kept in the file: `passcode=P discriminator=D`.
    pub fn to_text(self) -> String {
        format!(
            "passcode={} discriminator={}\n",
            self.passcode, self.discriminator
        )
    }

    /// The codes from [`Onboarding::to_text`]'s form; `None` if they are
    /// not valid ones.
    pub fn parse(text: &str) -> Option<Onboarding> {
        let (mut passcode, mut discriminator) = (None, None);
        for word in text.split_whitespace() {
            match word.split_once('=') {
                Some(("passcode", v)) => passcode = v.parse::<u32>().ok(),
                Some(("discriminator", v)) => discriminator = v.parse::<u16>().ok(),
                _ => return None,
            }
        }
        let (passcode, discriminator) = (passcode?, discriminator?);
        (valid_passcode(passcode) && discriminator <= 0x0FFF).then_some(Onboarding {
            passcode,
            discriminator,
        })
    }

    /// rs-matter's commissioning data: the passcode and discriminator.
    pub fn comm(self) -> rs_matter::BasicCommData {
        let mut password = rs_matter::sc::pase::Spake2pVerifierPassword::new();
        password.load_from_array(&self.passcode.to_le_bytes());
        rs_matter::BasicCommData {
            password,
            discriminator: self.discriminator,
        }
    }

    /// The 11-digit manual pairing code, as a number (its first digit may
    /// be 0).
    pub fn manual_code(self) -> u64 {
        // Eleven decimal digits always parse.
        self.comm().compute_pairing_code().parse().unwrap_or(0)
    }

    /// The codes kept in `path`, or new ones written there when it does
    /// not hold valid codes (the first start).
    pub fn load_or_draw(path: &Path) -> io::Result<Onboarding> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                if let Some(codes) = Onboarding::parse(&text) {
                    return Ok(codes);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let codes = Onboarding::draw(&mut rand::rng());
        std::fs::write(path, codes.to_text())?;
        Ok(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_mtr_1_forbidden_passcodes_are_invalid() {
        for p in FORBIDDEN {
            assert!(!valid_passcode(p), "{p}");
        }
        assert!(!valid_passcode(PASSCODE_MAX + 1));
        assert!(valid_passcode(1));
        assert!(valid_passcode(20_202_021));
    }

    #[test]
    fn r_mtr_1_drawn_codes_are_valid_and_differ() {
        let mut rng = rand::rng();
        let a = Onboarding::draw(&mut rng);
        let b = Onboarding::draw(&mut rng);
        for c in [a, b] {
            assert!(valid_passcode(c.passcode));
            assert!(c.discriminator <= 0x0FFF);
        }
        assert_ne!(a, b);
    }

    #[test]
    fn r_mtr_1_the_manual_code_is_the_one_controllers_take() {
        // The Matter SDK's test device: 20202021 / 3840 is 34970112332.
        let test = Onboarding {
            passcode: 20_202_021,
            discriminator: 3840,
        };
        assert_eq!(test.manual_code(), 34_970_112_332);
        // A code whose first digit is 0 keeps its digits in the number.
        let low = Onboarding {
            passcode: 1,
            discriminator: 0,
        };
        assert_eq!(
            format!("{:011}", low.manual_code()),
            low.comm().compute_pairing_code().as_str()
        );
    }

    #[test]
    fn r_mtr_1_codes_are_kept_beside_the_flash() {
        let dir = std::env::temp_dir().join(format!("lock-sim-onboarding-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lock.onboarding");
        let _ = std::fs::remove_file(&path);
        let first = Onboarding::load_or_draw(&path).unwrap();
        assert_eq!(Onboarding::load_or_draw(&path).unwrap(), first);
        assert_eq!(Onboarding::parse(&first.to_text()), Some(first));
        assert_eq!(Onboarding::parse("passcode=12345678 discriminator=1"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
