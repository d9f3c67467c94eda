//! Attachments: files users upload to a client, a policy or a claim, checked by content, streamed to storage, listed, downloaded and deleted.

pub mod inspect;
pub mod resolvers;
pub mod service;
pub mod types;
