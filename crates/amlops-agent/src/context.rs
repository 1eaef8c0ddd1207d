//! The pipeline run a task belongs to, and the network settings of the agent.

use std::path::PathBuf;

use crate::env::TaskEnv;

/// What the pipeline tells a task about the run. Every field is optional: outside a pipeline most are unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineContext {
    /// `Build.BuildId`.
    pub build_id: Option<String>,
    /// `Build.BuildNumber`.
    pub build_number: Option<String>,
    /// `Build.SourceVersion` (the commit).
    pub source_version: Option<String>,
    /// `Build.SourceVersionMessage` (the commit message).
    pub source_version_message: Option<String>,
    /// `Build.SourceBranch`.
    pub source_branch: Option<String>,
    /// `Build.Repository.Name`.
    pub repository: Option<String>,
    /// `Build.Repository.Uri`.
    pub repository_uri: Option<String>,
    /// `Build.RequestedFor`.
    pub requested_for: Option<String>,
    /// `Build.RequestedForEmail`.
    pub requested_for_email: Option<String>,
    /// `Build.Reason` (Manual, IndividualCI, PullRequest, ...).
    pub build_reason: Option<String>,
    /// `System.PullRequest.PullRequestId`.
    pub pull_request_id: Option<String>,
    /// `System.CollectionUri`.
    pub collection_uri: Option<String>,
    /// `System.TeamProject`.
    pub team_project: Option<String>,
    /// `Build.DefinitionName` (the pipeline's name).
    pub definition_name: Option<String>,
    /// `System.StageName`.
    pub stage_name: Option<String>,
    /// `System.PhaseName` / `System.JobName`.
    pub job_name: Option<String>,
    /// `System.JobAttempt`.
    pub job_attempt: Option<u32>,
    /// `System.TaskInstanceName` or `Task.DisplayName`: the step.
    pub step_name: Option<String>,
    /// `System.TaskInstanceId`.
    pub task_instance_id: Option<String>,
    /// `Agent.TempDirectory` (cleaned per job).
    pub temp_directory: Option<PathBuf>,
    /// `System.DefaultWorkingDirectory`.
    pub working_directory: Option<PathBuf>,
    /// `System.OidcRequestUri`.
    pub oidc_request_uri: Option<String>,
    /// `System.PlanId`.
    pub plan_id: Option<String>,
    /// `System.JobId`.
    pub job_id: Option<String>,
    /// `system.debug`.
    pub debug: bool,
    /// `TF_BUILD=True`: running under an agent.
    pub in_pipeline: bool,
}

