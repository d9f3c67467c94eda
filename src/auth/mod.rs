//! Sign-in: passwords, access and refresh tokens, sessions, and who the caller is.

pub mod password;
pub mod recovery;
pub mod resolvers;
pub mod service;
pub mod types;
