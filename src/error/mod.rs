//! One error type for the whole service, mapped to the codes of API.md.

pub mod code;

use async_graphql::ErrorExtensions;

/// Every failure a client can see. The `Display` text is what the client reads.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    BadInput {
        message: String,
        field: Option<String>,
    },
    /// A template that does not compile or run: `BAD_USER_INPUT` with `extensions.diagnostics`.
    #[error("{message}")]
    InvalidTemplate {
        message: String,
        field: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<String>,
    },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A caller holds as many of something as it may at once (live subscriptions): `RATE_LIMITED`
    /// without `retryAfter`, since the place comes back when the caller ends one, not with time.
    #[error("{0}")]
    TooMany(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

pub use crate::render::Diagnostic;

impl AppError {
    /// A `BAD_USER_INPUT` error about one input field (`field` is the input path, e.g. `input.email`).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadInput { message: message.into(), field: Some(field.into()) }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadInput { message: message.into(), field: None }
    }

    /// A `CONFLICT`, e.g. a value that must be unique is taken.
    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict { message: message.into(), field: None }
    }

    /// A `CONFLICT` about one input field.
    pub fn conflict_on(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Conflict { message: message.into(), field: Some(field.into()) }
    }

    pub fn unauthenticated() -> Self {
        AppError::Unauthenticated("authentication required".into())
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("you are not allowed to do this".into())
    }

    /// The `extensions.code` of API.md.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => code::UNAUTHENTICATED,
            AppError::Forbidden(_) => code::FORBIDDEN,
            AppError::NotFound(_) => code::NOT_FOUND,
            AppError::BadInput { .. } | AppError::InvalidTemplate { .. } => code::BAD_USER_INPUT,
            AppError::Conflict { .. } => code::CONFLICT,
            AppError::RateLimited { .. } | AppError::TooMany(_) => code::RATE_LIMITED,
            AppError::Db(e) if is_unique_violation(e) => code::CONFLICT,
            AppError::Db(_) | AppError::Internal(_) => code::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client reads. Internal errors are logged with their chain and shown generically.
    pub fn client_message(&self) -> String {
        match self {
            AppError::Db(e) if is_unique_violation(e) => "this value is already taken".into(),
            AppError::Db(e) if is_unavailable(e) => {
                tracing::error!(error = %e, "the database is unavailable");
                "the database is unavailable; try again shortly".into()
            }
            AppError::Db(e) => {
                tracing::error!(error = %e, "database error");
                "internal server error".into()
            }
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "internal server error".into()
            }
            other => other.to_string(),
        }
    }
}

/// True when the database could not be reached (no connection within the pool's acquire
/// timeout, a broken connection): a transient outage, not a fault of the request.
pub fn is_unavailable(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error as Sqlx};
    let sqlx_down = |r: &RuntimeErr| {
        matches!(r, RuntimeErr::SqlxError(s) if matches!(**s, Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Tls(_) | Sqlx::Protocol(_)))
    };
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(r) | DbErr::Query(r) => sqlx_down(r),
        _ => false,
    }
}

