//! Walks the az ml YAML corpus (`tests/corpus/manifest.json`, provenance in `tests/corpus/README.md`) and
//! compares the rendered requests with what the SDK sent (method, path and body of every PUT,
//! in order; api-version aside). Writes a per-case report to `$CARGO_TARGET_TMPDIR/corpus-report.txt`.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use amlops_spec::{
    AssetType, Kind, PlanOptions, Resolver, RestRequest, Scope, SetOverride, Upload, UploadOutcome, plan_file,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Minimum number of SDK-converted cases that must match exactly (raise it as support grows).
const MIN_MATCHING: usize = 263;
/// Minimum number of SDK-rejected cases for which we also return an error.
const MIN_REJECTED: usize = 26;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Mimics the oracle's fake service and placeholder hashes.
struct OracleResolver {
    code_names: Vec<String>,
    pending: usize,
    code_index: usize,
    components: HashMap<String, String>,
}

impl Resolver for OracleResolver {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        // the oracle names a snapshot assembled with additional_includes after a temp folder
        let rel = if upload.additional_includes.is_empty() {
            upload.rel_path.as_str()
        } else {
            "<temp>/code_with_additional_includes"
        };
        let hash = sha(&format!("oracle-upload:{rel}"));
        if upload.role.is_code() {
            self.pending += 1;
            self.code_index += 1;
            let name = self
                .code_names
                .get(self.code_index - 1)
                .cloned()
                .unwrap_or_else(|| format!("00000000-0000-4000-8000-{:012}", 900 + self.pending));
            // a single file is uploaded into the container root (with includes it is copied into the
            // assembled folder)
            let folder = if upload.local_path.is_file() && upload.additional_includes.is_empty() {
                ""
            } else {
                upload.basename.as_str()
            };
            Ok(UploadOutcome::Code {
                name,
                version: "1".into(),
                code_uri: format!(
                    "https://oraclestorage.blob.core.windows.net/oracle-pending-upload-{}/{folder}",
                    self.pending
                ),
                hash,
            })
        } else {
            Ok(UploadOutcome::Blob {
                datastore: "workspaceblobstore".into(),
                account: "oraclestorage".into(),
                container: "azureml-blobstore-00000000-0000-0000-0000-000000000000".into(),
                path: format!("LocalUpload/{hash}/{}", upload.basename),
                hash,
            })
        }
    }

    fn latest_version(&mut self, asset: AssetType, name: &str) -> Result<String, String> {
        match asset {
            AssetType::Component => self
                .components
                .get(name)
                .cloned()
                .ok_or_else(|| format!("component {name} is not registered")),
            _ => Ok("999".into()),
        }
    }
}

fn expected_requests(exp: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    let deps = exp["dependencies"].as_array().cloned().unwrap_or_default();
    for d in deps.iter().chain(std::iter::once(&exp["request"])) {
        out.push((
            d["method"].as_str().unwrap_or_default().to_string(),
            d["path"].as_str().unwrap_or_default().to_string(),
            d["body"].clone(),
        ));
    }
    out
}

fn options(case: &Value, dir: &Path) -> (PlanOptions, HashMap<String, String>) {
    let mut opts = PlanOptions {
        kind: case["kind"].as_str().and_then(|k| k.parse::<Kind>().ok()),
        scope: Scope {
            subscription: "00000000-0000-0000-0000-000000000000".into(),
            resource_group: "oracle-rg".into(),
            workspace: "oracle-ws".into(),
            location: "westus2".into(),
        },
        job_name: Some("oracle_generated_job_name".into()),
        ..PlanOptions::default()
    };
    if let Some(args) = case["cli_args"].as_array() {
        let args: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
        let mut i = 0;
        while i < args.len() {
            match args[i] {
                "--set" => {
                    if let Some(v) = args.get(i + 1)
                        && let Ok(o) = SetOverride::parse(v)
                    {
                        opts.overrides.push(o);
                    }
                }
                "--name" => opts.name = args.get(i + 1).map(|s| s.to_string()),
                "--endpoint-name" => opts.endpoint_name = args.get(i + 1).map(|s| s.to_string()),
                _ => {}
            }
            i += 2;
        }
    }
    let mut components = HashMap::new();
    if let Some(pre) = case["pre_registered"].as_array() {
        for p in pre.iter().filter_map(Value::as_str) {
            if let Ok(text) = std::fs::read_to_string(dir.join(p))
                && let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(&text)
                && let Some(name) = doc.get("name").and_then(|n| n.as_str())
            {
                let version = match doc.get("version") {
                    Some(serde_yaml::Value::String(s)) => s.clone(),
                    Some(serde_yaml::Value::Number(n)) => n.to_string(),
                    _ => "1".into(),
                };
                components.insert(name.to_string(), version);
            }
        }
    }
    (opts, components)
}

