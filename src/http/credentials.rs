//! Credentials, read the same way by every transport: GraphQL over HTTP, the WebSocket's
//! `connection_init`, the CSV export. `Authorization: Bearer <access token>` or `ApiKey <key>`.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header};

use super::{HttpState, REQUEST_ID};
use crate::{
    auth::service as auth,
    principal::{Auth, RequestMeta},
};

/// The client's address: the peer's, or, when the peer is one of `TRUSTED_PROXIES`, the rightmost
/// address of `X-Forwarded-For` that is not itself a trusted proxy (addresses further left were
/// written by the client and prove nothing). Every per-address limit and record uses it.
pub fn client_ip(trusted: &[ipnet::IpNet], peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    let peer = peer.map(|p| p.ip().to_canonical())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut hops: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else { return Some(peer) };
        hops.extend(value.split(',').map(str::trim));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>().or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip())) {
            Ok(ip) => {
                client = ip.to_canonical();
                if !is_trusted(&client) {
                    return Some(client);
                }
            }
            // A malformed hop: nothing left of it can be believed; the last good hop is the client.
            Err(_) => return Some(client),
        }
    }
    Some(client)
}

/// Reads credentials and request facts once per HTTP request.
pub async fn request_context(http: &HttpState, headers: &HeaderMap, peer: Option<SocketAddr>) -> (Auth, RequestMeta) {
    let meta = request_meta(http, headers, peer);
    let auth = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => Auth::Anonymous,
        Some(Err(_)) => Auth::Invalid("malformed authorization header".into()),
        Some(Ok(value)) => credentials(http, value).await,
    };
    (auth, meta)
}

/// The facts operations record: request id, client address, user agent.
pub fn request_meta(http: &HttpState, headers: &HeaderMap, peer: Option<SocketAddr>) -> RequestMeta {
    RequestMeta {
        request_id: headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        ip: client_ip(&http.app.settings.trusted_proxies, peer, headers).map(|ip| ip.to_string()),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        accept_language: headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(str::to_string),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().unwrap());
        h
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_behind_a_trusted_proxy() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        let proxy: Option<SocketAddr> = Some("10.1.2.3:5000".parse().unwrap());
        let stranger: Option<SocketAddr> = Some("203.0.113.9:5000".parse().unwrap());
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A spoofed left-most value is ignored: the proxy appended the real peer.
        assert_eq!(client_ip(&trusted, proxy, &forwarded("1.1.1.1, 198.51.100.7")), ip("198.51.100.7"));
        // Chains of trusted proxies are walked through.
        assert_eq!(client_ip(&trusted, proxy, &forwarded("198.51.100.7, 10.9.9.9")), ip("198.51.100.7"));
        // From an untrusted peer the header is never read.
        assert_eq!(client_ip(&trusted, stranger, &forwarded("198.51.100.7")), ip("203.0.113.9"));
        // No header, or a malformed one: the last believable address.
        assert_eq!(client_ip(&trusted, proxy, &HeaderMap::new()), ip("10.1.2.3"));
        assert_eq!(client_ip(&trusted, proxy, &forwarded("junk, 198.51.100.7")), ip("198.51.100.7"));
        // No trusted proxies (the default): the peer.
        assert_eq!(client_ip(&[], proxy, &forwarded("198.51.100.7")), ip("10.1.2.3"));
    }
}
