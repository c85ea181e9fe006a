//! The phone side: pairing with a lock, sealing requests, opening responses
//! and notices. Tests, the simulator and host tools use it; it is plain
//! `no_std` code, so it also serves a phone-less device such as a key fob.

use lock_core::Notice;
use lock_hal::Entropy;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::FrameError;
use crate::crypto::{self, Direction, FrameKeys};
use crate::message::{self, PairHello, PairNonce, PairOffer, Request, Response};
use crate::wire::{Frame, FrameBuf, FrameKind, FrameRepr, MAX_BODY};

fn random<const N: usize, R: Entropy>(rng: &mut R) -> Result<[u8; N], FrameError> {
    let mut b = [0u8; N];
    rng.fill(&mut b).map_err(|_| FrameError::Entropy)?;
    Ok(b)
}

/// Pairing frames are unsealed; the lock builds them the same way.
use crate::protocol::plain_frame as plain;

/// A pairing in progress on the phone.
pub struct PhonePairing {
    /// The phone's ephemeral X25519 secret: wiped when dropped (S-ST-6).
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
    nonce: [u8; 16],
    offer: Option<(u16, PairOffer)>,
}

/// The pairing exchange is done on the phone: show [`ComparedPairing::code`]
/// and, if the person says it matches what the lock said, [`ComparedPairing::confirm`].
pub struct ComparedPairing {
    /// The six-digit code to compare with the one the lock speaks.
    pub code: u32,
    /// The lock's identity code (R-MNU-6), to tell which lock this is.
    pub identity_code: u32,
    pairing: u16,
    /// Wiped when dropped (S-ST-6).
    key: Zeroizing<[u8; 32]>,
}

impl PhonePairing {
    /// Starts pairing: send the returned `PairHello` frame.
    pub fn start<R: Entropy>(rng: &mut R) -> Result<(PhonePairing, FrameBuf), FrameError> {
        let secret = Zeroizing::new(random::<32, R>(rng)?);
        let nonce: [u8; 16] = random(rng)?;
        let public = crypto::public_of(&secret);
        let hello = plain(FrameKind::PairHello, 0, &PairHello { phone: public })?;
        Ok((
            PhonePairing {
                secret,
                public,
                nonce,
                offer: None,
            },
            hello,
        ))
    }

    /// Takes the lock's `PairOffer`; send the returned `PairNonce` frame.
    pub fn on_offer(&mut self, bytes: &[u8]) -> Result<FrameBuf, FrameError> {
        let frame = Frame::new_checked(bytes)?;
        let repr = FrameRepr::parse(&frame)?;
        if repr.kind != FrameKind::PairOffer {
            return Err(FrameError::Unexpected);
        }
        let offer: PairOffer = message::decode(frame.body())?;
        self.offer = Some((repr.pairing, offer));
        plain(
            FrameKind::PairNonce,
            repr.pairing,
            &PairNonce { nonce: self.nonce },
        )
    }

    /// Takes the lock's `PairReveal`: checks the commitment and derives the
    /// code to compare.
    pub fn on_reveal(self, bytes: &[u8]) -> Result<ComparedPairing, FrameError> {
        let frame = Frame::new_checked(bytes)?;
        let repr = FrameRepr::parse(&frame)?;
        let (pairing, offer) = self.offer.ok_or(FrameError::Unexpected)?;
        if repr.kind != FrameKind::PairReveal || repr.pairing != pairing {
            return Err(FrameError::Unexpected);
        }
        let reveal: PairNonce = message::decode(frame.body())?;
        if !crypto::commitment_holds(
            &offer.commitment,
            &offer.ephemeral,
            &self.public,
            &reveal.nonce,
        ) {
            return Err(FrameError::BadTag);
        }
        let th = crypto::transcript(
            &offer.lock_id,
            &self.public,
            &offer.identity,
            &offer.ephemeral,
            &self.nonce,
            &reveal.nonce,
        );
        let dh_e = crypto::dh(&self.secret, &offer.ephemeral).ok_or(FrameError::Malformed)?;
        let dh_s = crypto::dh(&self.secret, &offer.identity).ok_or(FrameError::Malformed)?;
        let secrets = crypto::pairing_secrets(&th, &dh_e, &dh_s);
        Ok(ComparedPairing {
            code: secrets.code,
            identity_code: crypto::identity_code(&offer.identity),
            pairing,
            key: Zeroizing::new(secrets.pairing_key),
        })
    }
}

