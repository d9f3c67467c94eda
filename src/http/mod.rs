//! axum routes: GraphQL over HTTP, health, metrics, GraphiQL.

pub mod graphiql;
pub mod audit_csv;
pub mod files;
pub mod graphql;
pub mod health;
pub mod subscriptions;
pub mod ws;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, Request},
    routing::get,
};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{graphql::AppSchema, state::AppState};

/// What every handler gets.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: HttpState) -> Router {
    let limit = state.app.settings.max_body_bytes;
    Router::new()
        .route("/graphql", get(graphql::get_graphql).post(graphql::post_graphql))
        .route("/", get(root))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/health", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .route("/audit-logs.csv", get(audit_csv::export))
        .route("/files/{id}", get(files::download))
        .layer(DefaultBodyLimit::max(limit))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// `GET /`: the playground, unless it is off (production without `GRAPHQL_INTROSPECTION=true`).
async fn root(axum::extract::State(s): axum::extract::State<HttpState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    if s.app.settings.graphql_introspection {
        graphiql::page().await.into_response()
    } else {
        (axum::http::StatusCode::NOT_FOUND, "GraphiQL is off in production (set GRAPHQL_INTROSPECTION=true)").into_response()
    }
}
