//! HS256 access tokens (the keys `AppState` holds), verified with an explicit algorithm allow-list.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    principal::Role,
    config::Settings,
    error::{AppError, AppResult},
};

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The user's organization.
    pub org: Uuid,
    pub role: Role,
    /// The session (device) the token belongs to.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(settings: &Settings) -> Self {
        let secret = settings.jwt_secret.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 5;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs: settings.access_token_ttl_secs,
        }
    }

    /// Signs a new access token; returns it with its lifetime in seconds.
    pub fn issue(&self, user_id: Uuid, org_id: Uuid, role: Role, session_id: Uuid) -> AppResult<(String, i64)> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            org: org_id,
            role,
            sid: session_id,
            iat: now,
            exp: now + self.ttl_secs,
            jti: Uuid::new_v4(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("signing a token: {e}")))?;
        Ok((token, self.ttl_secs))
    }

    /// Checks signature, algorithm and expiry.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => AppError::Unauthenticated("access token expired".into()),
                _ => AppError::Unauthenticated("invalid access token".into()),
            }
        })
    }
}
