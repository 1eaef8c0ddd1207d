//! Typed models of the Azure ML REST API (api-version 2026-07-01). Every struct keeps the fields it does not type in
//! `extra` (flattened), so a resource read and written back is unchanged, and unknown fields are never an error.
//! Status-like values are enums with an `Unknown(String)` variant.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant,)*
            /// A value this version does not know.
            Unknown(String),
        }

        impl $name {
            /// The wire text.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(s) => s,
                }
            }

            /// Parse (case-insensitively); anything else is `Unknown`.
            pub fn parse(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($text) { return Self::$variant; })*
                Self::Unknown(s.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

string_enum! {
    /// A job's status (`_enums.py` `JobStatus`).
    JobStatus {
        /// Not started.
        NotStarted = "NotStarted",
        /// Starting.
        Starting = "Starting",
        /// Provisioning compute.
        Provisioning = "Provisioning",
        /// Preparing the environment.
        Preparing = "Preparing",
        /// Queued.
        Queued = "Queued",
        /// Running.
        Running = "Running",
        /// Finalizing (still working).
        Finalizing = "Finalizing",
        /// Cancel requested (still working).
        CancelRequested = "CancelRequested",
        /// Completed.
        Completed = "Completed",
        /// Failed.
        Failed = "Failed",
        /// Canceled.
        Canceled = "Canceled",
        /// Not responding.
        NotResponding = "NotResponding",
        /// Paused.
        Paused = "Paused",
        /// The service's own `Unknown` value.
        ServiceUnknown = "Unknown",
    }
}

impl JobStatus {
    /// The SDK's terminal set: Completed, Failed, Canceled, NotResponding, Paused.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::NotResponding | Self::Paused
        )
    }

    /// Completed.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Completed)
    }
}

string_enum! {
    /// The provisioning state of endpoints, deployments, schedules, model versions...
    ProvisioningState {
        /// Creating.
        Creating = "Creating",
        /// Deleting.
        Deleting = "Deleting",
        /// Succeeded.
        Succeeded = "Succeeded",
        /// Failed.
        Failed = "Failed",
        /// Updating.
        Updating = "Updating",
        /// Canceled.
        Canceled = "Canceled",
        /// Scaling (deployments).
        Scaling = "Scaling",
    }
}

impl ProvisioningState {
    /// Succeeded, Failed or Canceled.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

string_enum! {
    /// The status of an `Azure-AsyncOperation` resource.
    OperationStatus {
        /// Still running.
        InProgress = "InProgress",
        /// Running (some services).
        Running = "Running",
        /// Succeeded.
        Succeeded = "Succeeded",
        /// Failed.
        Failed = "Failed",
        /// Canceled.
        Canceled = "Canceled",
    }
}

impl OperationStatus {
    /// Succeeded, Failed or Canceled.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

string_enum! {
    /// A job's type.
    JobType {
        /// Command job.
        Command = "Command",
        /// Pipeline job.
        Pipeline = "Pipeline",
        /// Sweep job.
        Sweep = "Sweep",
        /// AutoML job.
        AutoMl = "AutoML",
        /// Spark job.
        Spark = "Spark",
    }
}

string_enum! {
    /// An online endpoint's auth mode.
    EndpointAuthMode {
        /// Keys.
        Key = "Key",
        /// Azure ML tokens.
        AmlToken = "AMLToken",
        /// Entra tokens.
        AadToken = "AADToken",
    }
}

string_enum! {
    /// A model's type.
    ModelType {
        /// Any files.
        CustomModel = "custom_model",
        /// MLflow model folder.
        MlflowModel = "mlflow_model",
        /// Triton model.
        TritonModel = "triton_model",
    }
}

string_enum! {
    /// The kind of secret `listSecrets` returns.
    SecretsType {
        /// A storage account key.
        AccountKey = "AccountKey",
        /// A SAS token.
        Sas = "Sas",
        /// A service principal.
        ServicePrincipal = "ServicePrincipal",
        /// A certificate.
        Certificate = "Certificate",
    }
}

/// An ARM resource: `id`, `name`, `type`, typed `properties`, and the rest (`systemData`, `identity`, `sku`,
/// `kind`...) in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource<P> {
    /// The ARM id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The location (tracked resources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Tags (tracked resources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// The properties.
    pub properties: P,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<P> Resource<P> {
    /// A resource to PUT with only properties.
    pub fn new(properties: P) -> Self {
        Self {
            id: None,
            name: None,
            resource_type: None,
            location: None,
            tags: None,
            properties,
            extra: Map::new(),
        }
    }
}

/// A page of a list: `value` and `nextLink`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// The next page.
    #[serde(default)]
    pub next_link: Option<String>,
}

macro_rules! props {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fm])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>,)*
            /// Fields not typed here.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

