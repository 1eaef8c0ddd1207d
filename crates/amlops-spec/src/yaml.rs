//! Loading YAML (through `serde_yaml`, i.e. the maintained `serde_yaml_ng` fork), finding fields in
//! the text for error positions, `--set` overrides, and a PyYAML-compatible emitter (the SDK sends
//! conda files as `yaml.dump(..., sort_keys=True)` text and hashes that text).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Location, Result, SpecError};

/// Parses YAML text into a JSON value. Non-string keys become strings, tags are dropped,
/// non-finite floats become strings (`.nan`, `.inf`).
pub fn parse_yaml(text: &str, file: &Path) -> Result<Value> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| SpecError::Syntax {
        file: file.to_path_buf(),
        location: e.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        }),
        message: e.to_string(),
    })?;
    if let Some(path) = complex_key(&doc, &mut Vec::new()) {
        return Err(SpecError::Syntax {
            file: file.to_path_buf(),
            location: locate(text, &path.iter().map(String::as_str).collect::<Vec<_>>()),
            message: format!(
                "found unhashable key (a mapping or list used as a key) under `{}`; template placeholders like `{{{{NAME}}}}` must be rendered or quoted",
                if path.is_empty() {
                    "(document)".to_string()
                } else {
                    path.join(".")
                }
            ),
        });
    }
    let mut v = yaml_to_json(doc);
    let tokens = yaml11_string_floats(text);
    if !tokens.is_empty() {
        restore_yaml11_strings(&mut v, &tokens);
    }
    Ok(v)
}

/// Plain scalars that YAML 1.2 (this parser) reads as floats but YAML 1.1 (PyYAML, the SDK's
/// loader) reads as strings: exponent forms without a dot or without an exponent sign (`2e-5`,
/// `1e5`, `1.0e5`). Returns (value, original text).
fn yaml11_string_floats(text: &str) -> Vec<(f64, String)> {
    static TOKEN: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?m)(?:^|[:\-\[,{]\s*)\s*([-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+)\s*(?:#.*)?[,\]}]?\s*$").ok()
    });
    static PY_FLOAT: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?$").ok()
    });
    let (Some(token), Some(py)) = (TOKEN.as_ref(), PY_FLOAT.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in token.captures_iter(text) {
        let t = &c[1];
        if !py.is_match(t)
            && let Ok(f) = t.replace('_', "").parse::<f64>()
        {
            out.push((f, t.to_string()));
        }
    }
    out
}

fn restore_yaml11_strings(v: &mut Value, tokens: &[(f64, String)]) {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if let Some((_, t)) = tokens.iter().find(|(x, _)| *x == f) {
                *v = Value::String(t.clone());
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| restore_yaml11_strings(x, tokens)),
        Value::Object(m) => m.values_mut().for_each(|x| restore_yaml11_strings(x, tokens)),
        _ => {}
    }
}

/// Finds a mapping key that is itself a mapping or list (PyYAML rejects these as unhashable).
fn complex_key(v: &serde_yaml::Value, path: &mut Vec<String>) -> Option<Vec<String>> {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, val) in m {
                if matches!(k, serde_yaml::Value::Mapping(_) | serde_yaml::Value::Sequence(_)) {
                    return Some(path.clone());
                }
                path.push(k.as_str().unwrap_or("?").to_string());
                let r = complex_key(val, path);
                path.pop();
                if r.is_some() {
                    return r;
                }
            }
            None
        }
        serde_yaml::Value::Sequence(s) => s.iter().find_map(|x| complex_key(x, path)),
        serde_yaml::Value::Tagged(t) => complex_key(&t.value, path),
        _ => None,
    }
}

/// Converts a `serde_yaml` value to JSON.
pub fn yaml_to_json(v: serde_yaml::Value) -> Value {
    match v {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(n.to_string()))
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(n.to_string()))
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        serde_yaml::Value::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    Value::Null => "null".to_string(),
                    other => scalar_to_py_str(&other),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => yaml_to_json(t.value),
    }
}

/// Finds the position of a field given by a path of mapping keys (list indices are skipped)
/// in YAML text, by indentation. Best effort: used only to point errors at a line.
pub fn locate(text: &str, path: &[&str]) -> Option<Location> {
    let keys: Vec<&str> = path
        .iter()
        .copied()
        .filter(|p| p.parse::<usize>().is_err())
        .collect();
    if keys.is_empty() {
        return None;
    }
    // stack of (indent, key)
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (lineno, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut rest = trimmed;
        while let Some(r) = rest.strip_prefix("- ") {
            indent += 2;
            rest = r.trim_start();
            stack.retain(|(i, _)| *i < indent - 1);
        }
        let Some(colon) = find_key_colon(rest) else {
            continue;
        };
        let key = rest[..colon].trim().trim_matches(|c| c == '"' || c == '\'');
        stack.retain(|(i, _)| *i < indent);
        stack.push((indent, key.to_string()));
        if stack.len() == keys.len() && stack.iter().zip(&keys).all(|((_, a), b)| a == b) {
            return Some(Location {
                line: lineno + 1,
                column: indent + 1,
            });
        }
    }
    None
}