impl ComparedPairing {
    /// The codes matched: the phone holds the pairing, and sends the returned
    /// `ConfirmPairing` frame.
    pub fn confirm(self) -> Result<(Phone, FrameBuf), FrameError> {
        let mut phone = Phone::with_key(self.pairing, *self.key);
        let frame = phone.request(&Request::ConfirmPairing)?;
        Ok((phone, frame))
    }
}

/// A paired phone (or one holding an issued key).
///
/// A phone that restarts must not seal a frame under a counter it used
/// before: the lock refuses it as a replay, and two frames under one key
/// and counter repeat a nonce (their ciphertexts XOR to their plaintexts).
/// So it saves [`Phone::save`] after each [`Phone::request`], before the
/// frame leaves, and starts again with [`Phone::restore`].
pub struct Phone {
    pairing: u16,
    /// Wiped when dropped (S-ST-6), as are its frame keys.
    key: Zeroizing<[u8; 32]>,
    keys: FrameKeys,
    sent: u64,
    received: Option<u64>,
}

/// What a phone keeps across its own restarts: its pairing, key and
/// counters, in [`SavedPhone::LEN`] bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SavedPhone {
    /// The pairing id.
    pub pairing: u16,
    /// The pairing key.
    pub key: [u8; 32],
    /// The last counter a request was sealed under.
    pub sent: u64,
    /// The last counter accepted from the lock, if any.
    pub received: Option<u64>,
}

/// S-ST-6: the key is wiped when dropped. (What [`SavedPhone::to_bytes`]
/// returns is the caller's to wipe.)
impl Drop for SavedPhone {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl ZeroizeOnDrop for SavedPhone {}

impl core::fmt::Debug for SavedPhone {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SavedPhone")
            .field("pairing", &self.pairing)
            .field("sent", &self.sent)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl SavedPhone {
    /// Its length as bytes: pairing, key, sent, and received (`u64::MAX`
    /// for none, a counter the lock never reaches).
    pub const LEN: usize = 2 + 32 + 8 + 8;

    /// As bytes, little-endian.
    pub fn to_bytes(&self) -> [u8; SavedPhone::LEN] {
        let mut b = [0u8; SavedPhone::LEN];
        let received = self.received.unwrap_or(u64::MAX);
        let fields = self
            .pairing
            .to_le_bytes()
            .into_iter()
            .chain(self.key)
            .chain(self.sent.to_le_bytes())
            .chain(received.to_le_bytes());
        for (slot, byte) in b.iter_mut().zip(fields) {
            *slot = byte;
        }
        b
    }

    /// From [`SavedPhone::to_bytes`]; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<SavedPhone> {
        let b: &[u8; SavedPhone::LEN] = bytes.try_into().ok()?;
        let (pairing, rest) = b.split_first_chunk::<2>()?;
        let (key, rest) = rest.split_first_chunk::<32>()?;
        let (sent, rest) = rest.split_first_chunk::<8>()?;
        let received = u64::from_le_bytes(*rest.first_chunk::<8>()?);
        Some(SavedPhone {
            pairing: u16::from_le_bytes(*pairing),
            key: *key,
            sent: u64::from_le_bytes(*sent),
            received: (received != u64::MAX).then_some(received),
        })
    }
}

/// What the lock sent.
#[derive(Debug, Clone)]
// No heap to box into: the large variant is the point (a frame or a list
// travels by value, once).
#[allow(clippy::large_enum_variant)]
pub enum FromLock {
    /// A response to a request.
    Response(Response),
    /// A notice.
    Notice(Notice),
}

impl Phone {
    /// A phone holding pairing `pairing`'s key: an issued key (R-APP-5), or
    /// the result of [`ComparedPairing::confirm`].
    pub fn with_key(pairing: u16, key: [u8; 32]) -> Phone {
        Phone {
            pairing,
            key: Zeroizing::new(key),
            keys: FrameKeys::derive(&key),
            sent: 0,
            received: None,
        }
    }

