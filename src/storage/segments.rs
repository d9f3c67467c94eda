//! Streamed AES-256-GCM: the at-rest encryption of objects written and read piece by piece
//! (attachments), so neither side ever holds the whole file. Keys end in `.encs-<kid>`.
//!
//! Layout: the plaintext (after optional zstd) is cut into [`SEGMENT`]-byte segments, each sealed
//! on its own: `nonce (12 random bytes) || ciphertext || tag (16 bytes)`. The last segment is
//! always shorter than [`SEGMENT`] (empty when the length is a multiple of it), so a reader knows
//! the last one when it reads a short one, and a truncated object fails. Each segment's
//! associated data binds it to its object and place,
//! `"ma-seg:v1:{sha256 of plaintext}:{zst|raw}:{kid}:{index}:{last 0|1}"`: segments cannot be
//! reordered, dropped, moved to another object or re-labelled (compression, key).

use std::io::{self, Read, Write};

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use rand::RngCore;

/// Plaintext bytes per segment.
pub(crate) const SEGMENT: usize = 64 * 1024;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// A whole sealed segment at rest.
const SEALED: usize = NONCE_LEN + SEGMENT + TAG_LEN;

/// What every segment of one object is bound to.
#[derive(Clone)]
pub(crate) struct SegmentKey {
    cipher: Aes256Gcm,
    label: String,
}

impl SegmentKey {
    pub(crate) fn new(key: &[u8; 32], kid: &str, sha256: &str, compressed: bool) -> Self {
        let zst = if compressed { "zst" } else { "raw" };
        SegmentKey { cipher: Aes256Gcm::new(&(*key).into()), label: format!("ma-seg:v1:{sha256}:{zst}:{kid}") }
    }

    fn aad(&self, index: u64, last: bool) -> Vec<u8> {
        format!("{}:{index}:{}", self.label, u8::from(last)).into_bytes()
    }
}

/// Encrypts what is written to it into `inner`, one segment at a time; call [`SegmentWriter::finish`].
pub(crate) struct SegmentWriter<W: Write> {
    inner: W,
    key: SegmentKey,
    plain: Vec<u8>,
    index: u64,
}

impl<W: Write> SegmentWriter<W> {
    pub(crate) fn new(inner: W, key: SegmentKey) -> Self {
        SegmentWriter { inner, key, plain: Vec::with_capacity(SEGMENT), index: 0 }
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = self.key.aad(self.index, last);
        let sealed = self
            .key
            .cipher
            .encrypt(&nonce.into(), Payload { msg: &self.plain, aad: &aad })
            .map_err(|_| io::Error::other("encryption failed"))?;
        self.inner.write_all(&nonce)?;
        self.inner.write_all(&sealed)?;
        self.plain.clear();
        self.index += 1;
        Ok(())
    }

    /// Seals the last (short, possibly empty) segment and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SegmentWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let take = buf.len().min(SEGMENT - self.plain.len());
        self.plain.extend_from_slice(&buf[..take]);
        if self.plain.len() == SEGMENT {
            // A full segment is never the last: the last one is short.
            self.seal(false)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts a segmented object read from `inner`. Fails (`InvalidData`) on any segment that does
/// not authenticate, and on an object that ends without its short last segment.
pub(crate) struct SegmentReader<R: Read> {
    inner: R,
    key: SegmentKey,
    sealed: Vec<u8>,
    plain: Vec<u8>,
    at: usize,
    index: u64,
    done: bool,
}

impl<R: Read> SegmentReader<R> {
    pub(crate) fn new(inner: R, key: SegmentKey) -> Self {
        SegmentReader { inner, key, sealed: Vec::with_capacity(SEALED), plain: Vec::new(), at: 0, index: 0, done: false }
    }

    /// Reads and opens the next segment into `plain`.
    fn next_segment(&mut self) -> io::Result<()> {
        self.sealed.clear();
        self.inner.by_ref().take(SEALED as u64).read_to_end(&mut self.sealed)?;
        let last = self.sealed.len() < SEALED;
        if self.sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the encrypted object is truncated"));
        }
        let (nonce, body) = self.sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("NONCE_LEN bytes");
        let aad = self.key.aad(self.index, last);
        self.plain = self
            .key
            .cipher
            .decrypt(&nonce.into(), Payload { msg: body, aad: &aad })
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a segment failed authentication"))?;
        self.at = 0;
        self.index += 1;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for SegmentReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_segment()?;
        }
        let n = buf.len().min(self.plain.len() - self.at);
        buf[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SegmentKey {
        SegmentKey::new(&[7u8; 32], "k1", &"ab".repeat(32), false)
    }

    fn seal(plain: &[u8]) -> Vec<u8> {
        let mut w = SegmentWriter::new(Vec::new(), key());
        w.write_all(plain).unwrap();
        w.finish().unwrap()
    }

    fn open(sealed: &[u8], key: SegmentKey) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        SegmentReader::new(sealed, key).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn any_length_round_trips() {
        for len in [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 3 * SEGMENT + 17] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal(&plain);
            assert_eq!(sealed.len(), len + (len / SEGMENT + 1) * (NONCE_LEN + TAG_LEN), "len {len}");
            assert_eq!(open(&sealed, key()).unwrap(), plain, "len {len}");
        }
    }

    #[test]
    fn truncation_reordering_tampering_and_relabelling_fail() {
        let plain = vec![42u8; 2 * SEGMENT + 10];
        let sealed = seal(&plain);
        // Cut after the first whole segment: a full segment is never the last, so the end is missing.
        assert!(open(&sealed[..SEALED], key()).is_err());
        assert!(open(&sealed[..sealed.len() - 1], key()).is_err());
        let mut swapped = sealed.clone();
        swapped[..SEALED].copy_from_slice(&sealed[SEALED..2 * SEALED]);
        swapped[SEALED..2 * SEALED].copy_from_slice(&sealed[..SEALED]);
        assert!(open(&swapped, key()).is_err());
        let mut flipped = sealed.clone();
        flipped[100] ^= 1;
        assert!(open(&flipped, key()).is_err());
        let compressed = SegmentKey::new(&[7u8; 32], "k1", &"ab".repeat(32), true);
        assert!(open(&sealed, compressed).is_err());
        let other_sha = SegmentKey::new(&[7u8; 32], "k1", &"cd".repeat(32), false);
        assert!(open(&sealed, other_sha).is_err());
    }
}
