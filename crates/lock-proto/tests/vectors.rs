//! The crate docs' test vectors for frames and pairing. An independent
//! implementation (Python's `cryptography`: X25519, HKDF, ChaCha20-Poly1305,
//! ChaCha20 for the header mask) produced the expected bytes, so a phone app in another language can check
//! itself against the same table.

// Test code: a broken set-up should fail loudly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use lock_core::{AppCommand, Reply};
use lock_proto::crypto::{self, Direction, FrameKeys};
use lock_proto::{FromLock, Phone, Request, Response, wire::FrameKind};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vector_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap();
    }
    k
}

#[test]
fn frame_test_vectors_match_the_crate_docs() {
    // Pairing 3, pairing key 00 01 … 1f.
    let mut phone = Phone::with_key(3, vector_key());
    let status = phone
        .request(&Request::Command {
            command: AppCommand::Status,
            challenge: None,
        })
        .unwrap();
    assert_eq!(
        hex(&status),
        "02109b4db250ff153583a3726000929e206690afb3ad4255a8cbeac9c651e84e3f21f2a0ef928a7044e0482b9ac2cf262f89ef4eefba75ccfe428598048d2d8d1064582d5348adcd11cfc607de9620c1c82a9fd89cbfa1a54fd58858d7102a98ffd68cf64debd68e0371b7a026b27f3f047d309317174576666b758a2a74"
    );
    // S-PR-8: the header keys mask the pairing id and the counter.
    let keys = FrameKeys::derive(&vector_key());
    let (pairing, counter, _) = crypto::unprotect(
        &keys,
        Direction::PhoneToLock,
        &lock_proto::Frame::new_checked(&status[..]).unwrap(),
    );
    assert_eq!((pairing, counter), (3, 1));
    // The lock's first answer, Reply(Done), with its counter 0.
    let body = [2u8, 0]; // postcard: Response::Reply (2), Reply::Done (0)
    let reply = crypto::seal(
        &keys,
        Direction::LockToPhone,
        FrameKind::Response,
        3,
        0,
        &body,
    )
    .unwrap();
    assert_eq!(
        hex(&reply),
        "0211075304c4fd0436e60ce76000fdb65e98dacb152e648bc65192fb3e1345d8695961f5fe1a63a3b8579b3e556e3e0ee2e7f37eee66413cd06667aef67e6233c94a6fd3b071cc0710be05cc82b27812540af7fca702ebca45e9723dc8ffb98369b17599326d05a16a70d268f25bfa1a748cdbb695a684654bbab931e703"
    );
    assert!(matches!(
        phone.open(&reply).unwrap(),
        FromLock::Response(Response::Reply(Reply::Done))
    ));
}

#[test]
fn pairing_test_vectors_match_the_crate_docs() {
    let identity = [0x11; 32];
    let ephemeral = [0x22; 32];
    let phone = [0x33; 32];
    let lock_id = [1, 2, 3, 4, 5, 6, 7, 8];
    let phone_nonce = [0x44; 16];
    let lock_nonce = [0x55; 16];
    let p = crypto::public_of(&phone);
    let i = crypto::public_of(&identity);
    let e = crypto::public_of(&ephemeral);
    assert_eq!(
        hex(&p),
        "7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14"
    );
    assert_eq!(
        hex(&i),
        "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13"
    );
    assert_eq!(
        hex(&e),
        "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20"
    );
    assert_eq!(
        hex(&crypto::commitment(&e, &p, &lock_nonce)),
        "4c04c96929ab7d2d1357f4ef8d78e0e4bb4a54b0d9a210c8b020710206413e5b"
    );
    let th = crypto::transcript(&lock_id, &p, &i, &e, &phone_nonce, &lock_nonce);
    assert_eq!(
        hex(&th),
        "872a7953b431b9ffe1a47d8ecf9cdd4977e1b9734d1213aad169449f5591e5ba"
    );
    // Both sides' view of the two X25519 results agree.
    let dh_e = crypto::dh(&ephemeral, &p).unwrap();
    let dh_s = crypto::dh(&identity, &p).unwrap();
    assert_eq!(Some(dh_e.clone()), crypto::dh(&phone, &e));
    assert_eq!(Some(dh_s.clone()), crypto::dh(&phone, &i));
    let s = crypto::pairing_secrets(&th, &dh_e, &dh_s);
    assert_eq!(
        hex(&s.pairing_key),
        "7046c1f34ec26f996c55ff8e66d5a12d7a4bf495a4c501438a325b51f39166c1"
    );
    assert_eq!(s.code, 234_118);
    assert_eq!(crypto::identity_code(&i), 873_180);
}
