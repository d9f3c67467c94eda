//! Bordereaux: declaration batches per insurer and period (each policy declared once, in one
//! batch), their document rendered by a report job, and their sending to the insurer by mail and
//! to its integration.

pub mod resolvers;
pub mod service;
pub mod types;