fn first_diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    None => return Some(format!("{path}.{k}: missing in ours (expected {})", short(v))),
                    Some(w) => {
                        if let Some(d) = first_diff(v, w, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    return Some(format!("{path}.{k}: extra in ours ({})", short(w)));
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_diff(v, w, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some(format!("{path}: expected {} got {}", short(a), short(b))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}...", &s[..300])
    } else {
        s
    }
}

#[test]
fn corpus_matches_the_sdk() {
    let dir = corpus_dir();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("corpus manifest.json is readable"),
    )
    .expect("manifest is JSON");
    let cases = manifest["cases"].as_array().expect("cases");
    let mut report = String::new();
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut matched, mut converted, mut rejected, mut failed, mut panics) = (0, 0, 0, 0, 0);
    for case in cases {
        let yaml = case["yaml"].as_str().unwrap_or_default();
        let kind = case["kind"].as_str().unwrap_or_default().to_string();
        let exp: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(case["expected"].as_str().unwrap_or_default()))
                .expect("expected file"),
        )
        .expect("expected JSON");
        let (opts, components) = options(case, &dir);
        let expected = expected_requests(&exp);
        let code_names: Vec<String> = expected
            .iter()
            .filter(|(_, p, _)| p.contains("/codes/"))
            .filter_map(|(_, p, _)| p.split("/codes/").nth(1)?.split('/').next().map(str::to_string))
            .collect();
        // the fake's pending-upload counter also counts uploads of pre-registered assets
        let pending = expected
            .iter()
            .find_map(|(_, _, b)| {
                let uri = b["properties"]["codeUri"].as_str()?;
                let n = uri.split("oracle-pending-upload-").nth(1)?.split('/').next()?;
                n.parse::<usize>().ok()
            })
            .map_or(0, |n| n.saturating_sub(1));
        let mut resolver = OracleResolver {
            code_names,
            pending,
            code_index: 0,
            components,
        };
        let file = dir.join(yaml);
        let result = catch_unwind(AssertUnwindSafe(|| {
            plan_file(&file, opts).and_then(|p| p.render(&mut resolver))
        }));
        let result: Result<Vec<RestRequest>, String> = match result {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => {
                panics += 1;
                Err("PANIC".into())
            }
        };
        let entry = per_kind.entry(kind.clone()).or_default();
        if case["status"] == "ok" {
            converted += 1;
            entry.1 += 1;
            match result {
                Ok(reqs) => {
                    let ours: Vec<(String, String, Value)> =
                        reqs.into_iter().map(|r| (r.method, r.path, r.body)).collect();
                    if ours == expected {
                        matched += 1;
                        entry.0 += 1;
                        report.push_str(&format!("MATCH {kind} {yaml}\n"));
                    } else {
                        let mut why = format!("{} requests vs {} expected", ours.len(), expected.len());
                        for (i, (o, e)) in ours.iter().zip(&expected).enumerate() {
                            if o.1 != e.1 {
                                let body = first_diff(&e.2, &o.2, "").unwrap_or_else(|| "same body".into());
                                why = format!(
                                    "request {i}: path {} expected {}; body: {body}",
                                    o.1.rsplit("/workspaces/").next().unwrap_or(""),
                                    e.1.rsplit("/workspaces/").next().unwrap_or("")
                                );
                                break;
                            }
                            if let Some(d) = first_diff(&e.2, &o.2, "") {
                                why = format!(
                                    "request {i} ({}): {d}",
                                    e.1.rsplit("/workspaces/").next().unwrap_or("")
                                );
                                break;
                            }
                        }
                        report.push_str(&format!("DIFF {kind} {yaml}: {why}\n"));
                    }
                }
                Err(e) => report.push_str(&format!("ERR {kind} {yaml}: {e}\n")),
            }
        } else {
            failed += 1;
            match result {
                Err(e) if e != "PANIC" => {
                    rejected += 1;
                    report.push_str(&format!("REJECTED {kind} {yaml}: {e}\n"));
                }
                Err(_) => report.push_str(&format!("PANIC {kind} {yaml}\n")),
                Ok(_) => report.push_str(&format!("ACCEPTED-BUT-SDK-REJECTS {kind} {yaml}\n")),
            }
        }
    }
    let mut summary = format!(
        "matched {matched}/{converted} converted cases; rejected {rejected}/{failed} SDK-rejected cases; panics {panics}\n"
    );
    for (k, (m, t)) in &per_kind {
        summary.push_str(&format!("  {k}: {m}/{t}\n"));
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus-report.txt");
    std::fs::write(&out, format!("{summary}{report}")).expect("write report");
    assert_eq!(panics, 0, "the converter panicked; see {}", out.display());
    assert!(matched >= MIN_MATCHING, "{summary}see {}", out.display());
    assert!(rejected >= MIN_REJECTED, "{summary}see {}", out.display());
}
