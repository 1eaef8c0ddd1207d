//! Credentials for the AzureRM service connection schemes, and a token cache that asks again before expiry.
//!
//! | Connection                          | Source                                                                   |
//! |-------------------------------------|--------------------------------------------------------------------------|
//! | WorkloadIdentityFederation          | [`PipelinesOidcAssertion`] + [`EntraCredential`] (client assertion)      |
//! | ServicePrincipal `spnKey`           | [`EntraCredential`] (client secret)                                      |
//! | ServicePrincipal `spnCertificate`   | [`CertificateAssertion`] (RS256 JWT signed in Rust) + [`EntraCredential`] |
//! | ManagedServiceIdentity              | `azure_identity::ManagedIdentityCredential` over our HTTP client        |
//! | outside a pipeline                  | `azure_identity::DeveloperToolsCredential` (Azure CLI, azd)              |
//!
//! Why the Entra flows are written here: `azure_identity::AzurePipelinesCredential` reads
//! `SYSTEM_OIDCREQUESTURI` from the process environment (we use the [`amlops_agent::TaskEnv`] snapshot), its token
//! requests require an `https` authority (so they cannot be tested against a loopback server), and
//! `ClientCertificateCredential` needs OpenSSL and a PKCS#12 file while the connection gives PEM and the task
//! binaries are static musl builds. The exchange itself is the documented one (AGENT-CONTRACT §3): one form POST
//! to `{authority}{tenant}/oauth2/v2.0/token`. All of it goes through the shared client (proxy, CA bundle) and
//! the retry policy.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use amlops_agent::{AzureAuth, AzureRmConnection, CancellationToken};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use crate::error::{AzureMlError, ErrorKind};
use crate::http::{Idempotency, RetryPolicy, SecretSink, check_url, redact_url};

/// A bearer token and when it expires.
#[derive(Clone)]
pub struct AccessToken {
    /// The token (a secret).
    pub token: String,
    /// Expiry (UTC).
    pub expires_on: OffsetDateTime,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"REDACTED")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// Something that can produce a token for a scope. Implemented by the built-in sources and by test credentials.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// Obtain a new token for `scope` (e.g. `https://management.azure.com/.default`).
    async fn fetch_token(&self, scope: &str, cancel: &CancellationToken)
    -> Result<AccessToken, AzureMlError>;
}

/// The scope for a resource id: the id without trailing `/`, plus `/.default`.
pub fn scope_for_resource(resource_id: &str) -> String {
    format!("{}/.default", resource_id.trim().trim_end_matches('/'))
}

struct Cached {
    token: AccessToken,
    refresh_at: tokio::time::Instant,
}

/// A caching credential: returns the cached token until it is within the refresh margin (default 5 minutes) of
/// expiry, then asks its source again. Every new token is given to the secret sink before it is returned.
///
/// Expiry is tracked on `tokio::time::Instant`, so tests with paused time see tokens expire.
pub struct Credential {
    source: Arc<dyn TokenSource>,
    secrets: SecretSink,
    margin: Duration,
    cache: tokio::sync::Mutex<HashMap<String, Cached>>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("source", &self.source)
            .field("margin", &self.margin)
            .finish()
    }
}

impl Credential {
    /// Wrap a source.
    pub fn new(source: Arc<dyn TokenSource>, secrets: SecretSink) -> Self {
        Self {
            source,
            secrets,
            margin: Duration::from_secs(300),
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Change the refresh margin.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// A token for `scope`, from the cache or the source.
    pub async fn token(&self, scope: &str, cancel: &CancellationToken) -> Result<String, AzureMlError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(scope)
            && tokio::time::Instant::now() < c.refresh_at
        {
            return Ok(c.token.token.clone());
        }
        let token = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(AzureMlError::canceled("authentication")),
            t = self.source.fetch_token(scope, cancel) => t?,
        };
        (self.secrets)(&token.token);
        let lifetime = token.expires_on - OffsetDateTime::now_utc();
        // A source's expiry is a server's number: clamp it (a negative one means "refresh next time", a far-future
        // one must not overflow the instant arithmetic below).
        let lifetime = Duration::try_from(lifetime)
            .unwrap_or_default()
            .min(MAX_TOKEN_LIFETIME);
        let usable = if lifetime > self.margin * 2 {
            lifetime - self.margin
        } else {
            lifetime / 2
        };
        tracing::debug!(scope, expires_in_s = lifetime.as_secs(), "obtained a token");
        let value = token.token.clone();
        cache.insert(
            scope.to_string(),
            Cached {
                token,
                refresh_at: tokio::time::Instant::now() + usable,
            },
        );
        Ok(value)
    }

