//! What each sink receives: an Adaptive Card message (Teams), Block Kit blocks (Slack), the structured CloudEvent
//! (generic webhooks, signed), a CloudEvents batch (Event Grid). All pure functions of the CloudEvent.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::cloudevent::CloudEvent;
use crate::event::Severity;

/// The header carrying the body's HMAC-SHA256 on generic webhooks: `sha256=<lower-case hex>`.
pub const SIGNATURE_HEADER: &str = "X-Amlops-Signature";
/// The content type of a structured-mode CloudEvent.
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json; charset=utf-8";
/// The content type of a CloudEvents batch (Event Grid).
pub const CLOUDEVENTS_BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json; charset=utf-8";
/// The Adaptive Card schema version sent to Teams.
pub const ADAPTIVE_CARD_VERSION: &str = "1.4";

/// `sha256=<hex>` of `body` keyed with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so the error branch is unreachable.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body of a generic webhook: the CloudEvent in structured mode.
pub fn webhook_body(event: &CloudEvent) -> Vec<u8> {
    event.to_json().into_bytes()
}

/// The body sent to Event Grid: a batch (JSON array) holding the event.
pub fn event_grid_body(event: &CloudEvent) -> Vec<u8> {
    serde_json::to_vec(&[event]).unwrap_or_default()
}

/// A metric value for people: integers without decimals, others with at most 4, trailing zeros dropped.
pub fn format_metric(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "0" || text == "-0" {
        format!("{value:e}")
    } else {
        text.to_string()
    }
}

/// The facts shown on cards, in the summary and in Slack: `(label, value)`, only those known.
pub fn facts(event: &CloudEvent) -> Vec<(String, String)> {
    let d = &event.data;
    let mut out: Vec<(String, String)> = vec![("Outcome".into(), d.outcome.to_string())];
    for asset in &d.assets {
        out.push((asset.kind.label(), asset.display_name()));
    }
    if let Some(ws) = &d.workspace {
        out.push(("Workspace".into(), ws.name.clone()));
    }
    let who = match (&d.who.name, &d.who.email) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (Some(n), None) => Some(n.clone()),
        (None, Some(e)) => Some(e.clone()),
        (None, None) => None,
    };
    let optional = [
        ("Requested for", who),
        ("Reason", d.why.reason.clone()),
        ("Pipeline", d.build.pipeline.clone()),
        ("Build", d.build.number.clone()),
        ("Repository", d.source.repository.clone()),
        (
            "Branch",
            d.source
                .branch
                .as_deref()
                .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string()),
        ),
        (
            "Commit",
            d.source.commit.as_deref().map(|c| c.chars().take(8).collect()),
        ),
    ];
    out.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
    );
    out
}

fn run_url(event: &CloudEvent) -> Option<&str> {
    event.data.build.run_url.as_deref()
}

/// The Teams Workflows message: one Adaptive Card attachment.
pub fn teams_message(event: &CloudEvent) -> Value {
    let d = &event.data;
    let color = match d.outcome.severity() {
        Severity::Good => "Good",
        Severity::Warning => "Warning",
        Severity::Bad => "Attention",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": d.title,
        "size": "Medium",
        "weight": "Bolder",
        "color": color,
        "wrap": true,
    })];
    body.push(json!({
        "type": "TextBlock",
        "text": format!("{} · {}", event.event_type, event.time),
        "isSubtle": true,
        "spacing": "None",
        "wrap": true,
    }));
    if let Some(message) = &d.message {
        body.push(json!({ "type": "TextBlock", "text": message, "wrap": true }));
    }
    let fact = |(title, value): (String, String)| json!({ "title": title, "value": value });
    body.push(json!({ "type": "FactSet", "facts": facts(event).into_iter().map(fact).collect::<Vec<_>>() }));
    if !d.metrics.is_empty() {
        body.push(json!({ "type": "TextBlock", "text": "Metrics", "weight": "Bolder", "wrap": true }));
        let metrics: Vec<Value> = d
            .metrics
            .iter()
            .map(|(k, v)| fact((k.clone(), format_metric(*v))))
            .collect();
        body.push(json!({ "type": "FactSet", "facts": metrics }));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "msteams": { "width": "Full" },
        "body": body,
    });
    if let Some(url) = run_url(event) {
        card["actions"] = json!([{ "type": "Action.OpenUrl", "title": "Open the pipeline run", "url": url }]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// Escape text for Slack `mrkdwn` (`&`, `<`, `>`).
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The Slack incoming-webhook message: a fallback `text` and Block Kit `blocks` (header, message, fields, metrics,
/// context, a button to the run).
pub fn slack_message(event: &CloudEvent) -> Value {
    let d = &event.data;
    let icon = match d.outcome.severity() {
        Severity::Good => ":white_check_mark:",
        Severity::Warning => ":warning:",
        Severity::Bad => ":x:",
    };
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": truncate(&d.title, 150), "emoji": true } }),
    ];
    if let Some(message) = &d.message {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate(&format!("{icon} {}", slack_escape(message)), 3000) },
        }));
    }
    let field = |(k, v): (String, String)| json!({ "type": "mrkdwn", "text": truncate(&format!("*{}*\n{}", slack_escape(&k), slack_escape(&v)), 2000) });
    // A section holds at most 10 fields.
    let all_facts: Vec<Value> = facts(event).into_iter().map(field).collect();
    for chunk in all_facts.chunks(10) {
        blocks.push(json!({ "type": "section", "fields": chunk }));
    }
    let metrics: Vec<Value> = d
        .metrics
        .iter()
        .map(|(k, v)| field((k.clone(), format_metric(*v))))
        .collect();
    for chunk in metrics.chunks(10) {
        blocks.push(json!({ "type": "section", "fields": chunk }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("{icon} `{}` · {}", event.event_type, event.time) }],
    }));
    if let Some(url) = run_url(event) {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open the pipeline run" },
                "url": url,
            }],
        }));
    }
    json!({ "text": format!("{} ({})", d.title, d.outcome), "blocks": blocks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_formatted_for_people() {
        assert_eq!(format_metric(3.0), "3");
        assert_eq!(format_metric(0.91234567), "0.9123");
        assert_eq!(format_metric(0.5), "0.5");
        assert_eq!(format_metric(0.00001), "1e-5");
        assert_eq!(format_metric(-2.25), "-2.25");
    }

    #[test]
    fn slack_text_is_escaped_and_truncated() {
        assert_eq!(slack_escape("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn known_hmac_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
