//! The server handle: start, addresses, shutdown.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::LocalConfig;
use crate::error::LocalError;

/// A running local workspace. Dropping it without [`LocalWorkspace::shutdown`] stops the HTTP server but may
/// leave child processes to be killed when the runtime ends.
pub struct LocalWorkspace {
    app: Arc<App>,
    server: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for LocalWorkspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWorkspace")
            .field("base_url", &self.app.base_url)
            .finish()
    }
}

impl LocalWorkspace {
    /// Opens the state directory, recovers persisted state (jobs that were running are marked `Failed`, online
    /// deployments are started again) and starts serving on 127.0.0.1.
    pub async fn start(config: LocalConfig) -> Result<Self, LocalError> {
        std::fs::create_dir_all(&config.state_dir).map_err(|e| LocalError::state(&config.state_dir, e))?;
        let state_dir =
            std::path::absolute(&config.state_dir).map_err(|e| LocalError::state(&config.state_dir, e))?;
        let port = config.port;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| LocalError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| LocalError::Bind { port, source })?;
        let base_url = format!("http://127.0.0.1:{}", addr.port());
        let auth = crate::auth::ServerAuth::new(addr.port())?;
        write_token_file(&state_dir.join("token"), auth.token())?;
        let config = LocalConfig { state_dir, ..config };
        let app = Arc::new(App::new(config, base_url, auth)?);
        app.recover()?;
        let router = Router::new()
            .fallback(crate::app::dispatch)
            .layer(DefaultBodyLimit::disable())
            .with_state(app.clone());
        let token = app.shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
        });
        tracing::info!(url = %app.base_url, "local workspace listening");
        Ok(Self { app, server })
    }

    /// Wait until no online deployment is provisioning: after [`LocalWorkspace::start`] on existing state, the
    /// deployments' scoring processes are started again in the background and answer once this returns.
    pub async fn ready(&self) {
        loop {
            let changed = self.app.store.changed();
            if !crate::scoring::provisioning(&self.app) {
                return;
            }
            changed.await;
        }
    }

    /// Resolves at the next change of the workspace's state (a job's status, a deployment's provisioning state,
    /// any record). Create it before looking at the state, then await it, so no change is missed: tests wait on
    /// this instead of polling on a timer.
    pub fn state_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.app.store.changed()
    }

    /// `http://127.0.0.1:{port}`: the ARM endpoint, the data-plane `api` and the blob host all in one.
    pub fn base_url(&self) -> &str {
        &self.app.base_url
    }

    /// The token every ARM, data-plane and storage request must carry as `Authorization: Bearer <token>`: 32
    /// random bytes in hex, new at every start, also written to `<state>/token` (mode 0600 on Unix).
    pub fn token(&self) -> &str {
        self.app.auth.token()
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}`.
    pub fn workspace_scope(&self) -> &str {
        &self.app.scope
    }

    /// `{base_url}{workspace_scope}`: the workspace's ARM URL (add `?api-version=`).
    pub fn workspace_url(&self) -> String {
        format!("{}{}", self.app.base_url, self.app.scope)
    }

    /// The configuration the workspace runs with (state directory made absolute).
    pub fn config(&self) -> &LocalConfig {
        &self.app.cfg
    }

    /// Stops serving, kills running job and scoring processes (running jobs end `Failed`) and waits for it.
    pub async fn shutdown(self) -> Result<(), LocalError> {
        self.app.shutdown.cancel();
        self.app.stop_all().await;
        match self.server.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(LocalError::Server(e.to_string())),
            Err(e) => Err(LocalError::Server(e.to_string())),
        }
    }
}

/// Writes the server token to `path`, readable by this user only (mode 0600 on Unix, set when the file is created
/// so the token is never readable by others, and again if the file existed).
fn write_token_file(path: &std::path::Path, token: &str) -> Result<(), LocalError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| LocalError::state(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| LocalError::state(path, e))?;
    }
    file.write_all(format!("{token}\n").as_bytes())
        .map_err(|e| LocalError::state(path, e))
}
