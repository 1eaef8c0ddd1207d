//! The logging-command test vectors (`tests/data/logging-command-vectors.json`, provenance in `tests/data/README.md`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use amlops_agent::command::{escape_message, escape_property, format_command, parse_command, unescape};
use amlops_agent::connection::{ServiceConnection, system_access_token};
use amlops_agent::env::{input_env_name, variable_env_name};
use amlops_agent::{Inputs, Outcome, Output, TaskEnv, TaskResult, finish};
use serde_json::Value;

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/logging-command-vectors.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vectors are JSON")
}

fn props(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn encoder_matches_task_lib_to_string() {
    let v = vectors();
    let cases = v["tasklib_toString"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let p = props(&case["properties"]);
        let p_ref: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let line = format_command(
            case["command"].as_str().unwrap(),
            &p_ref,
            case["message"].as_str().unwrap(),
        );
        assert_eq!(line, case["expected"].as_str().unwrap(), "case {case}");
    }
}

#[test]
fn parser_matches_task_lib_parse() {
    let v = vectors();
    for case in v["tasklib_parse"].as_array().unwrap() {
        let parsed = parse_command(case["line"].as_str().unwrap(), true).expect("parses");
        assert_eq!(parsed.name(), case["command"].as_str().unwrap());
        let expected: BTreeMap<String, String> = props(&case["properties"])
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        assert_eq!(parsed.properties, expected, "case {case}");
        assert_eq!(parsed.data, case["message"].as_str().unwrap());
    }
}

#[test]
fn parser_matches_agent_parse() {
    let v = vectors();
    for case in v["agent_parse"].as_array().unwrap() {
        let decode = case["decodePercents"].as_bool().unwrap();
        let parsed = parse_command(case["line"].as_str().unwrap(), decode).expect("parses");
        assert_eq!(parsed.area, case["area"].as_str().unwrap());
        assert_eq!(parsed.event, case["event"].as_str().unwrap());
        let expected: BTreeMap<String, String> = props(&case["properties"]).into_iter().collect();
        assert_eq!(parsed.properties, expected, "case {case}");
        assert_eq!(parsed.data, case["data"].as_str().unwrap());
    }
}

#[test]
fn encode_then_agent_decode_round_trips() {
    let v = vectors();
    let section = &v["derived_roundtrip_tasklib_encode_agent_decode"];
    for value in section["values"].as_array().unwrap() {
        let value = value.as_str().unwrap();
        assert_eq!(unescape(&escape_message(value), true), value);
        assert_eq!(unescape(&escape_property(value), true), value);
        let line = format_command("task.setvariable", &[("variable", value)], value);
        let parsed = parse_command(&line, true).unwrap();
        assert_eq!(parsed.property("variable"), Some(value));
        assert_eq!(parsed.data, value);
    }
    for example in section["examples"].as_array().unwrap() {
        let value = example["value"].as_str().unwrap();
        assert!(
            example.get("as_message").is_some() || example.get("as_property").is_some(),
            "an example that checks nothing: {example}"
        );
        if let Some(expected) = example.get("as_message") {
            assert_eq!(
                format_command("task.setvariable", &[("variable", "v")], value),
                expected.as_str().unwrap()
            );
        }
        if let Some(expected) = example.get("as_property") {
            assert_eq!(
                format_command("task.setvariable", &[("variable", value)], "m"),
                expected.as_str().unwrap()
            );
        }
    }
    let odd = &section["unescaped_bracket_in_message"];
    let parsed = parse_command(odd["line"].as_str().unwrap(), true).unwrap();
    assert_eq!(
        parsed.property("variable"),
        odd["properties"]["variable"].as_str()
    );
    assert_eq!(parsed.data, odd["data"].as_str().unwrap());
}

#[test]
fn environment_names() {
    let v = vectors();
    for case in v["env_naming"]["cases"].as_array().unwrap() {
        let kind = case["kind"].as_str().unwrap();
        let env = case["env"].as_str().unwrap();
        match kind {
            "input" => assert_eq!(input_env_name(case["name"].as_str().unwrap()), env),
            "variable" => assert_eq!(variable_env_name(case["name"].as_str().unwrap()), env),
            "secret variable" => {
                assert_eq!(
                    format!("SECRET_{}", variable_env_name(case["name"].as_str().unwrap())),
                    env
                )
            }
            // The agent's variable for a connection's parameter or data value: read back as that
            // parameter or value of the connection.
            "endpoint auth param" | "endpoint data" => {
                let id = case["endpointId"].as_str().unwrap();
                let key = case["key"].as_str().unwrap();
                let env_map = TaskEnv::from_map([
                    (
                        format!("ENDPOINT_URL_{id}"),
                        "https://management.azure.com/".to_string(),
                    ),
                    (env.to_string(), "from-the-vector".to_string()),
                ]);
                let c = ServiceConnection::from_env(&env_map, "conn", id).unwrap();
                let got = if kind == "endpoint data" {
                    c.data(key)
                } else {
                    c.parameter(key)
                };
                assert_eq!(got, Some("from-the-vector"), "{case}");
            }
            "system connection token" => {
                let env_map = TaskEnv::from_map([(env, "token-from-the-vector")]);
                assert_eq!(
                    system_access_token(&env_map).as_deref(),
                    Some("token-from-the-vector")
                );
            }
            other => panic!("env_naming case of an unknown kind `{other}`: {case}"),
        }
    }
}

#[test]
fn boolean_inputs() {
    let v = vectors();
    for case in v["bool_input"]["cases"].as_array().unwrap() {
        let env = match case["value"].as_str() {
            Some(value) => TaskEnv::from_map([("INPUT_FLAG", value)]),
            None => TaskEnv::default(),
        };
        assert_eq!(
            Inputs::new(&env).bool_or("flag", false),
            case["result"].as_bool().unwrap(),
            "case {case}"
        );
    }
}

#[test]
fn task_complete_lines() {
    let v = vectors();
    for case in v["task_complete"]["cases"].as_array().unwrap() {
        let call = case["call"].as_str().unwrap();
        let lines: Vec<&str> = case["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let expected_complete = lines.last().unwrap();
        let parsed_expected = parse_command(expected_complete, true).unwrap();
        let (output, buffer) = Output::capture(false);
        let result = if call.contains("SucceededWithIssues") {
            Ok(Outcome::with_issues(parsed_expected.data.clone()))
        } else if call.contains("Succeeded") {
            Ok(Outcome::succeeded(parsed_expected.data.clone()))
        } else {
            Err(parsed_expected.data.clone().into())
        };
        let failed = result.is_err();
        let code = finish(&output, result);
        // Success exits 0, anything else non-zero.
        assert_eq!(code == ExitCode::SUCCESS, !failed, "{call}: exit code {code:?}");
        let text = buffer.text();
        let complete = text
            .lines()
            .filter_map(|l| parse_command(l, true))
            .find(|c| c.name() == "task.complete")
            .unwrap();
        assert_eq!(
            complete.property("result"),
            parsed_expected.property("result"),
            "{call}"
        );
        assert_eq!(complete.data, parsed_expected.data);
        if call.contains("Failed") {
            let issue = text
                .lines()
                .filter_map(|l| parse_command(l, true))
                .find(|c| c.name() == "task.logissue")
                .unwrap();
            assert_eq!(issue.property("type"), Some("error"));
            assert_eq!(issue.data, "failed msg");
        }
    }
    // The names the agent parses are case-sensitive.
    assert_eq!(TaskResult::Canceled.as_str(), "Canceled");
}
