//! `GET /files/{id}?exp=…&kid=…&sig=…` (a document's or an attachment's id): a signed, rate-limited,
//! audited download that needs no bearer token, always as an attachment (`Content-Disposition`, `nosniff`). Tampered or expired links get 403, never the file.

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
    entities::{attachment, document},
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
    let file = match find(&s, key).await {
        Ok(Some(file)) => file,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such document\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "download: database error");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response();
        }
    };
    let meta = RequestMeta {
        request_id: headers.get(super::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
        ip: Some(ip),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        accept_language: None,
    };
    let actor = Actor::anonymous(meta, Some(file.organization_id), None);
    let info = json!({"fileName": file.file_name, "range": headers.get(header::RANGE).and_then(|v| v.to_str().ok())});
    if let Err(e) = audit::record(&s.app.db, &actor, file.action, Some((file.kind, file.id)), info).await {
        tracing::error!(error = %e, "download: cannot audit; refusing");
        return (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response();
    }
    let served = match file.size_bytes {
        // Attachments (of any size) decode as they stream; documents as they always have.
        Some(size) => s.app.storage.download_decoded(&file.stored, size, &file.file_name, &file.mime_type, &headers).await,
        None => s.app.storage.download(&file.stored, &file.file_name, &file.mime_type, &headers).await,
    };
    match served {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(file = %file.id, error = %e, "download: storage error");
            (StatusCode::NOT_FOUND, "the file of this document is missing\n").into_response()
        }
    }
}

/// A downloadable file: a generated document or an attachment (ids never collide: both are UUIDv7).
struct Downloadable {
    id: Uuid,
    organization_id: Uuid,
    kind: &'static str,
    action: &'static str,
    file_name: String,
    mime_type: String,
    stored: StoredRef,
    /// Set for attachments: their plaintext size, to stream them decoded.
    size_bytes: Option<u64>,
}

async fn find(s: &HttpState, id: Uuid) -> Result<Option<Downloadable>, sea_orm::DbErr> {
    if let Some(doc) = document::Entity::find_by_id(id).one(&s.app.db).await? {
        let stored = StoredRef { key: doc.storage_key, sha256: doc.sha256, compressed: doc.compressed, encrypted: doc.encrypted, kid: doc.kid };
        return Ok(Some(Downloadable {
            id: doc.id,
            organization_id: doc.organization_id,
            kind: "Document",
            action: "document.download",
            file_name: doc.file_name,
            mime_type: doc.mime_type,
            stored,
            size_bytes: None,
        }));
    }
    let Some(row) = attachment::Entity::find_by_id(id).one(&s.app.db).await? else { return Ok(None) };
    let stored = StoredRef { key: row.storage_key, sha256: row.sha256, compressed: row.compressed, encrypted: row.encrypted, kid: row.kid };
    Ok(Some(Downloadable {
        id: row.id,
        organization_id: row.organization_id,
        kind: "Attachment",
        action: "attachment.download",
        file_name: row.file_name,
        mime_type: row.mime_type,
        stored,
        size_bytes: Some(u64::try_from(row.size_bytes).unwrap_or(0)),
    }))
}
