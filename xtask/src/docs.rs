//! `docs/tasks/<task>.md`, generated from task.json (`cargo xtask docs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::manifest::{InputSpec, TaskManifest};

/// `docs/tasks/` in the repository.
pub fn docs_dir() -> PathBuf {
    crate::repo_root().join("docs").join("tasks")
}

/// The file name of a task's page, e.g. `AzureMLTrain.md`.
pub fn file_name(task: &TaskManifest) -> String {
    format!("{}.md", task.name)
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace("\r\n", " ").replace('\n', " ")
}

fn example_value(input: &InputSpec) -> String {
    if let Some(d) = input.default.as_deref().filter(|d| !d.is_empty()) {
        return d.to_string();
    }
    match input.input_type.as_str() {
        t if t.starts_with("connectedService:") => "my-azure-connection".into(),
        "filePath" => format!("path/to/{}", input.name),
        "int" => "0".into(),
        "boolean" => "false".into(),
        _ => format!("<{}>", input.name),
    }
}

fn type_name(input: &InputSpec) -> String {
    match input.input_type.as_str() {
        "pickList" | "radio" if !input.options.is_empty() => {
            let values: Vec<String> = input.options.iter().map(|(k, _)| format!("`{k}`")).collect();
            format!("pickList: {}", values.join(", "))
        }
        other => other.to_string(),
    }
}

/// The Markdown page of one task.
pub fn render(task: &TaskManifest) -> String {
    let mut md = String::new();
    let (major, minor, patch) = task.version;
    let _ = writeln!(
        md,
        "<!-- Generated from task-manifests/{}/task.json by `cargo xtask docs`. Do not edit. -->",
        task.folder
    );
    let _ = writeln!(md, "# {}@{major} ({})\n", task.name, task.friendly_name);
    let _ = writeln!(md, "{}\n", task.description);
    let _ = writeln!(
        md,
        "Version {major}.{minor}.{patch}, category {}, binary `{}`, agent {} or later.\n",
        task.category, task.binary, task.minimum_agent_version
    );

    md.push_str("## Usage\n\n```yaml\n");
    let _ = writeln!(md, "- task: {}@{major}", task.name);
    let _ = writeln!(
        md,
        "  name: {}",
        task.name.trim_start_matches("AzureML").to_lowercase()
    );
    md.push_str("  inputs:\n");
    for input in task.inputs.iter().filter(|i| i.required) {
        let _ = writeln!(md, "    {}: {}", input.name, example_value(input));
    }
    md.push_str("```\n\n");

    md.push_str("## Inputs\n\n");
    for group in &task.groups {
        let inputs: Vec<&InputSpec> = task
            .inputs
            .iter()
            .filter(|i| i.group.as_deref() == Some(group.name.as_str()))
            .collect();
        if inputs.is_empty() {
            continue;
        }
        let _ = writeln!(md, "### {}\n", group.display_name);
        table(&mut md, &inputs);
    }
    let ungrouped: Vec<&InputSpec> = task
        .inputs
        .iter()
        .filter(|i| {
            i.group
                .as_deref()
                .is_none_or(|g| !task.groups.iter().any(|gr| gr.name == g))
        })
        .collect();
    if !ungrouped.is_empty() {
        md.push_str("### Other\n\n");
        table(&mut md, &ungrouped);
    }

    md.push_str("## Output variables\n\n");
    if task.outputs.is_empty() {
        md.push_str("None.\n\n");
    } else {
        md.push_str("| Name | Description |\n| --- | --- |\n");
        for out in &task.outputs {
            let _ = writeln!(md, "| `{}` | {} |", out.name, cell(&out.description));
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "Read them in later steps as `$(<step name>.<variable>)`, or across jobs through `dependencies`.\n"
    );
    md.push_str("## Examples\n\nComplete pipelines: [docs/examples](../examples/).\n");
    md
}

fn table(md: &mut String, inputs: &[&InputSpec]) {
    md.push_str("| Input | Type | Required | Default | Description |\n| --- | --- | --- | --- | --- |\n");
    for input in inputs {
        let default = match input.default.as_deref() {
            Some(d) if !d.is_empty() => format!("`{}`", cell(d)),
            _ => String::new(),
        };
        let mut description = format!("**{}**. {}", cell(&input.label), cell(&input.help));
        if let Some(rule) = &input.visible_rule {
            let _ = write!(description, " Shown when `{}`.", cell(rule));
        }
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} |",
            input.name,
            cell(&type_name(input)),
            if input.required { "yes" } else { "no" },
            default,
            description
        );
    }
    md.push('\n');
}

/// Writes every task's page into `dir`; returns the files written.
pub fn write_all(tasks: &[TaskManifest], dir: &Path) -> Result<Vec<PathBuf>, crate::IoError> {
    std::fs::create_dir_all(dir).map_err(|e| crate::IoError::new(dir, e))?;
    let mut written = Vec::new();
    for task in tasks {
        let path = dir.join(file_name(task));
        std::fs::write(&path, render(task)).map_err(|e| crate::IoError::new(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// The pages in `dir` that differ from what [`render`] gives (missing files included).
pub fn stale(tasks: &[TaskManifest], dir: &Path) -> Vec<PathBuf> {
    tasks
        .iter()
        .map(|t| (dir.join(file_name(t)), render(t)))
        .filter(|(path, text)| std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()))
        .map(|(path, _)| path)
        .collect()
}
