//! All integration tests, in one binary to keep link time down.

mod helpers;

mod auth;
mod http;
mod records;
mod tenancy;
