//! The key schedule, the AEAD and the header protection, as the crate docs
//! specify them.
//!
//! # Header protection (S-PR-8)
//!
//! A sealed frame's pairing id and counter are masked as QUIC masks its
//! packet numbers (RFC 9001 §5.4.3/§5.4.4): each pairing has a header key
//! per direction (`HKDF-Expand(PRK, "phone to lock hp" / "lock to phone
//! hp", 32)`), and the ten bytes of pairing id and counter are XORed with
//! the first ten bytes of the ChaCha20 keystream under that key, with the
//! ciphertext's first 16 bytes as block counter (4 bytes LE) and nonce (12
//! bytes). The AEAD's associated data is the header unmasked, so a mask
//! that was damaged on the way fails the tag.
//!
//! The lock does not know which pairing sent a frame, so it tries its
//! pairings in turn ([`open_any`]): one ChaCha20 block per pairing to
//! unmask, and the AEAD only where the unmasked id is that pairing's own.
//! The id is thus a 16-bit hint that makes a stranger's frame cost at most
//! [`MAX_CANDIDATES`] blocks and (for each id that happens to match, one
//! chance in 65 536 per pairing) an AEAD open; an authentic frame costs its
//! own open. Why not trial decryption without an id (as some messengers do):
//! every frame, authentic or not, would cost up to 17 AEAD opens of up to
//! 450 bytes instead of 17 blocks of 64. Why not a rotating per-pairing
//! token in clear: the sender would need to know the lock's notion of the
//! current epoch, which a lock without a trusted clock does not have.

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::FrameError;
use crate::wire::{
    Frame, FrameBuf, FrameKind, FrameRepr, HEADER_LEN, LENGTH_PREFIX, MAX_BODY, MAX_SEALED,
    SAMPLE_LEN, TAG_LEN, sealed_size,
};

/// Which way a frame goes; part of its nonce, and each way has its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Requests.
    PhoneToLock,
    /// Responses and notices.
    LockToPhone,
}

impl Direction {
    const fn byte(self) -> u8 {
        match self {
            Direction::PhoneToLock => 1,
            Direction::LockToPhone => 2,
        }
    }
}

/// The keys of a pairing, derived from its 32-byte pairing key: a frame key
/// and a header key (S-PR-8) each way. Wiped when dropped (S-ST-6): every
/// clone wipes its own copy.
#[derive(Clone)]
pub struct FrameKeys {
    phone_to_lock: [u8; 32],
    lock_to_phone: [u8; 32],
    header_phone_to_lock: [u8; 32],
    header_lock_to_phone: [u8; 32],
}

/// S-ST-6: frame keys are wiped when dropped.
impl Drop for FrameKeys {
    fn drop(&mut self) {
        self.phone_to_lock.zeroize();
        self.lock_to_phone.zeroize();
        self.header_phone_to_lock.zeroize();
        self.header_lock_to_phone.zeroize();
    }
}

impl ZeroizeOnDrop for FrameKeys {}

impl core::fmt::Debug for FrameKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FrameKeys(..)")
    }
}

fn expand(prk: &Hkdf<Sha256>, info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 8160: this cannot fail.
    let _ = prk.expand(info, &mut out);
    out
}

impl FrameKeys {
    /// `HKDF-SHA256(salt = "ODL-FRAME1", ikm = pairing key)`, expanded with
    /// `"phone to lock"` and `"lock to phone"` for the frame keys and, for
    /// the header keys (S-PR-8), `"phone to lock hp"` and `"lock to phone
    /// hp"`.
    pub fn derive(pairing_key: &[u8; 32]) -> FrameKeys {
        let prk = Hkdf::<Sha256>::new(Some(b"ODL-FRAME1"), pairing_key);
        let mut keys = FrameKeys {
            phone_to_lock: [0; 32],
            lock_to_phone: [0; 32],
            header_phone_to_lock: [0; 32],
            header_lock_to_phone: [0; 32],
        };
        // Expanded in place: no copy of a key is left on the stack. 32
        // bytes is far below HKDF-SHA256's limit of 8160: none can fail.
        let _ = prk.expand(b"phone to lock", &mut keys.phone_to_lock);
        let _ = prk.expand(b"lock to phone", &mut keys.lock_to_phone);
        let _ = prk.expand(b"phone to lock hp", &mut keys.header_phone_to_lock);
        let _ = prk.expand(b"lock to phone hp", &mut keys.header_lock_to_phone);
        keys
    }

