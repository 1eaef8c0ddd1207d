//! `amlops render`: the REST calls the tasks would make for an `az ml` YAML file, offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use amlops_spec::{
    Kind, OfflineResolver, PlanOptions, Scope, SetOverride, UploadHashes, UploadOutcome, plan_file,
};
use serde_json::{Value, json};

/// Arguments of `amlops render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The az ml YAML file.
    pub file: PathBuf,
    /// Kind of the file (default: from `$schema`): job, component, model, environment, data,
    /// online-endpoint, online-deployment, batch-endpoint, batch-deployment.
    #[arg(long)]
    pub kind: Option<String>,
    /// Override a field, like `az ml ... --set a.b[0].c=value` (repeatable).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Resource name (like `az ml ... --name`).
    #[arg(long)]
    pub name: Option<String>,
    /// Endpoint of a deployment (like `--endpoint-name`).
    #[arg(long = "endpoint-name")]
    pub endpoint_name: Option<String>,
    /// Name of a job whose YAML has none.
    #[arg(long = "job-name")]
    pub job_name: Option<String>,
    /// Subscription id (placeholder when absent).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Resource group (placeholder when absent).
    #[arg(long = "resource-group")]
    pub resource_group: Option<String>,
    /// Workspace (placeholder when absent).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Workspace region (placeholder when absent).
    #[arg(long)]
    pub location: Option<String>,
}

/// The client crate's §4 upload hashes, so render shows the code hashes and `LocalUpload` paths a real upload
/// gets.
struct ClientHashes;

impl UploadHashes for ClientHashes {
    fn content_hash(&self, root: &Path, includes: &[PathBuf]) -> Result<String, String> {
        amlops_azureml::upload::content_hash_with_includes(root, includes).map_err(|e| e.to_string())
    }

    fn object_hash(&self, root: &Path) -> Result<String, String> {
        amlops_azureml::upload::object_hash(root).map_err(|e| e.to_string())
    }
}

