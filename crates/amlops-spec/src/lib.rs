//! az ml CLI v2 YAML to Azure ML REST requests, matching the official SDK (azure-ai-ml 1.35.2).
//!
//! # Two phases
//!
//! 1. **Plan**: [`plan_file`] / [`plan_str`] parse a YAML file (kind from the caller's hint, else
//!    from `$schema`), apply `--set` overrides ([`SetOverride`]), validate it (errors name the file,
//!    line, column and field), and list what must happen before any request can be written:
//!    [`Plan::uploads`] (local `code:` snapshots → code assets via `startPendingUpload`; model, data,
//!    job-input and build-context paths → datastore `LocalUpload/<hash>/<basename>`), each with the
//!    local path resolved against the YAML file's folder and its [`UploadRole`]; and
//!    [`Plan::lookups`] (`name@latest` references).
//! 2. **Render**: [`Plan::render`] takes a [`Resolver`] that answers each upload with an
//!    [`UploadOutcome`] (code asset name/version/URI/hash, or datastore/account/container/blob
//!    path/hash) and each `@latest` lookup with a version, and returns the ordered
//!    [`RestRequest`]s: dependencies first (code versions, anonymous environments and models,
//!    components), the main PUT last.
//!
//! Callers choose the job name ([`PlanOptions::job_name`], used when the YAML has no `name`) and
//! may merge tags ([`PlanOptions::tags`]) into the main resource. A code [`Upload`] with
//! `additional_includes` must be uploaded as one snapshot of the code folder plus those paths.
//! Phase 1 runs the whole conversion with placeholder answers, so every schema error surfaces
//! there; phase 2 only fails if the resolver does.
//!
//! [`OfflineResolver`] answers offline (hashes from the caller's [`UploadHashes`], i.e. the client crate's
//! §4 hashes, placeholder storage names); `amlops render` uses it. Real tasks implement [`Resolver`] with the client
//! crate's uploader (reuse a code version found by hash, or create a uuid-named one, version `1`)
//! and a GET of the asset for `@latest`.
//!
//! Helpers: [`AssetRef::parse`] (asset references), [`validate_name`] (API guide §7 name rules),
//! [`SetOverride`] / [`apply_overrides`], [`Scope`].

mod convert;
pub mod error;
mod load;
pub mod local;
pub mod plan;
pub mod refs;
pub mod yaml;

pub use error::{Location, Result, SpecError};
pub use local::{OfflineResolver, PrecomputedResolver, UploadHashes};
pub use plan::{
    Kind, Lookup, Plan, PlanOptions, Resolver, RestRequest, Upload, UploadOutcome, UploadRole, plan_file,
    plan_str,
};
pub use refs::{AssetRef, AssetType, NameKind, Scope, validate_name};
pub use yaml::{PathSegment, SetOverride, apply_overrides};
