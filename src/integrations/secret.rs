//! A webhook secret at rest: sealed with AES-256-GCM under the storage keys
//! (`STORAGE_ENCRYPTION_KEYS`), bound to its company by the associated data, never in clear.
//!
//! Without `STORAGE_ENCRYPTION_KEYS` in development, the key is derived (SHA-256 with a fixed
//! label) from the download-link signing keys, which development generates once under
//! `DATA_DIR` (`dev_url_signing_key`): secrets stay encrypted at rest and survive restarts. That
//! derived key (id [`DERIVED_KID`]) keeps opening them after `STORAGE_ENCRYPTION_KEYS` is set.
//! In production without `STORAGE_ENCRYPTION_KEYS` no secret can be stored: `setCompanyIntegration`
//! says so rather than derive a key from a setting operators rotate for another purpose.

use std::fmt;

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    config::{AppEnv, Settings},
    storage::KeyRing,
};

/// The id of the development key derived from the link-signing keys.
pub const DERIVED_KID: &str = "dev-derived";
const NONCE_LEN: usize = 12;

/// A webhook secret in clear, in memory only. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        WebhookSecret(secret.into())
    }
    /// The secret, to sign with.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("WebhookSecret(***)")
    }
}

/// A secret sealed for storage: base64 of `nonce || ciphertext || tag`, and the key's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub encrypted: String,
    pub kid: String,
}

/// Why a secret could not be sealed or opened. The messages never hold the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no STORAGE_ENCRYPTION_KEYS are configured, so a webhook secret cannot be stored encrypted")]
    NoKeys,
    #[error("STORAGE_ENCRYPTION_KEYS: {0}")]
    BadKeys(String),
    #[error("the key `{0}` that sealed the webhook secret is no longer configured; set the secret again")]
    UnknownKey(String),
    #[error("the stored webhook secret does not decrypt; set the secret again")]
    Corrupt,
}

/// The keys secrets are sealed (current) and opened with.
pub fn keys(settings: &Settings) -> Result<KeyRing, SecretError> {
    let configured = match &settings.storage_encryption_keys {
        Some(setting) => Some(KeyRing::parse(setting.expose()).map_err(|e| SecretError::BadKeys(e.to_string()))?),
        None => None,
    };
    if settings.app_env == AppEnv::Production {
        return configured.ok_or(SecretError::NoKeys);
    }
    let derived: [u8; 32] = Sha256::new()
        .chain_update(b"monassurance/integration-secret/v1\0")
        .chain_update(settings.url_signing_keys.expose().as_bytes())
        .finalize()
        .into();
    Ok(match configured {
        Some(mut ring) => {
            ring.keys.entry(DERIVED_KID.to_string()).or_insert(derived);
            ring
        }
        None => KeyRing::single(DERIVED_KID, derived),
    })
}

/// Binds a sealed secret to its company and key: a ciphertext copied to another company fails.
fn aad(company_id: Uuid, kid: &str) -> Vec<u8> {
    format!("ma-integration-secret:v1:{company_id}:{kid}").into_bytes()
}

/// Seals `secret` for `company_id` with the current key.
pub fn seal(ring: &KeyRing, company_id: Uuid, secret: &WebhookSecret) -> Result<Sealed, SecretError> {
    let (kid, key) = ring.current_key();
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(&nonce.into(), Payload { msg: secret.expose().as_bytes(), aad: &aad(company_id, kid) })
        .map_err(|_| SecretError::Corrupt)?;
    let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&sealed);
    Ok(Sealed { encrypted: STANDARD.encode(blob), kid: kid.to_string() })
}

/// Opens the secret sealed for `company_id`.
pub fn open(ring: &KeyRing, company_id: Uuid, sealed: &Sealed) -> Result<WebhookSecret, SecretError> {
    let key = ring.get(&sealed.kid).ok_or_else(|| SecretError::UnknownKey(sealed.kid.clone()))?;
    let blob = STANDARD.decode(&sealed.encrypted).map_err(|_| SecretError::Corrupt)?;
    if blob.len() < NONCE_LEN + 16 {
        return Err(SecretError::Corrupt);
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Corrupt)?;
    let cipher = Aes256Gcm::new(&(*key).into());
    let plain = cipher
        .decrypt(&nonce.into(), Payload { msg: ciphertext, aad: &aad(company_id, &sealed.kid) })
        .map_err(|_| SecretError::Corrupt)?;
    String::from_utf8(plain).map(WebhookSecret).map_err(|_| SecretError::Corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_for_its_company_only_and_never_prints() {
        let ring = KeyRing::generate("k1");
        let company = Uuid::new_v4();
        let secret = WebhookSecret::new("whsec_correct-horse-battery-staple");
        let sealed = seal(&ring, company, &secret).unwrap();
        assert!(!sealed.encrypted.contains("correct-horse"));
        assert_eq!(sealed.kid, "k1");
        assert_eq!(open(&ring, company, &sealed).unwrap(), secret);
        assert!(matches!(open(&ring, Uuid::new_v4(), &sealed), Err(SecretError::Corrupt)));
        let other = KeyRing::generate("k2");
        assert!(matches!(open(&other, company, &sealed), Err(SecretError::UnknownKey(_))));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
    }
}
