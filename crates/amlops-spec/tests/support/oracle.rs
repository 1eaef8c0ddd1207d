//! Renders az ml YAML cases with amlops-spec the way the SDK oracle's fake workspace answers, and compares
//! the requests with the SDK's recorded ones. Shared by `tests/corpus.rs` and the differential dev tool's
//! comparer (`examples/oracle_diff.rs`).

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use amlops_spec::{
    AssetType, Kind, PlanOptions, Resolver, RestRequest, Scope, SetOverride, Upload, UploadOutcome, plan_file,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Mimics the oracle's fake service and placeholder hashes.
struct OracleResolver {
    code_names: Vec<String>,
    pending: usize,
    code_index: usize,
    components: HashMap<String, String>,
    /// uuid4 names of anonymously registered data and environments, in request order.
    random_names: Vec<String>,
    random_index: usize,
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

    fn anonymous_name(&mut self, _asset: AssetType) -> String {
        self.random_index += 1;
        self.random_names
            .get(self.random_index - 1)
            .cloned()
            .unwrap_or_else(|| format!("00000000-0000-4000-8000-{:012}", self.random_index))
    }
}

type Request = (String, String, Value);

fn expected_requests(exp: &Value) -> Vec<Request> {
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

fn options(case: &Value, root: &Path) -> (PlanOptions, HashMap<String, String>) {
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
                    let v = args.get(i + 1).expect("a value after --set");
                    let o = SetOverride::parse(v).unwrap_or_else(|e| panic!("--set {v}: {e}"));
                    opts.overrides.push(o);
                }
                "--name" => opts.name = args.get(i + 1).map(|s| s.to_string()),
                "--endpoint-name" => opts.endpoint_name = args.get(i + 1).map(|s| s.to_string()),
                // An argument the oracle does not apply would make the case compare against
                // requests rendered without it.
                other => panic!("corpus case with an unsupported CLI argument `{other}`: {args:?}"),
            }
            i += 2;
        }
    }
    let mut components = HashMap::new();
    if let Some(pre) = case["pre_registered"].as_array() {
        for p in pre.iter().filter_map(Value::as_str) {
            if let Ok(text) = std::fs::read_to_string(root.join(p))
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

/// The first difference between the SDK's value `a` and ours `b`.
pub fn first_diff(a: &Value, b: &Value, path: &str) -> Option<String> {
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
    if s.chars().count() > 300 {
        format!("{}...", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

/// How one case compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The SDK converted it and every request is equal.
    Match,
    /// The SDK converted it; `main` / `deps` say which parts are equal.
    Diff { main: bool, deps: bool, why: String },
    /// The SDK converted it and we rejected it.
    Error(String),
    /// The SDK rejected it and so did we.
    Rejected(String),
    /// The SDK rejected it and we converted it.
    AcceptedButSdkRejects,
    /// The converter panicked.
    Panic,
}

/// Renders one manifest case (YAML paths relative to `yaml_root`, expected files relative to `expected_root`).
pub fn run_case(case: &Value, yaml_root: &Path, expected_root: &Path) -> Outcome {
    let exp_path = expected_root.join(case["expected"].as_str().unwrap_or_default());
    let exp: Value = match std::fs::read_to_string(&exp_path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => return Outcome::Error(format!("expected file {}: {e}", exp_path.display())),
    };
    let (opts, components) = options(case, yaml_root);
    let expected = expected_requests(&exp);
    let code_names: Vec<String> = expected
        .iter()
        .filter(|(_, p, _)| p.contains("/codes/"))
        .filter_map(|(_, p, _)| p.split("/codes/").nth(1)?.split('/').next().map(str::to_string))
        .collect();
    // the oracle's uuid4 names of anonymous data and environments (`Asset.__init__`), in order
    let random_names: Vec<String> = expected
        .iter()
        .filter_map(|(_, p, _)| {
            let (_, rest) = p
                .split_once("/data/")
                .or_else(|| p.split_once("/environments/"))?;
            let name = rest.split('/').next()?;
            (name.len() == 36 && name.matches('-').count() == 4).then(|| name.to_string())
        })
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
        random_names,
        random_index: 0,
    };
    let file = yaml_root.join(case["yaml"].as_str().unwrap_or_default());
    let result = catch_unwind(AssertUnwindSafe(|| {
        plan_file(&file, opts).and_then(|p| p.render(&mut resolver))
    }));
    let result: Result<Vec<RestRequest>, String> = match result {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => return Outcome::Panic,
    };
    if case["status"] != "ok" {
        return match result {
            Err(e) => Outcome::Rejected(e),
            Ok(_) => Outcome::AcceptedButSdkRejects,
        };
    }
    let ours: Vec<Request> = match result {
        Ok(reqs) => reqs.into_iter().map(|r| (r.method, r.path, r.body)).collect(),
        Err(e) => return Outcome::Error(e),
    };
    if ours == expected {
        return Outcome::Match;
    }
    let main = ours.last() == expected.last();
    let deps = ours.len() == expected.len() && ours[..ours.len() - 1] == expected[..expected.len() - 1];
    let mut why = format!("{} requests vs {} expected", ours.len(), expected.len());
    let pairs: Vec<(&Request, &Request)> = if main {
        ours.iter().zip(&expected).collect()
    } else {
        // the main request first: it is what users see
        ours.last()
            .into_iter()
            .zip(expected.last())
            .chain(ours.iter().zip(&expected))
            .collect()
    };
    for (o, e) in pairs {
        let at = e.1.rsplit("/workspaces/").next().unwrap_or("");
        if o.1 != e.1 {
            let body = first_diff(&e.2, &o.2, "").unwrap_or_else(|| "same body".into());
            why = format!(
                "path {} expected {at}; body: {body}",
                o.1.rsplit("/workspaces/").next().unwrap_or("")
            );
            break;
        }
        if let Some(d) = first_diff(&e.2, &o.2, "") {
            why = format!("{at}: {d}");
            break;
        }
    }
    Outcome::Diff { main, deps, why }
}

/// Agreement of one kind.
#[derive(Debug, Default, Clone)]
pub struct KindTally {
    pub converted: usize,
    pub matched: usize,
    pub main_equal: usize,
    pub deps_equal: usize,
    pub sdk_rejected: usize,
    pub rejected: usize,
}

/// Runs every case of a manifest; returns per-kind tallies, the per-case report and the panic count.
pub fn run_manifest(
    cases: &[Value],
    yaml_root: &Path,
    expected_root: &Path,
) -> (BTreeMap<String, KindTally>, String, usize) {
    let mut report = String::new();
    let mut per_kind: BTreeMap<String, KindTally> = BTreeMap::new();
    let mut panics = 0;
    for case in cases {
        let yaml = case["yaml"].as_str().unwrap_or_default();
        let kind = case["kind"].as_str().unwrap_or_default().to_string();
        let t = per_kind.entry(kind.clone()).or_default();
        if case["status"] == "ok" {
            t.converted += 1;
        } else {
            t.sdk_rejected += 1;
        }
        let line = match run_case(case, yaml_root, expected_root) {
            Outcome::Match => {
                t.matched += 1;
                t.main_equal += 1;
                t.deps_equal += 1;
                format!("MATCH {kind} {yaml}")
            }
            Outcome::Diff { main, deps, why } => {
                t.main_equal += usize::from(main);
                t.deps_equal += usize::from(deps);
                format!("DIFF {kind} {yaml}: {why}")
            }
            Outcome::Error(e) => format!("ERR {kind} {yaml}: {e}"),
            Outcome::Rejected(e) => {
                t.rejected += 1;
                format!("REJECTED {kind} {yaml}: {e}")
            }
            Outcome::AcceptedButSdkRejects => format!("ACCEPTED-BUT-SDK-REJECTS {kind} {yaml}"),
            Outcome::Panic => {
                panics += 1;
                format!("PANIC {kind} {yaml}")
            }
        };
        report.push_str(&line);
        if let Some(m) = case["mutation"].as_str() {
            report.push_str(&format!("   [{m}]"));
        }
        report.push('\n');
    }
    (per_kind, report, panics)
}

/// The per-kind table (markdown).
pub fn summary(per_kind: &BTreeMap<String, KindTally>) -> String {
    let mut s = String::from(
        "| kind | cases | SDK converted | all requests equal | main body equal | dependency requests equal | SDK rejected | also rejected |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut total = KindTally::default();
    for (k, t) in per_kind {
        s.push_str(&row(k, t));
        total.converted += t.converted;
        total.matched += t.matched;
        total.main_equal += t.main_equal;
        total.deps_equal += t.deps_equal;
        total.sdk_rejected += t.sdk_rejected;
        total.rejected += t.rejected;
    }
    s.push_str(&row("**total**", &total));
    s
}

fn row(k: &str, t: &KindTally) -> String {
    format!(
        "| {k} | {} | {} | {} | {} | {} | {} | {} |\n",
        t.converted + t.sdk_rejected,
        t.converted,
        t.matched,
        t.main_equal,
        t.deps_equal,
        t.sdk_rejected,
        t.rejected
    )
}
