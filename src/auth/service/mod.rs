//! Sign-in logic, by operation: `register` (accounts), `login` (passwords, throttled), `sessions`
//! (tokens, refresh rotation with reuse detection, revocation, the per-request check).

mod login;
mod register;
mod sessions;

pub use login::login;
pub use register::{create_superadmin, register};
pub use sessions::{
    Issued, authenticate, forget_cached_sessions, forget_sessions, refresh, revoke_sessions, revoke_user_sessions, sha256_hex,
};