fn render(args: &RenderArgs) -> Result<Value, String> {
    let kind = match &args.kind {
        Some(k) => Some(k.parse::<Kind>()?),
        None => None,
    };
    let overrides = args
        .set
        .iter()
        .map(|s| SetOverride::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let mut scope = Scope::placeholder();
    if let Some(v) = &args.subscription {
        scope.subscription = v.clone();
    }
    if let Some(v) = &args.resource_group {
        scope.resource_group = v.clone();
    }
    if let Some(v) = &args.workspace {
        scope.workspace = v.clone();
    }
    if let Some(v) = &args.location {
        scope.location = v.clone();
    }
    let options = PlanOptions {
        kind,
        overrides,
        scope,
        job_name: Some(
            args.job_name
                .clone()
                .unwrap_or_else(|| "generated-job-name".into()),
        ),
        name: args.name.clone(),
        endpoint_name: args.endpoint_name.clone(),
        ..PlanOptions::default()
    };
    let plan = plan_file(&args.file, options).map_err(|e| e.to_string())?;
    let mut resolver = OfflineResolver::new(Arc::new(ClientHashes));
    let requests = plan.render(&mut resolver).map_err(|e| e.to_string())?;
    // the resolver is deterministic: asking again gives the same destinations
    let mut uploads = Vec::new();
    for up in plan.uploads() {
        let dest = match amlops_spec::Resolver::upload(&mut resolver, up).map_err(|e| e.to_string())? {
            UploadOutcome::Code {
                code_uri,
                name,
                version,
                ..
            } => {
                json!({"code_asset": format!("{name}:{version}"), "blob": code_uri})
            }
            UploadOutcome::Blob {
                account,
                container,
                path,
                datastore,
                ..
            } => json!({
                "datastore_uri": format!("azureml://datastores/{datastore}/paths/{path}"),
                "blob": format!("https://{account}.blob.core.windows.net/{container}/{path}"),
            }),
        };
        let mut entry = json!({
            "local_path": up.local_path,
            "role": up.role,
            "destination": dest,
        });
        if !up.additional_includes.is_empty() {
            entry["additional_includes"] = json!(up.additional_includes);
        }
        uploads.push(entry);
    }
    let requests: Vec<Value> = requests
        .into_iter()
        .map(|r| json!({"method": r.method, "path": r.path, "api_version": r.api_version, "body": r.body}))
        .collect();
    Ok(json!({"kind": plan.kind(), "requests": requests, "uploads": uploads}))
}

/// Run `amlops render`: prints `{"requests": [...], "uploads": [...]}`; exits 1 on invalid input.
pub fn run(args: RenderArgs) -> ExitCode {
    match render(&args) {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("amlops render: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(file: PathBuf) -> RenderArgs {
        RenderArgs {
            file,
            kind: None,
            set: vec!["display_name=from-set".into()],
            name: None,
            endpoint_name: None,
            job_name: Some("j1".into()),
            subscription: Some("sub".into()),
            resource_group: Some("rg".into()),
            workspace: Some("ws".into()),
            location: None,
        }
    }

    #[test]
    fn renders_requests_and_uploads() {
        let dir = std::env::temp_dir().join(format!("amlops-render-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/a.py"), "print(1)").unwrap();
        let file = dir.join("job.yml");
        std::fs::write(
            &file,
            "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
             command: python a.py\ncode: src\nenvironment: azureml:env:1\n",
        )
        .unwrap();
        let out = render(&args(file.clone())).unwrap();
        let reqs = out["requests"].as_array().unwrap();
        assert_eq!(reqs.len(), 2);
        assert!(
            reqs[0]["path"]
                .as_str()
                .unwrap()
                .contains("/workspaces/ws/codes/")
        );
        let main = &reqs[1];
        assert_eq!(main["method"], "PUT");
        assert_eq!(
            main["path"],
            "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/jobs/j1"
        );
        assert_eq!(main["body"]["properties"]["displayName"], "from-set");
        let ups = out["uploads"].as_array().unwrap();
        assert_eq!(ups.len(), 1);
        assert_eq!(ups[0]["role"], "code");

        std::fs::write(&file, "command: [unclosed\n").unwrap();
        let err = render(&args(file)).unwrap_err();
        assert!(err.contains("job.yml:"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The path of a blob URL after its first `skip` segments (account and/or container).
    fn after_segments(url: &str, skip: usize) -> Option<String> {
        let path = url.split_once("://").map_or(url, |(_, r)| r);
        let path = path.split_once('/').map_or("", |(_, p)| p);
        path.splitn(skip + 1, '/').nth(skip).map(str::to_string)
    }

    /// Render answers with the hashes, `LocalUpload` paths and code folders a real upload (to the local
    /// workspace) gets, for folders with sub-folders and an `.amlignore`, and for a single file (a job input, and
    /// `code:` naming one file, which the SDK puts at the root of the pending-upload container).
    #[tokio::test]
    async fn render_matches_real_uploads() {
        use amlops_agent::{CancellationToken, NetworkSettings};
        use amlops_azureml::upload::UploadOptions;
        use amlops_azureml::{AzureMlClient, ClientConfig, SecretSink};
        use amlops_spec::{PlanOptions, Resolver, UploadRole};

        let dir = std::env::temp_dir().join(format!("amlops-render-hashes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in [
            ("proj/src/train.py", "print(1)"),
            ("proj/src/pkg/Util.py", "x = 2"),
            ("proj/src/.amlignore", "*.tmp"),
            ("proj/src/skip.tmp", "ignored"),
            ("proj/data/a.csv", "a,b"),
            ("proj/data/Deep/b.csv", "1,2"),
            ("proj/one.csv", "x"),
            ("proj/solo/run.py", "print(3)"),
        ] {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let file = dir.join("proj/job.yml");
        std::fs::write(
            &file,
            "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
             command: python train.py ${{inputs.d}} ${{inputs.f}}\ncode: src\nenvironment: azureml:env:1\n\
             inputs:\n  d:\n    type: uri_folder\n    path: ./data\n  f:\n    type: uri_file\n    path: ./one.csv\n",
        )
        .unwrap();
        let single = dir.join("proj/job-file.yml");
        std::fs::write(
            &single,
            "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
             command: python run.py\ncode: ./solo/run.py\nenvironment: azureml:env:1\n",
        )
        .unwrap();
        let plan_of = |f: &Path| {
            plan_file(
                f,
                PlanOptions {
                    job_name: Some("j1".into()),
                    ..PlanOptions::default()
                },
            )
            .unwrap()
        };
        let (plan, single_plan) = (plan_of(&file), plan_of(&single));
        let mut cfg = amlops_local::LocalConfig::new(dir.join("state"));
        cfg.timing = amlops_local::Timing::immediate();
        let local = amlops_local::LocalWorkspace::start(cfg.clone()).await.unwrap();
        let config = ClientConfig::new(
            local.base_url(),
            &cfg.subscription_id,
            &cfg.resource_group,
            &cfg.workspace,
        );
        let secrets: SecretSink = Arc::new(|_: &str| {});
        let http = amlops_azureml::build_client(&NetworkSettings::default()).unwrap();
        let credential = Arc::new(amlops_azureml::Credential::new(
            Arc::new(amlops_azureml::credential::StaticToken::new(local.token())),
            secrets.clone(),
        ));
        let client = AzureMlClient::new(
            http.clone(),
            config,
            Some(credential),
            secrets,
            CancellationToken::new(),
        )
        .unwrap();
        // The blob names in the container of a code version's `codeUri` (`{base}/{account}/{container}/…`).
        let blob_names = |code_uri: String| {
            let http = http.clone();
            let base = local.base_url().to_string();
            let token = local.token().to_string();
            async move {
                let rel = code_uri.strip_prefix(&format!("{base}/")).unwrap_or_default();
                let container: Vec<&str> = rel.split('/').take(2).collect();
                let url = format!("{base}/{}?restype=container&comp=list", container.join("/"));
                let xml = http
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                xml.split("<Name>")
                    .skip(1)
                    .filter_map(|n| n.split("</Name>").next())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            }
        };
        let mut resolver = OfflineResolver::new(Arc::new(ClientHashes));
        let uploads: Vec<_> = plan.uploads().iter().chain(single_plan.uploads()).collect();
        assert_eq!(uploads.len(), 4, "{uploads:?}");
        let mut code_folders = Vec::new();
        for up in uploads {
            let offline = resolver.upload(up).unwrap();
            match (up.role, offline) {
                (UploadRole::Code, UploadOutcome::Code { hash, code_uri, .. }) => {
                    let real = client
                        .upload_code_asset("render-check", &up.local_path, &UploadOptions::default())
                        .await
                        .unwrap();
                    assert_eq!(hash, real.hash);
                    // The folder under the pending-upload container: offline `https://{account}.blob…/{container}/…`,
                    // the local workspace path-style `{base}/{account}/{container}/…`.
                    let folder = after_segments(&code_uri, 1);
                    assert_eq!(
                        folder,
                        after_segments(&real.code_uri, 2),
                        "{} -> {code_uri} vs {}",
                        up.local_path.display(),
                        real.code_uri
                    );
                    let names = blob_names(real.code_uri.clone()).await;
                    let want: Vec<String> = if up.local_path.is_file() {
                        vec![up.basename.clone()]
                    } else {
                        ["src/.amlignore", "src/pkg/Util.py", "src/train.py"]
                            .map(String::from)
                            .to_vec()
                    };
                    assert_eq!(names, want, "{}", real.code_uri);
                    code_folders.push(folder);
                }
                (_, UploadOutcome::Blob { path, hash, .. }) => {
                    let real = client
                        .upload_to_default_datastore(&up.local_path, ("x", "1"), &UploadOptions::default())
                        .await
                        .unwrap();
                    assert_eq!(
                        (path, hash),
                        (real.path, real.hash),
                        "{}",
                        up.local_path.display()
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        // A code folder under its name; a single code file at the container root, as the SDK uploads them.
        assert_eq!(code_folders, [Some("src".to_string()), Some(String::new())]);
        local.shutdown().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}