fn find_key_colon(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if matches!(bytes.first(), Some(b'{' | b'[' | b'|' | b'>')) {
        return None;
    }
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && i > 0 && bytes[i - 1] == b' ' {
            return None;
        }
        if b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            return Some(i);
        }
    }
    None
}

/// Python's `str()` of a scalar JSON value (`True`, `0.5`, `1e-05`, `None`).
pub fn scalar_to_py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => {
            if n.is_f64() {
                py_float(n.as_f64().unwrap_or(0.0))
            } else {
                n.to_string()
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python's `repr(float)`.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// Emits a value the way PyYAML's `yaml.dump(value, sort_keys=True)` does (block style,
/// two-space indent, sequences inside mappings not indented).
pub fn py_yaml_dump(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => emit_seq(a, 0, &mut out),
        other => {
            out.push_str(&py_scalar(other));
            out.push('\n');
            if !matches!(other, Value::Object(_) | Value::Array(_)) {
                out.push_str("...\n");
            }
        }
    }
    out
}

fn emit_map(m: &Map<String, Value>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for k in keys {
        let v = &m[k];
        out.push_str(&" ".repeat(indent));
        out.push_str(&py_str(k));
        out.push(':');
        match v {
            Value::Object(sub) if !sub.is_empty() => {
                out.push('\n');
                emit_map(sub, indent + 2, out);
            }
            Value::Array(seq) if !seq.is_empty() => {
                out.push('\n');
                emit_seq(seq, indent, out);
            }
            other => {
                out.push(' ');
                out.push_str(&py_scalar(other));
                out.push('\n');
            }
        }
    }
}

fn emit_seq(seq: &[Value], indent: usize, out: &mut String) {
    for item in seq {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Value::Object(sub) if !sub.is_empty() => {
                // first key on the dash line
                let mut tmp = String::new();
                emit_map(sub, indent + 2, &mut tmp);
                out.push(' ');
                out.push_str(&tmp[indent + 2..]);
            }
            Value::Array(sub) if !sub.is_empty() => {
                let mut tmp = String::new();
                emit_seq(sub, indent + 2, &mut tmp);
                out.push(' ');
                out.push_str(&tmp[indent + 2..]);
            }
            other => {
                out.push(' ');
                out.push_str(&py_scalar(other));
                out.push('\n');
            }
        }
    }
}

fn py_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if n.is_f64() {
                py_float(n.as_f64().unwrap_or(0.0))
            } else {
                n.to_string()
            }
        }
        Value::String(s) => py_str(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string as PyYAML writes it: plain when unambiguous, else single-quoted.
fn py_str(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else if s.chars().any(|c| c.is_control() && c != '\t') {
        serde_json::to_string(s).unwrap_or_default()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "!&*[]{}|>'\"%@`#,".contains(first) {
        return false;
    }
    if (first == '-' || first == '?' || first == ':') && s.chars().nth(1).is_none_or(|c| c == ' ') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\n') {
        return false;
    }
    // would resolve to another type
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
    ) {
        return false;
    }
    let numeric = regex::Regex::new(
        r"^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0b[0-1_]+|0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$",
    );
    if numeric.is_ok_and(|re| re.is_match(s)) {
        return false;
    }
    true
}

/// One `--set path=value` override: a dotted path with optional list indices (`a.b[0].c`
/// or `a.b.0.c`) and a value parsed as a YAML scalar (so `3` is a number, `true` a boolean,
/// `'3'` a string).
#[derive(Debug, Clone, PartialEq)]
pub struct SetOverride {
    /// The path segments.
    pub path: Vec<PathSegment>,
    /// The typed value.
    pub value: Value,
    /// The expression as given (for errors).
    pub expression: String,
}

/// One segment of an override path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

impl SetOverride {
    /// Parses `path=value`.
    pub fn parse(expression: &str) -> Result<Self> {
        let err = |message: &str| SpecError::Override {
            expression: expression.to_string(),
            message: message.to_string(),
        };
        let (path, value) = expression
            .split_once('=')
            .ok_or_else(|| err("expected `path=value`"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(err("empty path"));
        }
        let mut segs = Vec::new();
        for part in path.split('.') {
            if part.is_empty() {
                return Err(err("empty path segment"));
            }
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if !key.is_empty() {
                if let Ok(i) = key.parse::<usize>() {
                    segs.push(PathSegment::Index(i));
                } else {
                    segs.push(PathSegment::Key(key.to_string()));
                }
            }
            while !rest.is_empty() {
                let close = rest.find(']').ok_or_else(|| err("unclosed `[`"))?;
                let idx: usize = rest[1..close]
                    .parse()
                    .map_err(|_| err("list index must be a non-negative integer"))?;
                segs.push(PathSegment::Index(idx));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(err("unexpected text after `]`"));
                }
            }
        }
        let value = if value.trim().is_empty() {
            Value::String(String::new())
        } else {
            match serde_yaml::from_str::<serde_yaml::Value>(value) {
                Ok(v) => yaml_to_json(v),
                Err(_) => Value::String(value.to_string()),
            }
        };
        Ok(SetOverride {
            path: segs,
            value,
            expression: expression.to_string(),
        })
    }

