//! Issue 22 through the real train binary, run as the agent would run it against the wiremock workspace: a code
//! folder's links never upload what they point at, and a workspace that names another host for its data plane
//! or its MLflow gets nothing sent there.

use crate::common::*;
use amlops_testkit::TaskResult;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[cfg(unix)]
#[test]
fn links_in_the_code_folder_upload_nothing_they_point_at() {
    use std::os::unix::fs::symlink;
    let (_rt, _server, fake) = start();
    fake.set_scenario(Scenario::statuses(&["Completed"]));
    let run = agent(&fake, &format!("code: ./src\n{COMMAND_JOB}"));
    let dir = run.temp_dir().to_path_buf();
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("lib")).unwrap();
    std::fs::write(src.join("train.py"), "print('training')\n").unwrap();
    std::fs::write(src.join("lib/util.py"), "X = 1\n").unwrap();
    std::fs::write(dir.join("outside.txt"), "OUTSIDE-THE-CODE-FOLDER").unwrap();
    // The agent's environment (the service principal's key is in it), a file outside, the folder's own parent,
    // and a folder linking back to itself.
    symlink("/proc/self/environ", src.join("environ")).unwrap();
    symlink(dir.join("outside.txt"), src.join("notes.txt")).unwrap();
    symlink("..", src.join("parent")).unwrap();
    symlink(".", src.join("lib/again")).unwrap();
    std::fs::create_dir_all(src.join(".git")).unwrap();
    std::fs::write(
        src.join(".git/config"),
        "extraheader = AUTHORIZATION: bearer GIT-TOKEN",
    )
    .unwrap();

    let result = run.run();
    assert_eq!(result.agent_result(), TaskResult::Succeeded, "{}", result.stdout);
    let st = fake.lock();
    let mut names: Vec<String> = st
        .blobs
        .iter()
        .map(|b| b.rsplit_once("/src/").map_or(b.as_str(), |(_, n)| n).to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["lib/util.py", "train.py"], "{:?}", st.blobs);
    for (blob, body) in &st.blob_bodies {
        let text = String::from_utf8_lossy(body);
        for secret in [KEY, "OUTSIDE-THE-CODE-FOLDER", "ENDPOINT_AUTH", "GIT-TOKEN"] {
            assert!(!text.contains(secret), "{secret} uploaded in {blob}");
        }
    }
    // Each skipped link is named in a warning.
    for link in ["environ", "notes.txt", "parent", "again"] {
        assert!(
            result
                .log_lines()
                .iter()
                .any(|l| l.starts_with("##[warning]") && l.contains(&format!("{link}'"))),
            "no warning names {link}:\n{}",
            result.stdout
        );
    }
    result.assert_no_secret_leaked(&[KEY.to_string()]);
}

#[test]
fn code_outside_the_repository_is_refused_unless_allowed() {
    let (_rt, _server, fake) = start();
    fake.set_scenario(Scenario::statuses(&["Completed"]));
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("train.py"), "print(1)\n").unwrap();
    let yaml = format!("code: {}\n{COMMAND_JOB}", elsewhere.path().display());
    let repo = tempfile::tempdir().unwrap();
    let refused = agent(&fake, &yaml)
        .env("BUILD_SOURCESDIRECTORY", repo.path().to_string_lossy())
        .run();
    assert_eq!(refused.agent_result(), TaskResult::Failed, "{}", refused.stdout);
    let errors = refused.errors().join("\n");
    assert!(errors.contains("outside the repository"), "{errors}");
    assert!(errors.contains("allowPathsOutsideRepository"), "{errors}");
    assert!(fake.lock().blobs.is_empty());
    assert!(fake.lock().job_puts.is_empty());

    let allowed = agent(&fake, &yaml)
        .env("BUILD_SOURCESDIRECTORY", repo.path().to_string_lossy())
        .input("allowPathsOutsideRepository", "true")
        .run();
    assert_eq!(
        allowed.agent_result(),
        TaskResult::Succeeded,
        "{}",
        allowed.stdout
    );
    assert_eq!(fake.lock().blobs.len(), 1);
}

/// The workspace as the fake serves it, with one property pointing at `foreign`.
fn workspace_naming(fake: &Fake, foreign: &MockServer, property: &str) -> serde_json::Value {
    let ws = ws_path();
    let mut props = json!({
        "discoveryUrl": format!("{}/discovery", fake.uri),
        "mlFlowTrackingUri": format!("{}/mlflow/v1.0{ws}", fake.uri),
    });
    props[property] = match property {
        "discoveryUrl" => json!(format!("{}/discovery", foreign.uri())),
        _ => json!(format!("{}/mlflow/v1.0{ws}", foreign.uri())),
    };
    json!({"name": WS_NAME, "properties": props})
}

