//! Command and pipeline jobs run as local processes.

use crate::common;

use std::time::Duration;

use serde_json::json;

const TRAIN: &str = r#"
import argparse, json, os, sys, urllib.request

def mlflow(route, body):
    url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/" + route
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req) as r:
        return json.load(r)

p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--lr", type=float); p.add_argument("--out")
a = p.parse_args()
rows = open(os.path.join(a.data, "train.csv")).read().split()
run = os.environ["MLFLOW_RUN_ID"]
print("training on", len(rows), "rows with", os.environ["GREETING"], flush=True)
for step in range(3):
    mlflow("runs/log-metric", {"run_id": run, "key": "loss", "value": 1.0 / (step + 1), "timestamp": 1000 + step, "step": step})
mlflow("runs/log-batch", {"run_id": run, "metrics": [{"key": "accuracy", "value": 0.75 + a.lr / 10, "timestamp": 2000, "step": 0}], "params": [{"key": "lr", "value": str(a.lr)}]})
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "model.txt"), "w").write("sum=%d" % sum(int(x) for x in rows))
"#;

#[tokio::test]
async fn command_job_runs_with_inputs_outputs_and_mlflow_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t.upload_code("train-code", &[("train.py", TRAIN)]).await;
    t.put_blob(
        &t.datastore_blob_url("data/train/train.csv").await,
        b"1\n2\n3\n4\n",
    )
    .await;

    let (s, job) = t
        .command_job(
            "job-ok",
            &code,
            "python train.py --data ${{inputs.data}} --lr ${{inputs.lr}} --out ${{outputs.model}}",
            json!({
                "data": {"jobInputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/data/train/"},
                "lr": {"jobInputType": "literal", "value": "0.5"},
            }),
            json!({"model": {"jobOutputType": "custom_model", "assetName": "trained"}}),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    assert_eq!(job["properties"]["status"], "NotStarted");
    assert_eq!(
        job["properties"]["outputs"]["model"]["uri"],
        "azureml://datastores/workspaceblobstore/paths/azureml/job-ok/model/"
    );

    let done = t.wait_job("job-ok").await;
    let (_, details) = t.get(&t.history("/runs/job-ok/details")).await;
    assert_eq!(done["properties"]["status"], "Completed", "{details}");
    assert_eq!(details["status"], "Completed");
    let log_url = details["logFiles"]["user_logs/std_log.txt"]
        .as_str()
        .expect("std log listed");
    let log = t.http.get(log_url).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("training on 4 rows with hello"), "{log}");

    let (s, run) = t.get(&format!("{}?run_id=job-ok", t.mlflow("runs/get"))).await;
    assert_eq!(s, 200);
    assert_eq!(run["run"]["info"]["status"], "FINISHED");
    let metrics = run["run"]["data"]["metrics"].as_array().unwrap();
    let latest = |k: &str| {
        metrics.iter().find(|m| m["key"] == k).unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert!((latest("loss") - 1.0 / 3.0).abs() < 1e-9);
    assert!((latest("accuracy") - 0.8).abs() < 1e-9);
    assert_eq!(
        run["run"]["data"]["params"],
        json!([{"key": "lr", "value": "0.5"}])
    );
    let (_, hist) = t
        .get(&format!(
            "{}?run_id=job-ok&metric_key=loss",
            t.mlflow("metrics/get-history")
        ))
        .await;
    assert_eq!(hist["metrics"].as_array().unwrap().len(), 3);

    // The output folder was uploaded to the default datastore.
    let out = t
        .http
        .get(t.datastore_blob_url("azureml/job-ok/model/model.txt").await)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 200);
    assert_eq!(out.text().await.unwrap(), "sum=10");
    // An output naming an asset is registered when the job completes.
    let (s, model) = t.get(&t.arm("/models/trained/versions/1")).await;
    assert_eq!(s, 200, "{model}");
    assert_eq!(
        model["properties"]["modelUri"],
        "azureml://datastores/workspaceblobstore/paths/azureml/job-ok/model/"
    );
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn failing_script_ends_failed_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t
        .upload_code(
            "bad",
            &[(
                "bad.py",
                "print('about to fail')\nraise ValueError('bad training data')\n",
            )],
        )
        .await;
    let (s, _) = t
        .command_job("job-bad", &code, "python bad.py", json!({}), json!({}))
        .await;
    assert_eq!(s, 201);
    let done = t.wait_job("job-bad").await;
    assert_eq!(done["properties"]["status"], "Failed");
    let (_, details) = t.get(&t.history("/runs/job-bad/details")).await;
    assert_eq!(details["status"], "Failed");
    let message = details["error"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("exited with status code 1"), "{message}");
    assert!(message.contains("ValueError: bad training data"), "{message}");
    let (_, run) = t.get(&format!("{}?run_id=job-bad", t.mlflow("runs/get"))).await;
    assert_eq!(run["run"]["info"]["status"], "FAILED");

    // A command that references an undeclared input is refused at submission, as on Azure.
    let (s, v) = t
        .command_job(
            "job-undeclared",
            &code,
            "python bad.py ${{inputs.nope}}",
            json!({}),
            json!({}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("nope"));

    // Delete is a Location LRO; the job is gone afterwards.
    let (s, headers, _) = t
        .send(reqwest::Method::DELETE, &t.arm("/jobs/job-bad"), None)
        .await;
    assert_eq!(s, 202);
    let location = headers.get("location").unwrap().to_str().unwrap().to_owned();
    assert_eq!(t.wait_location(&location).await, 200);
    let (s, _) = t.get(&t.arm("/jobs/job-bad")).await;
    assert_eq!(s, 404);
    let (s, _, _) = t
        .send(reqwest::Method::DELETE, &t.arm("/jobs/job-bad"), None)
        .await;
    assert_eq!(s, 204);
    t.ws.shutdown().await.unwrap();
}

