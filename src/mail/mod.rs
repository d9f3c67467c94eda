//! Mail: the `outbox` sent over SMTP by the workers (`worker`, `sender`), bodies rendered from
//! templates kept in the binary (`templates`), and `messages`, `retryMessage`, `sendDocument`.

pub mod resolvers;
pub mod sender;
pub mod service;
pub mod templates;
pub mod types;
pub mod worker;
