//! MonAssurance: the back office of an insurance brokerage, as one GraphQL API.
//!
//! A tour of the modules in dependency order, bottom layer first. Each module imports only
//! modules above it in this list (`.ci/module-graph` checks this). See `ARCHITECTURE.md` for
//! the request path, the job path and the invariants.
//!
//! Bottom layer: these modules import nothing from the layers above.
//! - [`config`]: typed settings from the environment. [`entities`]: plain sea-orm rows, one
//!   per table (not the API).
//! - [`db`]: the SQLite or PostgreSQL connection and its statement metrics. [`text`]: portable
//!   text search. [`currency`]: ISO 4217 codes, each currency's minor unit, exact amounts (`Money`).
//! - [`render`]: the warm pool of sandboxed child processes; Typst → PDF, HTML, XLSX.
//! - [`error`]: the one error type. `error::code` holds every `extensions.code` of API.md and
//!   `with_code`.
//! - [`principal`]: `Role`, `Principal`, `Auth`, `RequestMeta` and the audit `Actor`.
//!   [`tokens`]: the JWT keys.
//! - [`storage`]: content-addressed files (one folder per organization) and signed download links. [`seams`]: rate limits,
//!   cache, event bus and throttles, in memory or in Redis (`seams::redis`).
//! - [`observability`]: the metrics registry, HTTP middleware and logging.
//!
//! Infrastructure and scoping:
//! - [`state`]: `AppState`, the infrastructure only; it imports no domain.
//! - [`scope`]: tenant scoping, the one place that decides which rows a caller sees.
//! - [`outbox`]: the loop every outbox worker (mail, webhooks) runs.
//!
//! Shared GraphQL:
//! - [`graphql`]: what every domain shares. It holds the context accessors (`ctx.principal()`),
//!   the DataLoaders (`RequestLoader`), Relay pagination, ids, scalars and validation. It also
//!   holds the steps every operation passes: error codes, null propagation (`nulls`), limits,
//!   the rate limit and timeout (`guard`), persisted operations and operation metrics, all
//!   reading the request's `Operation`, worked out once. `http::pipeline` runs them in order,
//!   once per operation: the schema has no async-graphql extension (they run around every field).
//!
//! Domains: each has `types.rs` (GraphQL), `resolvers.rs` and `service.rs`.
//! - [`audit`]: the trail. `audit::service::Audited` commits a change together with its audit
//!   row. [`organizations`]: the tenants.
//! - [`auth`]: sign-in, with `auth::service::{register, login, sessions}`. [`users`], [`api_keys`].
//! - [`attachments`]: files uploaded to a client, policy or claim, told by content (`inspect`),
//!   streamed to storage; `connection` pages them per owner (`Client.attachments`, `Policy.attachments`).
//! - [`policies`]: `rules` for validation and the status life cycle, and `connection` for every
//!   page of policies (including `Client.policies` and `Company.policies`).
//! - [`companies`], [`clients`]. [`claims`]: declared losses on policies, `numbering` (a counter
//!   row per organization and year) and `rules` (the status machine).
//! - [`payments`]: a policy's instalments and the payments allocated to them, oldest first
//!   (`rules` holds the exact arithmetic in minor units). [`commissions`]: insurers' rates per
//!   product type from a date and the rate in force (`rules`, also as SQL). [`portfolio`]: the
//!   book over a period, aggregated in one statement.
//! - [`templates`]: versioned templates. `render_data` is what a template sees (`report_row`, a
//!   report's row typed for the XLSX writer); `renderer` is
//!   the render facade. [`documents`]: generated files. [`mail`]: the outbox sent over SMTP by
//!   the workers (`mail::worker`, `mail::sender`), bodies from `mail::templates`.
//! - [`declarations`]: bordereaux — a batch of an insurer's policies for a period (each policy in one
//!   batch only), its document rendered by a report job, sent by mail and to the integration.
//! - [`integrations`]: insurers' signed webhooks: `setCompanyIntegration`, the secret sealed at
//!   rest (`secret`), endpoints kept off private networks (`endpoint`), deliveries queued in the
//!   caller's transaction (`service::enqueue`) and POSTed by the workers (`worker`, `sender`).
//! - [`jobs`]: the generation pipeline. `service` enqueues, `params` holds the typed
//!   parameters, `worker` handles leases, slices and heartbeats, `item::{policy, client,
//!   report}` make the items and `events` publishes progress.
//!
//! Top layer:
//! - [`schema`]: merges every domain's Query, Mutation and Subscription plus the `Node`
//!   interface. It sits above the domains because it names them all.
//! - [`http`]: the axum routes. It covers GraphQL over HTTP (`http::graphql`), the credentials
//!   shared by every transport, WebSocket subscriptions (`http::ws`), files, health, the audit
//!   CSV and GraphiQL.
//! - [`app`]: `bootstrap` (connect → migrate → state), shared by every subcommand.
//!   `Application` binds and serves. The CLI lives in `main.rs`.
//!
//! Where do I…
//! - …add a field to Policy? In `src/policies/types.rs`. A new column also needs a migration in
//!   `migration/` and the column in `src/entities/policy.rs`. Then run
//!   `UPDATE_SCHEMA=1 cargo test --test schema`.
//! - …find where a job item is rendered? `src/jobs/item/mod.rs` (`make`) dispatches to
//!   `policy.rs`, `client.rs` or `report.rs`, which call `src/templates/renderer.rs`.

pub mod config;
pub mod entities;
pub mod db;
pub mod text;
pub mod currency;
pub mod render;
pub mod error;
pub mod principal;
pub mod tokens;
pub mod storage;
pub mod seams;
pub mod observability;
pub mod state;
pub mod scope;
pub mod outbox;
pub mod graphql;
pub mod audit;
pub mod organizations;
pub mod auth;
pub mod users;
pub mod api_keys;
pub mod attachments;
pub mod policies;
pub mod companies;
pub mod clients;
pub mod claims;
pub mod commissions;
pub mod portfolio;
pub mod payments;
pub mod alerts;
pub mod templates;
pub mod documents;
pub mod declarations;
pub mod mail;
pub mod integrations;
pub mod jobs;
pub mod schedules;
pub mod scheduler;
pub mod schema;
pub mod http;
pub mod app;