    fn key(&self, direction: Direction) -> &[u8; 32] {
        match direction {
            Direction::PhoneToLock => &self.phone_to_lock,
            Direction::LockToPhone => &self.lock_to_phone,
        }
    }

    fn header_key(&self, direction: Direction) -> &[u8; 32] {
        match direction {
            Direction::PhoneToLock => &self.header_phone_to_lock,
            Direction::LockToPhone => &self.header_lock_to_phone,
        }
    }
}

/// The bytes of a header the mask covers: the pairing id and the counter.
pub const MASKED: core::ops::Range<usize> = 2..12;
/// How many bytes the mask has.
pub const MASK_LEN: usize = 10;

/// S-PR-8: the ten bytes XORed over a sealed frame's pairing id and counter:
/// the ChaCha20 keystream under `header_key` at block `sample[0..4]` (LE)
/// with nonce `sample[4..16]` (RFC 9001 §5.4.4).
pub fn header_mask(header_key: &[u8; 32], sample: &[u8; SAMPLE_LEN]) -> [u8; MASK_LEN] {
    let (block, nonce) = sample.split_at(4);
    let block = u32::from_le_bytes([
        block.first().copied().unwrap_or(0),
        block.get(1).copied().unwrap_or(0),
        block.get(2).copied().unwrap_or(0),
        block.get(3).copied().unwrap_or(0),
    ]);
    let mut nonce12 = [0u8; 12];
    for (d, s) in nonce12.iter_mut().zip(nonce) {
        *d = *s;
    }
    let mut mask = [0u8; MASK_LEN];
    let mut cipher = ChaCha20::new(&(*header_key).into(), &nonce12.into());
    // Block 2^32 − 1 starts 64 bytes before the keystream's end and the mask
    // takes 10 of them: neither call can fail; if one did, the mask stays
    // zero and the frame simply fails its tag.
    if cipher.try_seek(u64::from(block) * 64).is_ok() {
        let _ = cipher.try_apply_keystream(&mut mask);
    }
    mask
}

/// XORs `mask` over the header's pairing id and counter.
fn apply_mask(header: &mut [u8; HEADER_LEN], mask: &[u8; MASK_LEN]) {
    for (h, m) in header.iter_mut().skip(MASKED.start).zip(mask) {
        *h ^= *m;
    }
}

/// S-PR-8: the pairing id and counter a sealed frame says under `keys` in
/// `direction`, and its header unmasked (the AEAD's associated data). With
/// the wrong keys this gives noise, which the tag then refuses.
pub fn unprotect<T: AsRef<[u8]>>(
    keys: &FrameKeys,
    direction: Direction,
    frame: &Frame<T>,
) -> (u16, u64, [u8; HEADER_LEN]) {
    let mut header = [0u8; HEADER_LEN];
    for (d, s) in header.iter_mut().zip(frame.header()) {
        *d = *s;
    }
    apply_mask(
        &mut header,
        &header_mask(keys.header_key(direction), &frame.sample()),
    );
    let clear = Frame::new_unchecked(&header[..]);
    (clear.pairing(), clear.counter(), header)
}

/// The 12-byte nonce: direction byte, three zero bytes, counter (u64 LE).
pub fn nonce(direction: Direction, counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[0] = direction.byte();
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}

/// Builds a sealed frame: header, `plaintext` padded (S-PR-8) and
/// encrypted, tag. The header unmasked is the associated data; the pairing
/// id and counter are then masked.
pub fn seal(
    keys: &FrameKeys,
    direction: Direction,
    kind: FrameKind,
    pairing: u16,
    counter: u64,
    plaintext: &[u8],
) -> Result<FrameBuf, FrameError> {
    let size = sealed_size(plaintext.len()).ok_or(FrameError::TooLong)?;
    let len = u16::try_from(plaintext.len()).map_err(|_| FrameError::TooLong)?;
    let repr = FrameRepr {
        kind,
        pairing,
        counter,
        body_len: u16::try_from(size).map_err(|_| FrameError::TooLong)?,
    };
    let mut header = [0u8; HEADER_LEN];
    repr.emit(&mut header);
    // Length, body, zeros up to the size. The plaintext may be a key or a
    // secret (a key issued, the visitor secret): wiped when dropped (S-ST-6).
    let mut padded = Zeroizing::new([0u8; MAX_SEALED]);
    let body = padded.get_mut(..size).ok_or(FrameError::TooLong)?;
    for (d, s) in body
        .iter_mut()
        .zip(len.to_le_bytes().iter().chain(plaintext))
    {
        *d = *s;
    }
    // By reference: no copy of the key; the cipher wipes its own on drop.
    let cipher = ChaCha20Poly1305::new(keys.key(direction).into());
    let tag = cipher
        .encrypt_inout_detached(&nonce(direction, counter).into(), &header, body.into())
        .map_err(|_| FrameError::TooLong)?;
    let mut sample = [0u8; SAMPLE_LEN];
    for (d, s) in sample.iter_mut().zip(body.iter()) {
        *d = *s;
    }
    apply_mask(
        &mut header,
        &header_mask(keys.header_key(direction), &sample),
    );
    let mut frame = FrameBuf::new();
    frame
        .extend_from_slice(&header)
        .and_then(|()| frame.extend_from_slice(body))
        .and_then(|()| frame.extend_from_slice(&tag))
        .map_err(|_| FrameError::TooLong)?;
    Ok(frame)
}

