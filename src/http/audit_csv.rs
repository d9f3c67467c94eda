//! `GET /audit-logs.csv`: the audit trail as CSV (RFC 4180), streamed page by page, with the
//! filters of `auditLogs` as query parameters and a `delimiter` option. ADMIN, bearer token.
//!
//! Pages follow the order `(created_at, id)` from the last row sent (keyset), never an offset:
//! rows written while the export streams are newer than its first row, so they neither shift
//! the pages (repeating or skipping rows) nor appear. Cells that a spreadsheet would read as a
//! formula (`= + - @`, tab, carriage return first) are prefixed with `'`: anonymous callers
//! choose some of them (a failed sign-in's `User-Agent` and `X-Request-Id`).

use std::collections::HashMap;
use crate::error::code;

use axum::{
    body::Body,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use futures_util::stream;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, Select};
use serde_json::json;

use super::{HttpState, credentials::credentials};
use crate::{
    audit::{service, types::AuditLogFilter},
    principal::{Auth, Role},
    entities::{audit_log, user},
    graphql::ids,
};

const HEADER: [&str; 11] = [
    "created_at", "action", "object_type", "object_id", "actor_id", "actor_email", "api_key_id", "ip", "user_agent",
    "request_id", "metadata",
];

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn parse_time(params: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match params.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v).map(|d| Some(d.with_timezone(&Utc))).map_err(|_| {
            refuse(StatusCode::BAD_REQUEST, code::BAD_USER_INPUT, &format!("`{key}` must be an RFC 3339 date-time"))
        }),
    }
}

pub async fn export(
    State(s): State<HttpState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let auth = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) => credentials(&s, value).await,
        None => Auth::Anonymous,
    };
    let p = match auth {
        Auth::Authenticated(p) => p,
        _ => return refuse(StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED, "a valid bearer token is required"),
    };
    if p.require(Role::Admin).is_err() {
        return refuse(StatusCode::FORBIDDEN, code::FORBIDDEN, "the audit export is for administrators");
    }
    let delimiter = match params.get("delimiter").map(String::as_str) {
        None | Some("") | Some(",") | Some("comma") => b',',
        Some(";") | Some("semicolon") => b';',
        Some("\t") | Some("tab") => b'\t',
        Some("|") | Some("pipe") => b'|',
        Some(_) => return refuse(StatusCode::BAD_REQUEST, code::BAD_USER_INPUT, "`delimiter` is one of , ; tab |"),
    };
    let text = |k: &str| params.get(k).cloned().filter(|v| !v.trim().is_empty());
    let filter = AuditLogFilter {
        action: text("action"),
        object_type: text("objectType"),
        object_id: text("objectId").map(Into::into),
        actor_id: text("actorId").map(Into::into),
        from: match parse_time(&params, "from") {
            Ok(v) => v,
            Err(r) => return r,
        },
        to: match parse_time(&params, "to") {
            Ok(v) => v,
            Err(r) => return r,
        },
        search: text("search"),
    };
    let query = match service::list(&p, Some(filter)) {
        Ok(q) => q,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.code(), &e.to_string()),
    };
    let head = csv_bytes(delimiter, std::iter::once(HEADER.iter().map(|h| h.to_string()).collect()));
    let pages = pages(s.app.db.clone(), query, s.app.settings.audit_export_page_rows, delimiter).map(|page| {
        page.map_err(|e| {
            tracing::error!(error = %e, "audit export failed mid-stream");
            std::io::Error::other("audit export failed")
        })
    });
    let body = Body::from_stream(stream::iter([Ok::<_, std::io::Error>(head)]).chain(pages));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"audit-logs.csv\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

use futures_util::{Stream, StreamExt};

/// The rows of `query` (ordered newest first by `(created_at, id)`, as `audit::service::list`
/// orders them) as CSV, `page_rows` a page; a page is read when the previous one is taken, and
/// starts after the last row of the previous one.
pub fn pages(
    db: sea_orm::DatabaseConnection,
    query: Select<audit_log::Entity>,
    page_rows: u64,
    delimiter: u8,
) -> impl Stream<Item = Result<Vec<u8>, sea_orm::DbErr>> {
    stream::unfold(Some(None), move |cursor| {
        let (db, query) = (db.clone(), query.clone());
        async move {
            let after = cursor?;
            match chunk(&db, query, after, page_rows, delimiter).await {
                Ok((bytes, next)) => Some((Ok(bytes), next.map(Some))),
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

/// Where a page ends: the `(created_at, id)` of its last (oldest) row.
type Cursor = (DateTime<Utc>, uuid::Uuid);

/// One page of rows as CSV, and the cursor of the next page when one may follow.
async fn chunk(
    db: &sea_orm::DatabaseConnection,
    query: Select<audit_log::Entity>,
    after: Option<Cursor>,
    page_rows: u64,
    delimiter: u8,
) -> Result<(Vec<u8>, Option<Cursor>), sea_orm::DbErr> {
    let query = match after {
        None => query,
        Some((created_at, id)) => query.filter(
            Condition::any()
                .add(audit_log::Column::CreatedAt.lt(created_at))
                .add(Condition::all().add(audit_log::Column::CreatedAt.eq(created_at)).add(audit_log::Column::Id.lt(id))),
        ),
    };
    let rows = query.limit(page_rows).all(db).await?;
    let actor_ids: Vec<_> = rows.iter().filter_map(|r| r.actor_id).collect();
    let emails: HashMap<_, _> = if actor_ids.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find().filter(user::Column::Id.is_in(actor_ids)).all(db).await?.into_iter().map(|u| (u.id, u.email)).collect()
    };
    let next = match rows.last() {
        Some(last) if rows.len() as u64 == page_rows => Some((last.created_at, last.id)),
        _ => None,
    };
    let records = rows.into_iter().map(|r| {
        vec![
            r.created_at.to_rfc3339(),
            r.action,
            r.object_type.clone().unwrap_or_default(),
            match (&r.object_type, r.object_id) {
                (Some(t), Some(id)) => ids::encode(t, id).0,
                _ => String::new(),
            },
            r.actor_id.map(|id| ids::encode("User", id).0).unwrap_or_default(),
            r.actor_id.and_then(|id| emails.get(&id).cloned()).unwrap_or_default(),
            r.api_key_id.map(|id| ids::encode("ApiKey", id).0).unwrap_or_default(),
            r.ip.unwrap_or_default(),
            r.user_agent.unwrap_or_default(),
            r.request_id.unwrap_or_default(),
            r.metadata.to_string(),
        ]
        .into_iter()
        .map(as_text)
        .collect()
    });
    Ok((csv_bytes(delimiter, records), next))
}

/// A cell a spreadsheet would run as a formula (OWASP "CSV injection": `=`, `+`, `-`, `@`, tab
/// or carriage return first) is prefixed with `'`, which makes it text.
fn as_text(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
}

fn csv_bytes(delimiter: u8, records: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for r in records {
        let _ = w.write_record(&r);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::as_text;

    #[test]
    fn cells_a_spreadsheet_would_run_are_made_text_and_others_are_kept() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(as_text(formula.into()), format!("'{formula}"));
        }
        for plain in ["", "curl/8.0", "2026-01-01T00:00:00+00:00", "{\"a\":-1}", "a=b"] {
            assert_eq!(as_text(plain.into()), plain);
        }
    }
}
