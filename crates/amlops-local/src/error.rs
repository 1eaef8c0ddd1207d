//! Errors of the library API and of HTTP handlers.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Errors returned by [`crate::LocalWorkspace`].
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The state directory could not be read or written.
    #[error("local workspace state {}: {source}", path.display())]
    State {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A state file is not valid JSON.
    #[error("local workspace state file {} is corrupt: {source}", path.display())]
    CorruptState {
        /// The file concerned.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port.
        port: u16,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The HTTP server stopped with an error.
    #[error("local workspace server failed: {0}")]
    Server(String),
}

impl LocalError {
    pub(crate) fn state(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::State {
            path: path.into(),
            source,
        }
    }
}

/// An ARM-shaped error response: `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("{what} was not found."),
        )
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "UserError", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", message)
    }
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl From<LocalError> for ApiError {
    fn from(e: LocalError) -> Self {
        Self::internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Ok(v) = http::HeaderValue::from_str(&self.code) {
            resp.headers_mut().insert("x-ms-error-code", v);
        }
        resp
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
