//! The ceiling for `bench/typename.sh`: a bare axum + async-graphql server, no middleware, no
//! database, one `Query` type, answering `POST /graphql` with the stock JSON request and response
//! types. `cargo run --release --example bare -- 127.0.0.1:18610`.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use axum::{Json, Router, extract::State, routing::post};

struct Query;

#[Object]
impl Query {
    async fn hello(&self) -> &'static str {
        "world"
    }
}

/// The server's allocator, so that the comparison is of the code, not of the allocators.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BareSchema = Schema<Query, EmptyMutation, EmptySubscription>;

async fn graphql(State(schema): State<BareSchema>, Json(request): Json<async_graphql::Request>) -> Json<async_graphql::Response> {
    Json(schema.execute(request).await)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18610".into());
    let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
    let app = Router::new().route("/graphql", post(graphql)).with_state(schema);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
