//! MonAssurance: the back office of an insurance brokerage, as one GraphQL API.
//!
//! A tour of the modules:
//! - `config`: typed settings from the environment; `telemetry`: logging.
//! - `db`: connection (SQLite or PostgreSQL) and statement metrics; `entities`: sea-orm rows.
//! - `app`: build, bind and serve; `http`: axum routes (GraphQL over HTTP, health, metrics).
//! - `graphql`: the merged schema and the `Node` interface; `context`: resolver accessors.
//! - `auth`, `api_keys`, `audit`, `users`, `organizations`, `companies`, `clients`, `policies`: one folder per domain.
//! - `scope`: tenant scoping, the one place that says who sees which rows; `loaders`: DataLoaders.
//! - `pagination`, `ids`, `validation`, `text`, `scalars`: shared GraphQL plumbing.
//! - `templates`, `documents`, `jobs`: versioned templates, generated files, the durable job queue.
//! - `render` (sandboxed render pool, XLSX, HTML), `rendering` (its facade), `storage` (content-addressed files, signed links).
//! - `seams`: rate limiting, caching and event fan-out behind traits; `error`: the one error type.

pub mod api_keys;
pub mod app;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod companies;
pub mod config;
pub mod context;
pub mod db;
pub mod documents;
pub mod entities;
pub mod error;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod limits;
pub mod loaders;
pub mod observability;
pub mod organizations;
pub mod pagination;
pub mod persisted;
pub mod policies;
pub mod render;
pub mod redis_seams;
pub mod rendering;
pub mod scalars;
pub mod scope;
pub mod seams;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod templates;
pub mod text;
pub mod users;
pub mod validation;
