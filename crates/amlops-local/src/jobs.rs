//! Jobs: ARM routes and the local runner (command jobs as processes, pipeline jobs as ordered steps).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::app::{App, Req, Resp, RunningJob, json_response};
use crate::error::ApiError;
use crate::store::kind;
use crate::uri::{Location, job_output_uri, materialise, resolve};
use crate::util::{now_rfc3339, parse_iso_duration};

/// Statuses after which a job does not change.
pub(crate) fn is_terminal(status: &str) -> bool {
    matches!(
        status,
        "Completed" | "Failed" | "Canceled" | "NotResponding" | "Paused"
    )
}

/// How a job ended.
#[derive(Debug, Clone)]
enum Outcome {
    Completed,
    Failed { code: String, message: String },
    Canceled,
}

fn failed(code: &str, message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        code: code.to_owned(),
        message: message.into(),
    }
}

fn valid_job_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 256
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The job as served: the stored record without the internal `_local` part.
fn public(rec: &Value) -> Value {
    let mut v = rec.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("_local");
    }
    v
}

pub(crate) fn route(app: &Arc<App>, req: &Req, r: &[&str], api_version: &str) -> Resp {
    match (req.method.as_str(), &r[1..]) {
        ("GET", []) => {
            let job_type = req.q("jobType");
            let tag = req.q("tag");
            let items: Vec<Value> = app
                .store
                .list(kind::JOBS)
                .into_iter()
                .map(|(_, v)| v)
                .filter(|v| v["_local"]["parent"].is_null())
                .filter(|v| {
                    job_type.is_none_or(|t| {
                        v["properties"]["jobType"]
                            .as_str()
                            .is_some_and(|x| x.eq_ignore_ascii_case(t))
                    })
                })
                .filter(|v| {
                    tag.is_none_or(|t| {
                        let (k, val) = t.split_once('=').unwrap_or((t, ""));
                        v["properties"]["tags"]
                            .get(k)
                            .is_some_and(|x| val.is_empty() || x.as_str() == Some(val))
                    })
                })
                .map(|v| public(&v))
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &app.page(items, &req.uri, &req.query),
            ))
        }
        ("GET", [name]) => app
            .store
            .get(kind::JOBS, name)
            .map(|v| json_response(StatusCode::OK, &public(&v)))
            .ok_or_else(|| ApiError::not_found(format!("Job '{name}'"))),
        ("PUT", [name]) => put_job(app, req, name),
        ("DELETE", [name]) => delete_job(app, name, api_version),
        ("POST", [name, "cancel"]) => cancel_job(app, name, api_version),
        _ => Err(ApiError::not_found(format!("The resource '{}'", r.join("/")))),
    }
}

/// `${{inputs.x}}` / `${{outputs.x}}` references in a command, outside optional `$[[…]]` blocks.
fn required_refs(command: &str) -> Vec<(String, String)> {
    let mut stripped = String::new();
    let mut rest = command;
    while let Some(i) = rest.find("$[[") {
        stripped.push_str(&rest[..i]);
        match rest[i..].find("]]") {
            Some(j) => rest = &rest[i + j + 2..],
            None => {
                rest = "";
            }
        }
    }
    stripped.push_str(rest);
    refs(&stripped)
}

fn refs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        let after = &rest[i + 3..];
        let Some(j) = after.find("}}") else { break };
        let expr = after[..j].trim();
        if let Some((kind, name)) = expr.split_once('.') {
            out.push((kind.to_owned(), name.to_owned()));
        }
        rest = &after[j + 2..];
    }
    out
}

fn put_job(app: &Arc<App>, req: &Req, name: &str) -> Resp {
    if !valid_job_name(name) {
        return Err(ApiError::bad_request(format!(
            "The job name '{name}' is invalid: it must start with a letter or digit and hold only letters, digits, '-' and '_' (at most 256)."
        )));
    }
    let body = req.json()?;
    let Some(mut props) = body.get("properties").filter(|p| p.is_object()).cloned() else {
        return Err(ApiError::bad_request(
            "The request body must have a 'properties' object.",
        ));
    };
    if let Some(existing) = app.store.get(kind::JOBS, name) {
        // Only tags, description and properties change on a re-PUT; the tags sent replace the job's tags.
        let updated = app.store.update(kind::JOBS, name, |v| {
            for f in ["tags", "description", "properties"] {
                if let Some(x) = props.get(f) {
                    v["properties"][f] = x.clone();
                }
            }
            v["systemData"]["lastModifiedAt"] = now_rfc3339().into();
            public(v)
        })?;
        return Ok(json_response(
            StatusCode::OK,
            &updated.unwrap_or_else(|| public(&existing)),
        ));
    }
    let job_type = props["jobType"].as_str().unwrap_or_default().to_owned();
    match job_type.as_str() {
        "Command" => validate_command(&props)?,
        "Pipeline" => {
            if props["componentId"].as_str().is_some_and(|c| !c.is_empty()) {
                return Err(ApiError::bad_request(
                    "Pipeline jobs from a pipeline component (componentId) are not supported by the local workspace; give the steps in 'jobs'.",
                ));
            }
            if !props["jobs"].is_object() || props["jobs"].as_object().is_some_and(Map::is_empty) {
                return Err(ApiError::bad_request(
                    "A pipeline job needs at least one step in 'properties.jobs'.",
                ));
            }
        }
        "" => return Err(ApiError::bad_request("'properties.jobType' is required.")),
        other => {
            return Err(ApiError::bad_request(format!(
                "jobType '{other}' is not supported by the local workspace (Command and Pipeline are)."
            )));
        }
    }
    fill_defaults(app, &mut props, name);
    let now = now_rfc3339();
    let rec = json!({
        "id": app.arm_id(&format!("/jobs/{name}")),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/jobs",
        "properties": props,
        "systemData": App::system_data(&now),
        "_local": {"createdAt": now},
    });
    app.store.put(kind::JOBS, name, rec.clone())?;
    let experiment = rec["properties"]["experimentName"]
        .as_str()
        .unwrap_or("Default")
        .to_owned();
    crate::mlflow::ensure_run(app, name, &experiment, name)?;
    spawn(app, name.to_owned(), app.shutdown.child_token());
    Ok(json_response(StatusCode::CREATED, &public(&rec)))
}

