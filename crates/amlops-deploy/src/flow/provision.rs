//! Endpoint and deployment provisioning: the endpoint created when it is missing, the deployment's request body
//! (model reference or YAML, code uploads), its creation or update at 0% traffic with the provisioning state
//! watched meanwhile, and the container logs printed when it fails.

use std::collections::HashMap;
use std::future::Future;

use amlops_agent::is_canceled;
use amlops_azureml::models::{OnlineDeployment, OnlineEndpoint};
use amlops_spec::{AssetType, Kind, PlanOptions, Resolver, Scope, Upload, UploadOutcome};
use serde_json::json;

use super::{Deploy, DeployOrFailure, Failure, api_err};
use crate::DeployError;
use crate::api::LOG_CONTAINERS;
use crate::inputs::{DeploymentSource, EndpointSource};

struct Precomputed(HashMap<usize, UploadOutcome>);

impl Resolver for Precomputed {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        self.0
            .get(&upload.index)
            .cloned()
            .ok_or_else(|| format!("'{}' was not uploaded", upload.local_path.display()))
    }

    fn latest_version(&mut self, asset: AssetType, name: &str) -> Result<String, String> {
        Err(format!(
            "'{name}@latest' ({}) is not supported by this task: pin a version",
            asset.collection()
        ))
    }
}

