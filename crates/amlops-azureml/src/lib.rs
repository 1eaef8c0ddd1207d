//! Credentials and a typed Azure Machine Learning REST client with retries, long-running operations and uploads.
//!
//! - [`http`]: the shared `reqwest` client ([`http::build_client`]: proxy with auth and bypass, system roots plus
//!   the `SSL_CERT_FILE` bundle, `User-Agent: amlops/<version>`, http only for loopback) and the
//!   [`http::RetryPolicy`] every HTTP caller uses (webhooks too). Stable API.
//! - [`credential`]: tokens for every AzureRM connection scheme ([`credential::credential_for_connection`]),
//!   cached and asked again before expiry ([`credential::Credential`]); every token goes to the secret sink
//!   ([`http::SecretSink`], tasks pass `output.register_secret`) before anything can log it.
//! - [`AzureMlClient`]: the workspace-scoped client (api-version [`client::DEFAULT_API_VERSION`], overridable),
//!   every operation of API guide §1-8, paging via `nextLink`, long-running operations, job waits, logs with byte
//!   offsets, MLflow.
//! - [`hosts`]: the host allow-list: the ARM token only to the connection's resource-manager host and the Azure ML
//!   hosts of its cloud, SAS tokens only to its storage hosts, a loopback connection only to itself.
//! - [`walk`]: the files of a folder to upload (links inside followed once, others skipped, `.git` left out,
//!   code confined to the repository) and their §4 hashes.
//! - [`upload`]: folder hashing exactly as the SDK (§4 a/b) and Blob REST uploads over SAS.
//! - [`models`]: typed models, unknown fields kept, statuses with `Unknown(String)`.
//! - [`monitor`]: Azure Monitor metrics of online endpoints and deployments (typed series, minutes, dimensions).
//! - [`AzureMlError`]: the one error type (operation, method, redacted URL, status, ARM error, request ids, body
//!   excerpt; cancellation carries [`amlops_agent::Canceled`] in its source chain). Never a token, key or SAS.
//!   Its message ends with what to do when the error is a known class ([`advice`], docs/troubleshooting.md).
//!
//! Logging goes through `tracing` only; bodies at debug level with secrets redacted.
//!
//! # Interface decisions (other crates rely on these)
//!
//! - One `reqwest::Client` per process from [`http::build_client`]; one [`http::RetryPolicy`] (`send` /
//!   `execute`, with [`http::Idempotency`]) for every retried call, webhooks included.
//! - Secrets: every constructor that can obtain a secret takes a [`http::SecretSink`]
//!   (`Arc<dyn Fn(&str) + Send + Sync>`); tasks pass `move |s| output.register_secret(s)`. Errors never hold a
//!   token, key or SAS.
//! - A task builds its client with [`connect`] (or [`connect_with`] for a tweaked [`ClientConfig`]): HTTP client,
//!   credential, secrets registered through the task's output, the given cancellation token;
//!   [`AzureMlClient::with_cancellation`] gives a clean-up twin. A connection without credential is accepted only
//!   for loopback ARM URLs (the local workspace).
//! - Requests rendered by the spec crate go through [`AzureMlClient::send_arm_request`] ([`ArmRequest`]: their own
//!   path and api-version); asset containers and versions of any collection through
//!   [`AzureMlClient::get_asset_container`], [`AzureMlClient::get_asset_version`],
//!   [`AzureMlClient::list_asset_versions`].
//! - Cancellation: every wait and request stops when the token fires; the error has kind
//!   [`ErrorKind::Canceled`] and [`amlops_agent::Canceled`] in its source chain.
//! - Blob storage: Put Blob, Put Block, Put Block List, Get Blob Properties (HEAD), Set Blob Metadata and Get Blob
//!   with `Range`, `x-ms-version` [`upload::BLOB_API_VERSION`]; the container URL comes from the datastore
//!   (`properties.properties.blobEndpoint` when present, as the local workspace advertises it).

pub mod advice;
pub mod assets;
pub mod client;
mod connect;
pub mod credential;
pub mod error;
pub mod hosts;
pub mod http;
pub mod lro;
pub mod models;
pub mod monitor;
pub mod upload;
pub mod walk;

pub use assets::ArmRequest;
pub use client::{AzureMlClient, ClientConfig, DEFAULT_API_VERSION, PollOptions};
pub use connect::{ALLOW_OUTSIDE_REPOSITORY_INPUT, code_repository, connect, connect_with};
pub use credential::{AccessToken, Credential, PipelineIdentity, TokenSource, credential_for_connection};
pub use error::{ArmError, AzureMlError, ErrorDetails, ErrorKind};
pub use http::{Idempotency, RetryPolicy, SecretSink, build_client};
pub use lro::{ConflictOptions, is_transient_conflict};
