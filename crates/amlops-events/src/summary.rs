//! The build-summary markdown: one section per event.

use crate::cloudevent::CloudEvent;
use crate::event::Severity;
use crate::payload::{facts, format_metric};

/// Make text safe inside a markdown table cell.
pub fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// The markdown section for one event. `deliveries` are lines such as `teams (host): delivered`.
pub fn section(event: &CloudEvent, deliveries: &[String]) -> String {
    let d = &event.data;
    let icon = match d.outcome.severity() {
        Severity::Good => "✅",
        Severity::Warning => "⚠️",
        Severity::Bad => "❌",
    };
    let mut out = format!("### {icon} {}\n\n", d.title.replace(['\r', '\n'], " "));
    out.push_str(&format!(
        "`{}` · {} · event id `{}`\n\n",
        event.event_type, event.time, event.id
    ));
    if let Some(message) = &d.message {
        for line in message.lines() {
            out.push_str(&format!("> {line}\n"));
        }
        out.push('\n');
    }
    out.push_str("| | |\n|---|---|\n");
    for (k, v) in facts(event) {
        out.push_str(&format!("| {} | {} |\n", cell(&k), cell(&v)));
    }
    if let Some(subject) = &event.subject {
        out.push_str(&format!("| Subject | `{}` |\n", cell(subject)));
    }
    out.push('\n');
    if !d.metrics.is_empty() {
        out.push_str("| Metric | Value |\n|---|---|\n");
        for (k, v) in &d.metrics {
            out.push_str(&format!("| {} | {} |\n", cell(k), format_metric(*v)));
        }
        out.push('\n');
    }
    if !deliveries.is_empty() {
        out.push_str(&format!("Notifications: {}\n\n", deliveries.join("; ")));
    }
    out
}

/// The whole summary file: a heading naming the step, then the sections.
pub fn document(step: Option<&str>, sections: &[String]) -> String {
    let mut out = match step {
        Some(step) => format!("## AzureML events: {}\n\n", step.replace(['\r', '\n'], " ")),
        None => "## AzureML events\n\n".to_string(),
    };
    for s in sections {
        out.push_str(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