    /// Forget the cached token for `scope` (after a 401).
    pub async fn invalidate(&self, scope: &str) {
        self.cache.lock().await.remove(scope);
    }
}

/// Where a pipeline credential gets its run-time values (from [`amlops_agent::PipelineContext`] and
/// [`amlops_agent::system_access_token`]).
#[derive(Clone, Default)]
pub struct PipelineIdentity {
    /// `System.OidcRequestUri`.
    pub oidc_request_uri: Option<String>,
    /// The system VSS connection's access token (a secret).
    pub system_access_token: Option<String>,
}

impl PipelineIdentity {
    /// From the environment snapshot: `System.OidcRequestUri` and the system VSS connection token.
    pub fn from_env(env: &amlops_agent::TaskEnv) -> Self {
        Self {
            oidc_request_uri: amlops_agent::PipelineContext::from_env(env).oidc_request_uri,
            system_access_token: amlops_agent::system_access_token(env),
        }
    }
}

impl fmt::Debug for PipelineIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineIdentity")
            .field("oidc_request_uri", &self.oidc_request_uri)
            .field(
                "system_access_token",
                &self.system_access_token.as_ref().map(|_| "REDACTED"),
            )
            .finish()
    }
}

/// Build the credential for a connection. `Ok(None)` for a connection without credential (the caller must only use
/// it against loopback; [`crate::AzureMlClient`] enforces that).
///
/// Secrets of the connection (client secret, PEM, id token) and the system token are registered with `secrets`
/// here, before anything else happens.
pub fn credential_for_connection(
    conn: &AzureRmConnection,
    pipeline: &PipelineIdentity,
    http: &reqwest::Client,
    retry: &RetryPolicy,
    secrets: SecretSink,
) -> Result<Option<Arc<Credential>>, AzureMlError> {
    const OP: &str = "credential";
    for s in conn.secrets() {
        secrets(s);
    }
    if let Some(t) = &pipeline.system_access_token {
        secrets(t);
    }
    let authority = Url::parse(&conn.authority).map_err(|e| {
        AzureMlError::invalid_input(
            OP,
            format!("the authority '{}' is not a URL: {e}", conn.authority),
        )
    })?;
    check_url(&authority).map_err(|e| AzureMlError::from_url(OP, e))?;
    let token_url = |tenant: &str| -> Result<Url, AzureMlError> {
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(AzureMlError::invalid_input(
                OP,
                format!("the tenant id '{tenant}' is not valid"),
            ));
        }
        authority
            .join(&format!("{tenant}/oauth2/v2.0/token"))
            .map_err(|e| AzureMlError::invalid_input(OP, format!("cannot build the token URL: {e}")))
    };
    let source: Arc<dyn TokenSource> = match &conn.auth {
        AzureAuth::None => return Ok(None),
        AzureAuth::Token { token } => {
            let loopback = Url::parse(&conn.resource_manager_url).is_ok_and(|u| crate::http::is_loopback(&u));
            if !loopback {
                return Err(AzureMlError::invalid_input(
                    OP,
                    format!(
                        "service connection '{}' gives a bare token, which is accepted only for a loopback ARM URL \
                         (the local workspace), not for '{}'",
                        conn.id, conn.resource_manager_url
                    ),
                ));
            }
            Arc::new(StaticToken::new(token.clone()))
        }
        AzureAuth::ServicePrincipalSecret {
            tenant_id,
            client_id,
            secret,
        } => Arc::new(EntraCredential {
            http: http.clone(),
            retry: retry.clone(),
            token_url: token_url(tenant_id)?,
            client_id: client_id.clone(),
            auth: EntraAuth::Secret(secret.clone()),
        }),
        AzureAuth::ServicePrincipalCertificate {
            tenant_id,
            client_id,
            pem,
        } => {
            let url = token_url(tenant_id)?;
            let assertion = CertificateAssertion::from_pem(client_id, url.as_str(), pem)?;
            Arc::new(EntraCredential {
                http: http.clone(),
                retry: retry.clone(),
                token_url: url,
                client_id: client_id.clone(),
                auth: EntraAuth::Assertion(Arc::new(assertion)),
            })
        }
        AzureAuth::WorkloadIdentityFederation {
            tenant_id,
            client_id,
            id_token,
        } => {
            let assertion: Arc<dyn ClientAssertion> = match (
                &pipeline.oidc_request_uri,
                &pipeline.system_access_token,
            ) {
                (Some(uri), Some(token)) => Arc::new(PipelinesOidcAssertion::new(
                    http.clone(),
                    retry.clone(),
                    uri,
                    &conn.id,
                    token.clone(),
                    secrets.clone(),
                )?),
                _ => match id_token {
                    Some(t) => Arc::new(FixedAssertion(t.clone())),
                    None => {
                        return Err(AzureMlError::new(
                            ErrorKind::Authentication,
                            OP,
                            format!(
                                "service connection '{}' uses workload identity federation, which needs \
                                     System.OidcRequestUri and the system access token; run the task in a pipeline \
                                     job (the agent sets both)",
                                conn.id
                            ),
                        ));
                    }
                },
            };
            Arc::new(EntraCredential {
                http: http.clone(),
                retry: retry.clone(),
                token_url: token_url(tenant_id)?,
                client_id: client_id.clone(),
                auth: EntraAuth::Assertion(assertion),
            })
        }
        AzureAuth::ManagedIdentity { client_id } => Arc::new(managed_identity(http, client_id.as_deref())?),
    };
    Ok(Some(Arc::new(Credential::new(source, secrets))))
}

