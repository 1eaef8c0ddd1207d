//! The local workspace is locked: its token on every ARM, data-plane and storage route, its own Host only, signed
//! storage and log URLs, job paths confined to the state folder, children without the agent's secrets.

use crate::common;

use amlops_local::{LocalConfig, Timing};
use serde_json::{Value, json};

async fn status(rb: reqwest::RequestBuilder) -> (u16, String) {
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn every_arm_data_plane_and_storage_route_needs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    // The token is printed by `amlops local serve` and written to <state>/token, readable by this user only.
    let file = dir.path().join("token");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), t.ws.token());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let base = t.ws.base_url().to_string();
    let blob = format!("{base}/amlopslocal/{}/x.txt", amlops_local::DEFAULT_CONTAINER);
    let routes = [
        ("GET", t.arm("")),
        ("PUT", t.arm("/jobs/evil")),
        ("POST", t.arm("/datastores/workspaceblobstore/listSecrets")),
        ("POST", t.arm("/onlineEndpoints/ep/listKeys")),
        ("GET", format!("{base}/discovery")),
        ("GET", t.history("/runs/j/details")),
        ("GET", format!("{}?run_id=j", t.mlflow("runs/get"))),
        ("GET", blob.clone()),
        ("PUT", blob.clone()),
        ("GET", format!("{base}/joblogs/j/user_logs/std_log.txt")),
        ("GET", format!("{base}/somewhere-else")),
    ];
    let wrong = common::client("0".repeat(64).as_str());
    for (method, url) in &routes {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (s, body) = status(
            t.anonymous
                .request(m.clone(), url)
                .header("x-ms-blob-type", "BlockBlob")
                .json(&json!({"properties": {"command": "touch /tmp/pwned", "jobType": "Command"}})),
        )
        .await;
        assert_eq!(s, 401, "{method} {url} without a token: {body}");
        let (s, body) = status(wrong.request(m, url)).await;
        assert!(
            s == 401 || s == 403,
            "{method} {url} with a wrong token: {s} {body}"
        );
    }
    let (s, body) = status(t.anonymous.get(t.arm(""))).await;
    assert!(body.contains("AuthenticationFailed"), "{s} {body}");
    // Nothing was created, and with the token the same routes answer.
    let (s, _) = t.get(&t.arm("/jobs/evil")).await;
    assert_eq!(s, 404);
    let (s, v) = t.get(&t.arm("")).await;
    assert_eq!(s, 200, "{v}");
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_foreign_host_is_refused_even_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let port = t.ws.base_url().rsplit(':').next().unwrap().to_owned();
    // What a page that rebound its own name to 127.0.0.1 sends.
    for host in [
        format!("rebind.invalid:{port}"),
        format!("127.0.0.1.rebind.invalid:{port}"),
        "127.0.0.1:1".to_owned(),
    ] {
        for url in [t.arm(""), format!("{}/endpoints/ep/score", t.ws.base_url())] {
            let (s, body) = status(t.http.get(&url).header("host", &host)).await;
            assert_eq!(s, 421, "{url} with Host {host}: {body}");
            assert!(body.contains("MisdirectedRequest"), "{body}");
        }
    }
    let (s, _) = status(t.http.get(t.arm("")).header("host", format!("localhost:{port}"))).await;
    assert_eq!(s, 200);
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn signed_storage_urls_work_without_the_token_and_tampering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let url = t.datastore_blob_url("data/a.txt").await;
    assert!(!url.contains(t.ws.token()), "{url}");
    let anon = &t.anonymous;
    let (s, body) = status(anon.put(&url).header("x-ms-blob-type", "BlockBlob").body("alpha")).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = status(anon.get(&url)).await;
    assert_eq!((s, body.as_str()), (200, "alpha"));

    let (path, query) = url.split_once('?').unwrap();
    let sig = query.split('&').find_map(|p| p.strip_prefix("sig=")).unwrap();
    let flipped = format!(
        "{}{}",
        &sig[..sig.len() - 1],
        if sig.ends_with('0') { "1" } else { "0" }
    );
    let other_container = path.replace(amlops_local::DEFAULT_CONTAINER, "another-container");
    let tampered = [
        format!("{path}?{}", query.replace(sig, &flipped)),
        format!("{path}?{}", query.replace("sp=racwdl", "sp=racwdlx")),
        format!("{path}?{}", query.replace("se=", "se=2999")),
        format!("{path}?{}", query.replace("sr=c", "sr=b")),
        format!("{other_container}?{query}"),
        path.to_owned(),
    ];
    for bad in &tampered {
        let (s, body) = status(anon.get(bad)).await;
        assert!(s == 403 || s == 401, "{bad}: {s} {body}");
        let (s, _) = status(anon.put(bad).header("x-ms-blob-type", "BlockBlob").body("evil")).await;
        assert!(s == 403 || s == 401, "{bad}: {s}");
    }
    let (_, body) = status(anon.get(&tampered[0])).await;
    assert!(body.contains("AuthenticationFailed"), "{body}");
    // The blob is untouched.
    let (_, body) = status(anon.get(&url)).await;
    assert_eq!(body, "alpha");

    // A pending upload's SAS covers its own container only.
    let (_, _, r) = t
        .post(
            &t.arm("/codes/c/versions/1/startPendingUpload"),
            json!({"pendingUploadType": "TemporaryBlobReference"}),
        )
        .await;
    let sas_uri = r["blobReferenceForConsumption"]["credential"]["sasUri"]
        .as_str()
        .unwrap();
    let (container, sas) = sas_uri.split_once('?').unwrap();
    let (s, _) = status(
        anon.put(format!("{container}/f.py?{sas}"))
            .header("x-ms-blob-type", "BlockBlob")
            .body("x"),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = status(anon.get(format!("{path}?{sas}"))).await;
    assert_eq!(s, 403, "an upload SAS reads the datastore");
    t.ws.shutdown().await.unwrap();
}

