//! Credentials, read the same way by every transport: GraphQL over HTTP, the WebSocket's
//! `connection_init`, the CSV export. `Authorization: Bearer <access token>` or `ApiKey <key>`.

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use super::{HttpState, REQUEST_ID};
use crate::{
    auth::service as auth,
    principal::{Auth, RequestMeta},
};

/// Reads credentials and request facts once per HTTP request.
pub async fn request_context(http: &HttpState, headers: &HeaderMap, peer: Option<SocketAddr>) -> (Auth, RequestMeta) {
    let meta = RequestMeta {
        request_id: headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        ip: peer.map(|p| p.ip().to_string()),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
    };
    let auth = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => Auth::Anonymous,
        Some(Err(_)) => Auth::Invalid("malformed authorization header".into()),
        Some(Ok(value)) => credentials(http, value).await,
    };
    (auth, meta)
}

/// Turns an `Authorization` header value into the request's auth state.
pub async fn credentials(http: &HttpState, value: &str) -> Auth {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    let result = if token.is_empty() {
        return Auth::Invalid("empty credentials".into());
    } else if scheme.eq_ignore_ascii_case("bearer") {
        auth::authenticate(&http.app, token).await
    } else if scheme.eq_ignore_ascii_case("apikey") {
        crate::api_keys::service::authenticate(&http.app, token).await
    } else {
        return Auth::Invalid("unsupported authorization scheme; use `Bearer <accessToken>` or `ApiKey <key>`".into());
    };
    match result {
        Ok(p) => Auth::Authenticated(p),
        // The credentials could not be checked (the database failed): not the client's fault,
        // and never a reason to sign it out; the details go to the log, not to the client.
        Err(e @ (crate::error::AppError::Db(_) | crate::error::AppError::Internal(_))) => {
            tracing::error!(error = %e, "credentials could not be checked");
            Auth::Unavailable
        }
        Err(e) => Auth::Invalid(e.to_string()),
    }
}
