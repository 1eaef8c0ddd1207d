//! The four notification inputs shared by every task: `notify`, `notifyOn`, `notifySecret`, `failOnNotifyError`.

use std::collections::BTreeSet;
use std::fmt;

use amlops_agent::{Output, TaskEnv};
use url::Url;

use crate::error::EventsError;
use crate::event::EventType;

/// The input holding the webhook lines.
pub const INPUT_NOTIFY: &str = "notify";
/// The input holding the event filter.
pub const INPUT_NOTIFY_ON: &str = "notifyOn";
/// The input holding the HMAC key of generic webhooks.
pub const INPUT_NOTIFY_SECRET: &str = "notifySecret";
/// The input that makes a failed delivery fail the task.
pub const INPUT_FAIL_ON_NOTIFY_ERROR: &str = "failOnNotifyError";

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SinkKind {
    /// A Microsoft Teams Workflows webhook (Adaptive Card message).
    Teams,
    /// A Slack incoming webhook (Block Kit).
    Slack,
    /// Any HTTP endpoint (CloudEvents structured mode, optionally signed).
    Webhook,
    /// An Azure Event Grid topic (CloudEvents batch).
    EventGrid,
}

impl SinkKind {
    /// The prefix word (`teams`, `slack`, `webhook`, `eventgrid`).
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Teams => "teams",
            SinkKind::Slack => "slack",
            SinkKind::Webhook => "webhook",
            SinkKind::EventGrid => "eventgrid",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Self> {
        [
            SinkKind::Teams,
            SinkKind::Slack,
            SinkKind::Webhook,
            SinkKind::EventGrid,
        ]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(prefix))
    }

    /// Recognise the kind from the URL's host: Slack hooks, Event Grid topics, Teams Workflows (Power Automate or
    /// Logic Apps hosts, and the retired Office 365 connector host); anything else is a generic webhook.
    pub fn detect(url: &Url) -> Self {
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let ends = |suffix: &str| host == suffix.trim_start_matches('.') || host.ends_with(suffix);
        if ends(".slack.com") && host.starts_with("hooks.") {
            SinkKind::Slack
        } else if host.contains(".eventgrid.") {
            SinkKind::EventGrid
        } else if ends(".logic.azure.com") || ends(".powerplatform.com") || ends(".webhook.office.com") {
            SinkKind::Teams
        } else {
            SinkKind::Webhook
        }
    }
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of `notify`: a sink and its URL (a secret: never log it, use [`NotifyTarget::redacted`]).
#[derive(Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    /// The kind.
    pub kind: SinkKind,
    /// The URL, including any key in its path or query.
    pub url: Url,
    /// Event Grid only: the topic access key sent as `aeg-sas-key`; `None` means an Entra token.
    pub access_key: Option<String>,
    /// The 1-based line of the `notify` input it came from.
    pub line: usize,
}

impl fmt::Debug for NotifyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyTarget")
            .field("kind", &self.kind)
            .field("url", &self.redacted())
            .field("access_key", &self.access_key.as_ref().map(|_| "***"))
            .field("line", &self.line)
            .finish()
    }
}

impl NotifyTarget {
    /// The host, safe to print.
    pub fn host(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The kind and host, e.g. `teams (prod-01.westeurope.logic.azure.com)`: the path and query, which usually
    /// hold the key, are left out.
    pub fn redacted(&self) -> String {
        format!("{} ({})", self.kind, self.host())
    }

    /// The parts of the target that must be masked in the log.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![self.url.as_str().to_string()];
        let tail = &self.url[url::Position::BeforePath..];
        if tail.len() > 3 {
            out.push(tail.to_string());
        }
        // The path alone too: logs of the retry policy show it with the query redacted.
        if self.url.path().len() >= 8 {
            out.push(self.url.path().to_string());
        }
        // Query values, except the well-known harmless ones of Logic Apps URLs.
        out.extend(
            self.url
                .query_pairs()
                .filter(|(k, _)| {
                    !["api-version", "sp", "sv"]
                        .iter()
                        .any(|h| k.eq_ignore_ascii_case(h))
                })
                .map(|(_, v)| v.into_owned())
                .filter(|v| v.len() >= 8),
        );
        if let Some(key) = &self.access_key {
            out.push(key.clone());
        }
        out
    }
}