/// A token given as is (the local workspace's own token, scheme `Token`): the same value for every scope, valid
/// for a day as far as the cache is concerned. Only for loopback servers: [`credential_for_connection`] refuses it
/// for any other ARM URL.
pub struct StaticToken(String);

impl StaticToken {
    /// The source that always gives `token`.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(REDACTED)")
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn fetch_token(
        &self,
        _scope: &str,
        _cancel: &CancellationToken,
    ) -> Result<AccessToken, AzureMlError> {
        Ok(AccessToken {
            token: self.0.clone(),
            expires_on: OffsetDateTime::now_utc() + time::Duration::days(1),
        })
    }
}

/// The developer-tools credential (Azure CLI, then Azure Developer CLI) for use outside a pipeline.
pub fn developer_tools_credential(secrets: SecretSink) -> Result<Arc<Credential>, AzureMlError> {
    let cred = azure_identity::DeveloperToolsCredential::new(None).map_err(|e| {
        AzureMlError::new(
            ErrorKind::Authentication,
            "credential",
            format!("developer tools credential: {e}"),
        )
    })?;
    let source = AzureIdentitySource {
        name: "DeveloperToolsCredential (az login, azd auth login)",
        inner: cred,
    };
    Ok(Arc::new(Credential::new(Arc::new(source), secrets)))
}

fn managed_identity(
    http: &reqwest::Client,
    client_id: Option<&str>,
) -> Result<AzureIdentitySource, AzureMlError> {
    let mut options = azure_identity::ManagedIdentityCredentialOptions::default();
    if let Some(id) = client_id {
        options.user_assigned_id = Some(azure_identity::UserAssignedId::ClientId(id.to_string()));
    }
    options.client_options.transport = Some(azure_core::http::Transport::new(Arc::new(ReqwestTransport(
        http.clone(),
    ))));
    let inner = azure_identity::ManagedIdentityCredential::new(Some(options)).map_err(|e| {
        AzureMlError::new(
            ErrorKind::Authentication,
            "credential",
            format!("managed identity: {e}"),
        )
    })?;
    Ok(AzureIdentitySource {
        name: "ManagedIdentityCredential",
        inner,
    })
}

/// An `azure_identity` credential as a [`TokenSource`].
pub struct AzureIdentitySource {
    name: &'static str,
    inner: Arc<dyn azure_core::credentials::TokenCredential>,
}

