//! `GET /files/{documentId}?exp=…&kid=…&sig=…`: a signed, rate-limited, audited download that needs
//! no bearer token. Tampered or expired links get 403, never the file.

use std::{collections::HashMap, time::Duration};

use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use sea_orm::EntityTrait;
use serde_json::json;
use uuid::Uuid;

use super::HttpState;
use crate::{
    audit::service as audit,
    principal::Actor,
    principal::RequestMeta,
    entities::document,
    seams::RateDecision,
    storage::{LinkParams, StoredRef, forbidden, too_many_requests},
};

/// Downloads a minute per document, and per address.
const PER_DOCUMENT: u32 = 60;
const PER_ADDRESS: u32 = 120;

pub async fn download(
    State(s): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let link = LinkParams { exp: params.get("exp").cloned(), kid: params.get("kid").cloned(), sig: params.get("sig").cloned() };
    if let Err(reason) = s.app.signer.verify_params(&id, &link) {
        return forbidden(reason);
    }
    let ip = super::credentials::client_ip(&s.app.settings.trusted_proxies, Some(peer), &headers).map_or_else(|| "-".into(), |ip| ip.to_string());
    for (key, limit) in [(format!("dl:doc:{id}"), PER_DOCUMENT), (format!("dl:ip:{ip}"), PER_ADDRESS)] {
        if let RateDecision::Limited { retry_after } = s.app.rate_limiter.hit(&key, limit, Duration::from_secs(60)).await {
            s.app.metrics.rate_limited("download");
            return too_many_requests(retry_after);
        }
    }
    let Ok(key) = Uuid::parse_str(&id) else {
        return (StatusCode::NOT_FOUND, "no such document\n").into_response();
    };
    let doc = match document::Entity::find_by_id(key).one(&s.app.db).await {
        Ok(Some(d)) => d,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such document\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "download: database error");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response();
        }
    };
    let stored = StoredRef {
        key: doc.storage_key.clone(),
        sha256: doc.sha256.clone(),
        compressed: doc.compressed,
        encrypted: doc.encrypted,
        kid: doc.kid.clone(),
    };
    let meta = RequestMeta {
        request_id: headers.get(super::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        ip: Some(ip),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        accept_language: None,
    };
    let actor = Actor::anonymous(meta, Some(doc.organization_id), None);
    let info = json!({"fileName": doc.file_name, "range": headers.get(header::RANGE).and_then(|v| v.to_str().ok())});
    if let Err(e) = audit::record(&s.app.db, &actor, "document.download", Some(("Document", doc.id)), info).await {
        tracing::error!(error = %e, "download: cannot audit; refusing");
        return (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response();
    }
    match s.app.storage.download(&stored, &doc.file_name, &doc.mime_type, &headers).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(document = %doc.id, error = %e, "download: storage error");
            (StatusCode::NOT_FOUND, "the file of this document is missing\n").into_response()
        }
    }
}