/// Which event types are delivered to webhooks (`notifyOn`); the log, summary and audit trail get every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    types: BTreeSet<EventType>,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self::all()
    }
}

impl EventFilter {
    /// Every type.
    pub fn all() -> Self {
        Self {
            types: EventType::ALL.into_iter().collect(),
        }
    }

    /// Exactly these types.
    pub fn only(types: impl IntoIterator<Item = EventType>) -> Self {
        Self {
            types: types.into_iter().collect(),
        }
    }

    /// Whether `t` passes.
    pub fn allows(&self, t: EventType) -> bool {
        self.types.contains(&t)
    }

    /// Parse `notifyOn`: event types separated by commas, spaces or new lines, case-insensitive, with or without
    /// `com.amlops.`; `group.*` (e.g. `gate.*`) for a group; `all` or `*` for everything. Empty means all.
    pub fn parse(text: &str) -> Result<Self, EventsError> {
        let mut types = BTreeSet::new();
        let words = text
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|w| !w.is_empty());
        let mut any = false;
        for word in words {
            any = true;
            if word == "*" || word.eq_ignore_ascii_case("all") {
                types.extend(EventType::ALL);
                continue;
            }
            let lower = word.to_ascii_lowercase();
            let lower = lower.strip_prefix(crate::event::TYPE_PREFIX).unwrap_or(&lower);
            if let Some(group) = lower.strip_suffix(".*") {
                let matched: Vec<_> = EventType::ALL
                    .into_iter()
                    .filter(|t| t.group() == group)
                    .collect();
                if matched.is_empty() {
                    return Err(unknown_type(word));
                }
                types.extend(matched);
                continue;
            }
            types.insert(word.parse::<EventType>().map_err(|_| unknown_type(word))?);
        }
        Ok(if any { Self { types } } else { Self::all() })
    }
}

fn unknown_type(word: &str) -> EventsError {
    let valid: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    EventsError::InvalidInput {
        input: INPUT_NOTIFY_ON.into(),
        problem: format!(
            "'{word}' is not an event type; use one or more of {}, a group such as 'gate.*', or 'all'",
            valid.join(", ")
        ),
    }
}

/// The parsed notification inputs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    /// The sinks, in input order.
    pub targets: Vec<NotifyTarget>,
    /// Which events reach them.
    pub filter: EventFilter,
    /// The HMAC-SHA256 key for generic webhooks.
    pub secret: Option<String>,
    /// Fail the task when a delivery fails.
    pub fail_on_error: bool,
}

impl fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifySettings")
            .field("targets", &self.targets)
            .field("filter", &self.filter)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("fail_on_error", &self.fail_on_error)
            .finish()
    }
}

impl NotifySettings {
    /// Read and parse the four inputs from the task's environment, registering every URL, key and the HMAC
    /// secret with `output` before anything could print them.
    pub fn from_env(env: &TaskEnv, output: &Output) -> Result<Self, EventsError> {
        let raw = |name: &str| {
            env.get(&amlops_agent::env::input_env_name(name))
                .unwrap_or("")
                .to_string()
        };
        let notify = raw(INPUT_NOTIFY);
        let secret = raw(INPUT_NOTIFY_SECRET);
        output.register_secret(&notify);
        output.register_secret(&secret);
        let inputs = amlops_agent::Inputs::new(env);
        let mut settings = Self::parse(&notify, &raw(INPUT_NOTIFY_ON))?;
        settings.secret = Some(secret.trim().to_string()).filter(|s| !s.is_empty());
        settings.fail_on_error = inputs.bool_or(INPUT_FAIL_ON_NOTIFY_ERROR, false);
        for target in &settings.targets {
            for s in target.secrets() {
                output.register_secret(&s);
            }
        }
        Ok(settings)
    }

