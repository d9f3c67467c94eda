//! Alerts: policies about to expire or expired (and instalments, once money lands), raised by the
//! scheduler once per policy, kind, due date and threshold; each organization's alert settings.

pub mod resolvers;
pub mod service;
pub mod settings;
pub mod types;