    /// Applies the override to a document, creating missing mappings on the way.
    pub fn apply(&self, doc: &mut Value) -> Result<()> {
        let err = |message: String| SpecError::Override {
            expression: self.expression.clone(),
            message,
        };
        let mut cur = doc;
        for (i, seg) in self.path.iter().enumerate() {
            let last = i + 1 == self.path.len();
            match seg {
                PathSegment::Key(k) => {
                    if cur.is_null() {
                        *cur = Value::Object(Map::new());
                    }
                    let Value::Object(m) = cur else {
                        return Err(err(format!("`{k}`: the parent is not a mapping")));
                    };
                    if last {
                        m.insert(k.clone(), self.value.clone());
                        return Ok(());
                    }
                    cur = m.entry(k.clone()).or_insert(Value::Null);
                }
                PathSegment::Index(idx) => {
                    let Value::Array(a) = cur else {
                        return Err(err(format!("[{idx}]: the parent is not a list")));
                    };
                    let len = a.len();
                    let slot = a
                        .get_mut(*idx)
                        .ok_or_else(|| err(format!("index {idx} out of range (list has {len} items)")))?;
                    if last {
                        *slot = self.value.clone();
                        return Ok(());
                    }
                    cur = slot;
                }
            }
        }
        Ok(())
    }
}

/// Applies overrides in order.
pub fn apply_overrides(doc: &mut Value, overrides: &[SetOverride]) -> Result<()> {
    for o in overrides {
        o.apply(doc)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn py_float_matches_python_repr() {
        assert_eq!(py_float(0.5), "0.5");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(1e20), "1e+20");
    }

    #[test]
    fn dump_like_pyyaml() {
        let v = json!({"name": "x", "dependencies": ["python=3.8", {"pip": ["numpy==1.2", "yes"]}], "channels": ["conda-forge"], "n": 3});
        assert_eq!(
            py_yaml_dump(&v),
            "channels:\n- conda-forge\ndependencies:\n- python=3.8\n- pip:\n  - numpy==1.2\n  - 'yes'\nn: 3\nname: x\n"
        );
    }

    #[test]
    fn overrides_set_typed_values() {
        let mut doc = json!({"a": {"b": [1, {"c": "x"}]}});
        SetOverride::parse("a.b[1].c=3").unwrap().apply(&mut doc).unwrap();
        SetOverride::parse("a.d.e=true").unwrap().apply(&mut doc).unwrap();
        SetOverride::parse("a.b.0='7'").unwrap().apply(&mut doc).unwrap();
        assert_eq!(doc, json!({"a": {"b": ["7", {"c": 3}], "d": {"e": true}}}));
        assert!(SetOverride::parse("a.b[5]=1").unwrap().apply(&mut doc).is_err());
        assert!(SetOverride::parse("novalue").is_err());
    }

    #[test]
    fn locate_finds_nested_keys() {
        let text = "a: 1\ninputs:\n  x:\n    type: foo\n  y: 2\n";
        assert_eq!(
            locate(text, &["inputs", "x", "type"]),
            Some(Location { line: 4, column: 5 })
        );
        assert_eq!(
            locate(text, &["inputs", "y"]),
            Some(Location { line: 5, column: 3 })
        );
        assert_eq!(locate(text, &["nope"]), None);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_yaml("a: [1, 2\nb: c", Path::new("f.yml")).unwrap_err();
        assert!(e.location().is_some(), "{e}");
        assert!(e.to_string().starts_with("f.yml:"), "{e}");
    }
}
#[cfg(test)]
mod float_tests {
    #[test]
    fn floats_stay_floats() {
        let v = super::parse_yaml("a: 1.0\nb: 0.0\nc: 2e-5\n", std::path::Path::new("x")).unwrap();
        assert_eq!(super::scalar_to_py_str(&v["a"]), "1.0");
        assert_eq!(super::scalar_to_py_str(&v["b"]), "0.0");
        // PyYAML (YAML 1.1) reads `2e-5` as a string
        assert_eq!(v["c"], serde_json::json!("2e-5"));
        let v = super::parse_yaml("a: 1.5e-3\nb:\n- 1e5\n- 2.5\n", std::path::Path::new("x")).unwrap();
        assert_eq!(v["a"], serde_json::json!(0.0015));
        assert_eq!(v["b"], serde_json::json!(["1e5", 2.5]));
    }
}
