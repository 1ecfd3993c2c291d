//! Provenance: what makes a finding reproducible (hash of the input).

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::input::Source;

/// SHA-256 of the source file's bytes, hex; `None` for standard input.
pub fn sha256_of(source: &Source) -> Result<Option<String>> {
    if source.is_stdin() {
        return Ok(None);
    }
    let mut file = std::fs::File::open(&source.path).map_err(|e| Error::io(&source.path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(&source.path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Some(hex(&hasher.finalize())))
}

/// SHA-256 of a byte string, hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