impl fmt::Debug for AzureIdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl AzureIdentitySource {
    /// Wrap any `azure_identity` credential.
    pub fn new(name: &'static str, inner: Arc<dyn azure_core::credentials::TokenCredential>) -> Self {
        Self { name, inner }
    }
}

#[async_trait]
impl TokenSource for AzureIdentitySource {
    async fn fetch_token(
        &self,
        scope: &str,
        _cancel: &CancellationToken,
    ) -> Result<AccessToken, AzureMlError> {
        let t = self.inner.get_token(&[scope], None).await.map_err(|e| {
            AzureMlError::new(
                ErrorKind::Authentication,
                "authentication",
                format!("{}: {e}", self.name),
            )
        })?;
        Ok(AccessToken {
            token: t.token.secret().to_string(),
            expires_on: t.expires_on,
        })
    }
}

/// `azure_core`'s transport over our `reqwest` client, so `azure_identity` requests use the proxy and CA bundle.
#[derive(Debug)]
pub struct ReqwestTransport(pub reqwest::Client);

#[async_trait]
impl azure_core::http::HttpClient for ReqwestTransport {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        use azure_core::error::ErrorKind as AzKind;
        let method = reqwest::Method::from_bytes(request.method().as_ref().as_bytes())
            .map_err(|e| azure_core::Error::with_message(AzKind::Other, e.to_string()))?;
        let mut builder = self.0.request(method, request.url().as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        match request.body() {
            azure_core::http::Body::Bytes(b) => builder = builder.body(b.clone()),
            _ => {
                return Err(azure_core::Error::with_message(
                    AzKind::Other,
                    "streaming request bodies are not supported by the amlops transport",
                ));
            }
        }
        let mut resp = builder
            .send()
            .await
            .map_err(|e| azure_core::Error::with_message(AzKind::Io, e.without_url().to_string()))?;
        let status = azure_core::http::StatusCode::from(resp.status().as_u16());
        let mut headers = azure_core::http::headers::Headers::new();
        for (k, v) in resp.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(k.as_str().to_string(), v.to_string());
            }
        }
        // Token responses are small: read at most 1 MiB, whatever Content-Length claims.
        const LIMIT: usize = 1024 * 1024;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| azure_core::Error::with_message(AzKind::Io, e.without_url().to_string()))?
        {
            if body.len().saturating_add(chunk.len()) > LIMIT {
                return Err(azure_core::Error::with_message(
                    AzKind::Io,
                    "the token response is larger than 1 MiB",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(azure_core::http::AsyncRawResponse::from_bytes(
            status,
            headers,
            bytes::Bytes::from(body),
        ))
    }
}

/// A provider of client assertions (JWTs) for the Entra client-credentials flow.
#[async_trait]
pub trait ClientAssertion: Send + Sync + fmt::Debug {
    /// A fresh assertion (a secret).
    async fn assertion(&self, cancel: &CancellationToken) -> Result<String, AzureMlError>;
}

#[derive(Debug)]
enum EntraAuth {
    Secret(String),
    Assertion(Arc<dyn ClientAssertion>),
}

/// The Entra client-credentials flow: `POST {authority}{tenant}/oauth2/v2.0/token` with a client secret or a
/// client assertion.
pub struct EntraCredential {
    http: reqwest::Client,
    retry: RetryPolicy,
    token_url: Url,
    client_id: String,
    auth: EntraAuth,
}

impl fmt::Debug for EntraCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.auth {
            EntraAuth::Secret(_) => "client secret",
            EntraAuth::Assertion(_) => "client assertion",
        };
        f.debug_struct("EntraCredential")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("auth", &kind)
            .finish()
    }
}

impl EntraCredential {
    /// A client-secret credential (also for tests against a loopback authority).
    pub fn with_secret(
        http: reqwest::Client,
        retry: RetryPolicy,
        token_url: Url,
        client_id: &str,
        secret: &str,
    ) -> Self {
        Self {
            http,
            retry,
            token_url,
            client_id: client_id.into(),
            auth: EntraAuth::Secret(secret.into()),
        }
    }

