//! Instalments and payments: a policy's premium split into instalments, and the payments recorded against it, allocated oldest instalment first.

pub mod resolvers;
pub mod rules;
pub mod service;
pub mod types;
