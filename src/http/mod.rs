//! axum routes: GraphQL over HTTP, health, metrics, GraphiQL.

pub mod graphiql;
pub mod audit_csv;
pub mod credentials;
pub mod files;
pub mod graphql;
pub mod health;
pub mod pipeline;
pub mod subscriptions;
pub mod ws;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, Request, header},
    routing::get,
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::state::AppState;

/// What every handler gets.
#[derive(Clone)]
pub struct HttpState {
    /// Shared, not copied: axum clones the state for every request, and `AppState` is a score of
    /// `Arc`s and a connection pool (a tenth of the server's time on `{ __typename }`).
    pub app: std::sync::Arc<AppState>,
    /// The schema and what every operation passes around it.
    pub pipeline: std::sync::Arc<pipeline::Pipeline>,
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The policy of every response that sets none (GraphiQL's page sets its own).
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// CORS for the origins of `CORS_ORIGINS` only, with credentials; none configured, no CORS
/// headers at all (same-origin browsers only). Preflights allow the headers Apollo Client and
/// the CSRF rule use.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("apollo-require-preflight"),
                HeaderName::from_static("x-apollo-operation-name"),
                HeaderName::from_static("apollographql-client-name"),
                HeaderName::from_static("apollographql-client-version"),
                REQUEST_ID,
            ])
            .expose_headers([REQUEST_ID, header::RETRY_AFTER, header::CONTENT_DISPOSITION, header::CONTENT_LENGTH])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

pub fn router(state: HttpState) -> Router {
    // JSON bodies are held to MAX_BODY_BYTES by the handler; this outer cap also lets uploads through.
    let limit = state.app.settings.multipart_max();
    let settings = state.app.settings.clone();
    let metrics = state.app.metrics.clone();
    let router = Router::new()
        .route("/graphql", get(graphql::get_graphql).post(graphql::post_graphql))
        .route("/", get(root))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/health", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .route("/audit-logs.csv", get(audit_csv::export))
        .route("/files/{id}", get(files::download))
        .layer(DefaultBodyLimit::max(limit))
        .route_layer(axum::middleware::from_fn_with_state(metrics, crate::observability::http::track_http))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(API_CSP)));
    let router = if settings.app_env == crate::config::AppEnv::Production {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ))
    } else {
        router
    };
    let router = match cors(&settings.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    };
    router
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