/// True when a database error is a unique-constraint violation (SQLite or PostgreSQL).
pub fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// True when a database error is a foreign-key violation (SQLite or PostgreSQL).
pub fn is_foreign_key_violation(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    if matches!(error.sql_err(), Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))) {
        return true;
    }
    // SQLite answers a delete that an `ON DELETE RESTRICT` key forbids with extended code 1811
    // (SQLITE_CONSTRAINT_TRIGGER, "FOREIGN KEY constraint failed"), which sea-orm does not map
    // (it knows 787, SQLITE_CONSTRAINT_FOREIGNKEY, the code of the other violations).
    if let DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) = error
        && let sqlx::Error::Database(e) = &**e
    {
        return e.code().as_deref() == Some("1811") && e.message().contains("FOREIGN KEY");
    }
    false
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        let code = error.code();
        let mut err = async_graphql::Error::new(error.client_message()).extend_with(|_, ext| ext.set("code", code));
        match &error {
            AppError::BadInput { field: Some(field), .. } | AppError::Conflict { field: Some(field), .. } => {
                err = err.extend_with(|_, ext| ext.set("field", field.as_str()));
            }
            AppError::InvalidTemplate { field, diagnostics, .. } => {
                let list: Vec<async_graphql::Value> = diagnostics
                    .iter()
                    .filter_map(|d| async_graphql::Value::from_json(serde_json::to_value(d).ok()?).ok())
                    .collect();
                let field = field.clone();
                err = err.extend_with(move |_, ext| {
                    ext.set("field", field.as_str());
                    ext.set("diagnostics", async_graphql::Value::List(list.clone()));
                });
            }
            AppError::RateLimited { retry_after_secs } => {
                let secs = *retry_after_secs;
                err = err.extend_with(|_, ext| ext.set("retryAfter", secs));
            }
            _ => {}
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: AppError) -> String {
        let err: async_graphql::Error = error.into();
        let ext = err.extensions.expect("extensions set");
        match ext.get("code") {
            Some(async_graphql::Value::String(s)) => s.clone(),
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn each_variant_maps_to_its_code() {
        assert_eq!(code_of(AppError::unauthenticated()), "UNAUTHENTICATED");
        assert_eq!(code_of(AppError::forbidden()), "FORBIDDEN");
        assert_eq!(code_of(AppError::NotFound("policy")), "NOT_FOUND");
        assert_eq!(code_of(AppError::invalid("input.email", "bad")), "BAD_USER_INPUT");
        assert_eq!(code_of(AppError::conflict("x")), "CONFLICT");
        assert_eq!(code_of(AppError::RateLimited { retry_after_secs: 3 }), "RATE_LIMITED");
        assert_eq!(code_of(AppError::TooMany("at most 20".into())), "RATE_LIMITED");
        assert_eq!(code_of(AppError::Internal(anyhow::anyhow!("boom"))), "INTERNAL_SERVER_ERROR");
        assert_eq!(code_of(AppError::Db(sea_orm::DbErr::Custom("x".into()))), "INTERNAL_SERVER_ERROR");
    }

    #[test]
    fn bad_input_carries_its_field() {
        let err: async_graphql::Error = AppError::invalid("input.premium", "must be positive").into();
        let ext = err.extensions.unwrap();
        assert_eq!(ext.get("field"), Some(&async_graphql::Value::String("input.premium".into())));
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let err: async_graphql::Error =
            AppError::Db(sea_orm::DbErr::Custom("SELECT secret FROM users at /etc/x".into())).into();
        assert_eq!(err.message, "internal server error");
    }

    /// SQLite reports a foreign-key violation as extended code 787 (SQLITE_CONSTRAINT_FOREIGNKEY):
    /// the recogniser must see it, or deleting a row still referenced would answer
    /// INTERNAL_SERVER_ERROR instead of CONFLICT.
    #[tokio::test]
    async fn a_sqlite_foreign_key_violation_is_recognised() {
        use sea_orm::{ConnectionTrait, Database};
        let db = Database::connect("sqlite::memory:").await.unwrap();
        for sql in [
            "PRAGMA foreign_keys = ON",
            "CREATE TABLE owners (id INTEGER PRIMARY KEY)",
            "CREATE TABLE files (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES owners (id) ON DELETE RESTRICT)",
            "INSERT INTO owners (id) VALUES (1)",
            "INSERT INTO files (id, owner_id) VALUES (1, 1)",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        let error = db.execute_unprepared("DELETE FROM owners WHERE id = 1").await.unwrap_err();
        assert!(is_foreign_key_violation(&error), "{error:?}");
        let other = db.execute_unprepared("INSERT INTO owners (id) VALUES (1)").await.unwrap_err();
        assert!(!is_foreign_key_violation(&other), "a unique violation is not one: {other:?}");
    }
}