    /// A client-assertion credential.
    pub fn with_assertion(
        http: reqwest::Client,
        retry: RetryPolicy,
        token_url: Url,
        client_id: &str,
        assertion: Arc<dyn ClientAssertion>,
    ) -> Self {
        Self {
            http,
            retry,
            token_url,
            client_id: client_id.into(),
            auth: EntraAuth::Assertion(assertion),
        }
    }
}

/// The longest token lifetime the cache believes (Entra gives 60-90 minutes; managed identity up to 24 hours).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The expiry of a token from a response's `expires_in` (seconds as a number or a string, possibly fractional):
/// 3600 s when absent or unreadable, clamped to 0..=[`MAX_TOKEN_LIFETIME`]. Never overflows or panics, whatever
/// the server sends (`9223372036854775807`, `1e300`, `-5`, `"NaN"`).
pub fn expiry_after(expires_in: Option<&serde_json::Value>) -> OffsetDateTime {
    let secs = match expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(3600.0),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().unwrap_or(3600.0),
        _ => 3600.0,
    };
    let lifetime = crate::http::clamp_secs(secs).min(MAX_TOKEN_LIFETIME);
    let lifetime = time::Duration::try_from(lifetime).unwrap_or(time::Duration::HOUR);
    OffsetDateTime::now_utc()
        .checked_add(lifetime)
        .unwrap_or_else(OffsetDateTime::now_utc)
}

#[derive(Deserialize)]
struct EntraTokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct EntraErrorResponse {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

const OP_TOKEN: &str = "authentication";

#[async_trait]
impl TokenSource for EntraCredential {
    async fn fetch_token(
        &self,
        scope: &str,
        cancel: &CancellationToken,
    ) -> Result<AccessToken, AzureMlError> {
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", self.client_id.clone()),
            ("grant_type", "client_credentials".into()),
            ("scope", scope.to_string()),
        ];
        match &self.auth {
            EntraAuth::Secret(s) => form.push(("client_secret", s.clone())),
            EntraAuth::Assertion(a) => {
                let assertion = a.assertion(cancel).await?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", assertion));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let resp = self
            .retry
            .execute(cancel, Idempotency::Idempotent, || {
                self.http
                    .post(self.token_url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body.clone())
            })
            .await
            .map_err(|e| AzureMlError::from_send(OP_TOKEN, e))?;
        if !resp.status.is_success() {
            let detail: Option<EntraErrorResponse> = serde_json::from_slice(&resp.body).ok();
            let message = match detail {
                Some(EntraErrorResponse {
                    error: Some(e),
                    error_description,
                }) => {
                    // Entra descriptions are multi-line with trace ids; keep the first line.
                    let d = error_description.unwrap_or_default();
                    format!(
                        "Entra ID refused the token request for client '{}': {e}: {}",
                        self.client_id,
                        d.lines().next().unwrap_or_default()
                    )
                }
                _ => format!(
                    "Entra ID refused the token request for client '{}'",
                    self.client_id
                ),
            };
            return Err(AzureMlError::new(ErrorKind::Authentication, OP_TOKEN, message)
                .with_request(&reqwest::Method::POST, redact_url(&self.token_url))
                .with_response(resp.status.as_u16(), &resp.headers, &resp.body, true));
        }
        let parsed: EntraTokenResponse = serde_json::from_slice(&resp.body).map_err(|e| {
            AzureMlError::new(
                ErrorKind::Decode,
                OP_TOKEN,
                format!("the token response is not valid: {e}"),
            )
            .with_request(&reqwest::Method::POST, redact_url(&self.token_url))
        })?;
        Ok(AccessToken {
            token: parsed.access_token,
            expires_on: expiry_after(parsed.expires_in.as_ref()),
        })
    }
}

/// An assertion given once (a late-bound `idToken` parameter).
#[derive(Clone)]
pub struct FixedAssertion(pub String);

impl fmt::Debug for FixedAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FixedAssertion(REDACTED)")
    }
}

#[async_trait]
impl ClientAssertion for FixedAssertion {
    async fn assertion(&self, _cancel: &CancellationToken) -> Result<String, AzureMlError> {
        Ok(self.0.clone())
    }
}