/// Opens a checked sealed frame into `out`, returning the plaintext's
/// length, given its unmasked `header` and `counter` ([`unprotect`]). Fails
/// with [`FrameError::BadTag`] unless the tag is right for this key,
/// direction, counter and header, and with [`FrameError::Malformed`] if
/// an authentic body's length prefix or padding is wrong (S-PR-8: the
/// padding is zeros).
pub fn open(
    keys: &FrameKeys,
    direction: Direction,
    header: &[u8],
    counter: u64,
    body: &[u8],
    tag: &[u8],
    out: &mut [u8; MAX_BODY],
) -> Result<usize, FrameError> {
    let mut padded = [0u8; MAX_SEALED];
    let buf = padded.get_mut(..body.len()).ok_or(FrameError::TooLong)?;
    buf.copy_from_slice(body);
    let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| FrameError::Short)?;
    let cipher = ChaCha20Poly1305::new(keys.key(direction).into());
    cipher
        .decrypt_inout_detached(
            &nonce(direction, counter).into(),
            header,
            buf.into(),
            &tag.into(),
        )
        .map_err(|_| FrameError::BadTag)?;
    let (len, rest) = buf
        .split_first_chunk::<LENGTH_PREFIX>()
        .ok_or(FrameError::Malformed)?;
    let len = usize::from(u16::from_le_bytes(*len));
    let (plain, padding) = rest.split_at_checked(len).ok_or(FrameError::Malformed)?;
    if padding.iter().any(|b| *b != 0) {
        return Err(FrameError::Malformed);
    }
    let into = out.get_mut(..len).ok_or(FrameError::Malformed)?;
    into.copy_from_slice(plain);
    Ok(len)
}

/// The most pairings [`open_any`] tries for one frame: every pairing the
/// lock holds and the one being made.
pub const MAX_CANDIDATES: usize = crate::state::MAX_PAIRINGS + 1;

/// Which pairing sent a frame, as [`open_any`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Its pairing id.
    pub pairing: u16,
    /// Its counter.
    pub counter: u64,
    /// The plaintext's length in `out`.
    pub len: usize,
}

/// What [`open_any`] spent on one frame (S-PR-8's bound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrialWork {
    /// Header masks computed: one ChaCha20 block each.
    pub masks: usize,
    /// AEAD opens tried.
    pub opens: usize,
}

/// S-PR-8: opens a sealed frame whose sender is one of `candidates`
/// (pairing id, keys), trying each in turn: unmask with its header key; if
/// the id is that candidate's own, open with its frame key. The first that
/// opens is the sender. At most [`MAX_CANDIDATES`] candidates are tried,
/// so a frame costs at most that many masks and opens (`work` says how
/// many). Errors: [`FrameError::UnknownPairing`] when no candidate's id
/// matched, [`FrameError::BadTag`] when some did but none opened, and
/// [`FrameError::Malformed`] from an authentic frame with a bad padding.
pub fn open_any<'k>(
    candidates: impl IntoIterator<Item = (u16, &'k FrameKeys)>,
    direction: Direction,
    frame: &Frame<&[u8]>,
    out: &mut [u8; MAX_BODY],
    work: &mut TrialWork,
) -> Result<Opened, FrameError> {
    let mut error = FrameError::UnknownPairing;
    for (id, keys) in candidates.into_iter().take(MAX_CANDIDATES) {
        work.masks = work.masks.saturating_add(1);
        let (pairing, counter, header) = unprotect(keys, direction, frame);
        if pairing != id {
            continue;
        }
        work.opens = work.opens.saturating_add(1);
        match open(
            keys,
            direction,
            &header,
            counter,
            frame.body(),
            frame.tag(),
            out,
        ) {
            Ok(len) => {
                return Ok(Opened {
                    pairing,
                    counter,
                    len,
                });
            }
            Err(FrameError::BadTag) => error = FrameError::BadTag,
            Err(e) => return Err(e),
        }
    }
    Err(error)
}

