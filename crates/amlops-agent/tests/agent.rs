//! Inputs, service connections, the writer, outcomes.

use amlops_agent::command::parse_command;
use amlops_agent::{
    AgentError, AzureAuth, AzureEnvironment, Canceled, Inputs, Issue, Output, PipelineContext, TaskContext,
    TaskEnv, TaskResult, VariableOptions, finish,
};

const ID: &str = "3F1B2C4D-0000-4000-8000-00000000ABCD";

fn conn_env(scheme: &str, params: &[(&str, &str)]) -> Vec<(String, String)> {
    let id = ID.to_ascii_lowercase();
    let mut v = vec![
        ("INPUT_AZURESUBSCRIPTION".to_string(), ID.to_string()),
        (
            format!("ENDPOINT_URL_{id}"),
            "https://management.azure.com/".to_string(),
        ),
        (format!("ENDPOINT_AUTH_SCHEME_{id}"), scheme.to_string()),
        (format!("ENDPOINT_DATA_{id}_SUBSCRIPTIONID"), "sub-1".to_string()),
        (
            format!("ENDPOINT_DATA_{id}_ENVIRONMENT"),
            "AzureUSGovernment".to_string(),
        ),
    ];
    for (k, val) in params {
        v.push((
            format!("ENDPOINT_AUTH_PARAMETER_{id}_{}", k.to_ascii_uppercase()),
            val.to_string(),
        ));
    }
    v
}

fn ctx(pairs: Vec<(String, String)>) -> (TaskContext, amlops_agent::CaptureBuffer) {
    let (output, buffer) = Output::capture(false);
    (
        TaskContext::new(TaskEnv::from_map(pairs), output, Default::default()),
        buffer,
    )
}

#[test]
fn missing_required_input_names_it() {
    let env = TaskEnv::from_map([("INPUT_OTHER", "x")]);
    let err = Inputs::new(&env).required_string("jobFile").unwrap_err();
    assert!(matches!(&err, AgentError::MissingInput { name } if name == "jobFile"));
    assert!(err.to_string().contains("'jobFile'"));
}

#[test]
fn typed_inputs() {
    let env = TaskEnv::from_map([
        ("INPUT_TIMEOUTMINUTES", " 30 "),
        ("INPUT_BAD", "ten"),
        ("INPUT_STRATEGY", "BLUEGREEN"),
        ("INPUT_TAGS", "a=1\r\n\n# comment\nb = two=2\n"),
        ("INPUT_BROKEN", "novalue"),
    ]);
    let i = Inputs::new(&env);
    assert_eq!(i.int_or("timeoutMinutes", 0, 0, 1000).unwrap(), 30);
    assert_eq!(i.int_or("missing", 7, 0, 10).unwrap(), 7);
    let err = i.int_or("bad", 0, 0, 10).unwrap_err().to_string();
    assert!(err.contains("'bad'") && err.contains("ten"), "{err}");
    assert_eq!(
        i.pick_list("strategy", &["replace", "blueGreen", "canary"], "blueGreen")
            .unwrap(),
        "blueGreen"
    );
    assert!(i.pick_list("strategy", &["replace"], "replace").is_err());
    assert_eq!(
        i.key_values("tags").unwrap(),
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "two=2".to_string())
        ]
    );
    assert!(
        i.key_values("broken")
            .unwrap_err()
            .to_string()
            .contains("novalue")
    );
}

#[test]
fn empty_file_path_arrives_as_repo_root_and_means_not_given() {
    let env = TaskEnv::from_map([
        ("BUILD_SOURCESDIRECTORY", "/agent/_work/1/s"),
        ("SYSTEM_DEFAULTWORKINGDIRECTORY", "/agent/_work/1/s"),
        ("INPUT_JOBFILE", "/agent/_work/1/s/"),
        ("INPUT_REL", "ml/job.yml"),
    ]);
    let i = Inputs::new(&env);
    assert_eq!(i.file_path("jobFile"), None);
    assert_eq!(
        i.file_path("rel").unwrap(),
        std::path::PathBuf::from("/agent/_work/1/s/ml/job.yml")
    );
}

