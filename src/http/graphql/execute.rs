//! Running operations with the caller's credentials, request facts and DataLoaders in their data.
//! Every operation passes the pipeline (`http::pipeline`: rate limit, timeout, limits, error codes),
//! the same on every transport: each operation of a batch counts.

use async_graphql::{BatchRequest, Request as GqlRequest};
use axum::{
    http::StatusCode,
    response::Response,
};
use super::response::{Body, MediaType, respond, retry_after, status_of, to_bytes, with_retry_after};
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
            let resp = http.pipeline.execute(with_context(req, http, &auth, &meta)).await;
            let (status, wait) = (status_of(media, &resp), retry_after(&resp));
            with_retry_after(respond(media, status, to_bytes(&Body(&resp))), wait)
        }
        BatchRequest::Batch(reqs) => {
            let mut out = Vec::with_capacity(reqs.len());
            let mut wait = None;
            for req in reqs {
                let resp = http.pipeline.execute(with_context(req, http, &auth, &meta)).await;
                wait = wait.max(retry_after(&resp));
                out.push(resp);
            }
            let status = if wait.is_some() { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::OK };
            let bodies: Vec<Body<'_>> = out.iter().map(Body).collect();
            with_retry_after(respond(media, status, to_bytes(&bodies)), wait)
        }
    }
}