props! {
    /// Workspace properties (§1).
    WorkspaceProperties {
        /// The discovery URL (`{API}` is its `api` key).
        discovery_url: String,
        /// `azureml://...` MLflow tracking URI.
        ml_flow_tracking_uri: String,
        /// The workspace GUID.
        workspace_id: String,
        /// Display name.
        friendly_name: String,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
    }
}

props! {
    /// Job properties (§2). Job-type-specific fields (`command`, `jobs`, `settings`...) not typed here stay in `extra`.
    JobProperties {
        /// `Command`, `Pipeline`...
        job_type: JobType,
        /// Status (read-only).
        status: JobStatus,
        /// Display name.
        display_name: String,
        /// Experiment.
        experiment_name: String,
        /// Description.
        description: String,
        /// Tags (a re-PUT replaces them).
        tags: BTreeMap<String, String>,
        /// Properties.
        properties: BTreeMap<String, String>,
        /// Compute ARM id.
        compute_id: String,
        /// Code version ARM id.
        code_id: String,
        /// Command line.
        command: String,
        /// Environment ARM id.
        environment_id: String,
        /// Inputs.
        inputs: Map<String, Value>,
        /// Outputs.
        outputs: Map<String, Value>,
        /// Environment variables.
        environment_variables: BTreeMap<String, String>,
        /// Services (Studio, Tracking...), with their endpoints.
        services: Map<String, Value>,
    }
}

/// A job.
pub type Job = Resource<JobProperties>;

/// A workspace.
pub type Workspace = Resource<WorkspaceProperties>;

props! {
    /// Code version properties (§4a).
    CodeVersionProperties {
        /// The blob folder URL.
        code_uri: String,
        /// Description.
        description: String,
        /// `hash_sha256`, `hash_version` (any JSON scalar: the SDK corpus renders `hash_version` as a number).
        properties: BTreeMap<String, PropertyValue>,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
    }
}

/// A property value of a code version: Azure ML answers strings, rendered bodies may carry other scalars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// A string.
    String(String),
    /// A number (`"hash_version": 202208`).
    Number(serde_json::Number),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
}

impl PropertyValue {
    /// The value as text (`202208`, `true`; empty for `null`).
    pub fn as_text(&self) -> String {
        match self {
            Self::String(s) => s.clone(),
            Self::Number(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Null => String::new(),
        }
    }
}

impl From<String> for PropertyValue {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<&str> for PropertyValue {
    fn from(s: &str) -> Self {
        Self::String(s.to_string())
    }
}

/// A code version.
pub type CodeVersion = Resource<CodeVersionProperties>;

/// `startPendingUpload` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingUploadRequest {
    /// An id (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_upload_id: Option<String>,
    /// `TemporaryBlobReference` (or `None`).
    pub pending_upload_type: String,
}

/// The SAS credential of a pending upload.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingUploadCredential {
    /// `SAS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// The container SAS URL (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sas_uri: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for PendingUploadCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingUploadCredential")
            .field("credential_type", &self.credential_type)
            .field("sas_uri", &self.sas_uri.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

/// Where to upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobReference {
    /// The container URL (no SAS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_uri: Option<String>,
    /// The storage account ARM id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_arm_id: Option<String>,
    /// The credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<PendingUploadCredential>,
}

/// `startPendingUpload` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingUpload {
    /// Where to upload.
    #[serde(default)]
    pub blob_reference_for_consumption: Option<BlobReference>,
    /// The id.
    #[serde(default)]
    pub pending_upload_id: Option<String>,
    /// The type.
    #[serde(default)]
    pub pending_upload_type: Option<String>,
}

