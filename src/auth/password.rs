//! Password hashing (argon2id, OWASP parameters) off the async threads, and the password policy.
//! Each hash holds 19 MiB while it runs, so at most one per core runs at once in the process
//! (the others wait their turn, holding nothing): a flood of `register`, `login` or
//! `resetPassword` calls costs time, bounded by the rate limits, never memory.

use std::sync::LazyLock;

use argon2::{
    Argon2, PasswordHasher, PasswordVerifier,
    password_hash::phc::PasswordHash,
};

use crate::error::{AppError, AppResult};

/// Argon2id with m = 19 MiB, t = 2, p = 1 (OWASP's first recommended configuration).
fn argon2() -> Argon2<'static> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Hashes running at once: one per core.
static HASHING: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Runs one hash or verification when a slot is free.
async fn in_turn<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _slot = HASHING.acquire().await.map_err(|e| AppError::Internal(anyhow::anyhow!("{what} slot: {e}")))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| AppError::Internal(anyhow::anyhow!("{what} task: {e}")))
}

/// A hash of a random password, verified against when the account does not exist, so timing is alike.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2().hash_password(b"no such account, no such password").map(|h| h.to_string()).unwrap_or_default()
});

/// The password policy: at least 10 characters, at most 256, and not the e-mail address.
pub fn check_policy(password: &str, email: &str, field: &str) -> AppResult<()> {
    let n = password.chars().count();
    if n < 10 {
        return Err(AppError::invalid(field, "the password must have at least 10 characters"));
    }
    if n > 256 {
        return Err(AppError::invalid(field, "the password must have at most 256 characters"));
    }
    let lower = password.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lower == email.to_lowercase() || (!local.is_empty() && lower == local.to_lowercase()) {
        return Err(AppError::invalid(field, "the password must not be your e-mail address"));
    }
    Ok(())
}

pub async fn hash(password: String) -> AppResult<String> {
    in_turn("hashing", move || argon2().hash_password(password.as_bytes()).map(|h| h.to_string()))
    .await?
    .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing: {e}")))
}

/// True when `password` matches `hash`. With no hash, verifies against a dummy one and answers false.
pub async fn verify(password: String, hash: Option<String>) -> AppResult<bool> {
    in_turn("verifying", move || {
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        argon2().verify_password(password.as_bytes(), &parsed).is_ok() && known
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_passwords_and_the_email() {
        assert!(check_policy("short", "a@b.co", "p").is_err());
        assert!(check_policy("ann@example.com", "ann@example.com", "p").is_err());
        assert!(check_policy("correct horse battery", "ann@example.com", "p").is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(h)).await.unwrap());
        assert!(!verify("no such account, no such password".into(), None).await.unwrap());
    }
}