const SLEEPER: &str = r#"
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(os.path.join(os.environ["PIDS"], "pids"), "w").write("%d %d" % (os.getpid(), child.pid))
print("started", flush=True)
time.sleep(600)
"#;

fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// `code: ./train.py` as the SDK uploads it: the file at the root of the pending-upload container and `codeUri` =
/// `{blobUri}/`. The job's working folder holds the file itself, so `python train.py` runs.
#[tokio::test]
async fn single_file_code_at_the_container_root_runs_as_the_working_folder() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t
        .upload_code_in(
            "one-file",
            "",
            &[("train.py", "import os\nprint('ran', sorted(os.listdir('.')))\n")],
        )
        .await;
    let (_, version) = t.get(&t.arm("/codes/one-file/versions/1")).await;
    assert!(
        version["properties"]["codeUri"]
            .as_str()
            .is_some_and(|u| u.ends_with('/')),
        "{version}"
    );
    let (s, job) = t
        .command_job("job-one-file", &code, "python train.py", json!({}), json!({}))
        .await;
    assert_eq!(s, 201, "{job}");
    let done = t.wait_job("job-one-file").await;
    let (_, details) = t.get(&t.history("/runs/job-one-file/details")).await;
    assert_eq!(done["properties"]["status"], "Completed", "{details}");
    let log_url = details["logFiles"]["user_logs/std_log.txt"]
        .as_str()
        .expect("std log listed");
    let log = t.http.get(log_url).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("ran ['train.py']"), "{log}");
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn cancel_kills_the_process_tree_and_ends_canceled() {
    let dir = tempfile::tempdir().unwrap();
    let pids_dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t.upload_code("sleeper", &[("sleep.py", SLEEPER)]).await;
    let pid_file = pids_dir.path().join("pids");
    let made = std::process::Command::new("mkfifo")
        .arg(&pid_file)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    let (s, _, _) = t
        .put(
            &t.arm("/jobs/job-long"),
            json!({"properties": {"jobType": "Command", "codeId": code, "command": "python sleep.py",
                "environmentId": "azureml:env:1", "environmentVariables": {"PIDS": pids_dir.path()}}}),
        )
        .await;
    assert_eq!(s, 201);
    // The script writes its pids into a FIFO: reading it waits for exactly that event.
    let pids = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || std::fs::read_to_string(pid_file).unwrap()),
    )
    .await
    .expect("the job did not start")
    .unwrap();
    let (_, running) = t.get(&t.arm("/jobs/job-long")).await;
    assert_eq!(running["properties"]["status"], "Running");

    let (s, headers, _) = t.post(&t.arm("/jobs/job-long/cancel"), json!({})).await;
    assert_eq!(s, 202);
    let location = headers.get("location").unwrap().to_str().unwrap().to_owned();
    assert!(headers.get("retry-after").is_some());
    assert_eq!(t.wait_location(&location).await, 200);
    let (_, job) = t.get(&t.arm("/jobs/job-long")).await;
    assert_eq!(job["properties"]["status"], "Canceled");
    // Canceled is reported once the process group has been killed.
    for pid in pids.split_whitespace() {
        assert!(!alive(pid), "process {pid} survived the cancel");
    }
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn pipeline_runs_steps_in_dependency_order_with_outputs_wired() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t
        .upload_code(
            "pipe",
            &[
                ("prep.py", "import sys, os\nos.makedirs(sys.argv[2], exist_ok=True)\nopen(os.path.join(sys.argv[2], 'clean.txt'), 'w').write(sys.argv[1].upper())\n"),
                ("train.py", "import sys, os\ntext = open(os.path.join(sys.argv[1], 'clean.txt')).read()\nopen(os.path.join(sys.argv[2], 'model.txt'), 'w').write(text + '!')\n"),
            ],
        )
        .await;
    for (name, command, inputs, outputs) in [
        (
            "prep",
            "python prep.py ${{inputs.text}} ${{outputs.clean}}",
            json!({"text": {"type": "string"}}),
            json!({"clean": {"type": "uri_folder"}}),
        ),
        (
            "train",
            "python train.py ${{inputs.data}} ${{outputs.model}}",
            json!({"data": {"type": "uri_folder"}}),
            json!({"model": {"type": "uri_folder"}}),
        ),
    ] {
        let (s, _, v) = t
            .put(
                &t.arm(&format!("/components/{name}/versions/1")),
                json!({"properties": {"componentSpec": {"name": name, "version": "1", "type": "command", "command": command,
                    "code": code, "environment": "azureml:env:1", "inputs": inputs, "outputs": outputs}}}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let comp = |n: &str| format!("{}/components/{n}/versions/1", t.ws.workspace_scope());
    // "a_train" sorts before "b_prep" but depends on it.
    let (s, _, v) = t
        .put(
            &t.arm("/jobs/pipe-1"),
            json!({"properties": {
                "jobType": "Pipeline",
                "inputs": {"greeting": {"jobInputType": "literal", "value": "hello"}},
                "outputs": {"final": {"jobOutputType": "uri_folder"}},
                "jobs": {
                    "a_train": {"type": "command", "componentId": comp("train"),
                        "inputs": {"data": {"job_input_type": "uri_folder", "uri": "${{parent.jobs.b_prep.outputs.clean}}"}},
                        "outputs": {"model": {"type": "literal", "value": "${{parent.outputs.final}}"}}},
                    "b_prep": {"type": "command", "componentId": comp("prep"),
                        "inputs": {"text": {"job_input_type": "literal", "value": "${{parent.inputs.greeting}}"}}},
                },
            }}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let done = t.wait_job("pipe-1").await;
    let (_, details) = t.get(&t.history("/runs/pipe-1/details")).await;
    assert_eq!(done["properties"]["status"], "Completed", "{details}");
    let (_, children) = t.get(&t.history("/runs/pipe-1/children")).await;
    let children = children["value"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    assert!(
        children
            .iter()
            .all(|c| c["status"] == "Completed" && c["parentRunId"] == "pipe-1")
    );
    let (_, train) = t.get(&t.arm("/jobs/pipe-1_a_train")).await;
    assert_eq!(
        train["properties"]["inputs"]["data"]["uri"],
        "azureml://jobs/pipe-1_b_prep/outputs/clean"
    );
    assert_eq!(
        done["properties"]["outputs"]["final"]["uri"],
        "azureml://jobs/pipe-1_a_train/outputs/model"
    );
    let model = t
        .http
        .get(
            t.datastore_blob_url("azureml/pipe-1_a_train/model/model.txt")
                .await,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(model.text().await.unwrap(), "HELLO!");
    // Top-level listing shows the pipeline, not its steps.
    let (_, list) = t.get(&t.arm("/jobs")).await;
    let names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["pipe-1"]);
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_job_over_its_time_limit_is_stopped_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t
        .upload_code(
            "slow",
            &[(
                "slow.py",
                "import time\nprint('sleeping', flush=True)\ntime.sleep(600)\n",
            )],
        )
        .await;
    let (s, _, v) = t
        .put(
            &t.arm("/jobs/job-slow"),
            json!({"properties": {"jobType": "Command", "codeId": code, "command": "python slow.py",
                "environmentId": "azureml:env:1", "limits": {"jobLimitsType": "Command", "timeout": "PT0.5S"}}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let done = t.wait_job("job-slow").await;
    assert_eq!(done["properties"]["status"], "Failed");
    let (_, details) = t.get(&t.history("/runs/job-slow/details")).await;
    assert_eq!(details["error"]["error"]["code"], "JobTimeout");
    t.ws.shutdown().await.unwrap();
}
