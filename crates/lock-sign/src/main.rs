//! `lock-sign`: the maker's tool for lock firmware updates. See the README.
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use lock_update::{BoardId, Header, Verifier, Version};

const USAGE: &str = "usage:
  lock-sign keygen KEYFILE
  lock-sign sign --key KEYFILE --version MAJOR.MINOR.PATCH --counter N --board BOARD IMAGE OUT
  lock-sign verify --public HEX [--board BOARD] [--counter N] IMAGE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lock-sign: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let Some((command, rest)) = args.split_first() else {
        return Err(USAGE.into());
    };
    let mut options = Options::parse(rest)?;
    match command.as_str() {
        "keygen" => {
            let [path] = options.positional::<1>()?;
            keygen(&path)
        }
        "sign" => {
            let key = options.required("--key")?;
            let version = parse_version(&options.required("--version")?)?;
            let counter = parse_u32("--counter", &options.required("--counter")?)?;
            let board = parse_board(&options.required("--board")?)?;
            let [image, out] = options.positional::<2>()?;
            sign(&key, version, counter, board, &image, &out)
        }
        "verify" => {
            let public = parse_public(&options.required("--public")?)?;
            let board = options
                .optional("--board")
                .map(|b| parse_board(&b))
                .transpose()?;
            let counter = options
                .optional("--counter")
                .map(|c| parse_u32("--counter", &c))
                .transpose()?;
            let [image] = options.positional::<1>()?;
            verify(public, board, counter, &image)
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    }
}

struct Options {
    named: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut named = Vec::new();
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if arg.starts_with("--") {
                let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                named.push((arg.clone(), value.clone()));
            } else {
                positional.push(arg.clone());
            }
        }
        Ok(Options { named, positional })
    }

    fn optional(&mut self, name: &str) -> Option<String> {
        let at = self.named.iter().position(|(n, _)| n == name)?;
        Some(self.named.remove(at).1)
    }

    fn required(&mut self, name: &str) -> Result<String, String> {
        self.optional(name)
            .ok_or_else(|| format!("{name} is required\n{USAGE}"))
    }

    fn positional<const N: usize>(&mut self) -> Result<[String; N], String> {
        if let Some((name, _)) = self.named.first() {
            return Err(format!("unknown option {name}\n{USAGE}"));
        }
        std::mem::take(&mut self.positional)
            .try_into()
            .map_err(|got: Vec<String>| {
                format!("expected {N} file argument(s), got {}\n{USAGE}", got.len())
            })
    }
}

fn parse_u32(name: &str, s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("{name} must be a number from 0 to {}", u32::MAX))
}

fn parse_version(s: &str) -> Result<Version, String> {
    let bad = || format!("--version must be MAJOR.MINOR.PATCH (at most 255.255.65535), not `{s}`");
    let mut parts = s.split('.');
    let (Some(major), Some(minor), Some(patch), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(Version {
        major: major.parse().map_err(|_| bad())?,
        minor: minor.parse().map_err(|_| bad())?,
        patch: patch.parse().map_err(|_| bad())?,
    })
}

fn parse_board(s: &str) -> Result<BoardId, String> {
    BoardId::new(s).ok_or_else(|| {
        format!("--board must be 1 to 16 printable ASCII characters without spaces, not `{s}`")
    })
}

fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.trim();
    if s.len() != 2 * N || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_public(s: &str) -> Result<[u8; 32], String> {
    decode_hex(s).ok_or_else(|| "--public must be 64 hex digits (what `keygen` printed)".into())
}

fn read_secret(path: &str) -> Result<[u8; 32], String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read key file {path}: {e}"))?;
    decode_hex(&text).ok_or_else(|| format!("{path} is not a key file (64 hex digits)"))
}

fn keygen(path: &str) -> Result<(), String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no randomness from the system: {e}"))?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {path} (an existing key is never overwritten): {e}"))?;
    file.write_all(format!("{}\n", hex(&secret)).as_bytes())
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    let public = lock_update::public_key(&secret);
    println!("secret key written to {path} (mode 0600); keep it out of the repository");
    println!("public key: {}", hex(&public));
    let literal: Vec<String> = public.iter().map(|b| format!("0x{b:02x}")).collect();
    println!("pub const MAKER_KEY: [u8; 32] = [{}];", literal.join(", "));
    Ok(())
}

fn sign(
    key: &str,
    version: Version,
    counter: u32,
    board: BoardId,
    image: &str,
    out: &str,
) -> Result<(), String> {
    let secret = read_secret(key)?;
    let payload = fs::read(image).map_err(|e| format!("cannot read {image}: {e}"))?;
    if payload.is_empty() {
        return Err(format!("{image} is empty"));
    }
    let header = Header::for_payload(board, version, counter, &payload)
        .ok_or_else(|| format!("{image} is 4 GiB or more"))?;
    let mut signed = lock_update::sign_manifest(&secret, &header).to_vec();
    signed.extend_from_slice(&payload);
    // The lock's own check, before anything is written.
    Verifier::new(lock_update::public_key(&secret), board, counter)
        .check_image(&signed)
        .map_err(|e| format!("the signed image does not verify: {e}"))?;
    fs::write(out, &signed).map_err(|e| format!("cannot write {out}: {e}"))?;
    println!(
        "{out}: {} bytes of firmware {version} for {}, security counter {counter}",
        payload.len(),
        board.as_str().unwrap_or("?"),
    );
    Ok(())
}

fn verify(
    public: [u8; 32],
    board: Option<BoardId>,
    counter: Option<u32>,
    image: &str,
) -> Result<(), String> {
    let bytes = fs::read(image).map_err(|e| format!("cannot read {image}: {e}"))?;
    // The board and counter the image claims, unless the caller names the
    // lock's; the signature and digest are checked either way.
    let claimed = Header::parse(&bytes).map_err(|e| format!("{image}: {e}"))?;
    let verifier = Verifier::new(
        public,
        board.unwrap_or(claimed.board),
        counter.unwrap_or(claimed.security_counter),
    );
    let header = verifier
        .check_image(&bytes)
        .map_err(|e| format!("{image}: refused: {e}"))?;
    println!(
        "{image}: valid: firmware {} for {}, security counter {}, {} bytes",
        header.version,
        header.board.as_str().unwrap_or("?"),
        header.security_counter,
        header.payload_len,
    );
    Ok(())
}
