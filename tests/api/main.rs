//! All integration tests, in one binary to keep link time down.

mod helpers;

mod abuse;
mod alerts;
mod attachments;
mod api_keys;
mod audit;
mod auth;
mod claims;
mod clients;
mod companies;
mod declarations;
mod documents;
mod hardening;
mod uploads;
mod http;
mod integrations;
mod mail;
mod money;
mod passwords;
mod payments;
mod policies;
mod tenancy;
mod throttling;
mod transports;
