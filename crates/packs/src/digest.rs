//! sha256 digests of upstream files and the mismatch error (pure; shared by rendering and downloads).

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The bytes at `url` do not have the pinned digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "sha256 mismatch for {url}: expected {expected}, got {actual}; the file was changed or corrupted, refusing to use it"
)]
pub struct DigestMismatch {
    pub url: String,
    pub expected: String,
    pub actual: String,
}

impl DigestMismatch {
    pub fn code(&self) -> &'static str {
        "digest_mismatch"
    }
}

/// Check `bytes` against `expected` (hex); returns the actual digest.
pub fn verify(url: &str, expected: &str, bytes: &[u8]) -> Result<String, DigestMismatch> {
    let actual = sha256_hex(bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(actual)
    } else {
        Err(DigestMismatch {
            url: url.to_string(),
            expected: expected.to_string(),
            actual,
        })
    }
}
