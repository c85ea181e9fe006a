//! The key schedule and the AEAD, as the crate docs specify them.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::FrameError;
use crate::wire::{FrameBuf, FrameKind, FrameRepr, HEADER_LEN, MAX_BODY, TAG_LEN};

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

/// The two frame keys of a pairing, derived from its 32-byte pairing key.
/// Wiped when dropped (S-ST-6): every clone wipes its own copy.
#[derive(Clone)]
pub struct FrameKeys {
    phone_to_lock: [u8; 32],
    lock_to_phone: [u8; 32],
}

/// S-ST-6: frame keys are wiped when dropped.
impl Drop for FrameKeys {
    fn drop(&mut self) {
        self.phone_to_lock.zeroize();
        self.lock_to_phone.zeroize();
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
    /// `"phone to lock"` and `"lock to phone"`.
    pub fn derive(pairing_key: &[u8; 32]) -> FrameKeys {
        let prk = Hkdf::<Sha256>::new(Some(b"ODL-FRAME1"), pairing_key);
        let mut keys = FrameKeys {
            phone_to_lock: [0; 32],
            lock_to_phone: [0; 32],
        };
        // Expanded in place: no copy of a key is left on the stack.
        let _ = prk.expand(b"phone to lock", &mut keys.phone_to_lock);
        let _ = prk.expand(b"lock to phone", &mut keys.lock_to_phone);
        keys
    }

    fn key(&self, direction: Direction) -> &[u8; 32] {
        match direction {
            Direction::PhoneToLock => &self.phone_to_lock,
            Direction::LockToPhone => &self.lock_to_phone,
        }
    }
}

/// The 12-byte nonce: direction byte, three zero bytes, counter (u64 LE).
pub fn nonce(direction: Direction, counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[0] = direction.byte();
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}

/// Builds a sealed frame: header, `plaintext` encrypted, tag. The header is
/// the associated data.
pub fn seal(
    keys: &FrameKeys,
    direction: Direction,
    kind: FrameKind,
    pairing: u16,
    counter: u64,
    plaintext: &[u8],
) -> Result<FrameBuf, FrameError> {
    let body_len = u16::try_from(plaintext.len()).map_err(|_| FrameError::TooLong)?;
    if plaintext.len() > MAX_BODY {
        return Err(FrameError::TooLong);
    }
    let repr = FrameRepr {
        kind,
        pairing,
        counter,
        body_len,
    };
    let mut header = [0u8; HEADER_LEN];
    repr.emit(&mut header);
    // The plaintext may be a key or a secret (a key issued, the visitor
    // secret): wiped when dropped (S-ST-6).
    let mut body = Zeroizing::new([0u8; MAX_BODY]);
    let body = body.get_mut(..plaintext.len()).ok_or(FrameError::TooLong)?;
    body.copy_from_slice(plaintext);
    // By reference: no copy of the key; the cipher wipes its own on drop.
    let cipher = ChaCha20Poly1305::new(keys.key(direction).into());
    let tag = cipher
        .encrypt_inout_detached(&nonce(direction, counter).into(), &header, body.into())
        .map_err(|_| FrameError::TooLong)?;
    let mut frame = FrameBuf::new();
    frame
        .extend_from_slice(&header)
        .and_then(|()| frame.extend_from_slice(body))
        .and_then(|()| frame.extend_from_slice(&tag))
        .map_err(|_| FrameError::TooLong)?;
    Ok(frame)
}

/// Opens a checked sealed frame into `out`, returning the plaintext's length.
/// Fails with [`FrameError::BadTag`] unless the tag is right for this key,
/// direction, counter and header.
pub fn open(
    keys: &FrameKeys,
    direction: Direction,
    header: &[u8],
    counter: u64,
    body: &[u8],
    tag: &[u8],
    out: &mut [u8; MAX_BODY],
) -> Result<usize, FrameError> {
    let buf = out.get_mut(..body.len()).ok_or(FrameError::TooLong)?;
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
    Ok(body.len())
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