fn validate_command(props: &Value) -> Result<(), ApiError> {
    let command = props["command"].as_str().unwrap_or_default();
    if command.trim().is_empty() {
        return Err(ApiError::bad_request("A command job needs 'properties.command'."));
    }
    if props["environmentId"].as_str().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "A command job needs 'properties.environmentId'.",
        ));
    }
    for (k, n) in required_refs(command) {
        let declared = match k.as_str() {
            "inputs" => props["inputs"].get(&n).is_some(),
            "outputs" => props["outputs"].get(&n).is_some(),
            _ => true,
        };
        if !declared {
            return Err(ApiError::bad_request(format!(
                "The command references ${{{{{k}.{n}}}}} but the job has no {} named '{n}'.",
                &k[..k.len() - 1]
            )));
        }
    }
    Ok(())
}

fn fill_defaults(app: &App, props: &mut Value, name: &str) {
    props["status"] = "NotStarted".into();
    if props["experimentName"].as_str().is_none_or(str::is_empty) {
        props["experimentName"] = "Default".into();
    }
    if props["displayName"].as_str().is_none_or(str::is_empty) {
        props["displayName"] = name.into();
    }
    for f in ["tags", "properties", "inputs", "outputs"] {
        if !props[f].is_object() {
            props[f] = json!({});
        }
    }
    if let Some(outputs) = props["outputs"].as_object_mut() {
        for (k, o) in outputs.iter_mut() {
            if o["uri"].as_str().is_none_or(str::is_empty) {
                o["uri"] = job_output_uri(name, k).into();
            }
            if o.get("mode").is_none() {
                o["mode"] = "ReadWriteMount".into();
            }
        }
    }
    props["isArchived"] = false.into();
    props["services"] = json!({
        "Tracking": {"jobServiceType": "Tracking", "endpoint": format!("{}/mlflow/v2.0{}", app.base_url, app.scope)},
        "Studio": {"jobServiceType": "Studio", "endpoint": format!("{}/history/v1.0{}/runs/{name}/details", app.base_url, app.scope)},
    });
}