#[test]
fn a_workspace_naming_another_host_gets_no_token_sent_there() {
    for property in ["discoveryUrl", "mlFlowTrackingUri"] {
        let (rt, server, fake) = start();
        let foreign = rt.block_on(MockServer::start());
        let mut scenario = Scenario::statuses(&["Running", "Completed"]);
        scenario.chunks = vec!["epoch 1\n".into()];
        scenario.metrics = vec![("accuracy".into(), 0.9)];
        fake.set_scenario(scenario);
        rt.block_on(
            Mock::given(method("GET"))
                .and(path(ws_path()))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(workspace_naming(&fake, &foreign, property)),
                )
                .with_priority(1)
                .mount(&server),
        );
        let run = agent(&fake, COMMAND_JOB).run();
        let got = rt.block_on(foreign.received_requests()).unwrap_or_default();
        assert!(
            got.is_empty(),
            "{property}: the foreign host got {} requests",
            got.len()
        );
        let foreign_host = foreign.uri().trim_start_matches("http://").to_string();
        let named = run
            .stdout
            .lines()
            .any(|l| l.contains(&foreign_host) && l.contains(property));
        assert!(
            named,
            "{property}: no message names {foreign_host}:\n{}",
            run.stdout
        );
        assert!(
            fake.lock().job_puts.len() == 1,
            "{property}: the job was still submitted to ARM"
        );
    }
}

#[test]
fn a_bare_carriage_return_in_job_logs_forges_no_decoration() {
    let (_rt, _server, fake) = start();
    let mut scenario = Scenario::statuses(&["Running", "Completed"]);
    scenario.chunks = vec![
        "progress 10%\r##[error]forged failure\r##[group]forged group\n".into(),
        "done\r##vso[task.complete result=Failed;]forged\n".into(),
    ];
    fake.set_scenario(scenario);
    let run = agent(&fake, COMMAND_JOB).run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    for raw in run.stdout.split(['\n', '\r']) {
        for forged in [
            "##[error]forged",
            "##[group]forged",
            "##vso[task.complete result=Failed;]forged",
        ] {
            assert!(
                !raw.trim_start().starts_with(forged),
                "{raw:?} in\n{}",
                run.stdout
            );
        }
    }
    assert!(run.stdout.lines().any(|l| l == "progress 10%"), "{}", run.stdout);
}

#[test]
fn a_datastore_naming_a_foreign_blob_endpoint_gets_no_sas_there() {
    let (rt, server, fake) = start();
    let foreign = rt.block_on(MockServer::start());
    fake.set_scenario(Scenario::statuses(&["Completed"]));
    let ws = ws_path();
    // Blobs of the connection's own address land under /store/ on the fake (account `store`, container `acct`).
    rt.block_on(async {
        Mock::given(method("GET"))
            .and(path(format!("{ws}/datastores")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
                "name": "workspaceblobstore",
                "properties": {"datastoreType": "AzureBlob", "accountName": "store", "containerName": "acct",
                    "isDefault": true, "credentials": {"credentialsType": "AccountKey"},
                    "properties": {"blobEndpoint": format!("{}/store", foreign.uri())}}}]})))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{ws}/datastores/workspaceblobstore/listSecrets")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"secretsType": "Sas", "sasToken": format!("sv=1&sig={SAS_SIG}")})),
            )
            .with_priority(1)
            .mount(&server)
            .await;
    });
    let yaml = format!("{COMMAND_JOB}inputs:\n  training:\n    type: uri_folder\n    path: ./data\n");
    let run = agent(&fake, &yaml);
    std::fs::create_dir_all(run.temp_dir().join("data")).unwrap();
    std::fs::write(run.temp_dir().join("data/train.csv"), "a,b\n1,2\n").unwrap();
    let result = run.run();
    assert_eq!(result.agent_result(), TaskResult::Succeeded, "{}", result.stdout);
    let got = rt.block_on(foreign.received_requests()).unwrap_or_default();
    assert!(
        got.is_empty(),
        "the foreign blob endpoint got {} requests",
        got.len()
    );
    let st = fake.lock();
    assert!(
        st.blobs
            .iter()
            .any(|b| b.starts_with("/store/acct/LocalUpload/") && b.ends_with("/data/train.csv")),
        "{:?}",
        st.blobs
    );
}