/// A datastore's credentials block (only the type is typed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreCredentials {
    /// `AccountKey`, `Sas`, `None` (identity-based)...
    #[serde(default)]
    pub credentials_type: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

props! {
    /// Datastore properties (§4b).
    DatastoreProperties {
        /// `AzureBlob`...
        datastore_type: String,
        /// Storage account name.
        account_name: String,
        /// Container.
        container_name: String,
        /// Storage endpoint suffix (`core.windows.net`).
        endpoint: String,
        /// `https`.
        protocol: String,
        /// Whether it is the workspace default.
        is_default: bool,
        /// Credentials.
        credentials: DatastoreCredentials,
    }
}

/// A datastore.
pub type Datastore = Resource<DatastoreProperties>;

/// `listSecrets` response. Debug output hides the values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreSecrets {
    /// `AccountKey` or `Sas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_type: Option<SecretsType>,
    /// The SAS token (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sas_token: Option<String>,
    /// The account key (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl fmt::Debug for DatastoreSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatastoreSecrets")
            .field("secrets_type", &self.secrets_type)
            .finish_non_exhaustive()
    }
}

props! {
    /// Model container properties (§5).
    ModelContainerProperties {
        /// Latest version.
        latest_version: String,
        /// Next version.
        next_version: String,
        /// Description.
        description: String,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Archived.
        is_archived: bool,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
    }
}

/// A model container.
pub type ModelContainer = Resource<ModelContainerProperties>;

/// The container of any asset collection (environments, components, data, codes have the same shape as models).
pub type AssetContainer = ModelContainer;

props! {
    /// Model version properties (§5).
    ModelVersionProperties {
        /// Model type.
        model_type: ModelType,
        /// The model's URI.
        model_uri: String,
        /// Description.
        description: String,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Properties.
        properties: BTreeMap<String, String>,
        /// Flavors.
        flavors: Map<String, Value>,
        /// The job that produced it.
        job_name: String,
        /// Stage.
        stage: String,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
    }
}

/// A model version.
pub type ModelVersion = Resource<ModelVersionProperties>;

props! {
    /// Environment version properties (§5).
    EnvironmentVersionProperties {
        /// Docker image.
        image: String,
        /// Build context.
        build: Map<String, Value>,
        /// Conda file (YAML text).
        conda_file: String,
        /// Description.
        description: String,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
    }
}

/// An environment version.
pub type EnvironmentVersion = Resource<EnvironmentVersionProperties>;

props! {
    /// Component version properties.
    ComponentVersionProperties {
        /// The component spec (free-form).
        component_spec: Value,
        /// Description.
        description: String,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
    }
}

/// A component version.
pub type ComponentVersion = Resource<ComponentVersionProperties>;

props! {
    /// Online endpoint properties (§6).
    OnlineEndpointProperties {
        /// Auth mode.
        auth_mode: EndpointAuthMode,
        /// Description.
        description: String,
        /// The scoring URI.
        scoring_uri: String,
        /// The swagger URI.
        swagger_uri: String,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
        /// Traffic per deployment (percent).
        traffic: BTreeMap<String, i64>,
        /// Mirror traffic.
        mirror_traffic: BTreeMap<String, i64>,
        /// `Enabled`/`Disabled`.
        public_network_access: String,
    }
}

/// An online endpoint.
pub type OnlineEndpoint = Resource<OnlineEndpointProperties>;

props! {
    /// Online deployment properties (§6).
    OnlineDeploymentProperties {
        /// `Managed`, `Kubernetes`.
        endpoint_compute_type: String,
        /// Model version ARM id.
        model: String,
        /// Instance type.
        instance_type: String,
        /// Environment ARM id.
        environment_id: String,
        /// Code configuration.
        code_configuration: Map<String, Value>,
        /// Description.
        description: String,
        /// Provisioning state.
        provisioning_state: ProvisioningState,
        /// Production data collection (`data_collector` in YAML).
        data_collector: DataCollector,
    }
}

/// An online deployment.
pub type OnlineDeployment = Resource<OnlineDeploymentProperties>;