#[test]
fn workload_identity_connection_matched_case_insensitively() {
    let (ctx, buffer) = ctx(conn_env(
        "workloadidentityfederation",
        &[("tenantid", "t-1"), ("serviceprincipalid", "c-1")],
    ));
    let conn = ctx.azure_rm_connection("azureSubscription").unwrap();
    assert_eq!(conn.subscription_id.as_deref(), Some("sub-1"));
    assert_eq!(conn.environment, AzureEnvironment::AzureUsGovernment);
    assert_eq!(conn.authority, "https://login.microsoftonline.us/");
    assert_eq!(
        conn.auth,
        AzureAuth::WorkloadIdentityFederation {
            tenant_id: "t-1".into(),
            client_id: "c-1".into(),
            id_token: None
        }
    );
    assert!(!buffer.text().contains("t-1"));
}

#[test]
fn service_principal_secret_is_registered_before_use() {
    let (ctx, buffer) = ctx(conn_env(
        "ServicePrincipal",
        &[
            ("tenantid", "t"),
            ("serviceprincipalid", "c"),
            ("authenticationType", "spnKey"),
            ("serviceprincipalkey", "s3cr3t-value"),
        ],
    ));
    let conn = ctx.azure_rm_connection("azureSubscription").unwrap();
    assert!(
        matches!(conn.auth, AzureAuth::ServicePrincipalSecret { ref secret, .. } if secret == "s3cr3t-value")
    );
    let text = buffer.text();
    assert!(text.contains("##vso[task.setsecret]s3cr3t-value"), "{text}");
    ctx.output.line("leaking s3cr3t-value here");
    assert!(buffer.text().ends_with("leaking *** here\n"));
}

#[test]
fn certificate_and_managed_identity_schemes() {
    let (ctx1, _) = ctx(conn_env(
        "ServicePrincipal",
        &[
            ("tenantid", "t"),
            ("serviceprincipalid", "c"),
            ("authenticationType", "spnCertificate"),
            ("servicePrincipalCertificate", "-----BEGIN CERT-----\nabc\n"),
        ],
    ));
    assert!(matches!(
        ctx1.azure_rm_connection("azureSubscription").unwrap().auth,
        AzureAuth::ServicePrincipalCertificate { .. }
    ));
    let mut env = conn_env("ManagedServiceIdentity", &[]);
    env.push((
        format!("ENDPOINT_DATA_{}_MSICLIENTID", ID.to_ascii_lowercase()),
        "mi-1".into(),
    ));
    let (ctx2, _) = ctx(env);
    assert_eq!(
        ctx2.azure_rm_connection("azureSubscription").unwrap().auth,
        AzureAuth::ManagedIdentity {
            client_id: Some("mi-1".into())
        }
    );
}

#[test]
fn token_scheme_carries_the_local_workspace_token_as_a_secret() {
    let (given, _) = ctx(conn_env("Token", &[("accessToken", "local-token-1")]));
    let conn = given.azure_rm_connection("azureSubscription").unwrap();
    assert_eq!(
        conn.auth,
        AzureAuth::Token {
            token: "local-token-1".into()
        }
    );
    assert_eq!(conn.secrets(), ["local-token-1"]);
    let (missing, _) = ctx(conn_env("Token", &[]));
    let err = missing
        .azure_rm_connection("azureSubscription")
        .unwrap_err()
        .to_string();
    assert!(err.contains("accessToken"), "{err}");
}

#[test]
fn unsupported_scheme_names_it_and_the_supported_ones() {
    let (ctx, _) = ctx(conn_env("UsernamePassword", &[]));
    let err = ctx
        .azure_rm_connection("azureSubscription")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("UsernamePassword") && err.contains("WorkloadIdentityFederation"),
        "{err}"
    );
}

#[test]
fn missing_connection_is_a_clear_error() {
    let (ctx, _) = ctx(vec![("INPUT_AZURESUBSCRIPTION".into(), "nope".into())]);
    let err = ctx
        .azure_rm_connection("azureSubscription")
        .unwrap_err()
        .to_string();
    assert!(err.contains("azureSubscription") && err.contains("nope"), "{err}");
}

