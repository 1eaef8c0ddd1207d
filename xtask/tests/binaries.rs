//! Each task binary reads exactly the inputs its task.json declares (with the same defaults) and sets exactly the
//! output variables it declares, checked both ways from the binaries' sources.
//!
//! Inputs are read through `amlops_agent::Inputs` getters and `TaskContext::azure_rm_connection` with the input's name
//! as a string literal, and the four notify inputs through `amlops_events` (constants `INPUT_*` in notify.rs);
//! outputs are set with `set_output("name", ...)`. Train's `metric_<name>` outputs are dynamic (task.json cannot
//! declare them) and are not literals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use xtask::manifest;

const GETTERS: &[&str] = &[
    "raw",
    "string",
    "required_string",
    "string_or",
    "bool_or",
    "int_or",
    "pick_list",
    "lines",
    "key_values",
    "file_path",
    "required_file_path",
    "azure_rm_connection",
];

/// Every Rust source file under `dir`, concatenated.
fn sources(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
                out.push('\n');
            }
        }
    }
    out
}

/// The string literal that follows `prefix` (`prefix` ends with the opening quote), at every occurrence, with the
/// rest of the line after the literal.
fn literals_after<'a>(text: &'a str, prefix: &str) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        let Some(end) = after.find('"') else { break };
        let tail = after[end + 1..].lines().next().unwrap_or("");
        out.push((&after[..end], tail));
        rest = &after[end..];
    }
    out
}

/// Input name -> default literal given in the source (for `bool_or`, `int_or`, `string_or`), if any.
fn inputs_read(src: &str) -> BTreeMap<String, Option<String>> {
    let mut read = BTreeMap::new();
    for getter in GETTERS {
        for (name, tail) in literals_after(src, &format!(".{getter}(\"")) {
            let default = match *getter {
                "bool_or" | "int_or" => tail
                    .trim_start_matches([',', ' '])
                    .split([',', ')'])
                    .next()
                    .map(|d| d.trim().to_string()),
                "string_or" => literals_after(tail, "\"").first().map(|(d, _)| d.to_string()),
                _ => None,
            };
            let entry = read.entry(name.to_string()).or_insert(None);
            if default.is_some() {
                *entry = default;
            }
        }
    }
    read
}

/// The string literal of every call `call` (`set_output(`) whose first argument is a literal, wherever rustfmt put it
/// (on the same line or the next).
fn call_literals<'a>(text: &'a str, call: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(call) {
        let after = rest[i + call.len()..].trim_start();
        rest = &rest[i + call.len()..];
        if let Some(literal) = after.strip_prefix('"')
            && let Some(end) = literal.find('"')
        {
            out.push(&literal[..end]);
        }
    }
    out
}

/// Inputs every task reads through `amlops_azureml::connect` (constants `*_INPUT` in connect.rs); a task declares
/// them when they matter to it (uploads of code).
fn connect_inputs(repo: &Path) -> BTreeSet<String> {
    let src = std::fs::read_to_string(repo.join("crates/amlops-azureml/src/connect.rs")).unwrap();
    src.lines()
        .filter(|l| l.trim_start().starts_with("pub const ") && l.contains("_INPUT: &str"))
        .filter_map(|l| literals_after(l, "\"").first().map(|(n, _)| n.to_string()))
        .collect()
}

fn notify_inputs(repo: &Path) -> BTreeSet<String> {
    let src = std::fs::read_to_string(repo.join("crates/amlops-events/src/notify.rs")).unwrap();
    src.lines()
        .filter(|l| l.trim_start().starts_with("pub const INPUT_"))
        .filter_map(|l| literals_after(l, "\"").first().map(|(n, _)| n.to_string()))
        .collect()
}

#[test]
fn binaries_read_and_set_what_their_manifests_declare() {
    let repo = xtask::repo_root();
    let notify = notify_inputs(&repo);
    assert_eq!(notify.len(), 4, "{notify:?}");
    let shared = connect_inputs(&repo);
    assert!(shared.contains("allowPathsOutsideRepository"), "{shared:?}");
    let mut problems = Vec::new();
    for task in manifest::repo_tasks().unwrap() {
        let src = sources(&repo.join("crates").join(&task.binary).join("src"));
        let mut read = inputs_read(&src);
        assert!(
            src.contains("Emitter::from_task") || src.contains("EmitterBuilder::from_task"),
            "{}",
            task.name
        );
        for n in &notify {
            read.entry(n.clone()).or_insert(None);
        }
        let declared: BTreeMap<&str, &manifest::InputSpec> =
            task.inputs.iter().map(|i| (i.name.as_str(), i)).collect();
        assert!(
            src.contains("connect(") || src.contains("connect_with("),
            "{} connects through amlops_azureml::connect",
            task.name
        );
        for n in &shared {
            read.entry(n.clone()).or_insert(Some("false".into()));
        }
        for name in read.keys() {
            if !declared.contains_key(name.as_str()) && !shared.contains(name) {
                problems.push(format!(
                    "{}: the binary reads '{name}', which task.json does not declare",
                    task.name
                ));
            }
        }
        for (name, spec) in &declared {
            match read.get(*name) {
                None => problems.push(format!(
                    "{}: task.json declares '{name}', which the binary never reads",
                    task.name
                )),
                Some(Some(default)) => {
                    let manifest_default = spec.default.clone().unwrap_or_default();
                    if manifest_default != *default {
                        problems.push(format!(
                            "{}: '{name}' defaults to '{default}' in the binary but '{manifest_default}' in task.json",
                            task.name
                        ));
                    }
                }
                Some(None) => {}
            }
        }
        let set: BTreeSet<String> = call_literals(&src, "set_output(")
            .into_iter()
            .map(str::to_string)
            .collect();
        let outputs: BTreeSet<String> = task.outputs.iter().map(|o| o.name.clone()).collect();
        if set != outputs {
            problems.push(format!(
                "{}: the binary sets {set:?}, task.json declares {outputs:?}",
                task.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_finds_names_and_defaults() {
    let src = r#"
        let a = i.string("jobName");
        let b = i.bool_or("wait", true);
        let c = i.int_or("timeoutMinutes", 0, 0, 100)?;
        let d = i.string_or("trafficSteps", "10,50,100");
        ctx.azure_rm_connection("azureSubscription")?;
        out.set_output("jobName", &name);
    "#;
    let read = inputs_read(src);
    assert_eq!(read["jobName"], None);
    assert_eq!(read["wait"].as_deref(), Some("true"));
    assert_eq!(read["timeoutMinutes"].as_deref(), Some("0"));
    assert_eq!(read["trafficSteps"].as_deref(), Some("10,50,100"));
    assert!(read.contains_key("azureSubscription"));
    assert_eq!(literals_after(src, "set_output(\"")[0].0, "jobName");
}