string_enum! {
    /// Whether a data collection is on (the SDK sends lower case, the portal capitalised: parsed either way).
    DataCollectionMode {
        /// Collected.
        Enabled = "Enabled",
        /// Not collected.
        Disabled = "Disabled",
    }
}

string_enum! {
    /// How often the collector starts a new folder (`rollingRate`).
    RollingRate {
        /// One folder an hour (`<yyyy>/<MM>/<dd>/<HH>/`), the default.
        Hour = "Hour",
        /// One folder a day.
        Day = "Day",
        /// One folder a minute.
        Minute = "Minute",
        /// One folder a month.
        Month = "Month",
        /// One folder a year.
        Year = "Year",
    }
}

props! {
    /// One collection of a deployment's data collector (`model_inputs`, `model_outputs`, `request`, `response`...).
    DataCollection {
        /// `Enabled` or `Disabled`.
        data_collection_mode: DataCollectionMode,
        /// The share of requests collected, 0-1.
        sampling_rate: f64,
        /// The data asset the collection registers (`.../data/<endpoint>-<deployment>-<collection>/versions/1`).
        data_id: String,
        /// Identity used to write (user-assigned identities).
        client_id: String,
    }
}

props! {
    /// A deployment's data collector (`properties.dataCollector`).
    DataCollector {
        /// Collections by name.
        collections: BTreeMap<String, DataCollection>,
        /// Folder granularity.
        rolling_rate: RollingRate,
        /// Payload logging options (`captureHeaders`).
        request_logging: Map<String, Value>,
    }
}

impl DataCollector {
    /// Whether the collection `name` is enabled.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.collections
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(|c| c.data_collection_mode.as_ref())
            .is_some_and(|m| *m == DataCollectionMode::Enabled)
    }
}

/// `listKeys` response. Debug output hides the keys.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointKeys {
    /// Primary key (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    /// Secondary key (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_key: Option<String>,
}

impl fmt::Debug for EndpointKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EndpointKeys(REDACTED)")
    }
}

/// `token` response (AMLToken endpoints). Debug output hides the token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointToken {
    /// The token (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_time_utc: Option<i64>,
    /// Refresh after, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_after_time_utc: Option<i64>,
    /// Token type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

impl fmt::Debug for EndpointToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointToken")
            .field("expiry_time_utc", &self.expiry_time_utc)
            .finish_non_exhaustive()
    }
}

/// `getLogs` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentLogsRequest {
    /// `InferenceServer` or `StorageInitializer`.
    pub container_type: String,
    /// Lines from the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<u32>,
}

/// `getLogs` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentLogs {
    /// The log text.
    #[serde(default)]
    pub content: Option<String>,
}

props! {
    /// Schedule properties (§8).
    ScheduleProperties {
        /// Display name.
        display_name: String,
        /// Description.
        description: String,
        /// Enabled.
        is_enabled: bool,
        /// Trigger (Cron / Recurrence).
        trigger: Value,
        /// Action (CreateMonitor, CreateJob...).
        action: Value,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// Provisioning state (`Creating`, `Succeeded`...).
        provisioning_state: ProvisioningState,
    }
}

/// A schedule.
pub type Schedule = Resource<ScheduleProperties>;

/// An `Azure-AsyncOperation` status resource.
#[derive(Debug, Clone, Deserialize)]
pub struct AsyncOperation {
    /// The status.
    pub status: OperationStatus,
    /// The error when Failed.
    #[serde(default)]
    pub error: Option<crate::error::ArmError>,
}