impl Deploy<'_> {
    fn scope(&self, location: &str) -> Scope {
        Scope {
            subscription: self.workspace.subscription.clone(),
            resource_group: self.workspace.resource_group.clone(),
            workspace: self.workspace.workspace.clone(),
            location: location.to_string(),
        }
    }

    /// Run `op` while reading the provisioning state every [`Timing::poll`](super::Timing::poll) and printing each change.
    async fn watched<T, P, PF>(&self, label: &str, op: impl Future<Output = T>, probe: P) -> T
    where
        P: Fn() -> PF,
        PF: Future<Output = Option<String>>,
    {
        tokio::pin!(op);
        let mut last: Option<String> = None;
        loop {
            tokio::select! {
                r = &mut op => return r,
                () = tokio::time::sleep(self.timing.poll) => {
                    if let Some(state) = probe().await
                        && last.as_deref() != Some(state.as_str())
                    {
                        self.out.line(&format!("{label}: provisioning state {state}"));
                        last = Some(state);
                    }
                }
            }
        }
    }

    pub(super) async fn ensure_endpoint(
        &self,
        ep: &str,
        location: &str,
    ) -> Result<OnlineEndpoint, DeployError> {
        if let Some(found) = self
            .api
            .get_endpoint(ep)
            .await
            .map_err(api_err(format!("reading the endpoint '{ep}'")))?
        {
            let state = found
                .properties
                .provisioning_state
                .as_ref()
                .map_or("unknown".to_string(), |s| s.to_string());
            self.out
                .line(&format!("Endpoint '{ep}' exists (provisioning state {state})"));
            if matches!(self.settings.endpoint, EndpointSource::File { .. }) {
                self.out.line(
                    "The endpoint YAML is used only to create a missing endpoint; the existing one is kept",
                );
            }
            return Ok(found);
        }
        self.out
            .line(&format!("Endpoint '{ep}' does not exist: creating it"));
        let (text, path) = match &self.settings.endpoint {
            EndpointSource::File { path, .. } => (None, path.clone()),
            EndpointSource::Named { name, auth_mode } => (
                Some(format!("name: {name}\nauth_mode: {auth_mode}\n")),
                std::path::PathBuf::from("endpointName.yml"),
            ),
        };
        let options = PlanOptions {
            kind: Some(Kind::OnlineEndpoint),
            scope: self.scope(location),
            ..PlanOptions::default()
        };
        let input = if text.is_some() {
            "endpointName"
        } else {
            "endpointFile"
        };
        let spec_err = |e| DeployError::Spec {
            input: input.into(),
            source: Box::new(e),
        };
        let planned = match &text {
            Some(t) => amlops_spec::plan_str(t, &path, options),
            None => amlops_spec::plan_file(&path, options),
        }
        .map_err(spec_err)?;
        let requests = planned
            .render(&mut Precomputed(HashMap::new()))
            .map_err(spec_err)?;
        let mut body = requests.last().map(|r| r.body.clone()).unwrap_or_default();
        // A new endpoint has no deployment yet: the YAML's traffic would be refused.
        body["properties"]["traffic"] = json!({});
        body["properties"]["mirrorTraffic"] = json!({});
        let body: OnlineEndpoint = serde_json::from_value(body)
            .map_err(|e| DeployError::Setup(format!("the endpoint request cannot be built: {e}")))?;
        let created = self
            .watched(
                &format!("Endpoint '{ep}'"),
                self.api.put_endpoint(ep, &body),
                || async {
                    self.api
                        .get_endpoint(ep)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|e| e.properties.provisioning_state.map(|s| s.to_string()))
                },
            )
            .await
            .map_err(api_err(format!("creating the endpoint '{ep}'")))?;
        self.out.line(&format!(
            "Endpoint '{ep}': provisioning state {}",
            created
                .properties
                .provisioning_state
                .as_ref()
                .map_or("Succeeded".to_string(), |s| s.to_string())
        ));
        Ok(created)
    }

    pub(super) async fn deployment_body(
        &self,
        location: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<OnlineDeployment, DeployOrFailure> {
        let body = match &self.settings.deployment {
            DeploymentSource::Model {
                model,
                instance_type,
                instance_count,
                environment,
                code_path,
                scoring_script,
            } => {
                let ws = self.api.workspace_id();
                let mut props = json!({
                    "endpointComputeType": "Managed",
                    "model": model.asset_id(&ws),
                    "instanceType": instance_type,
                });
                if let Some(env) = environment {
                    props["environmentId"] = json!(environment_id(env, &ws));
                }
                if let (Some(folder), Some(script)) = (code_path, scoring_script) {
                    self.out
                        .line(&format!("Uploading the scoring code {}", folder.display()));
                    let code_id = match self.api.upload_code(folder, &[]).await.map_err(api_err(format!(
                        "uploading the code folder '{}'",
                        folder.display()
                    )))? {
                        UploadOutcome::Code { name, version, .. } => {
                            format!("{ws}/codes/{name}/versions/{version}")
                        }
                        UploadOutcome::Blob { .. } => {
                            return Err(
                                DeployError::Setup("the code upload gave no code asset".into()).into()
                            );
                        }
                    };
                    props["codeConfiguration"] = json!({"codeId": code_id, "scoringScript": script});
                }
                json!({
                    "location": location,
                    "kind": "Managed",
                    "sku": {"name": "Default", "capacity": instance_count},
                    "tags": tags,
                    "properties": props,
                })
            }
            DeploymentSource::File { path, .. } => {
                let spec_err = |e| DeployError::Spec {
                    input: "deploymentFile".into(),
                    source: Box::new(e),
                };
                let planned = amlops_spec::plan_file(
                    path,
                    PlanOptions {
                        kind: Some(Kind::OnlineDeployment),
                        scope: self.scope(location),
                        tags: tags.clone(),
                        name: Some(self.dep_name().to_string()),
                        endpoint_name: Some(self.endpoint_name().to_string()),
                        ..PlanOptions::default()
                    },
                )
                .map_err(spec_err)?;
                let mut done = HashMap::new();
                for upload in planned.uploads() {
                    if !upload.role.is_code() {
                        return Err(DeployError::LocalPath {
                            file: path.clone(),
                            path: upload.rel_path.clone(),
                        }
                        .into());
                    }
                    self.out.line(&format!(
                        "Uploading the code folder {}",
                        upload.local_path.display()
                    ));
                    let outcome = self
                        .api
                        .upload_code(&upload.local_path, &upload.additional_includes)
                        .await
                        .map_err(api_err(format!(
                            "uploading the code folder '{}'",
                            upload.local_path.display()
                        )))?;
                    done.insert(upload.index, outcome);
                }
                let requests = planned.render(&mut Precomputed(done)).map_err(spec_err)?;
                let (main, deps) = requests
                    .split_last()
                    .ok_or_else(|| DeployError::Setup("the deployment YAML gave no request".into()))?;
                for r in deps {
                    self.api
                        .send(r)
                        .await
                        .map_err(api_err(format!("creating {}", r.path)))?;
                }
                main.body.clone()
            }
        };
        let mut body = body;
        if let Some(collection) = &self.settings.data_collection {
            collection.apply(&mut body);
        }
        serde_json::from_value(body)
            .map_err(|e| DeployError::Setup(format!("the deployment request cannot be built: {e}")).into())
    }

    /// Create or update the deployment (traffic untouched: 0% for a new one). On failure, print the logs of both
    /// containers and delete it if asked.
    pub(super) async fn provision(
        &self,
        ep: &str,
        dep: &str,
        body: &OnlineDeployment,
        existed: bool,
    ) -> Result<(), DeployOrFailure> {
        self.out.section(&format!(
            "{} deployment '{dep}' (no live traffic yet)",
            if existed { "Updating" } else { "Creating" }
        ));
        let result = self
            .watched(
                &format!("Deployment '{dep}'"),
                self.api.put_deployment(ep, dep, body),
                || async {
                    self.api
                        .get_deployment(ep, dep)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|d| d.properties.provisioning_state.map(|s| s.to_string()))
                },
            )
            .await;
        match result {
            Ok(d) => {
                let state = d
                    .properties
                    .provisioning_state
                    .as_ref()
                    .map_or("Succeeded".to_string(), |s| s.to_string());
                self.out
                    .line(&format!("Deployment '{dep}': provisioning state {state}"));
                Ok(())
            }
            Err(e) if is_canceled(&e) => Err(DeployOrFailure::Failure(Failure::api(
                &format!("creating the deployment '{dep}'"),
                e,
            ))),
            Err(e) => {
                self.out
                    .error(&format!("Deployment '{dep}' failed to provision: {e}"));
                self.print_logs(ep, dep).await;
                Err(DeployOrFailure::Error(DeployError::ProvisioningFailed {
                    endpoint: ep.to_string(),
                    deployment: dep.to_string(),
                    source: Box::new(e),
                }))
            }
        }
    }

    async fn print_logs(&self, ep: &str, dep: &str) {
        for container in LOG_CONTAINERS {
            self.out.group(&format!("Logs of '{dep}' ({container})"));
            match self.cleanup.logs(ep, dep, container).await {
                Ok(text) if text.trim().is_empty() => self.out.line("(empty)"),
                Ok(text) => {
                    for line in text.lines() {
                        self.out.line(line);
                    }
                }
                Err(e) => self
                    .out
                    .warning(&format!("Cannot read the {container} logs: {e}")),
            }
            self.out.end_group();
        }
    }
}

fn environment_id(env: &str, workspace_id: &str) -> String {
    match amlops_spec::AssetRef::parse(env) {
        Ok(amlops_spec::AssetRef::Versioned { name, version }) => {
            format!("{workspace_id}/environments/{name}/versions/{version}")
        }
        Ok(amlops_spec::AssetRef::ArmId { id, .. }) => id,
        Ok(amlops_spec::AssetRef::Registry { uri, .. }) => uri,
        _ => env.trim_start_matches("azureml:").to_string(),
    }
}