impl PipelineContext {
    /// Read the context from the environment snapshot.
    pub fn from_env(env: &TaskEnv) -> Self {
        let s = |name: &str| env.get_nonempty(name).map(str::to_string);
        Self {
            build_id: s("BUILD_BUILDID"),
            build_number: s("BUILD_BUILDNUMBER"),
            source_version: s("BUILD_SOURCEVERSION"),
            source_version_message: s("BUILD_SOURCEVERSIONMESSAGE"),
            source_branch: s("BUILD_SOURCEBRANCH"),
            repository: s("BUILD_REPOSITORY_NAME"),
            repository_uri: s("BUILD_REPOSITORY_URI"),
            requested_for: s("BUILD_REQUESTEDFOR"),
            requested_for_email: s("BUILD_REQUESTEDFOREMAIL"),
            build_reason: s("BUILD_REASON"),
            pull_request_id: s("SYSTEM_PULLREQUEST_PULLREQUESTID"),
            collection_uri: s("SYSTEM_COLLECTIONURI"),
            team_project: s("SYSTEM_TEAMPROJECT"),
            definition_name: s("BUILD_DEFINITIONNAME"),
            stage_name: s("SYSTEM_STAGENAME"),
            job_name: s("SYSTEM_PHASENAME").or_else(|| s("SYSTEM_JOBNAME")),
            job_attempt: s("SYSTEM_JOBATTEMPT").and_then(|v| v.parse().ok()),
            step_name: s("SYSTEM_TASKINSTANCENAME").or_else(|| s("TASK_DISPLAYNAME")),
            task_instance_id: s("SYSTEM_TASKINSTANCEID"),
            temp_directory: env.path("AGENT_TEMPDIRECTORY"),
            working_directory: env.path("SYSTEM_DEFAULTWORKINGDIRECTORY"),
            oidc_request_uri: s("SYSTEM_OIDCREQUESTURI"),
            plan_id: s("SYSTEM_PLANID"),
            job_id: s("SYSTEM_JOBID"),
            debug: env.debug(),
            in_pipeline: env
                .get("TF_BUILD")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }

    /// The URL of the run's results page: `{collection}{project}/_build/results?buildId={id}`.
    pub fn run_url(&self) -> Option<String> {
        let collection = self.collection_uri.as_deref()?;
        let project = self.team_project.as_deref()?;
        let build = self.build_id.as_deref()?;
        let sep = if collection.ends_with('/') { "" } else { "/" };
        Some(format!(
            "{collection}{sep}{}/_build/results?buildId={build}",
            encode_path_segment(project)
        ))
    }

    /// A directory for the task's files: the agent's temp directory (private to the job), or outside a pipeline a
    /// private folder of this process, made once under the system temp directory with an unpredictable name
    /// (`tempfile`, mode 0700): files named after jobs or endpoints there cannot be planted or linked by another
    /// local user. The folder is kept (summaries are read after the task exits).
    pub fn temp_dir(&self) -> PathBuf {
        match &self.temp_directory {
            Some(dir) => dir.clone(),
            None => private_temp_dir(),
        }
    }

    /// This process's private temp folder (made once, mode 0700, an unpredictable name under the system temp
    /// directory): where tools outside a pipeline (`amlops demo`) put files another local user must not plant.
    pub fn private_temp_dir() -> PathBuf {
        private_temp_dir()
    }

    /// A short name for the branch (`refs/heads/main` -> `main`).
    pub fn branch_short(&self) -> Option<&str> {
        let b = self.source_branch.as_deref()?;
        Some(b.strip_prefix("refs/heads/").unwrap_or(b))
    }
}

fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The agent's proxy and TLS settings (AGENT-CONTRACT §2) plus the usual variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSettings {
    /// `AGENT_PROXYURL`, else `HTTPS_PROXY`/`https_proxy`, else `HTTP_PROXY`/`http_proxy`.
    pub proxy_url: Option<String>,
    /// `AGENT_PROXYUSERNAME`.
    pub proxy_username: Option<String>,
    /// `SECRET_AGENT_PROXYPASSWORD` (a secret).
    pub proxy_password: Option<String>,
    /// `AGENT_PROXYBYPASSLIST`: a JSON list of regular expressions over URLs.
    pub proxy_bypass_regexes: Vec<String>,
    /// `NO_PROXY`/`no_proxy`: comma-separated hosts or domains.
    pub no_proxy: Option<String>,
    /// `SSL_CERT_FILE`: a PEM bundle of extra CA certificates to trust.
    pub ca_bundle: Option<PathBuf>,
}

impl NetworkSettings {
    /// Read the settings from the environment snapshot.
    pub fn from_env(env: &TaskEnv) -> Self {
        let s = |name: &str| env.vars_exact(name).map(str::to_string);
        let bypass = s("AGENT_PROXYBYPASSLIST")
            .and_then(|raw| serde_json::from_str::<Vec<String>>(&raw).ok())
            .unwrap_or_default();
        Self {
            proxy_url: s("AGENT_PROXYURL")
                .or_else(|| s("HTTPS_PROXY"))
                .or_else(|| s("https_proxy"))
                .or_else(|| s("HTTP_PROXY"))
                .or_else(|| s("http_proxy")),
            proxy_username: s("AGENT_PROXYUSERNAME"),
            proxy_password: s("SECRET_AGENT_PROXYPASSWORD"),
            proxy_bypass_regexes: bypass,
            no_proxy: s("NO_PROXY").or_else(|| s("no_proxy")),
            ca_bundle: s("SSL_CERT_FILE").map(PathBuf::from),
        }
    }
}

impl TaskEnv {
    /// A non-blank variable by its exact name (proxy variables exist in two cases with different meanings).
    pub fn vars_exact(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// This process's private temp folder ([`PipelineContext::temp_dir`] outside a pipeline).
fn private_temp_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix("amlops-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        builder
            .tempdir()
            .map(tempfile::TempDir::keep)
            // No temp folder can be made: the working directory, never a shared, predictable name.
            .unwrap_or_else(|_| PathBuf::from("."))
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_pipeline_the_temp_dir_is_private_and_unpredictable() {
        let ctx = PipelineContext::from_env(&TaskEnv::from_map(Vec::<(String, String)>::new()));
        let dir = ctx.temp_dir();
        assert!(dir.is_dir(), "{}", dir.display());
        assert_ne!(dir, std::env::temp_dir());
        assert_eq!(dir, ctx.temp_dir(), "one folder per process");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("amlops-") && name.len() > "amlops-".len() + 4,
            "{name}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }
}
