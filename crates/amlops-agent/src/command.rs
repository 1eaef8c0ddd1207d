//! `##vso[...]` logging commands: encoding as the task library writes them and decoding as the agent reads them
//! (AGENT-CONTRACT §4).

use std::collections::BTreeMap;

/// Escape a property value: `%` first, then CR, LF, `]`, `;`.
pub fn escape_property(value: &str) -> String {
    value
        .replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(']', "%5D")
        .replace(';', "%3B")
}

/// Escape a message: `%` first, then CR, LF.
pub fn escape_message(value: &str) -> String {
    value
        .replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Undo the escaping as the agent does (with `DECODE_PERCENTS` on unless told otherwise).
pub fn unescape(value: &str, decode_percents: bool) -> String {
    let v = value
        .replace("%3B", ";")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%5D", "]");
    if decode_percents {
        v.replace("%AZP25", "%")
    } else {
        v
    }
}

/// Format a logging command line. Properties keep their order; empty values are omitted as the task library does.
pub fn format_command(command: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut line = String::with_capacity(16 + message.len());
    line.push_str("##vso[");
    line.push_str(command);
    let mut first = true;
    for (key, value) in properties {
        if value.is_empty() {
            continue;
        }
        // The task library writes ` k=v;k=v;`: a space before the first pair, `;` after every pair.
        line.push(if first { ' ' } else { ';' });
        first = false;
        line.push_str(key);
        line.push('=');
        line.push_str(&escape_property(value));
    }
    if !first {
        line.push(';');
    }
    line.push(']');
    line.push_str(&escape_message(message));
    line
}

/// A logging command as the agent parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    /// `area.event`, e.g. `task.setvariable`.
    pub area: String,
    /// The event (action) part, e.g. `setvariable`.
    pub event: String,
    /// Properties, keys lower-cased (the agent compares them case-insensitively).
    pub properties: BTreeMap<String, String>,
    /// The decoded message (`data`).
    pub data: String,
}

impl ParsedCommand {
    /// `area.event`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.area, self.event)
    }

    /// A property by case-insensitive key.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(&key.to_ascii_lowercase()).map(String::as_str)
    }
}

/// Parse a line as the agent does: the prefix may stand anywhere; the header ends at the first `]`.
pub fn parse_command(line: &str, decode_percents: bool) -> Option<ParsedCommand> {
    const PREFIX: &str = "##vso[";
    let start = line.find(PREFIX)? + PREFIX.len();
    let rest = &line[start..];
    let end = rest.find(']')?;
    let header = &rest[..end];
    let data = &rest[end + 1..];
    let (name, props) = match header.find(' ') {
        Some(i) => (&header[..i], &header[i + 1..]),
        None => (header, ""),
    };
    let (area, event) = name.split_once('.')?;
    let mut properties = BTreeMap::new();
    for pair in props.split(';') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        if let Some((k, v)) = pair.split_once('=') {
            if v.is_empty() {
                continue;
            }
            properties.insert(k.trim().to_ascii_lowercase(), unescape(v, decode_percents));
        }
    }
    Some(ParsedCommand {
        area: area.to_string(),
        event: event.to_string(),
        properties,
        data: unescape(data, decode_percents),
    })
}

/// Neutralise text so that the agent cannot read it as a logging command or a log decoration: a zero-width word
/// joiner is put inside `##vso[` anywhere in the line and inside a leading `##[`. The text reads the same in the log.
pub fn neutralise(line: &str) -> std::borrow::Cow<'_, str> {
    const JOINER: &str = "\u{2060}";
    let needs_vso = line.contains("##vso[") || line.to_ascii_lowercase().contains("##vso[");
    let needs_deco = line.trim_start().starts_with("##[");
    if !needs_vso && !needs_deco {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let lower = line.to_ascii_lowercase();
    let mut i = 0;
    while i < line.len() {
        if lower[i..].starts_with("##vso[") {
            out.push('#');
            out.push_str(JOINER);
            out.push_str(&line[i + 1..i + 6]);
            i += 6;
        } else {
            let ch = line[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    if needs_deco {
        let trimmed = out.trim_start();
        let lead = out.len() - trimmed.len();
        let mut fixed = out[..lead].to_string();
        fixed.push('#');
        fixed.push_str(JOINER);
        fixed.push_str(&trimmed[1..]);
        out = fixed;
    }
    std::borrow::Cow::Owned(out)
}