/// Run history details (§3): status, log file SAS URLs (secrets), error.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// Run id (= job name).
    #[serde(default)]
    pub run_id: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<JobStatus>,
    /// Log file name -> SAS URL.
    #[serde(default)]
    pub log_files: BTreeMap<String, String>,
    /// The error, if any.
    #[serde(default)]
    pub error: Option<Value>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for RunDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunDetails")
            .field("run_id", &self.run_id)
            .field("status", &self.status)
            .field("log_files", &self.log_files.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A child run (pipeline step).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Run id.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<JobStatus>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An MLflow metric value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlflowMetric {
    /// Key.
    pub key: String,
    /// Value.
    pub value: f64,
    /// Step.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub step: Option<i64>,
    /// Timestamp (ms).
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub timestamp: Option<i64>,
}

/// A key/value pair (params, tags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlflowParam {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// MLflow run info.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MlflowRunInfo {
    /// Run id.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Experiment id.
    #[serde(default)]
    pub experiment_id: Option<String>,
    /// `RUNNING`, `FINISHED`, `FAILED`, `KILLED`.
    #[serde(default)]
    pub status: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// MLflow run data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MlflowRunData {
    /// Latest value per metric key.
    #[serde(default)]
    pub metrics: Vec<MlflowMetric>,
    /// Params.
    #[serde(default)]
    pub params: Vec<MlflowParam>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<MlflowParam>,
}

/// An MLflow run (`runs/get` → `run`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MlflowRun {
    /// Info.
    #[serde(default)]
    pub info: MlflowRunInfo,
    /// Data.
    #[serde(default)]
    pub data: MlflowRunData,
}

impl MlflowRun {
    /// The latest value of a metric.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data.metrics.iter().find(|m| m.key == key).map(|m| m.value)
    }
}

fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    // MLflow's REST layer serialises int64 as strings.
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_keep_unknown_values() {
        assert_eq!(JobStatus::parse("running"), JobStatus::Running);
        assert_eq!(
            JobStatus::parse("Hibernating"),
            JobStatus::Unknown("Hibernating".into())
        );
        let s: ProvisioningState = serde_json::from_str("\"Migrating\"").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"Migrating\"");
        assert!(JobStatus::Paused.is_terminal());
        assert!(!JobStatus::Finalizing.is_terminal());
    }

    #[test]
    fn resources_round_trip_unknown_fields() {
        let text = r#"{"id":"x","name":"n","type":"t","properties":{"jobType":"Command","status":"Queued","newField":{"a":1}},"systemData":{"createdBy":"me"}}"#;
        let job: Job = serde_json::from_str(text).unwrap();
        // The typed fields are read (a misnamed one would land in `extra` and still round-trip).
        assert_eq!(job.id.as_deref(), Some("x"));
        assert_eq!(job.name.as_deref(), Some("n"));
        assert_eq!(job.resource_type.as_deref(), Some("t"));
        assert_eq!(job.properties.job_type, Some(JobType::Command));
        assert_eq!(job.properties.status, Some(JobStatus::Queued));
        assert_eq!(job.extra.keys().collect::<Vec<_>>(), ["systemData"]);
        assert_eq!(job.properties.extra.keys().collect::<Vec<_>>(), ["newField"]);
        let back = serde_json::to_value(&job).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn deployments_carry_their_data_collector() {
        let text = r#"{"properties":{"model":"m","dataCollector":{"collections":{
            "model_inputs":{"dataCollectionMode":"enabled","samplingRate":0.25,"dataId":"d"},
            "model_outputs":{"dataCollectionMode":"Disabled"}},"rollingRate":"Hour","future":1}}}"#;
        let d: OnlineDeployment = serde_json::from_str(text).unwrap();
        let dc = d.properties.data_collector.as_ref().unwrap();
        assert!(dc.is_enabled("model_inputs"));
        assert!(!dc.is_enabled("model_outputs") && !dc.is_enabled("request"));
        assert_eq!(dc.rolling_rate, Some(RollingRate::Hour));
        let inputs = &dc.collections.as_ref().unwrap()["model_inputs"];
        assert_eq!(inputs.sampling_rate, Some(0.25));
        let back = serde_json::to_value(&d).unwrap();
        assert_eq!(back["properties"]["dataCollector"]["future"], 1);
        assert_eq!(
            back["properties"]["dataCollector"]["collections"]["model_inputs"]["dataId"],
            "d"
        );
    }

    #[test]
    fn mlflow_int64_as_strings() {
        let m: MlflowMetric =
            serde_json::from_str(r#"{"key":"acc","value":0.9,"step":"3","timestamp":17}"#).unwrap();
        assert_eq!(m.step, Some(3));
        assert_eq!(m.timestamp, Some(17));
    }
}
