//! Sign-in: passwords, access and refresh tokens, sessions, and who the caller is.

pub mod jwt;
pub mod password;
pub mod principal;
pub mod recovery;
pub mod resolvers;
pub mod service;
pub mod types;