/// The lock's long-term identity key's public half.
pub fn public_of(secret: &[u8; 32]) -> [u8; 32] {
    // The `StaticSecret` is wiped when dropped (x25519-dalek's `zeroize`).
    PublicKey::from(&StaticSecret::from(*secret)).to_bytes()
}

/// X25519; `None` for a non-contributory result (a low-order point). The
/// shared secret is wiped when dropped (S-ST-6).
pub fn dh(secret: &[u8; 32], public: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
    let shared = StaticSecret::from(*secret).diffie_hellman(&PublicKey::from(*public));
    shared
        .was_contributory()
        .then(|| Zeroizing::new(shared.to_bytes()))
}

/// SHA-256 over the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The pairing transcript: `SHA-256("ODL-PAIR1" ‖ lock id ‖ phone
/// ephemeral ‖ lock identity ‖ lock ephemeral ‖ phone nonce ‖ lock nonce)`.
pub fn transcript(
    lock_id: &[u8; 8],
    phone: &[u8; 32],
    identity: &[u8; 32],
    ephemeral: &[u8; 32],
    phone_nonce: &[u8; 16],
    lock_nonce: &[u8; 16],
) -> [u8; 32] {
    sha256(&[
        b"ODL-PAIR1",
        lock_id,
        phone,
        identity,
        ephemeral,
        phone_nonce,
        lock_nonce,
    ])
}

/// Everything both sides derive from a pairing exchange.
pub struct PairingSecrets {
    /// The new pairing's key.
    pub pairing_key: [u8; 32],
    /// The six-digit code the person compares (`0..1_000_000`).
    pub code: u32,
}

/// S-ST-6: the pairing key is wiped when dropped.
impl Drop for PairingSecrets {
    fn drop(&mut self) {
        self.pairing_key.zeroize();
    }
}

impl ZeroizeOnDrop for PairingSecrets {}

/// The pairing key schedule (crate docs, "Pairing"): `transcript` is
/// SHA-256 of every public value exchanged; `dh_ephemeral` and `dh_static` are
/// the two X25519 results.
pub fn pairing_secrets(
    transcript: &[u8; 32],
    dh_ephemeral: &[u8; 32],
    dh_static: &[u8; 32],
) -> PairingSecrets {
    let mut ikm = Zeroizing::new([0u8; 64]);
    for (slot, byte) in ikm.iter_mut().zip(dh_ephemeral.iter().chain(dh_static)) {
        *slot = *byte;
    }
    let prk = Hkdf::<Sha256>::new(Some(transcript), ikm.as_slice());
    let mut secrets = PairingSecrets {
        pairing_key: [0; 32],
        code: 0,
    };
    let _ = prk.expand(b"ODL pairing key", &mut secrets.pairing_key);
    let c = expand(&prk, b"ODL verification code");
    secrets.code = u32::from_be_bytes([c[0], c[1], c[2], c[3]]) % 1_000_000;
    secrets
}

/// The commitment to the lock's pairing nonce:
/// `SHA-256("ODL-COMMIT1" ‖ lock ephemeral ‖ phone ephemeral ‖ lock nonce)`.
pub fn commitment(lock_ephemeral: &[u8; 32], phone: &[u8; 32], lock_nonce: &[u8; 16]) -> [u8; 32] {
    sha256(&[b"ODL-COMMIT1", lock_ephemeral, phone, lock_nonce])
}

/// Whether a commitment opens to `lock_nonce`, in constant time.
pub fn commitment_holds(
    commit: &[u8; 32],
    lock_ephemeral: &[u8; 32],
    phone: &[u8; 32],
    lock_nonce: &[u8; 16],
) -> bool {
    bool::from(commitment(lock_ephemeral, phone, lock_nonce).ct_eq(commit))
}

/// The lock's identity code (R-MNU-6's "verification code"): six digits of
/// `SHA-256("ODL-ID1" ‖ identity public key)`. It tells which lock a phone is
/// paired with; it is not what authenticates a pairing (six digits of a
/// static key can be ground), the per-pairing code is.
pub fn identity_code(identity_public: &[u8; 32]) -> u32 {
    let h = sha256(&[b"ODL-ID1", identity_public]);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % 1_000_000
}