/// The Azure Pipelines OIDC token: `POST {System.OidcRequestUri}?api-version=7.1&serviceConnectionId={id}` with the
/// system token as bearer → `{"oidcToken": "<JWT>"}`. Asked again for every Entra token request (the JWT is
/// short-lived).
pub struct PipelinesOidcAssertion {
    http: reqwest::Client,
    retry: RetryPolicy,
    url: Url,
    system_token: String,
    secrets: SecretSink,
}

impl fmt::Debug for PipelinesOidcAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelinesOidcAssertion")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl PipelinesOidcAssertion {
    /// Build from the OIDC request URI, the service connection id and the system access token.
    pub fn new(
        http: reqwest::Client,
        retry: RetryPolicy,
        oidc_request_uri: &str,
        service_connection_id: &str,
        system_token: String,
        secrets: SecretSink,
    ) -> Result<Self, AzureMlError> {
        let mut url = Url::parse(oidc_request_uri.trim()).map_err(|e| {
            AzureMlError::invalid_input("credential", format!("System.OidcRequestUri is not a URL: {e}"))
        })?;
        check_url(&url).map_err(|e| AzureMlError::from_url("credential", e))?;
        url.query_pairs_mut()
            .append_pair("api-version", "7.1")
            .append_pair("serviceConnectionId", service_connection_id);
        Ok(Self {
            http,
            retry,
            url,
            system_token,
            secrets,
        })
    }
}