    /// Parse `notify` (one sink a line, blank lines and `#` comments ignored) and `notifyOn`.
    pub fn parse(notify: &str, notify_on: &str) -> Result<Self, EventsError> {
        let mut targets = Vec::new();
        for (index, line) in notify.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            targets.push(parse_line(line, index + 1)?);
        }
        Ok(Self {
            targets,
            filter: EventFilter::parse(notify_on)?,
            secret: None,
            fail_on_error: false,
        })
    }

    /// Whether there is anywhere to deliver to.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

fn line_error(line: usize, problem: impl Into<String>) -> EventsError {
    EventsError::InvalidNotifyLine {
        input: INPUT_NOTIFY.into(),
        line,
        problem: problem.into(),
    }
}

/// Parse one `notify` line: `[teams:|slack:|webhook:|eventgrid:]<url>`, and for Event Grid an optional access key
/// after the URL, separated by a space.
fn parse_line(line: &str, number: usize) -> Result<NotifyTarget, EventsError> {
    if line.starts_with("$(") && line.contains(')') {
        let end = line.find(')').unwrap_or(line.len());
        let name = &line[2..end];
        return Err(line_error(
            number,
            format!("the pipeline variable '{name}' is not defined, so the line was left as '$({name})'"),
        ));
    }
    let (prefix, rest) = match line.split_once(':') {
        Some((p, rest)) if SinkKind::from_prefix(p.trim()).is_some() => {
            (SinkKind::from_prefix(p.trim()), rest.trim())
        }
        _ => (None, line),
    };
    let mut words = rest.split_whitespace();
    let url_text = words.next().unwrap_or("");
    if url_text.is_empty() {
        return Err(line_error(number, "a kind prefix must be followed by a URL"));
    }
    if url_text.starts_with("$(") {
        let name = url_text.trim_start_matches("$(").trim_end_matches(')');
        return Err(line_error(
            number,
            format!("the pipeline variable '{name}' is not defined"),
        ));
    }
    let url = Url::parse(url_text).map_err(|e| {
        let word = if url_text.contains("://") {
            "the URL".to_string()
        } else {
            // Without a scheme this is not a URL; the first word tells the user what they wrote wrong.
            let shown: String = url_text
                .chars()
                .take_while(|c| *c != ':' && *c != '/')
                .take(20)
                .collect();
            format!("'{shown}...'")
        };
        line_error(
            number,
            format!(
                "{word} is not a valid URL ({e}); write an https URL, optionally prefixed by teams:, slack:, \
                 webhook: or eventgrid:"
            ),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if amlops_azureml::http::is_loopback(&url) => {}
        "http" => {
            return Err(line_error(
                number,
                "the URL must use https (http is accepted only for localhost)",
            ));
        }
        other => {
            return Err(line_error(
                number,
                format!(
                    "'{other}:' is not a supported kind or scheme; use teams:, slack:, webhook: or eventgrid: and an https URL"
                ),
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(line_error(number, "the URL has no host"));
    }
    let kind = prefix.unwrap_or_else(|| SinkKind::detect(&url));
    let access_key = words.next().map(str::to_string);
    if words.next().is_some() || (access_key.is_some() && kind != SinkKind::EventGrid) {
        return Err(line_error(
            number,
            "unexpected text after the URL (only an eventgrid: line may add its access key after a space)",
        ));
    }
    Ok(NotifyTarget {
        kind,
        url,
        access_key,
        line: number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(line: &str) -> SinkKind {
        NotifySettings::parse(line, "").unwrap().targets[0].kind
    }

    #[test]
    fn kinds_come_from_the_prefix_or_the_host() {
        assert_eq!(
            kind_of("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual"),
            SinkKind::Teams
        );
        assert_eq!(
            kind_of("https://default1.environment.api.powerplatform.com/powerautomate/automations/direct/x"),
            SinkKind::Teams
        );
        assert_eq!(
            kind_of("https://hooks.slack.com/services/T0/B0/XYZ"),
            SinkKind::Slack
        );
        assert_eq!(
            kind_of("https://topic.westeurope-1.eventgrid.azure.net/api/events"),
            SinkKind::EventGrid
        );
        assert_eq!(kind_of("https://example.org/hook"), SinkKind::Webhook);
        assert_eq!(
            kind_of("webhook:https://prod-1.westeurope.logic.azure.com/workflows/a"),
            SinkKind::Webhook
        );
        assert_eq!(kind_of("TEAMS: https://example.org/flow"), SinkKind::Teams);
        assert_eq!(kind_of("slack:http://127.0.0.1:9000/x"), SinkKind::Slack);
    }

    #[test]
    fn blank_and_comment_lines_are_skipped_and_lines_are_numbered_from_the_input() {
        let s = NotifySettings::parse(
            "\n# team channel\nteams:https://example.org/a\n\neventgrid:https://t.eventgrid.azure.net/api/events  k3y-value\n",
            "",
        )
        .unwrap();
        assert_eq!(s.targets.len(), 2);
        assert_eq!(s.targets[0].line, 3);
        assert_eq!(s.targets[1].line, 5);
        assert_eq!(s.targets[1].access_key.as_deref(), Some("k3y-value"));
        assert_eq!(s.targets[1].redacted(), "eventgrid (t.eventgrid.azure.net)");
        assert!(!format!("{s:?}").contains("k3y-value"));
    }

    #[test]
    fn invalid_lines_name_the_input_and_line_without_the_url() {
        let cases = [
            (
                "https://ok.example/a\nftp://files.example/secretpath",
                2,
                "'ftp:' is not a supported kind",
            ),
            ("teams:", 1, "must be followed by a URL"),
            ("\n\nnot a url", 3, "not a valid URL"),
            ("http://plain.example/secretpath", 1, "must use https"),
            ("$(teamsHook)", 1, "'teamsHook' is not defined"),
            (
                "# c\nteams:$(teamsWebhookUrl)",
                2,
                "'teamsWebhookUrl' is not defined",
            ),
            (
                "slack:https://hooks.slack.com/services/secretpath extra",
                1,
                "unexpected text",
            ),
        ];
        for (input, line, needle) in cases {
            let err = NotifySettings::parse(input, "").unwrap_err().to_string();
            assert!(err.contains("'notify'"), "{err}");
            assert!(err.contains(&format!("line {line}")), "{err}");
            assert!(err.contains(needle), "{err}");
            assert!(!err.contains("secretpath"), "{err}");
        }
    }

    #[test]
    fn notify_on_filters_by_type_group_or_all() {
        let f = EventFilter::parse("gate.failed, com.amlops.model.deployed\njob.*").unwrap();
        let allowed: Vec<_> = EventType::ALL.into_iter().filter(|t| f.allows(*t)).collect();
        assert_eq!(
            allowed,
            vec![
                EventType::JobCompleted,
                EventType::JobFailed,
                EventType::JobCanceled,
                EventType::ModelDeployed,
                EventType::GateFailed
            ]
        );
        assert_eq!(EventFilter::parse("  ").unwrap(), EventFilter::all());
        assert_eq!(EventFilter::parse("ALL").unwrap(), EventFilter::all());
        let err = EventFilter::parse("gate.failed model.trained")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'notifyOn'") && err.contains("'model.trained'"),
            "{err}"
        );
        assert!(EventFilter::parse("bogus.*").is_err());
    }

    #[test]
    fn secrets_cover_the_url_its_path_and_query_values_and_the_key() {
        let t = NotifySettings::parse(
            "eventgrid:https://h.example/api/events?api-version=2018-01-01&sig=abcdefgh12345 THEKEY99",
            "",
        )
        .unwrap()
        .targets
        .remove(0);
        let s = t.secrets();
        assert!(
            s.contains(&"https://h.example/api/events?api-version=2018-01-01&sig=abcdefgh12345".to_string())
        );
        assert!(s.contains(&"/api/events?api-version=2018-01-01&sig=abcdefgh12345".to_string()));
        assert!(s.contains(&"/api/events".to_string()));
        assert!(!s.contains(&"2018-01-01".to_string()));
        assert!(s.contains(&"abcdefgh12345".to_string()));
        assert!(s.contains(&"THEKEY99".to_string()));
    }
}