    /// What to keep across a restart of the phone: save it after each
    /// [`Phone::request`], before the frame is sent.
    pub fn save(&self) -> SavedPhone {
        SavedPhone {
            pairing: self.pairing,
            key: *self.key,
            sent: self.sent,
            received: self.received,
        }
    }

    /// S-PR-6: the phone after a restart, from what it saved: its next
    /// request is sealed above every counter it used before, so no nonce
    /// repeats and the lock takes it.
    pub fn restore(saved: &SavedPhone) -> Phone {
        Phone {
            sent: saved.sent,
            received: saved.received,
            ..Phone::with_key(saved.pairing, saved.key)
        }
    }

    /// The pairing id.
    pub fn pairing(&self) -> u16 {
        self.pairing
    }

    /// Seals a request with the next counter.
    pub fn request(&mut self, request: &Request) -> Result<FrameBuf, FrameError> {
        let mut buf = [0u8; MAX_BODY];
        let n = message::encode(request, &mut buf)?;
        self.sent = self.sent.saturating_add(1);
        crypto::seal(
            &self.keys,
            Direction::PhoneToLock,
            FrameKind::Request,
            self.pairing,
            self.sent,
            buf.get(..n).unwrap_or(&[]),
        )
    }

    /// Seals a request with an explicit counter (tests of the lock's replay
    /// protection).
    pub fn request_with_counter(
        &mut self,
        request: &Request,
        counter: u64,
    ) -> Result<FrameBuf, FrameError> {
        let mut buf = [0u8; MAX_BODY];
        let n = message::encode(request, &mut buf)?;
        crypto::seal(
            &self.keys,
            Direction::PhoneToLock,
            FrameKind::Request,
            self.pairing,
            counter,
            buf.get(..n).unwrap_or(&[]),
        )
    }

    /// Opens a response or notice from the lock, refusing replays. Its
    /// pairing id and counter are masked (S-PR-8): a frame for another
    /// pairing is [`FrameError::UnknownPairing`] (or, one time in 65 536,
    /// [`FrameError::BadTag`]).
    pub fn open(&mut self, bytes: &[u8]) -> Result<FromLock, FrameError> {
        let frame = Frame::new_checked(bytes)?;
        let repr = FrameRepr::parse(&frame)?;
        if !repr.kind.is_sealed() {
            return Err(FrameError::Unexpected);
        }
        // A response may carry a key or the visitor secret: wiped when
        // dropped (S-ST-6).
        let mut plain = Zeroizing::new([0u8; MAX_BODY]);
        let opened = crypto::open_any(
            [(self.pairing, &self.keys)],
            Direction::LockToPhone,
            &frame,
            &mut plain,
            &mut crypto::TrialWork::default(),
        )?;
        if self.received.is_some_and(|r| opened.counter <= r) {
            return Err(FrameError::Replay);
        }
        self.received = Some(opened.counter);
        let body = plain.get(..opened.len).ok_or(FrameError::Malformed)?;
        match repr.kind {
            FrameKind::Response => Ok(FromLock::Response(message::decode(body)?)),
            FrameKind::Notice => Ok(FromLock::Notice(message::decode(body)?)),
            _ => Err(FrameError::Unexpected),
        }
    }
}
