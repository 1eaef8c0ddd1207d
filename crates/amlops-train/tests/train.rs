//! The train binary against a fake Azure ML workspace (wiremock), run as the agent would run it.

use crate::common::*;
use amlops_testkit::TaskResult;

fn happy_scenario() -> Scenario {
    let mut s = Scenario::statuses(&["Queued", "Running", "Running", "Running", "Running", "Completed"]);
    s.chunks = vec![
        "epoch 1 loss 0.50\nepoch 2 lo".into(),
        "ss 0.40\nepoch 3 loss 0.30\n".into(),
        "saved model\nfinal line without newline".into(),
    ];
    s.metrics = vec![("accuracy".into(), 0.91), ("val/f1-score".into(), 0.8)];
    s
}

const HAPPY_LINES: [&str; 5] = [
    "epoch 1 loss 0.50",
    "epoch 2 loss 0.40",
    "epoch 3 loss 0.30",
    "saved model",
    "final line without newline",
];

#[test]
fn happy_path_streams_every_line_once_in_order_and_publishes_outputs() {
    let (_rt, _server, fake) = start();
    fake.set_scenario(happy_scenario());
    let run = agent(&fake, COMMAND_JOB).run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert_eq!(run.exit_code, Some(0));

    let lines = run.log_lines();
    assert_eq!(picked(&lines, &HAPPY_LINES), HAPPY_LINES, "{}", run.stdout);
    // Status changes printed once each.
    let running: Vec<_> = lines.iter().filter(|l| l.ends_with("status: Running")).collect();
    assert_eq!(running.len(), 1, "{}", run.stdout);
    assert!(lines.iter().any(|l| l.ends_with("status: Completed")));

    let st = fake.lock();
    assert_eq!(st.job_puts.len(), 1);
    let name = st.job_puts[0].clone();
    assert!(name.starts_with("churn-train-1234-azuremltrain1-"), "{name}");
    // Governance tags merged into the YAML's own.
    let body = &st.puts.last().unwrap().1;
    let tags = &body["properties"]["tags"];
    assert_eq!(tags["team"], "churn");
    assert_eq!(tags["amlops.buildId"], "1234");
    assert_eq!(tags["amlops.commit"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(tags["amlops.branch"], "main");
    assert_eq!(tags["amlops.repository"], "contoso/churn-model");
    assert_eq!(tags["amlops.requestedFor"], "Ada Lovelace");
    assert_eq!(tags["amlops.buildReason"], "IndividualCI");
    assert_eq!(tags["amlops.pipeline"], "churn-train");
    assert_eq!(
        tags["amlops.runUrl"],
        "https://dev.azure.com/contoso/mlops/_build/results?buildId=1234"
    );
    drop(st);

    assert_eq!(run.output("jobName"), name);
    assert_eq!(run.output("jobStatus"), "Completed");
    assert!(
        run.output("studioUrl")
            .starts_with(&format!("https://ml.azure.com/runs/{name}?wsid=")),
        "{}",
        run.output("studioUrl")
    );
    assert_eq!(run.output("metric_accuracy"), "0.91");
    assert_eq!(run.output("metric_val_f1_score"), "0.8");
    let summary = run.summaries();
    assert!(summary.contains("Completed"), "{summary}");
    assert!(summary.contains("| accuracy | 0.91 |"), "{summary}");
    assert!(summary.contains("| Compute | cpu-cluster |"), "{summary}");
    assert!(summary.contains("| Duration | 2m 05s |"), "{summary}");
}

#[test]
fn failed_job_fails_the_task_with_its_error_and_link() {
    let (_rt, _server, fake) = start();
    let mut s = Scenario::statuses(&["Running", "Failed"]);
    s.chunks = vec!["Traceback (most recent call last):\nValueError: bad column\n".into()];
    s.error = Some("Execution failed. User process 'python' exited with status code 1.".into());
    fake.set_scenario(s);
    let run = agent(&fake, COMMAND_JOB).run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    assert_eq!(run.exit_code, Some(1));
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let name = fake.lock().job_puts[0].clone();
    assert!(
        errors[0].contains("ended Failed")
            && errors[0].contains("exited with status code 1")
            && errors[0].contains(&format!("https://ml.azure.com/runs/{name}")),
        "{}",
        errors[0]
    );
    assert_eq!(run.output("jobStatus"), "Failed");
    assert!(run.log_lines().contains(&"ValueError: bad column"));
}

#[cfg(unix)]
#[test]
fn sigint_requests_the_jobs_cancellation_and_exits_non_zero() {
    let (_rt, _server, fake) = start();
    fake.set_scenario(Scenario::statuses(&["Running"]));
    let agent = agent(&fake, COMMAND_JOB);
    let mut running = agent.start();
    // The task prints each status once; Running means it is waiting on the job.
    running.wait_for_line(
        |l| l.contains("status: Running"),
        std::time::Duration::from_secs(60),
    );
    let signalled = std::time::Instant::now();
    amlops_testkit::send_sigint(running.child());
    let run = running.finish();
    let st = fake.lock();
    assert_eq!(st.cancels.len(), 1, "{}", run.stdout);
    let (cancelled, at) = &st.cancels[0];
    assert_eq!(cancelled, &st.job_puts[0]);
    assert!(
        at.duration_since(signalled) < std::time::Duration::from_secs(2),
        "cancel request after {:?}",
        at.duration_since(signalled)
    );
    assert_ne!(run.exit_code, Some(0));
    assert_eq!(run.agent_result(), TaskResult::Canceled, "{}", run.stdout);
    assert!(
        run.stdout.contains("Job '") && run.stdout.contains("status: Canceled"),
        "{}",
        run.stdout
    );
}

#[test]
fn rerun_reattaches_to_the_running_job_without_a_second_put() {
    let (_rt, _server, fake) = start();
    fake.set_scenario(happy_scenario());
    let first = agent(&fake, COMMAND_JOB).input("wait", "false").run();
    assert_eq!(first.agent_result(), TaskResult::Succeeded, "{}", first.stdout);
    let name = first.output("jobName");
    assert_eq!(first.output("jobStatus"), "NotStarted");
    // The stage is re-run (attempt 2): same run, same step.
    let second = agent(&fake, COMMAND_JOB).variable("System.JobAttempt", "2").run();
    assert_eq!(second.agent_result(), TaskResult::Succeeded, "{}", second.stdout);
    assert_eq!(second.output("jobName"), name);
    assert_eq!(second.output("jobStatus"), "Completed");
    assert!(
        second.stdout.contains("Re-attaching to the job"),
        "{}",
        second.stdout
    );
    assert_eq!(fake.lock().job_puts, vec![name]);
    assert_eq!(picked(&second.log_lines(), &HAPPY_LINES), HAPPY_LINES);
}

#[test]
fn rerun_after_a_failed_job_submits_under_a_new_name() {
    let (_rt, _server, fake) = start();
    let mut failing = Scenario::statuses(&["Failed"]);
    failing.error = Some("out of memory".into());
    fake.set_scenario(failing);
    let first = agent(&fake, COMMAND_JOB).run();
    assert_eq!(first.agent_result(), TaskResult::Failed);
    let name = first.output("jobName");

    fake.set_scenario(happy_scenario());
    let second = agent(&fake, COMMAND_JOB).variable("System.JobAttempt", "2").run();
    assert_eq!(second.agent_result(), TaskResult::Succeeded, "{}", second.stdout);
    assert_eq!(second.output("jobName"), format!("{name}-retry2"));
    assert_eq!(fake.lock().job_puts, vec![name.clone(), format!("{name}-retry2")]);

    // A third attempt finds the completed resubmission and reports it.
    let third = agent(&fake, COMMAND_JOB).variable("System.JobAttempt", "3").run();
    assert_eq!(third.agent_result(), TaskResult::Succeeded, "{}", third.stdout);
    assert_eq!(third.output("jobName"), format!("{name}-retry2"));
    assert_eq!(fake.lock().job_puts.len(), 2);
}

#[test]
fn pipeline_job_streams_each_steps_logs_in_a_group_and_publishes_step_metrics() {
    let (_rt, _server, fake) = start();
    let mut s = Scenario::statuses(&["Running", "Running", "Completed"]);
    s.children = vec![
        ChildSpec {
            id: "child-prep".into(),
            name: "prep".into(),
            log: "prep: reading data\nprep: 1000 rows\n".into(),
            metrics: vec![("rows".into(), 1000.0)],
        },
        ChildSpec {
            id: "child-train".into(),
            name: "train".into(),
            log: "train: fitting\ntrain: done\n".into(),
            metrics: vec![("accuracy".into(), 0.875)],
        },
    ];
    fake.set_scenario(s);
    let run = agent(&fake, PIPELINE_JOB).run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    let st = fake.lock();
    let job_body = &st.puts.last().unwrap().1;
    assert_eq!(job_body["properties"]["jobType"], "Pipeline");
    drop(st);

    let out: Vec<&str> = run.stdout.lines().collect();
    let at = |needle: &str| {
        out.iter()
            .position(|l| *l == needle)
            .unwrap_or_else(|| panic!("no line '{needle}' in:\n{}", run.stdout))
    };
    let prep = at("##[group]Step prep");
    let train = at("##[group]Step train");
    assert!(prep < at("prep: reading data") && at("prep: 1000 rows") < train);
    assert!(train < at("train: fitting") && at("train: done") < out.len());
    assert_eq!(out.iter().filter(|l| **l == "train: done").count(), 1);
    assert_eq!(run.output("metric_accuracy"), "0.875");
    assert_eq!(run.output("metric_rows"), "1000");
    let summary = run.summaries();
    assert!(summary.contains("#### Pipeline steps"), "{summary}");
    assert!(summary.contains("| prep | ✅ Completed | 1m 00s |"), "{summary}");
    assert!(summary.contains("| train | accuracy | 0.875 |"), "{summary}");
}

#[test]
fn a_429_storm_in_the_middle_of_the_wait_is_ridden_out() {
    let (_rt, _server, fake) = start();
    let mut s = happy_scenario();
    // More throttled answers in a row than one call's retry budget.
    s.throttle = Some((3, 9));
    fake.set_scenario(s);
    let run = agent(&fake, COMMAND_JOB).run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert_eq!(fake.lock().throttled, 9);
    assert_eq!(run.output("jobStatus"), "Completed");
    assert_eq!(picked(&run.log_lines(), &HAPPY_LINES), HAPPY_LINES);
}

#[test]
fn a_token_refresh_in_the_middle_of_the_wait_is_transparent() {
    let (_rt, _server, fake) = start();
    fake.lock().token_lifetime_s = 1;
    let mut s = happy_scenario();
    s.statuses = std::iter::repeat_n("Running".to_string(), 60)
        .chain(["Completed".to_string()])
        .collect();
    fake.set_scenario(s);
    let run = agent(&fake, COMMAND_JOB).run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    let st = fake.lock();
    assert!(st.tokens_issued >= 2, "{} tokens", st.tokens_issued);
    let distinct: std::collections::BTreeSet<_> = st.bearers_on_job_gets.iter().collect();
    assert!(distinct.len() >= 2, "{distinct:?}");
    assert_eq!(st.unauthenticated, 0);
    // Every token was registered as a secret.
    for token in distinct {
        assert!(run.registered_secrets().contains(&token.as_str()), "{token}");
    }
}

#[test]
fn wait_false_returns_at_once_with_the_job_name() {
    let (_rt, _server, fake) = start();
    fake.set_scenario(Scenario::statuses(&["Running"]));
    let run = agent(&fake, COMMAND_JOB)
        .input("wait", "false")
        .input("jobName", "my-job-7")
        .input("experimentName", "exp-override")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert_eq!(run.output("jobName"), "my-job-7");
    let st = fake.lock();
    assert_eq!(st.job_puts, vec!["my-job-7".to_string()]);
    assert_eq!(
        st.puts.last().unwrap().1["properties"]["experimentName"],
        "exp-override"
    );
    assert_eq!(st.jobs["my-job-7"].gets, 0);
}

#[test]
fn an_invalid_job_yaml_fails_before_any_request() {
    let (_rt, _server, fake) = start();
    let run = agent(&fake, "command: [unclosed\n").run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    assert!(run.errors()[0].contains("job YAML"), "{:?}", run.errors());
    assert!(fake.lock().job_puts.is_empty());
}

#[test]
fn local_code_is_uploaded_once_and_referenced_by_the_job() {
    let (_rt, _server, fake) = start();
    fake.set_scenario(Scenario::statuses(&["Completed"]));
    let yaml = format!("code: ./src\n{COMMAND_JOB}");
    let with_code = |build: &str| {
        let run = agent(&fake, &yaml).variable("Build.BuildId", build);
        let src = run.temp_dir().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("train.py"), "print('training')\n").unwrap();
        std::fs::write(src.join("util.py"), "X = 1\n").unwrap();
        run
    };
    let first = with_code("1234").run();
    assert_eq!(first.agent_result(), TaskResult::Succeeded, "{}", first.stdout);
    let blobs = fake.lock().blobs.clone();
    assert_eq!(blobs.len(), 2, "{blobs:?}");
    assert!(
        blobs.iter().all(|b| b.starts_with("/store/acct/code-container/")),
        "{blobs:?}"
    );
    let code_id = {
        let st = fake.lock();
        let body = &st.puts.last().unwrap().1;
        body["properties"]["codeId"].as_str().unwrap().to_string()
    };
    assert!(code_id.contains("/codes/amlops-code-src/versions/"), "{code_id}");
    assert!(fake.lock().codes.keys().any(|k| *k == code_id), "{code_id}");

    // Another run with the same code: found by its content hash, nothing uploaded.
    let second = with_code("1235").run();
    assert_eq!(second.agent_result(), TaskResult::Succeeded, "{}", second.stdout);
    let st = fake.lock();
    assert_eq!(st.blobs.len(), 2, "{:?}", st.blobs);
    assert_eq!(st.job_puts.len(), 2);
    assert_eq!(
        st.puts.last().unwrap().1["properties"]["codeId"],
        code_id.as_str()
    );
}

#[test]
fn stream_logs_false_prints_no_job_log() {
    let (_rt, _server, fake) = start();
    fake.set_scenario(happy_scenario());
    let run = agent(&fake, COMMAND_JOB).input("streamLogs", "false").run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert!(
        picked(&run.log_lines(), &HAPPY_LINES).is_empty(),
        "{}",
        run.stdout
    );
    assert_eq!(run.output("metric_accuracy"), "0.91");
}

#[test]
fn lifecycle_events_reach_the_webhook() {
    let (_rt, _server, fake) = start();
    let mut s = Scenario::statuses(&["Running", "Failed"]);
    s.error = Some("disk full".into());
    fake.set_scenario(s);
    let run = agent(&fake, COMMAND_JOB)
        .input("notify", format!("webhook:{}/hook", fake.uri))
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    let st = fake.lock();
    assert_eq!(st.hooks.len(), 1, "{}", run.stdout);
    let event = &st.hooks[0];
    assert_eq!(event["type"], "com.amlops.job.failed");
    assert_eq!(event["subject"], st.job_puts[0].as_str());
}

/// A pipeline step whose component has `additional_includes`.
const PIPELINE_WITH_INCLUDES: &str = "\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
experiment_name: churn
settings:
  default_compute: azureml:cpu-cluster
jobs:
  train:
    type: command
    component: ./comp/train.yml
";

const COMPONENT_WITH_INCLUDES: &str = "\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train_comp
type: command
code: ./src
environment: azureml:sklearn-env:1
command: python train.py
additional_includes:
  - ../common/utils
  - ../config.json
";

#[test]
fn additional_includes_are_in_the_uploaded_snapshot_that_render_hashes() {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    struct Hashes;
    impl amlops_spec::UploadHashes for Hashes {
        fn content_hash(&self, root: &Path, includes: &[PathBuf]) -> Result<String, String> {
            amlops_azureml::upload::content_hash_with_includes(root, includes).map_err(|e| e.to_string())
        }
        fn object_hash(&self, root: &Path) -> Result<String, String> {
            amlops_azureml::upload::object_hash(root).map_err(|e| e.to_string())
        }
    }

    let (_rt, _server, fake) = start();
    fake.set_scenario(Scenario::statuses(&["Completed"]));
    let run = agent(&fake, PIPELINE_WITH_INCLUDES);
    let dir = run.temp_dir().to_path_buf();
    for (rel, text) in [
        ("comp/train.yml", COMPONENT_WITH_INCLUDES),
        ("comp/src/train.py", "from utils import helpers\n"),
        ("comp/src/.amlignore", "*.log\n"),
        ("comp/src/debug.log", "noise"),
        ("common/utils/helpers.py", "def f():\n    return 1\n"),
        ("common/utils/.gitignore", "__pycache__/\n"),
        ("common/utils/__pycache__/helpers.pyc", "cached"),
        ("config.json", "{\"lr\": 0.1}"),
    ] {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let done = run.run();
    assert_eq!(done.agent_result(), TaskResult::Succeeded, "{}", done.stdout);

    let prefix = "/store/acct/code-container/code_with_additional_includes/";
    let st = fake.lock();
    let uploaded: BTreeMap<&str, &[u8]> = st
        .blob_bodies
        .iter()
        .map(|(p, b)| (p.strip_prefix(prefix).unwrap_or(p.as_str()), b.as_slice()))
        .collect();
    let expected: BTreeMap<&str, &[u8]> = [
        (".amlignore", &b"*.log\n"[..]),
        ("config.json", b"{\"lr\": 0.1}"),
        ("train.py", b"from utils import helpers\n"),
        ("utils/.gitignore", b"__pycache__/\n"),
        ("utils/helpers.py", b"def f():\n    return 1\n"),
    ]
    .into_iter()
    .collect();
    assert_eq!(uploaded, expected);

    // The code version the step refers to: the snapshot's folder and the hash `amlops render` computes.
    let plan = amlops_spec::plan_file(&dir.join("job.yml"), amlops_spec::PlanOptions::default()).unwrap();
    let ups = plan.uploads();
    assert_eq!(ups.len(), 1, "{ups:?}");
    assert_eq!(ups[0].additional_includes.len(), 2, "{ups:?}");
    let mut offline = amlops_spec::OfflineResolver::new(Arc::new(Hashes));
    let amlops_spec::UploadOutcome::Code { hash, code_uri, .. } =
        amlops_spec::Resolver::upload(&mut offline, &ups[0]).unwrap()
    else {
        panic!("not a code upload");
    };
    let (path, code) = st.codes.iter().next().unwrap();
    assert!(path.contains("/codes/amlops-code-src/versions/"), "{path}");
    assert_eq!(code["properties"]["properties"]["hash_sha256"], hash.as_str());
    let folder = code_uri.rsplit('/').next().unwrap();
    assert_eq!(folder, amlops_azureml::upload::ADDITIONAL_INCLUDES_FOLDER);
    assert_eq!(
        code["properties"]["codeUri"].as_str().unwrap(),
        format!("{}/store/acct/code-container/LocalUpload/u1/{folder}", fake.uri)
    );
    let step = &st.puts.last().unwrap().1["properties"]["jobs"]["train"];
    assert!(step.to_string().contains("/components/"), "{step}");
}

#[test]
fn a_missing_additional_include_fails_naming_the_yaml_and_the_path() {
    let (_rt, _server, fake) = start();
    let run = agent(&fake, PIPELINE_WITH_INCLUDES);
    let dir = run.temp_dir().to_path_buf();
    for (rel, text) in [
        ("comp/train.yml", COMPONENT_WITH_INCLUDES),
        ("comp/src/train.py", "print(1)\n"),
        ("config.json", "{}"),
    ] {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let done = run.run();
    assert_eq!(done.agent_result(), TaskResult::Failed, "{}", done.stdout);
    let errors = done.errors().join("\n");
    assert!(errors.contains("train.yml"), "{errors}");
    assert!(errors.contains("../common/utils"), "{errors}");
    let st = fake.lock();
    assert!(st.blobs.is_empty(), "{:?}", st.blobs);
    assert!(st.job_puts.is_empty());
}
