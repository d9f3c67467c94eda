//! Clients: the people and businesses that hold policies, each owned by a user.

pub mod resolvers;
pub mod service;
pub mod types;