#[test]
fn pipeline_context_and_run_url() {
    let env = TaskEnv::from_map([
        ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/contoso/"),
        ("SYSTEM_TEAMPROJECT", "ML Platform"),
        ("BUILD_BUILDID", "42"),
        ("BUILD_SOURCEBRANCH", "refs/heads/main"),
        ("SYSTEM_JOBATTEMPT", "2"),
        ("SYSTEM_DEBUG", "True"),
    ]);
    let p = PipelineContext::from_env(&env);
    assert_eq!(
        p.run_url().unwrap(),
        "https://dev.azure.com/contoso/ML%20Platform/_build/results?buildId=42"
    );
    assert_eq!(p.branch_short(), Some("main"));
    assert_eq!(p.job_attempt, Some(2));
    assert!(p.debug);
}

#[test]
fn plain_text_cannot_inject_commands() {
    let (out, buffer) = Output::capture(false);
    out.line("user log ##vso[task.setvariable variable=x]pwned\n##[error]fake\nok");
    out.error("##vso[task.complete result=Succeeded]");
    let text = buffer.text();
    for line in text.lines() {
        assert!(parse_command(line, true).is_none(), "{line}");
    }
    assert_eq!(text.lines().count(), 4);
    assert!(text.lines().nth(1).unwrap().starts_with("#\u{2060}#[error]"));
    assert!(text.lines().nth(3).unwrap().starts_with("##[error]"));
}

#[test]
fn variables_issues_and_commands() {
    let (out, buffer) = Output::capture(false);
    out.set_variable("jobName", "j1", VariableOptions::OUTPUT)
        .unwrap();
    out.set_variable(
        "token",
        "tok-123456",
        VariableOptions {
            secret: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        out.set_variable(
            "multi",
            "a\nb",
            VariableOptions {
                secret: true,
                ..Default::default()
            }
        )
        .is_err()
    );
    out.log_issue(&Issue::error("bad field").at("job.yml", Some(3), Some(7)));
    out.upload_summary(std::path::Path::new("/tmp/s.md"));
    out.upload_artifact("audit", "amlops-audit", std::path::Path::new("/tmp/a.jsonl"));
    out.add_build_tag("model:v1");
    out.set_progress(150, "half");
    out.debug("hidden");
    let cmds: Vec<_> = buffer
        .text()
        .lines()
        .filter_map(|l| parse_command(l, true))
        .collect();
    let names: Vec<String> = cmds.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "task.setvariable",
            "task.setsecret",
            "task.setvariable",
            "task.logissue",
            "task.uploadsummary",
            "artifact.upload",
            "build.addbuildtag",
            "task.setprogress"
        ]
    );
    assert_eq!(cmds[0].property("isoutput"), Some("true"));
    assert_eq!(cmds[2].property("issecret"), Some("true"));
    assert_eq!(cmds[2].data, "tok-123456");
    assert_eq!(cmds[3].property("linenumber"), Some("3"));
    assert_eq!(cmds[3].property("sourcepath"), Some("job.yml"));
    assert_eq!(cmds[5].property("artifactname"), Some("amlops-audit"));
    assert_eq!(cmds[7].property("value"), Some("100"));
    assert!(!buffer.text().contains("hidden"));
}

#[test]
fn debug_lines_only_with_system_debug() {
    let (out, buffer) = Output::capture(true);
    out.debug("visible");
    assert_eq!(buffer.text(), "##[debug]visible\n");
}

#[test]
fn outcomes_map_to_complete_and_exit_codes() {
    #[derive(Debug, thiserror::Error)]
    #[error("waiting for job j1")]
    struct Wait(#[source] Canceled);

    let (out, buffer) = Output::capture(false);
    let code = finish(&out, Err(Box::new(Wait(Canceled))));
    assert_eq!(code, std::process::ExitCode::from(2));
    let complete = buffer
        .text()
        .lines()
        .filter_map(|l| parse_command(l, true))
        .next_back()
        .unwrap();
    assert_eq!(complete.property("result"), Some("Canceled"));
    assert_eq!(complete.data, "waiting for job j1: the task was cancelled");
    assert_eq!(TaskResult::SucceededWithIssues.exit_code(), 0);
    assert_eq!(TaskResult::Failed.exit_code(), 1);
}

#[test]
fn child_environment_drops_secrets() {
    let env = TaskEnv::from_map([
        ("PATH", "/bin"),
        ("INPUT_X", "1"),
        ("ENDPOINT_AUTH_PARAMETER_ID_KEY", "k"),
        ("SECRET_PASSWORD", "p"),
        ("SYSTEM_ACCESSTOKEN", "t"),
    ]);
    let names: Vec<String> = env.child_env().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["PATH"]);
}
