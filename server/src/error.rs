//! The one error type handlers and extractors return, and the one place it becomes a response.

use crate::http::Response;

/// Every way a request can fail. The HTTP status depends on the variant alone.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// Authentication missing or a bad signature.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("Not found")]
    NotFound,
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    /// A body over its limit (bytes), which the message states so a client can say it.
    #[error("Payload too large: the limit is {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    /// Stale timestamp or a reused nonce.
    #[error("{0}")]
    TooEarly(String),
    #[error("{reason}")]
    RateLimited {
        retry_after_secs: u64,
        reason: String,
    },
    /// A post caught by a content filter in reject mode (429, no `Retry-After`).
    #[error("{0}")]
    ContentRejected(String),
    #[error("Service unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::Forbidden(msg.into())
    }
    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Self::Unauthorized(msg.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound => 404,
            Self::NotAcceptable(_) => 406,
            Self::Conflict(_) => 409,
            Self::PreconditionFailed(_) => 412,
            Self::PayloadTooLarge { .. } => 413,
            Self::TooEarly(_) => 425,
            Self::RateLimited { .. } => 429,
            Self::ContentRejected(_) => 429,
            Self::Unavailable => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The only place an error body is built. Internal errors are logged here, once, with
    /// their whole chain; their text never reaches the client.
    pub fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = match &self {
            Self::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                Response::text(status, "Internal server error")
            }
            other => Response::text(status, &other.to_string()),
        };
        if let Self::RateLimited {
            retry_after_secs, ..
        } = self
        {
            resp.set_header("retry-after", retry_after_secs.to_string());
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Self::Unavailable,
            other => Self::Internal(anyhow::Error::new(other).context("database")),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
