//! Claims: a client's declared loss on a policy, numbered per organization, moved through a status machine with its history.

pub mod numbering;
pub mod resolvers;
pub mod rules;
pub mod service;
pub mod types;
