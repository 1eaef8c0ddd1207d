//! Lifecycle events as CloudEvents: build summary, audit trail, Teams, Slack, webhooks, Event Grid.
//!
//! Every task creates one [`Emitter`] from its context and the four shared inputs (`notify`, `notifyOn`,
//! `notifySecret`, `failOnNotifyError`), emits [`Event`]s as things happen, and calls [`Emitter::finish`] once:
//!
//! ```no_run
//! # async fn task(ctx: amlops_agent::TaskContext) -> Result<(), amlops_events::EventsError> {
//! use amlops_events::{AssetRef, Emitter, Event, WorkspaceInfo};
//! let events = Emitter::from_task(&ctx, WorkspaceInfo::named("mlw-prod"))?;
//! events.emit(Event::model_registered(AssetRef::model("credit-risk", "3")).metric("auc", 0.91)).await;
//! events.finish().await?;
//! # Ok(()) }
//! ```
//!
//! - [`event`]: the nine [`EventType`]s and the [`Event`] a task describes.
//! - [`cloudevent`]: the CloudEvents 1.0 structured JSON with the [`GovernanceRecord`] as `data`.
//! - [`notify`]: parsing the inputs ([`NotifySettings`], [`EventFilter`], [`SinkKind`]).
//! - [`payload`]: Teams Adaptive Card, Slack Block Kit, signed webhook and Event Grid bodies.
//! - [`Emitter`]: log, build summary, audit trail (`amlops-audit` artifact) and delivery.

pub mod cloudevent;
mod delivery;
mod emitter;
pub mod error;
pub mod event;
pub mod notify;
pub mod payload;
pub mod summary;

pub use cloudevent::{CloudEvent, GovernanceRecord, LOCAL_SOURCE};
pub use delivery::{
    EVENT_GRID_API_VERSION, EVENT_GRID_KEY_HEADER, EVENT_GRID_SCOPE, TokenError, TokenProvider,
    credential_token_provider,
};
pub use emitter::{
    AUDIT_ARTIFACT, DEFAULT_TIMEOUT, EmitReport, Emitter, EmitterBuilder, FinishReport, SUMMARY_FILE,
    default_retry_policy,
};
pub use error::EventsError;
pub use event::{AssetKind, AssetRef, Event, EventOutcome, EventType, Severity, WorkspaceInfo};
pub use notify::{EventFilter, NotifySettings, NotifyTarget, SinkKind};
pub use payload::SIGNATURE_HEADER;
