//! The build summary: the asset, its lineage and its governance record, as markdown.

use crate::flow::Registered;
use crate::governance::{self, format_metric};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn kind_label(collection: &str) -> &str {
    match collection {
        "models" => "Model",
        "environments" => "Environment",
        "components" => "Component",
        "data" => "Data asset",
        other => other,
    }
}

/// The summary of a registration.
pub fn markdown(r: &Registered) -> String {
    let kind = kind_label(r.asset.collection());
    let mut md = format!(
        "### {kind} `{}` version `{}`\n\n",
        cell(&r.name),
        cell(&r.version)
    );
    if r.reused {
        let note = crate::flow::reuse_note(&r.properties, &r.record);
        md.push_str(&format!("This version {note}: nothing was created.\n\n"));
    }
    md.push_str("| | |\n|---|---|\n");
    md.push_str(&format!("| Asset id | `{}` |\n", cell(&r.id)));
    md.push_str(&format!(
        "| Reference | `azureml:{}:{}` |\n",
        cell(&r.name),
        cell(&r.version)
    ));
    if let Some(uri) = &r.artifact_uri {
        md.push_str(&format!("| Files | `{}` |\n", cell(uri)));
    }
    for u in &r.uploads {
        let what = if u.skipped {
            "already in the datastore, nothing uploaded".to_string()
        } else if u.files_uploaded > 0 {
            format!("{} file(s) uploaded", u.files_uploaded)
        } else {
            "uploaded".to_string()
        };
        md.push_str(&format!("| Upload | `{}`: {what} |\n", cell(&u.local)));
    }

    md.push_str("\n#### Lineage\n\n");
    match &r.source_job {
        Some(job) => md.push_str(&format!("- Training job: `{}`\n", cell(job))),
        None => md.push_str("- Training job: not given\n"),
    }
    if let Some(commit) = r.properties.get(governance::COMMIT) {
        let repo = r
            .properties
            .get(governance::REPOSITORY)
            .map(String::as_str)
            .unwrap_or("");
        let branch = r
            .properties
            .get(governance::BRANCH)
            .map(String::as_str)
            .unwrap_or("");
        md.push_str(&format!(
            "- Source: `{}` @ `{}` ({})\n",
            cell(repo),
            cell(commit),
            cell(branch)
        ));
    }
    if !r.metrics.is_empty() {
        md.push_str("\n| Metric | Value |\n|---|---|\n");
        for (k, v) in &r.metrics {
            md.push_str(&format!("| {} | {} |\n", cell(k), format_metric(*v)));
        }
    }

    md.push_str("\n#### Governance record\n\n| Property | Value |\n|---|---|\n");
    for (k, v) in r
        .properties
        .iter()
        .filter(|(k, _)| k.starts_with(governance::PREFIX) && !k.starts_with(governance::METRIC_PREFIX))
    {
        md.push_str(&format!("| `{}` | {} |\n", cell(k), cell(v)));
    }
    for w in &r.warnings {
        md.push_str(&format!("\n> Warning: {}\n", cell(w)));
    }
    md
}