fn cancel_job(app: &Arc<App>, name: &str, api_version: &str) -> Resp {
    let rec = app
        .store
        .get(kind::JOBS, name)
        .ok_or_else(|| ApiError::not_found(format!("Job '{name}'")))?;
    let op = app.new_operation("job", name)?;
    let status = rec["properties"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !is_terminal(&status) {
        let running = app
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned();
        match running {
            Some(rj) => {
                set_status(app, name, "CancelRequested");
                rj.cancel.cancel();
            }
            None => finish(app, name, &Outcome::Canceled),
        }
    }
    Ok(app.location_response(&op, api_version))
}

fn delete_job(app: &Arc<App>, name: &str, api_version: &str) -> Resp {
    if app.store.get(kind::JOBS, name).is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let op = app.new_operation("job-delete", name)?;
    let running = app
        .running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(name)
        .cloned();
    let app2 = app.clone();
    let name = name.to_owned();
    let op2 = op.clone();
    app.tasks.spawn(async move {
        if let Some(rj) = running {
            rj.cancel.cancel();
            rj.done.cancelled().await;
        }
        let children: Vec<String> = app2
            .store
            .list(kind::JOBS)
            .into_iter()
            .filter(|(_, v)| v["_local"]["parent"].as_str() == Some(name.as_str()))
            .map(|(k, _)| k)
            .collect();
        let mut result = Ok(());
        for j in children.iter().chain(std::iter::once(&name)) {
            if let Err(e) = app2.store.delete(kind::JOBS, j) {
                result = Err(ApiError::from(e));
            }
            let _ = std::fs::remove_dir_all(app2.dir(&format!("jobs/{j}")));
        }
        app2.finish_operation(&op2, result);
    });
    Ok(app.location_response(&op, api_version))
}

fn set_status(app: &App, name: &str, status: &str) {
    let now = now_rfc3339();
    let r = app.store.update(kind::JOBS, name, |v| {
        v["properties"]["status"] = status.into();
        if status == "Running" && v["_local"]["startTime"].is_null() {
            v["_local"]["startTime"] = now.clone().into();
        }
    });
    if let Err(e) = r {
        tracing::warn!(job = name, error = %e, "cannot record job status");
    }
    crate::mlflow::sync_job_status(app, name, status);
}

fn finish(app: &App, name: &str, outcome: &Outcome) {
    let (status, error) = match outcome {
        Outcome::Completed => ("Completed", Value::Null),
        Outcome::Canceled => ("Canceled", Value::Null),
        Outcome::Failed { code, message } => ("Failed", json!({"code": code, "message": message})),
    };
    let now = now_rfc3339();
    let r = app.store.update(kind::JOBS, name, |v| {
        v["properties"]["status"] = status.into();
        v["_local"]["endTime"] = now.clone().into();
        if v["_local"]["startTime"].is_null() {
            v["_local"]["startTime"] = now.clone().into();
        }
        v["_local"]["error"] = error.clone();
    });
    if let Err(e) = r {
        tracing::warn!(job = name, error = %e, "cannot record job result");
    }
    crate::mlflow::sync_job_status(app, name, status);
}

/// Registers a job as running and runs it in the background.
fn spawn(app: &Arc<App>, name: String, cancel: CancellationToken) {
    let rj = RunningJob {
        cancel,
        done: CancellationToken::new(),
    };
    app.running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(name.clone(), rj.clone());
    let app2 = app.clone();
    app.tasks.spawn(async move {
        let outcome = execute(&app2, &name, &rj.cancel).await;
        finish(&app2, &name, &outcome);
        app2.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&name);
        rj.done.cancel();
    });
}

/// Runs a job to its end (the final status is recorded by the caller).
async fn execute(app: &Arc<App>, name: &str, cancel: &CancellationToken) -> Outcome {
    let Some(rec) = app.store.get(kind::JOBS, name) else {
        return failed("NotFound", "the job was deleted");
    };
    set_status(app, name, "Queued");
    tokio::select! {
        () = tokio::time::sleep(app.cfg.timing.job_start_delay) => {}
        () = cancel.cancelled() => return stopped(app),
    }
    let outcome = if rec["properties"]["jobType"] == "Pipeline" {
        Box::pin(run_pipeline(app, name, &rec, cancel)).await
    } else {
        run_command(app, name, &rec, cancel).await
    };
    if matches!(outcome, Outcome::Canceled) {
        stopped(app)
    } else {
        outcome
    }
}

fn stopped(app: &App) -> Outcome {
    if app.shutdown.is_cancelled() {
        failed(
            "ServiceStopped",
            "The local workspace stopped while this job was running.",
        )
    } else {
        Outcome::Canceled
    }
}

fn job_dir(app: &App, name: &str) -> PathBuf {
    app.dir(&format!("jobs/{name}"))
}

/// The job's log folder; `user_logs/std_log.txt` is the process output.
pub(crate) fn log_dir(app: &App, name: &str) -> PathBuf {
    job_dir(app, name).join("logs")
}

fn system_log(app: &App, name: &str, line: &str) {
    use std::io::Write;
    let path = log_dir(app, name).join("system_logs/local_runner.txt");
    if let Some(p) = path.parent() {
        let _ = std::fs::create_dir_all(p);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = writeln!(f, "{} {line}", now_rfc3339());
    }
}

fn input_type(input: &Value) -> String {
    ["jobInputType", "job_input_type", "type"]
        .iter()
        .find_map(|k| input.get(*k).and_then(Value::as_str))
        .unwrap_or("literal")
        .to_owned()
}

