//! Running operations with the caller's credentials, request facts and DataLoaders in their data.
//! The rate limit and the timeout are the schema's (`graphql::guard`), the same on every transport:
//! each operation of a batch counts.

use async_graphql::{BatchRequest, Request as GqlRequest};
use axum::{
    http::StatusCode,
    response::Response,
};
use serde_json::Value;

use super::response::{MediaType, respond, retry_after, status_of, to_json, with_retry_after};
use crate::{
    graphql::loaders::Loaders,
    http::HttpState,
    principal::{Auth, RequestMeta},
};

pub(super) fn with_context(req: GqlRequest, http: &HttpState, auth: &Auth, meta: &RequestMeta) -> GqlRequest {
    let mut req = req.data(auth.clone()).data(meta.clone());
    if let Auth::Authenticated(p) = auth {
        req = req.data(Loaders::new(&http.app.db, p));
    }
    req
}

pub(super) async fn execute(http: &HttpState, media: MediaType, batch: BatchRequest, auth: Auth, meta: RequestMeta) -> Response {
    match batch {
        BatchRequest::Single(req) => {
            let resp = http.schema.execute(with_context(req, http, &auth, &meta)).await;
            let (status, wait) = (status_of(media, &resp), retry_after(&resp));
            with_retry_after(respond(media, status, to_json(resp)), wait)
        }
        BatchRequest::Batch(reqs) => {
            let mut out = Vec::with_capacity(reqs.len());
            let mut wait = None;
            for req in reqs {
                let resp = http.schema.execute(with_context(req, http, &auth, &meta)).await;
                wait = wait.max(retry_after(&resp));
                out.push(to_json(resp));
            }
            let status = if wait.is_some() { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::OK };
            with_retry_after(respond(media, status, Value::Array(out)), wait)
        }
    }
}