/// A job that prints its environment and reads `${{inputs.data}}`.
async fn env_job(t: &common::T, name: &str, inputs: Value) -> (Value, Value) {
    let code = t
        .upload_code(
            &format!("{name}-code"),
            &[(
                "env.py",
                "import os, sys\nfor k in sorted(os.environ): print('ENV', k, '=', os.environ[k])\n\
                 print('DATA', sorted(os.listdir(sys.argv[1])) if len(sys.argv) > 1 else None)\n",
            )],
        )
        .await;
    let command = if inputs.as_object().is_some_and(|o| !o.is_empty()) {
        "python env.py ${{inputs.data}}"
    } else {
        "python env.py"
    };
    let (s, v) = t.command_job(name, &code, command, inputs, json!({})).await;
    assert_eq!(s, 201, "{v}");
    let done = t.wait_job(name).await;
    let (_, details) = t.get(&t.history(&format!("/runs/{name}/details"))).await;
    (done, details)
}

#[tokio::test]
async fn job_paths_outside_the_state_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "do not read").unwrap();
    let state = dir.path().join("state");
    let mut cfg = LocalConfig::new(&state);
    cfg.timing = Timing::immediate();
    let t = common::start_with(cfg).await;
    // A link inside the state folder that leads out of it.
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), state.join("link")).unwrap();
    let outside_path = outside.path().to_string_lossy().into_owned();
    let cases = [
        format!("file://{outside_path}"),
        outside_path.clone(),
        format!(
            "{}/../{}",
            state.display(),
            outside.path().file_name().unwrap().to_string_lossy()
        ),
        format!("file://{}", state.join("link").display()),
    ];
    for (i, uri) in cases.iter().enumerate() {
        let name = format!("job-out-{i}");
        let (done, details) = env_job(
            &t,
            &name,
            json!({"data": {"jobInputType": "uri_folder", "uri": uri}}),
        )
        .await;
        assert_eq!(done["properties"]["status"], "Failed", "{uri}");
        let message = details["error"]["error"]["message"].as_str().unwrap();
        assert!(message.contains("state folder"), "{uri}: {message}");
        assert!(!message.contains("do not read"));
    }
    // An output written to a local path outside is refused too.
    let code = t
        .upload_code(
            "w",
            &[("w.py", "import sys\nopen(sys.argv[1] + '/x', 'w').write('x')\n")],
        )
        .await;
    let (s, _) = t
        .command_job(
            "job-write-out",
            &code,
            "python w.py ${{outputs.o}}",
            json!({}),
            json!({"o": {"jobOutputType": "uri_folder", "uri": format!("file://{outside_path}/written")}}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        t.wait_job("job-write-out").await["properties"]["status"],
        "Failed"
    );
    assert!(!outside.path().join("written").exists());

    // Inside the state folder a local path works.
    let inside = state.join("data");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::write(inside.join("train.csv"), "1\n").unwrap();
    let (done, _) = env_job(
        &t,
        "job-inside",
        json!({"data": {"jobInputType": "uri_folder", "uri": inside.to_string_lossy()}}),
    )
    .await;
    assert_eq!(done["properties"]["status"], "Completed");
    t.ws.shutdown().await.unwrap();

    // A folder the user allowed explicitly works as well.
    let mut cfg = LocalConfig::new(&state);
    cfg.timing = Timing::immediate();
    cfg.allowed_dirs = vec![outside.path().to_path_buf()];
    let t = common::start_with(cfg).await;
    let (done, details) = env_job(
        &t,
        "job-allowed",
        json!({"data": {"jobInputType": "uri_folder", "uri": format!("file://{outside_path}")}}),
    )
    .await;
    assert_eq!(done["properties"]["status"], "Completed", "{details}");
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn job_processes_get_a_filtered_environment_and_no_workspace_token() {
    let dir = tempfile::tempdir().unwrap();
    let host = amlops_agent::TaskEnv::from_process();
    let mut parent: Vec<(String, String)> = ["PATH", "HOME", "LANG"]
        .iter()
        .filter_map(|k| host.vars_exact(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    for (k, v) in [
        ("ENDPOINT_AUTH_PARAMETER_CONN_SERVICEPRINCIPALKEY", "spn-secret-1"),
        (
            "ENDPOINT_AUTH_CONN",
            "{\"parameters\":{\"serviceprincipalkey\":\"spn-secret-1\"}}",
        ),
        ("SYSTEM_ACCESSTOKEN", "system-token-2"),
        ("SECRET_MY_VAR", "secret-var-3"),
        ("INPUT_AZURESUBSCRIPTION", "input-4"),
        ("HARMLESS_SETTING", "visible"),
    ] {
        parent.push((k.into(), v.into()));
    }
    let mut cfg = LocalConfig::new(dir.path());
    cfg.timing = Timing::immediate();
    cfg.parent_env = Some(amlops_agent::TaskEnv::from_map(parent));
    let t = common::start_with(cfg).await;
    let (done, details) = env_job(&t, "job-env", json!({})).await;
    assert_eq!(done["properties"]["status"], "Completed", "{details}");
    let log_url = details["logFiles"]["user_logs/std_log.txt"].as_str().unwrap();
    // The log URL is signed: it works without the token.
    let (s, log) = status(t.anonymous.get(log_url)).await;
    assert_eq!(s, 200, "{log}");
    assert!(log.contains("ENV HARMLESS_SETTING = visible"), "{log}");
    assert!(log.contains("ENV MLFLOW_TRACKING_TOKEN = job."), "{log}");
    for secret in [
        "spn-secret-1",
        "system-token-2",
        "secret-var-3",
        "input-4",
        t.ws.token(),
    ] {
        assert!(!log.contains(secret), "{secret} reached the job: {log}");
    }
    // Its MLflow token works on MLflow routes only.
    let token = log
        .lines()
        .find_map(|l| l.strip_prefix("ENV MLFLOW_TRACKING_TOKEN = "))
        .unwrap()
        .trim()
        .to_owned();
    let job_client = common::client(&token);
    let (s, body) = status(job_client.get(format!("{}?run_id=job-env", t.mlflow("runs/get")))).await;
    assert_eq!(s, 200, "{body}");
    for url in [t.arm(""), t.history("/runs/job-env/details")] {
        let (s, _) = status(job_client.get(&url)).await;
        assert_eq!(s, 401, "{url}");
    }
    // It writes its own run only: not the metrics of another run (the champion a gate compares it with).
    let metric =
        |run: &str| json!({"run_id": run, "key": "accuracy", "value": 0.01, "timestamp": 1, "step": 0});
    let (s, body) = status(
        job_client
            .post(t.mlflow("runs/log-metric"))
            .json(&metric("job-env")),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = status(
        job_client
            .post(t.mlflow("runs/log-metric"))
            .json(&metric("champion")),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("PERMISSION_DENIED"), "{body}");
    // A signed log URL does not open another path.
    let other = log_url.replace("std_log.txt", "other.txt");
    let (s, _) = status(t.anonymous.get(other)).await;
    assert_eq!(s, 403);
    t.ws.shutdown().await.unwrap();
}