/// Materialises the inputs, returning the value each `${{inputs.k}}` takes.
fn prepare_inputs(app: &App, props: &Value, dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let Some(inputs) = props["inputs"].as_object() else {
        return Ok(out);
    };
    for (k, input) in inputs {
        let t = input_type(input);
        if t.eq_ignore_ascii_case("literal") {
            let v = match input.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            out.insert(k.clone(), v);
            continue;
        }
        let uri = input
            .get("uri")
            .or_else(|| input.get("path"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("input '{k}' ({t}) has no uri"))?;
        let loc = if matches!(t.as_str(), "custom_model" | "mlflow_model" | "triton_model")
            && (uri.starts_with("azureml:") && !uri.starts_with("azureml://")
                || uri.starts_with("/subscriptions/"))
        {
            let v = crate::uri::asset_version(app, uri, "models").map_err(|e| format!("input '{k}': {e}"))?;
            resolve(app, v["properties"]["modelUri"].as_str().unwrap_or_default(), 0)
        } else {
            resolve(app, uri, 0)
        }
        .map_err(|e| format!("input '{k}': {e}"))?;
        let path = materialise(app, &loc, &dir.join(k)).map_err(|e| format!("input '{k}': {e}"))?;
        out.insert(k.clone(), path.to_string_lossy().into_owned());
    }
    Ok(out)
}

/// Replaces `${{inputs.k}}`/`${{outputs.k}}` and resolves `$[[…]]` optional blocks.
fn expand(
    command: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> Result<String, String> {
    let lookup = |k: &str, n: &str| -> Option<&String> {
        match k {
            "inputs" => inputs.get(n),
            "outputs" => outputs.get(n),
            _ => None,
        }
    };
    let mut text = String::new();
    let mut rest = command;
    while let Some(i) = rest.find("$[[") {
        text.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let j = after
            .find("]]")
            .ok_or("an optional block '$[[' is not closed with ']]'")?;
        let block = &after[..j];
        if refs(block).iter().all(|(k, n)| lookup(k, n).is_some()) {
            text.push_str(block);
        }
        rest = &after[j + 2..];
    }
    text.push_str(rest);
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let j = after
            .find("}}")
            .ok_or("an expression '${{' is not closed with '}}'")?;
        let expr = after[..j].trim();
        let (k, n) = expr.split_once('.').unwrap_or((expr, ""));
        match lookup(k, n) {
            Some(v) => out.push_str(v),
            None => {
                return Err(format!(
                    "the command references ${{{{{expr}}}}}, which is not defined"
                ));
            }
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The interpreter as an absolute path, so the `python` shim cannot call itself.
async fn resolve_python(python: &Path) -> Result<PathBuf, String> {
    if python.is_absolute() {
        return Ok(python.to_path_buf());
    }
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {}", shell_quote(&python.to_string_lossy())))
        .output()
        .await
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || found.is_empty() {
        return Err(format!(
            "the Python interpreter '{}' was not found on PATH",
            python.display()
        ));
    }
    Ok(PathBuf::from(found))
}

/// A folder with `python` and `python3` scripts that run the configured interpreter.
pub(crate) async fn python_shims(app: &App) -> Result<(PathBuf, PathBuf), String> {
    let python = resolve_python(&app.cfg.python).await?;
    let bin = app.dir("runtime/bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("cannot create {}: {e}", bin.display()))?;
    for n in ["python", "python3"] {
        let p = bin.join(n);
        let script = format!(
            "#!/bin/sh\nexec {} \"$@\"\n",
            shell_quote(&python.to_string_lossy())
        );
        std::fs::write(&p, script).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
        }
    }
    Ok((bin, python))
}

/// Sends a signal to a whole process group.
pub(crate) async fn signal_group(pid: u32, signal: &str) {
    let _ = tokio::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// Stops a process and its group: SIGTERM, then SIGKILL after `grace`.
pub(crate) async fn kill_tree(child: &mut tokio::process::Child, grace: Duration) {
    if let Some(pid) = child.id() {
        signal_group(pid, "TERM").await;
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            signal_group(pid, "KILL").await;
            return;
        }
        signal_group(pid, "KILL").await;
    }
    let _ = child.kill().await;
}

fn tail_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

async fn run_command(app: &Arc<App>, name: &str, rec: &Value, cancel: &CancellationToken) -> Outcome {
    let props = &rec["properties"];
    let dir = job_dir(app, name);
    let _ = std::fs::remove_dir_all(&dir);
    let (wd, inputs_dir, outputs_dir, logs) = (
        dir.join("wd"),
        dir.join("inputs"),
        dir.join("outputs"),
        dir.join("logs"),
    );
    for d in [&wd, &inputs_dir, &outputs_dir, &logs.join("user_logs")] {
        if let Err(e) = std::fs::create_dir_all(d) {
            return failed("SystemError", format!("cannot create {}: {e}", d.display()));
        }
    }
    set_status(app, name, "Preparing");
    let env_id = props["environmentId"].as_str().unwrap_or_default();
    system_log(
        app,
        name,
        &format!("environment {env_id}: image not pulled; the job runs on the local interpreter"),
    );
    if let Some(code) = props["codeId"].as_str().filter(|c| !c.is_empty()) {
        if let Err(e) = crate::uri::materialise_code(app, code, &wd) {
            return failed("UserError", format!("Cannot prepare the job's code: {e}"));
        }
        system_log(app, name, &format!("code {code} downloaded"));
    }
    let inputs = match prepare_inputs(app, props, &inputs_dir) {
        Ok(i) => i,
        Err(e) => return failed("UserError", format!("Cannot prepare the job's inputs: {e}")),
    };
    let mut outputs = BTreeMap::new();
    if let Some(o) = props["outputs"].as_object() {
        for (k, out) in o {
            let folder = outputs_dir.join(k);
            if let Err(e) = std::fs::create_dir_all(&folder) {
                return failed("SystemError", format!("cannot create {}: {e}", folder.display()));
            }
            let is_file = out["jobOutputType"].as_str().is_some_and(|t| t == "uri_file");
            let path = if is_file { folder.join(k) } else { folder };
            outputs.insert(k.clone(), path.to_string_lossy().into_owned());
        }
    }
    let command = match expand(props["command"].as_str().unwrap_or_default(), &inputs, &outputs) {
        Ok(c) => c,
        Err(e) => return failed("UserError", format!("Cannot resolve the command: {e}")),
    };
    let (bin, _python) = match python_shims(app).await {
        Ok(b) => b,
        Err(e) => return failed("SystemError", e),
    };
    let script = format!(
        "#!/bin/sh\n# generated by the amlops local workspace for job {name}\nPATH={}:\"$PATH\"\nexport PATH\n{command}\n",
        shell_quote(&bin.to_string_lossy())
    );
    let run_sh = dir.join("run.sh");
    if let Err(e) = std::fs::write(&run_sh, script) {
        return failed("SystemError", format!("cannot write {}: {e}", run_sh.display()));
    }
    let log_path = logs.join("user_logs/std_log.txt");
    let log = match std::fs::File::create(&log_path) {
        Ok(f) => f,
        Err(e) => {
            return failed(
                "SystemError",
                format!("cannot create {}: {e}", log_path.display()),
            );
        }
    };
    let log2 = match log.try_clone() {
        Ok(f) => f,
        Err(e) => return failed("SystemError", format!("cannot open {}: {e}", log_path.display())),
    };
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg(&run_sh)
        .env_clear()
        .envs(app.child_env.iter().map(|(k, v)| (k, v)))
        .current_dir(&wd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let experiment = props["experimentName"].as_str().unwrap_or("Default");
    let mut envs: Vec<(String, String)> = vec![
        (
            "MLFLOW_TRACKING_URI".into(),
            format!("{}/mlflow/v2.0{}", app.base_url, app.scope),
        ),
        ("MLFLOW_RUN_ID".into(), name.into()),
        // What an MLflow client sends as `Authorization: Bearer`: valid for the MLflow routes only.
        ("MLFLOW_TRACKING_TOKEN".into(), app.auth.job_token(name)),
        ("MLFLOW_EXPERIMENT_NAME".into(), experiment.into()),
        ("AZUREML_RUN_ID".into(), name.into()),
        ("AZUREML_ARM_SUBSCRIPTION".into(), app.cfg.subscription_id.clone()),
        ("AZUREML_ARM_RESOURCEGROUP".into(), app.cfg.resource_group.clone()),
        ("AZUREML_ARM_WORKSPACE_NAME".into(), app.cfg.workspace.clone()),
        ("AZUREML_EXPERIMENT_NAME".into(), experiment.into()),
        ("PYTHONUNBUFFERED".into(), "1".into()),
    ];
    for (k, v) in &inputs {
        envs.push((format!("AZURE_ML_INPUT_{k}"), v.clone()));
    }
    for (k, v) in &outputs {
        envs.push((format!("AZURE_ML_OUTPUT_{k}"), v.clone()));
    }
    if let Some(vars) = props["environmentVariables"].as_object() {
        for (k, v) in vars {
            envs.push((k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)));
        }
    }
    cmd.envs(envs);
    if cancel.is_cancelled() {
        return Outcome::Canceled;
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed("SystemError", format!("cannot start the job process: {e}")),
    };
    system_log(
        app,
        name,
        &format!("process {} started: {command}", child.id().unwrap_or_default()),
    );
    set_status(app, name, "Running");
    let timeout = props["limits"]["timeout"].as_str().and_then(parse_iso_duration);
    let timed_out = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let grace = app.cfg.timing.kill_grace;
    let status = tokio::select! {
        s = child.wait() => s,
        () = cancel.cancelled() => {
            system_log(app, name, "cancel requested: stopping the process tree");
            kill_tree(&mut child, grace).await;
            return Outcome::Canceled;
        }
        () = timed_out => {
            kill_tree(&mut child, grace).await;
            return failed("JobTimeout", format!(
                "The job ran longer than its limit {} and was stopped.",
                props["limits"]["timeout"].as_str().unwrap_or_default()
            ));
        }
    };
    let code = match status {
        Ok(s) => s.code(),
        Err(e) => return failed("SystemError", format!("cannot wait for the job process: {e}")),
    };
    // Children the script left behind go with it.
    if let Some(pid) = child.id() {
        signal_group(pid, "KILL").await;
    }
    if code != Some(0) {
        let status = code.map_or_else(|| "a signal".to_owned(), |c| format!("status code {c}"));
        return failed(
            "UserError",
            format!(
                "Execution failed. User process exited with {status}. Please check log file 'user_logs/std_log.txt' for error details. Error: {}",
                tail_lines(&log_path, 20)
            ),
        );
    }
    set_status(app, name, "Finalizing");
    for (k, path) in &outputs {
        let uri = props["outputs"][k]["uri"]
            .as_str()
            .map_or_else(|| job_output_uri(name, k), str::to_owned);
        match resolve(app, &uri, 0) {
            Ok(Location::Blob {
                container,
                path: prefix,
            }) => {
                let folder = outputs_dir.join(k);
                let prefix = if Path::new(path).is_file() && !prefix.ends_with('/') {
                    prefix
                        .rsplit_once('/')
                        .map(|(p, _)| p.to_owned())
                        .unwrap_or_default()
                } else {
                    prefix
                };
                if let Err(e) = app.blobs.upload_dir(&container, &prefix, &folder) {
                    return failed("SystemError", format!("cannot upload output '{k}': {e}"));
                }
            }
            Ok(Location::Local(dest)) => {
                if let Err(e) = crate::uri::copy_dir(&outputs_dir.join(k), &dest) {
                    return failed("SystemError", format!("cannot copy output '{k}': {e}"));
                }
            }
            Err(e) => return failed("UserError", format!("output '{k}': {e}")),
        }
        if let Err(e) = register_output(app, name, k, &props["outputs"][k]) {
            return failed(
                "UserError",
                format!("output '{k}': cannot register its asset: {}", e.message),
            );
        }
    }
    Outcome::Completed
}

/// Registers an output that names an asset (`assetName`, optional `assetVersion`) as a data or model version.
fn register_output(app: &App, job: &str, output: &str, decl: &Value) -> Result<(), ApiError> {
    let Some(asset) = decl["assetName"].as_str().or_else(|| decl["asset_name"].as_str()) else {
        return Ok(());
    };
    let version = decl["assetVersion"]
        .as_str()
        .or_else(|| decl["asset_version"].as_str());
    let t = decl["jobOutputType"]
        .as_str()
        .or_else(|| decl["job_output_type"].as_str())
        .unwrap_or("uri_folder");
    let uri = decl["uri"]
        .as_str()
        .map_or_else(|| job_output_uri(job, output), str::to_owned);
    let (coll, props) = match t {
        "custom_model" | "mlflow_model" | "triton_model" => {
            ("models", json!({"modelType": t, "modelUri": uri, "jobName": job}))
        }
        _ => ("data", json!({"dataType": t, "dataUri": uri})),
    };
    let v = crate::arm::register_output_asset(app, coll, asset, version, props)?;
    system_log(
        app,
        job,
        &format!("output {output} registered as {coll} {asset}:{v}"),
    );
    Ok(())
}

// ----- pipelines -----------------------------------------------------------------------------------------

struct Step {
    name: String,
    /// Command-job properties of the child, inputs still possibly bound to other steps.
    props: Value,
    deps: BTreeSet<String>,
    /// Child output name -> parent output name.
    parent_outputs: Vec<(String, String)>,
}

fn binding(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => ["value", "uri", "path"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))?,
        _ => return None,
    };
    let s = s.trim();
    let inner = s.strip_prefix("${{")?.strip_suffix("}}")?;
    Some(inner.trim().to_owned())
}

fn plan_pipeline(app: &App, name: &str, props: &Value) -> Result<Vec<Step>, String> {
    let jobs = props["jobs"].as_object().ok_or("the pipeline has no steps")?;
    let mut steps = Vec::new();
    for (step, node) in jobs {
        let node_type = node["type"]
            .as_str()
            .or_else(|| node["jobType"].as_str())
            .unwrap_or("command");
        if !node_type.eq_ignore_ascii_case("command") {
            return Err(format!(
                "step '{step}': type '{node_type}' is not supported locally (command steps are)"
            ));
        }
        let spec = if let Some(cid) = node["componentId"].as_str().filter(|c| !c.is_empty()) {
            let v = crate::uri::asset_version(app, cid, "components")
                .map_err(|e| format!("step '{step}': {e}"))?;
            v["properties"]["componentSpec"].clone()
        } else if node["component"].is_object() {
            node["component"].clone()
        } else {
            json!({})
        };
        let pick = |keys: &[&str]| -> Value {
            keys.iter()
                .find_map(|k| {
                    node.get(*k)
                        .filter(|v| !v.is_null())
                        .or_else(|| spec.get(*k).filter(|v| !v.is_null()))
                })
                .cloned()
                .unwrap_or(Value::Null)
        };
        let command = pick(&["command"]);
        if command.as_str().is_none_or(str::is_empty) {
            return Err(format!(
                "step '{step}' has no command (neither on the node nor in its component)"
            ));
        }
        let code = pick(&["codeId", "code"]);
        let env = pick(&["environmentId", "environment"]);
        let env_vars = pick(&["environmentVariables", "environment_variables"]);
        let mut inputs = Map::new();
        let mut deps = BTreeSet::new();
        let declared_inputs = spec["inputs"].as_object().cloned().unwrap_or_default();
        for (k, decl) in &declared_inputs {
            if let Some(d) = decl.get("default").filter(|d| !d.is_null()) {
                let value = d.as_str().map_or_else(|| d.to_string(), str::to_owned);
                inputs.insert(k.clone(), json!({"jobInputType": "literal", "value": value}));
            }
        }
        if let Some(node_inputs) = node["inputs"].as_object() {
            for (k, v) in node_inputs {
                let resolved = if let Some(b) = binding(v) {
                    if let Some(pi) = b.strip_prefix("parent.inputs.") {
                        props["inputs"].get(pi).cloned().ok_or_else(|| {
                            format!("step '{step}': input '{k}' is bound to parent input '{pi}', which is not given")
                        })?
                    } else if let Some(rest) = b.strip_prefix("parent.jobs.") {
                        let (other, out) = rest.split_once(".outputs.").ok_or_else(|| {
                            format!("step '{step}': input '{k}': cannot read binding '{b}'")
                        })?;
                        if !jobs.contains_key(other) {
                            return Err(format!(
                                "step '{step}': input '{k}' is bound to unknown step '{other}'"
                            ));
                        }
                        deps.insert(other.to_owned());
                        json!({"jobInputType": "uri_folder", "uri": format!("azureml://jobs/{name}_{other}/outputs/{out}")})
                    } else {
                        return Err(format!("step '{step}': input '{k}': unsupported binding '{b}'"));
                    }
                } else {
                    match v {
                        Value::Object(o) if o.contains_key("uri") || o.contains_key("path") => {
                            let uri = o
                                .get("uri")
                                .or_else(|| o.get("path"))
                                .cloned()
                                .unwrap_or(Value::Null);
                            json!({"jobInputType": input_type(v), "uri": uri})
                        }
                        Value::Object(o) if o.contains_key("value") => {
                            json!({"jobInputType": "literal", "value": o.get("value").cloned().unwrap_or(Value::Null)})
                        }
                        // Declared but not bound: the component default (if any) applies.
                        Value::Object(_) | Value::Null => continue,
                        Value::String(s) => json!({"jobInputType": "literal", "value": s}),
                        other => json!({"jobInputType": "literal", "value": other.to_string()}),
                    }
                };
                inputs.insert(k.clone(), resolved);
            }
        }
        let mut outputs = Map::new();
        let mut parent_outputs = Vec::new();
        let declared_outputs = spec["outputs"].as_object().cloned().unwrap_or_default();
        let node_outputs = node["outputs"].as_object().cloned().unwrap_or_default();
        let child = format!("{name}_{step}");
        for k in declared_outputs.keys().chain(node_outputs.keys()) {
            if outputs.contains_key(k) {
                continue;
            }
            let t = declared_outputs
                .get(k)
                .and_then(|d| d["type"].as_str())
                .or_else(|| {
                    node_outputs.get(k).and_then(|d| {
                        d["jobOutputType"]
                            .as_str()
                            .or_else(|| d["job_output_type"].as_str())
                    })
                })
                .unwrap_or("uri_folder");
            let mut uri = job_output_uri(&child, k);
            if let Some(b) = node_outputs.get(k).and_then(binding) {
                if let Some(po) = b.strip_prefix("parent.outputs.") {
                    parent_outputs.push((k.clone(), po.to_owned()));
                }
            } else if let Some(u) = node_outputs.get(k).and_then(|o| o["uri"].as_str()) {
                uri = u.to_owned();
            }
            outputs.insert(
                k.clone(),
                json!({"jobOutputType": t, "mode": "ReadWriteMount", "uri": uri}),
            );
        }
        let child_props = json!({
            "jobType": "Command",
            "command": command,
            "codeId": code,
            "environmentId": env,
            "environmentVariables": if env_vars.is_object() { env_vars } else { json!({}) },
            "inputs": inputs,
            "outputs": outputs,
            "displayName": step,
            "experimentName": props["experimentName"],
            "limits": pick(&["limits"]),
        });
        steps.push(Step {
            name: step.clone(),
            props: child_props,
            deps,
            parent_outputs,
        });
    }
    // Dependency order (stable: by name among ready steps).
    let mut ordered = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    while !steps.is_empty() {
        let Some(i) = steps.iter().position(|s| s.deps.iter().all(|d| done.contains(d))) else {
            let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
            return Err(format!("the steps {names:?} depend on each other in a cycle"));
        };
        let s = steps.remove(i);
        done.insert(s.name.clone());
        ordered.push(s);
    }
    Ok(ordered)
}

fn pipeline_log(app: &App, name: &str, line: &str) {
    use std::io::Write;
    let path = log_dir(app, name).join("logs/azureml/executionlogs.txt");
    if let Some(p) = path.parent() {
        let _ = std::fs::create_dir_all(p);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = writeln!(f, "[{}] {line}", now_rfc3339());
    }
}

async fn run_pipeline(app: &Arc<App>, name: &str, rec: &Value, cancel: &CancellationToken) -> Outcome {
    let props = &rec["properties"];
    let steps = match plan_pipeline(app, name, props) {
        Ok(s) => s,
        Err(e) => return failed("UserError", format!("Cannot run the pipeline: {e}")),
    };
    set_status(app, name, "Running");
    pipeline_log(app, name, &format!("pipeline {name}: {} step(s)", steps.len()));
    for step in steps {
        if cancel.is_cancelled() {
            return Outcome::Canceled;
        }
        let child = format!("{name}_{}", step.name);
        let mut child_props = step.props.clone();
        fill_defaults(app, &mut child_props, &child);
        let now = now_rfc3339();
        let child_rec = json!({
            "id": app.arm_id(&format!("/jobs/{child}")),
            "name": child,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": child_props,
            "systemData": App::system_data(&now),
            "_local": {"createdAt": now, "parent": name, "step": step.name},
        });
        if let Err(e) = app.store.put(kind::JOBS, &child, child_rec) {
            return failed("SystemError", e.to_string());
        }
        let experiment = props["experimentName"].as_str().unwrap_or("Default");
        if let Err(e) = crate::mlflow::ensure_run(app, &child, experiment, &step.name) {
            return failed("SystemError", e.message);
        }
        pipeline_log(app, name, &format!("step {} started as job {child}", step.name));
        let rj = RunningJob {
            cancel: cancel.child_token(),
            done: CancellationToken::new(),
        };
        app.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(child.clone(), rj.clone());
        let outcome = execute(app, &child, &rj.cancel).await;
        finish(app, &child, &outcome);
        app.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&child);
        rj.done.cancel();
        pipeline_log(app, name, &format!("step {} ended: {outcome:?}", step.name));
        match outcome {
            Outcome::Completed => {}
            Outcome::Canceled => return Outcome::Canceled,
            Outcome::Failed { code, message } => {
                return failed(
                    &code,
                    format!("Step '{}' (job {child}) failed: {message}", step.name),
                );
            }
        }
        for (k, po) in &step.parent_outputs {
            let uri = format!("azureml://jobs/{child}/outputs/{k}");
            let _ = app.store.update(kind::JOBS, name, |v| {
                let o = &mut v["properties"]["outputs"];
                if !o.is_object() {
                    *o = json!({});
                }
                if !o[po.as_str()].is_object() {
                    o[po.as_str()] = json!({"jobOutputType": "uri_folder", "mode": "ReadWriteMount"});
                }
                o[po.as_str()]["uri"] = uri.clone().into();
            });
        }
    }
    Outcome::Completed
}

/// Marks jobs that were running when the server stopped as failed.
pub(crate) fn recover(app: &App) -> Result<(), crate::error::LocalError> {
    for (name, rec) in app.store.list(kind::JOBS) {
        if !is_terminal(rec["properties"]["status"].as_str().unwrap_or("")) {
            finish(
                app,
                &name,
                &failed(
                    "ServiceStopped",
                    "The local workspace stopped while this job was running.",
                ),
            );
        }
    }
    Ok(())
}

/// `GET /joblogs/{job}/{path}`: a job's log file as it grows.
pub(crate) fn serve_log(app: &App, req: &Req, segs: &[&str]) -> Resp {
    let job = segs.get(1).map(|s| crate::util::decode(s)).unwrap_or_default();
    let rel = segs
        .get(2..)
        .map(|s| {
            s.iter()
                .map(|x| crate::util::decode(x))
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default();
    if !crate::util::is_safe_relative(&rel) || app.store.get(kind::JOBS, &job).is_none() {
        return Err(ApiError::not_found(format!("Log '{rel}' of job '{job}'")));
    }
    let path = log_dir(app, &job).join(&rel);
    let data =
        std::fs::read(&path).map_err(|_| ApiError::not_found(format!("Log '{rel}' of job '{job}'")))?;
    let _ = req;
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-ms-blob-type", "BlockBlob")
        .body(axum::body::Body::from(data))
        .unwrap_or_default())
}

/// Log files of a job as `{name: url}` for run-history details.
pub(crate) fn log_files(app: &App, name: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let dir = log_dir(app, name);
    for entry in walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(&dir).unwrap_or(entry.path());
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let url = format!(
            "{}/joblogs/{}/{}?{}",
            app.base_url,
            crate::util::encode(name),
            crate::util::encode_path(&rel),
            app.auth.sign(&format!("/joblogs/{name}/{rel}"), "b", "r")
        );
        out.insert(rel, Value::String(url));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_commands() {
        let inputs = BTreeMap::from([
            ("data".to_owned(), "/d".to_owned()),
            ("lr".to_owned(), "0.1".to_owned()),
        ]);
        let outputs = BTreeMap::from([("model".to_owned(), "/m".to_owned())]);
        assert_eq!(
            expand("python t.py --data ${{inputs.data}} $[[--lr ${{inputs.lr}}]] $[[--x ${{inputs.x}}]] --out ${{ outputs.model }}", &inputs, &outputs).unwrap(),
            "python t.py --data /d --lr 0.1  --out /m"
        );
        assert!(expand("${{inputs.missing}}", &inputs, &outputs).is_err());
    }

    #[test]
    fn required_references_skip_optional_blocks() {
        assert_eq!(
            required_refs("a ${{inputs.a}} $[[--b ${{inputs.b}}]] ${{outputs.c}}"),
            vec![
                ("inputs".to_owned(), "a".to_owned()),
                ("outputs".to_owned(), "c".to_owned())
            ]
        );
    }

    #[test]
    fn job_names() {
        assert!(valid_job_name("train_01-a"));
        assert!(!valid_job_name("-x"));
        assert!(!valid_job_name("a/b"));
    }
}
