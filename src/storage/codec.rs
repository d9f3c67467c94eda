//! The at-rest encoding of one document: optional zstd, then optional AES-256-GCM.
//!
//! Encrypted blob layout: `nonce (12 random bytes) || ciphertext || tag (16 bytes)`.
//! The associated data binds the blob to what it claims to be —
//! `"ma-doc:v1:{sha256 of plaintext}:{zst|raw}:{kid}"` — so a blob copied over another
//! document's object, or renamed to claim another compression or key, fails to decrypt.

use std::io::Read;

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::StorageError;

/// zstd level: fast, and most of the gain for PDFs/XLSX/HTML.
const ZSTD_LEVEL: i32 = 3;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// A decompressed document larger than this is refused (defence against a planted zstd bomb).
pub const MAX_DOCUMENT_BYTES: u64 = 512 * 1024 * 1024;

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// zstd-compresses `plain`; `None` when that does not make it smaller.
pub(crate) fn compress(plain: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
    let packed = zstd::bulk::compress(plain, ZSTD_LEVEL)?;
    Ok((packed.len() < plain.len()).then_some(packed))
}

pub(crate) fn decompress(packed: &[u8]) -> Result<Vec<u8>, StorageError> {
    let decoder = zstd::stream::read::Decoder::new(packed)?;
    let mut out = Vec::with_capacity(packed.len().saturating_mul(3));
    decoder
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|_| StorageError::Corrupt)?;
    if out.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(StorageError::TooLarge(MAX_DOCUMENT_BYTES));
    }
    Ok(out)
}

fn aad(sha256: &str, compressed: bool, kid: &str) -> Vec<u8> {
    format!(
        "ma-doc:v1:{sha256}:{}:{kid}",
        if compressed { "zst" } else { "raw" }
    )
    .into_bytes()
}

pub(crate) fn encrypt(
    data: &[u8],
    key: &[u8; 32],
    kid: &str,
    sha256: &str,
    compressed: bool,
) -> Result<Vec<u8>, StorageError> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let aad = aad(sha256, compressed, kid);
    let sealed = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: data,
                aad: &aad,
            },
        )
        .map_err(|_| StorageError::Encrypt)?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

pub(crate) fn decrypt(
    blob: &[u8],
    key: &[u8; 32],
    kid: &str,
    sha256: &str,
    compressed: bool,
) -> Result<Vec<u8>, StorageError> {
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(StorageError::Corrupt);
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| StorageError::Corrupt)?;
    let cipher = Aes256Gcm::new(&(*key).into());
    let aad = aad(sha256, compressed, kid);
    cipher
        .decrypt(
            &nonce.into(),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| StorageError::Decrypt)
}