#[async_trait]
impl ClientAssertion for PipelinesOidcAssertion {
    async fn assertion(&self, cancel: &CancellationToken) -> Result<String, AzureMlError> {
        const OP: &str = "pipeline OIDC token";
        let resp = self
            .retry
            .execute(cancel, Idempotency::Idempotent, || {
                self.http
                    .post(self.url.clone())
                    .bearer_auth(&self.system_token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("X-TFS-FedAuthRedirect", "Suppress")
                    .header(reqwest::header::CONTENT_LENGTH, "0")
            })
            .await
            .map_err(|e| AzureMlError::from_send(OP, e))?;
        if !resp.status.is_success() {
            return Err(AzureMlError::new(
                ErrorKind::Authentication,
                OP,
                "Azure Pipelines refused the OIDC token request; check the service connection id and that the \
                 pipeline may use it",
            )
            .with_request(&reqwest::Method::POST, redact_url(&self.url))
            .with_response(resp.status.as_u16(), &resp.headers, &resp.body, true));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Oidc {
            oidc_token: String,
        }
        let parsed: Oidc = serde_json::from_slice(&resp.body).map_err(|e| {
            AzureMlError::new(
                ErrorKind::Decode,
                OP,
                format!("the OIDC response has no oidcToken: {e}"),
            )
        })?;
        (self.secrets)(&parsed.oidc_token);
        Ok(parsed.oidc_token)
    }
}

/// A client assertion signed with the service principal's certificate: an RS256 JWT with header `x5t` (SHA-1
/// thumbprint, base64url) and claims `aud` (the token URL), `iss`/`sub` (client id), `jti`, `nbf`, `iat`, `exp`
/// (+10 minutes). Signed with the `rsa` crate, so no OpenSSL is needed.
pub struct CertificateAssertion {
    client_id: String,
    audience: String,
    key: rsa::RsaPrivateKey,
    x5t: String,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client_id", &self.client_id)
            .field("x5t", &self.x5t)
            .finish()
    }
}

fn pem_blocks(pem: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut label: Option<String> = None;
    let mut b64 = String::new();
    for line in pem.lines().map(str::trim) {
        if let Some(rest) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
        {
            label = Some(rest.to_string());
            b64.clear();
        } else if line.starts_with("-----END ") {
            if let Some(l) = label.take()
                && let Ok(der) = STANDARD.decode(b64.as_bytes())
            {
                out.push((l, der));
            }
            b64.clear();
        } else if label.is_some() && !line.contains(':') {
            b64.push_str(line);
        }
    }
    out
}

impl CertificateAssertion {
    /// Parse PEM text holding the certificate and its unencrypted RSA private key (PKCS#8 or PKCS#1).
    pub fn from_pem(client_id: &str, audience: &str, pem: &str) -> Result<Self, AzureMlError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        use sha1::Digest;
        const OP: &str = "credential";
        let blocks = pem_blocks(pem);
        let cert = blocks.iter().find(|(l, _)| l == "CERTIFICATE").ok_or_else(|| {
            AzureMlError::invalid_input(
                OP,
                "the service principal certificate PEM holds no CERTIFICATE block",
            )
        })?;
        let key = if let Some((_, der)) = blocks.iter().find(|(l, _)| l == "PRIVATE KEY") {
            rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| {
                AzureMlError::invalid_input(
                    OP,
                    format!("the certificate's private key is not an RSA PKCS#8 key: {e}"),
                )
            })?
        } else if let Some((_, der)) = blocks.iter().find(|(l, _)| l == "RSA PRIVATE KEY") {
            rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(|e| {
                AzureMlError::invalid_input(
                    OP,
                    format!("the certificate's RSA private key cannot be read: {e}"),
                )
            })?
        } else if blocks.iter().any(|(l, _)| l == "ENCRYPTED PRIVATE KEY") {
            return Err(AzureMlError::invalid_input(
                OP,
                "the certificate's private key is encrypted; the service connection needs an unencrypted key",
            ));
        } else {
            return Err(AzureMlError::invalid_input(
                OP,
                "the service principal certificate PEM holds no private key",
            ));
        };
        let x5t = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&cert.1));
        Ok(Self {
            client_id: client_id.into(),
            audience: audience.into(),
            key,
            x5t,
        })
    }

    /// A signed assertion for now.
    pub fn sign(&self) -> Result<String, AzureMlError> {
        use rsa::signature::{SignatureEncoding, Signer};
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let claims = serde_json::json!({
            "aud": self.audience, "iss": self.client_id, "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.key.clone());
        let sig = signer.try_sign(signing_input.as_bytes()).map_err(|e| {
            AzureMlError::new(
                ErrorKind::Authentication,
                "credential",
                format!("signing the client assertion failed: {e}"),
            )
        })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }
}

#[async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn assertion(&self, _cancel: &CancellationToken) -> Result<String, AzureMlError> {
        self.sign()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_expires_in_is_clamped() {
        let now = OffsetDateTime::now_utc();
        let lifetime = |v: Option<serde_json::Value>| (expiry_after(v.as_ref()) - now).whole_seconds();
        let max = MAX_TOKEN_LIFETIME.as_secs() as i64;
        for huge in [
            serde_json::json!(i64::MAX),
            serde_json::json!(u64::MAX),
            serde_json::json!(1e300),
            serde_json::json!("9223372036854775807"),
            serde_json::json!("inf"),
        ] {
            let l = lifetime(Some(huge.clone()));
            assert!((max - 2..=max).contains(&l), "{huge}: {l}");
        }
        for gone in [
            serde_json::json!(-5),
            serde_json::json!(i64::MIN),
            serde_json::json!("NaN"),
        ] {
            let l = lifetime(Some(gone.clone()));
            assert!((-2..=0).contains(&l), "{gone}: {l}");
        }
        let l = lifetime(Some(serde_json::json!("3599")));
        assert!((3597..=3599).contains(&l), "{l}");
        let l = lifetime(None);
        assert!((3598..=3600).contains(&l), "{l}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_far_future_expiry_from_a_source_does_not_overflow_the_cache() {
        #[derive(Debug)]
        struct FarFuture;
        #[async_trait]
        impl TokenSource for FarFuture {
            async fn fetch_token(
                &self,
                _scope: &str,
                _cancel: &CancellationToken,
            ) -> Result<AccessToken, AzureMlError> {
                Ok(AccessToken {
                    token: "t".into(),
                    expires_on: OffsetDateTime::new_utc(
                        time::Date::from_calendar_date(9999, time::Month::December, 31).unwrap(),
                        time::Time::MIDNIGHT,
                    ),
                })
            }
        }
        let c = Credential::new(Arc::new(FarFuture), crate::http::ignore_secrets());
        let cancel = CancellationToken::new();
        assert_eq!(c.token("s", &cancel).await.unwrap(), "t");
        assert_eq!(c.token("s", &cancel).await.unwrap(), "t");
    }
}
