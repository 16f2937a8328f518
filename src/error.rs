//! The one error type of the service layer, and how it reaches GraphQL clients.
//!
//! Clients see a closed set of codes in `extensions.code`; `INTERNAL` errors show a generic
//! message and their cause goes to the log only. Database text never reaches a client.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! error into a GraphQL error without a code, so the only way in is `From<AppError>` below.

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

use crate::domain::InvalidInput;

#[derive(Debug)]
pub enum AppError {
    /// No credential, or one that is malformed, expired or not ours.
    Unauthenticated(String),
    /// The caller is known but may not do this.
    Forbidden(String),
    /// Missing, or belonging to another tenant: the two are indistinguishable on purpose.
    NotFound {
        what: &'static str,
    },
    /// A piece of input is wrong; `field` names it as the client spelt it.
    BadInput {
        field: String,
        message: String,
    },
    /// The change would duplicate or contradict existing data.
    Conflict(String),
    RateLimited {
        retry_after_secs: u64,
    },
    /// Anything else. Logged with its cause; clients see "internal error".
    Internal(anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound { .. } => "NOT_FOUND",
            AppError::BadInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str) -> Self {
        AppError::NotFound { what }
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(cause.into())
    }

    /// The message a client may see.
    pub fn client_message(&self) -> String {
        match self {
            AppError::Unauthenticated(message)
            | AppError::Forbidden(message)
            | AppError::Conflict(message) => message.clone(),
            AppError::NotFound { what } => format!("{what} not found"),
            AppError::BadInput { field, message } => format!("{field}: {message}"),
            AppError::RateLimited { retry_after_secs } => {
                format!("too many requests, retry in {retry_after_secs} s")
            }
            AppError::Internal(_) => "internal error".into(),
        }
    }

    /// For logs: the client message, or the whole cause chain of an internal error.
    pub fn describe(&self) -> String {
        match self {
            AppError::Internal(cause) => format!("internal error: {cause:#}"),
            other => format!("{}: {}", other.code(), other.client_message()),
        }
    }

    /// Whether the error is a unique-key violation (used to retry racing inserts).
    pub fn is_conflict(&self) -> bool {
        matches!(self, AppError::Conflict(_))
    }
}

impl From<InvalidInput> for AppError {
    fn from(err: InvalidInput) -> Self {
        AppError::BadInput {
            field: err.field,
            message: err.message,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if crate::db::is_unique_violation(&err) {
            AppError::Conflict("this would duplicate an existing record".into())
        } else {
            AppError::Internal(err.into())
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        AppError::Internal(err)
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(cause) = &err {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let code = err.code();
        async_graphql::Error::new(err.client_message()).extend_with(|_, ext| {
            ext.set("code", code);
            match &err {
                AppError::BadInput { field, .. } => ext.set("field", field.as_str()),
                AppError::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs)
                }
                _ => {}
            }
        })
    }
}

impl From<InvalidInput> for async_graphql::Error {
    fn from(err: InvalidInput) -> Self {
        AppError::from(err).into()
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err: async_graphql::Error =
            AppError::internal(anyhow::anyhow!("connection refused to 10.0.0.3")).into();
        assert_eq!(err.message, "internal error");
        let ext = err.extensions.expect("extensions");
        assert_eq!(
            ext.get("code").map(|v| v.to_string()),
            Some("\"INTERNAL\"".into())
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let err: async_graphql::Error = AppError::bad_input("input.phone", "not a phone").into();
        let ext = err.extensions.expect("extensions");
        assert_eq!(
            ext.get("field").map(|v| v.to_string()),
            Some("\"input.phone\"".into())
        );
        assert_eq!(err.message, "input.phone: not a phone");
    }
}
