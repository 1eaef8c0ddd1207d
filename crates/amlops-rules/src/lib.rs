//! The rules language: one comparison per line over the metrics of two sides and numbers. AzureMLGate@1 writes
//! the sides `candidate` and `champion` ([`Dialect::GATE`]); AzureMLDeploy@1's canary analysis writes `canary` and
//! `baseline` over a fixed list of metrics (a [`Dialect`] with `metrics`, unknown names fail at parse time).
//!
//! ```text
//! rule    := expr op expr            op: >= > <= < == !=
//! expr    := term (("+" | "-") term)*
//! term    := unary (("*" | "/") unary)*
//! unary   := "-" unary | primary
//! primary := number | metric | "(" expr ")"
//! metric  := ("candidate" | "champion") ("." name | "[" quoted-name "]")
//! ```
//!
//! A `name` is letters, digits, `_` and `.` (`candidate.val.accuracy` is the metric `val.accuracy`); any other
//! metric name is written quoted: `candidate["val/loss"]`. `#` starts a comment. `==` and `!=` compare with a
//! relative tolerance of 1e-9.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Which side a metric belongs to. A [`Dialect`] gives each side the word rules use for it (the gate's are
/// `candidate` and `champion`; the canary analysis writes `canary` for `Candidate` and `baseline` for `Champion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The model (or job) being gated.
    Candidate,
    /// The model in production.
    Champion,
}

impl Side {
    /// `candidate` or `champion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Candidate => "candidate",
            Side::Champion => "champion",
        }
    }
}

/// The words of a rules language: what each side is called and, optionally, the only metric names allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect<'a> {
    /// The word for [`Side::Candidate`] (matched without regard to ASCII case).
    pub candidate: &'a str,
    /// The word for [`Side::Champion`].
    pub champion: &'a str,
    /// A metric name used in examples of error messages.
    pub example: &'a str,
    /// When set, a metric outside this list fails to parse, pointing at its name.
    pub metrics: Option<&'a [&'a str]>,
}

impl Dialect<'static> {
    /// The gate's language: `candidate.<metric>` and `champion.<metric>`, any metric name.
    pub const GATE: Dialect<'static> = Dialect {
        candidate: "candidate",
        champion: "champion",
        example: "accuracy",
        metrics: None,
    };
}

impl Dialect<'_> {
    /// The word for `side`.
    pub fn word(&self, side: Side) -> &str {
        match side {
            Side::Candidate => self.candidate,
            Side::Champion => self.champion,
        }
    }

    fn side_of(&self, word: &str) -> Option<Side> {
        if word.eq_ignore_ascii_case(self.candidate) {
            Some(Side::Candidate)
        } else if word.eq_ignore_ascii_case(self.champion) {
            Some(Side::Champion)
        } else {
            None
        }
    }

    fn check_name(&self, side: Side, name: &str) -> Result<(), String> {
        match self.metrics {
            Some(known) if !known.contains(&name) => Err(format!(
                "unknown metric `{}.{name}`; the metrics are {}",
                self.word(side),
                known.join(", ")
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `==` (relative tolerance 1e-9)
    Eq,
    /// `!=` (relative tolerance 1e-9)
    Ne,
}

impl CompareOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Ge => ">=",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Lt => "<",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
        }
    }

    /// Apply the comparison.
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        let close = (lhs - rhs).abs() <= 1e-9 * lhs.abs().max(rhs.abs()) || lhs == rhs;
        match self {
            CompareOp::Ge => lhs >= rhs,
            CompareOp::Gt => lhs > rhs,
            CompareOp::Le => lhs <= rhs,
            CompareOp::Lt => lhs < rhs,
            CompareOp::Eq => close,
            CompareOp::Ne => !close,
        }
    }
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// An arithmetic expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Number(f64),
    /// `candidate.<name>` or `champion.<name>`.
    Metric {
        /// Whose metric.
        side: Side,
        /// The metric's name, case-sensitive.
        name: String,
    },
    /// `-expr`.
    Neg(Box<Expr>),
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
}

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// The metric does not exist on that side.
    MissingMetric {
        /// Whose metric.
        side: Side,
        /// The name.
        name: String,
    },
    /// The rule mentions the champion, and there is none.
    NoChampion,
    /// Division by zero or an overflow.
    NotFinite,
}

/// Where metric values come from while evaluating.
pub trait MetricValues {
    /// The value of a metric, or why there is none.
    fn value(&self, side: Side, name: &str) -> Result<f64, EvalError>;
}

impl Expr {
    /// Evaluate over `values`.
    pub fn eval(&self, values: &dyn MetricValues) -> Result<f64, EvalError> {
        let v = match self {
            Expr::Number(n) => *n,
            Expr::Metric { side, name } => values.value(*side, name)?,
            Expr::Neg(e) => -e.eval(values)?,
            Expr::Binary { op, lhs, rhs } => {
                let (a, b) = (lhs.eval(values)?, rhs.eval(values)?);
                match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                    ArithOp::Div => a / b,
                }
            }
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(EvalError::NotFinite)
        }
    }

    /// Every metric the expression mentions, in order, without duplicates.
    pub fn metrics(&self, out: &mut Vec<(Side, String)>) {
        match self {
            Expr::Number(_) => {}
            Expr::Metric { side, name } => {
                if !out.iter().any(|(s, n)| s == side && n == name) {
                    out.push((*side, name.clone()));
                }
            }
            Expr::Neg(e) => e.metrics(out),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.metrics(out);
                rhs.metrics(out);
            }
        }
    }
}

/// Where a rule was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOrigin {
    /// A multiLine input (`rules`).
    Input(String),
    /// A file (`rulesFile`).
    File(PathBuf),
}

impl fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleOrigin::Input(name) => write!(f, "input '{name}'"),
            RuleOrigin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule as written (trimmed, without a trailing comment).
    pub text: String,
    /// Where it was written.
    pub origin: RuleOrigin,
    /// 1-based line.
    pub line: usize,
    /// Left side.
    pub lhs: Expr,
    /// The comparison.
    pub op: CompareOp,
    /// Right side.
    pub rhs: Expr,
}

impl Rule {
    /// Every metric the rule mentions, in order.
    pub fn metrics(&self) -> Vec<(Side, String)> {
        let mut out = Vec::new();
        self.lhs.metrics(&mut out);
        self.rhs.metrics(&mut out);
        out
    }

    /// Whether the rule mentions a metric of `side`.
    pub fn mentions(&self, side: Side) -> bool {
        self.metrics().iter().any(|(s, _)| *s == side)
    }
}

/// A rule that does not parse: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rule on line {line} of {origin}: `{text}`: at character {column}: {message}")]
pub struct RuleParseError {
    /// Where the rule was written.
    pub origin: RuleOrigin,
    /// 1-based line.
    pub line: usize,
    /// 1-based character (not byte) in the rule as written on its line.
    pub column: usize,
    /// The rule's text.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

impl RuleParseError {
    /// The rule with a caret under the offending character, for the log.
    pub fn pointer(&self) -> String {
        let lead = self.column.saturating_sub(1);
        format!("{}\n{}^", self.text, " ".repeat(lead))
    }
}

/// Parse every rule of a text: one per line; blank lines and `#` comments are skipped.
pub fn parse_rules(text: &str, origin: &RuleOrigin) -> Result<Vec<Rule>, RuleParseError> {
    parse_rules_in(text, origin, &Dialect::GATE)
}

/// [`parse_rules`] in another [`Dialect`].
pub fn parse_rules_in(
    text: &str,
    origin: &RuleOrigin,
    dialect: &Dialect<'_>,
) -> Result<Vec<Rule>, RuleParseError> {
    let mut rules = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let without_comment = strip_comment(raw);
        let trimmed_start = without_comment.trim_start();
        let rule_text = trimmed_start.trim_end();
        if rule_text.is_empty() {
            continue;
        }
        // Columns count from the start of the line as written.
        let offset = without_comment.chars().count() - trimmed_start.chars().count();
        rules.push(parse_rule_at(rule_text, origin, index + 1, offset, dialect)?);
    }
    Ok(rules)
}

/// Parse a single rule (line 1 of `origin`).
pub fn parse_rule(text: &str, origin: &RuleOrigin) -> Result<Rule, RuleParseError> {
    parse_rule_at(text.trim(), origin, 1, 0, &Dialect::GATE)
}

/// `#` outside a quoted name starts a comment.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
    }
    line
}

fn parse_rule_at(
    text: &str,
    origin: &RuleOrigin,
    line: usize,
    offset: usize,
    dialect: &Dialect<'_>,
) -> Result<Rule, RuleParseError> {
    let fail = |column: usize, message: String| RuleParseError {
        origin: origin.clone(),
        line,
        column: column + offset,
        text: text.to_string(),
        message,
    };
    let tokens = lex(text, dialect).map_err(|(col, msg)| fail(col, msg))?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        end_column: text.chars().count() + 1,
        dialect,
    };
    let lhs = parser.expr().map_err(|(col, msg)| fail(col, msg))?;
    let (op, op_col) = match parser.peek() {
        Some((Tok::Cmp(op), col)) => (*op, *col),
        Some((tok, col)) => {
            return Err(fail(
                *col,
                format!(
                    "expected a comparison (>=, >, <=, <, ==, !=) or an arithmetic operator, found {}",
                    tok.describe(dialect)
                ),
            ));
        }
        None => {
            return Err(fail(
                parser.end_column,
                "the rule has no comparison: write `expression op expression` with op one of >=, >, <=, <, \
                 ==, !="
                    .into(),
            ));
        }
    };
    parser.pos += 1;
    if parser.peek().is_none() {
        return Err(fail(
            parser.end_column,
            format!("expected an expression after `{}`", op.as_str()),
        ));
    }
    let rhs = parser.expr().map_err(|(col, msg)| fail(col, msg))?;
    if let Some((tok, col)) = parser.peek() {
        let message = match tok {
            Tok::Cmp(_) => "only one comparison is allowed per rule; write two rules instead".to_string(),
            Tok::RParen => "`)` without a matching `(`".to_string(),
            other => format!(
                "did not expect {} after the right-hand side",
                other.describe(dialect)
            ),
        };
        return Err(fail(*col, message));
    }
    let rule = Rule {
        text: text.to_string(),
        origin: origin.clone(),
        line,
        lhs,
        op,
        rhs,
    };
    if rule.metrics().is_empty() {
        return Err(fail(
            op_col,
            format!(
                "the rule compares only numbers; mention {}.<metric> or {}.<metric>",
                dialect.candidate, dialect.champion
            ),
        ));
    }
    Ok(rule)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Number(f64),
    /// A metric reference, already split.
    Metric(Side, String),
    Plus,
    Minus,
    Star,
    Slash,
    LParen,
    RParen,
    Cmp(CompareOp),
}

impl Tok {
    fn describe(&self, dialect: &Dialect<'_>) -> String {
        match self {
            Tok::Number(n) => format!("the number {n}"),
            Tok::Metric(side, name) => format!("`{}.{name}`", dialect.word(*side)),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::Slash => "`/`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Cmp(op) => format!("`{}`", op.as_str()),
        }
    }
}

type LexError = (usize, String);

/// Tokens with their 1-based character column.
fn lex(text: &str, dialect: &Dialect<'_>) -> Result<Vec<(Tok, usize)>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '+' => push(&mut out, &mut i, Tok::Plus, col, 1),
            '-' => push(&mut out, &mut i, Tok::Minus, col, 1),
            '*' => push(&mut out, &mut i, Tok::Star, col, 1),
            '/' => push(&mut out, &mut i, Tok::Slash, col, 1),
            '(' => push(&mut out, &mut i, Tok::LParen, col, 1),
            ')' => push(&mut out, &mut i, Tok::RParen, col, 1),
            '>' | '<' => {
                let (op, len) = match (c, next) {
                    ('>', Some('=')) => (CompareOp::Ge, 2),
                    ('<', Some('=')) => (CompareOp::Le, 2),
                    ('<', Some('>')) => return Err((col, "`<>` is not an operator; use `!=`".into())),
                    ('>', _) => (CompareOp::Gt, 1),
                    _ => (CompareOp::Lt, 1),
                };
                push(&mut out, &mut i, Tok::Cmp(op), col, len);
            }
            '=' => match next {
                Some('=') => push(&mut out, &mut i, Tok::Cmp(CompareOp::Eq), col, 2),
                Some('>') => return Err((col, "`=>` is not an operator; use `>=`".into())),
                Some('<') => return Err((col, "`=<` is not an operator; use `<=`".into())),
                _ => return Err((col, "`=` alone is not a comparison; use `==`".into())),
            },
            '!' => match next {
                Some('=') => push(&mut out, &mut i, Tok::Cmp(CompareOp::Ne), col, 2),
                _ => return Err((col, "`!` alone is not an operator; use `!=`".into())),
            },
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let (value, len) = lex_number(&chars[i..]).map_err(|m| (col, m))?;
                if let Some(&after) = chars.get(i + len)
                    && (after.is_alphanumeric() || after == '_' || after == '.')
                {
                    return Err((i + len + 1, format!("unexpected `{after}` right after a number")));
                }
                push(&mut out, &mut i, Tok::Number(value), col, len);
            }
            c if c.is_alphabetic() || c == '_' => {
                let (tok, len) = lex_metric(&chars, i, dialect)?;
                push(&mut out, &mut i, tok, col, len);
            }
            '"' | '\'' => {
                let (a, b) = (dialect.candidate, dialect.champion);
                return Err((
                    col,
                    format!("a quoted name must follow `{a}` or `{b}`, as in {a}[\"val/loss\"]"),
                ));
            }
            other => {
                let (a, b) = (dialect.candidate, dialect.champion);
                return Err((
                    col,
                    format!(
                        "unexpected character `{other}`; rules use {a}.<metric>, {b}.<metric>, numbers, \
                         + - * / ( ) and one of >= > <= < == !="
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn push(out: &mut Vec<(Tok, usize)>, i: &mut usize, tok: Tok, col: usize, len: usize) {
    out.push((tok, col));
    *i += len;
}

fn lex_number(chars: &[char]) -> Result<(f64, usize), String> {
    let mut len = 0;
    while len < chars.len() && chars[len].is_ascii_digit() {
        len += 1;
    }
    if len < chars.len() && chars[len] == '.' {
        len += 1;
        while len < chars.len() && chars[len].is_ascii_digit() {
            len += 1;
        }
    }
    if len < chars.len() && (chars[len] == 'e' || chars[len] == 'E') {
        let mut j = len + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        let digits_start = j;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j == digits_start {
            return Err("the exponent of this number has no digits".into());
        }
        len = j;
    }
    let text: String = chars[..len].iter().collect();
    let value: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if !value.is_finite() {
        return Err(format!("`{text}` is too large"));
    }
    Ok((value, len))
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

/// `candidate.name`, `champion.name`, `candidate["any name"]` (in the dialect's words).
fn lex_metric(chars: &[char], start: usize, dialect: &Dialect<'_>) -> Result<(Tok, usize), LexError> {
    let mut end = start;
    while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
        end += 1;
    }
    let word: String = chars[start..end].iter().collect();
    let side = match dialect.side_of(&word) {
        Some(side) => side,
        None => {
            let mut full_end = end;
            while full_end < chars.len() && is_name_char(chars[full_end]) {
                full_end += 1;
            }
            let full: String = chars[start..full_end].iter().collect();
            return Err((
                start + 1,
                format!(
                    "unknown name `{full}`: write {}.{full} or {}.{full}",
                    dialect.candidate, dialect.champion
                ),
            ));
        }
    };
    match chars.get(end) {
        Some('.') => {
            let name_start = end + 1;
            let mut name_end = name_start;
            while name_end < chars.len() && is_name_char(chars[name_end]) {
                name_end += 1;
            }
            let name: String = chars[name_start..name_end].iter().collect();
            if name.is_empty() {
                return Err((name_start + 1, format!("expected a metric name after `{word}.`")));
            }
            if name.ends_with('.') {
                return Err((name_end, "a metric name cannot end with `.`".into()));
            }
            dialect.check_name(side, &name).map_err(|m| (name_start + 1, m))?;
            Ok((Tok::Metric(side, name), name_end - start))
        }
        Some('[') => {
            let quote_pos = end + 1;
            let quote = match chars.get(quote_pos) {
                Some(q @ ('"' | '\'')) => *q,
                _ => {
                    return Err((
                        quote_pos + 1,
                        format!("expected a quoted metric name after `{word}[`, as in {word}[\"val/loss\"]"),
                    ));
                }
            };
            let name_start = quote_pos + 1;
            let Some(rel) = chars[name_start..].iter().position(|&c| c == quote) else {
                return Err((quote_pos + 1, "this quoted metric name is never closed".into()));
            };
            let name_end = name_start + rel;
            let name: String = chars[name_start..name_end].iter().collect();
            if name.trim().is_empty() {
                return Err((quote_pos + 1, "the quoted metric name is empty".into()));
            }
            if chars.get(name_end + 1) != Some(&']') {
                return Err((name_end + 2, "expected `]` after the quoted metric name".into()));
            }
            dialect.check_name(side, &name).map_err(|m| (name_start + 1, m))?;
            Ok((Tok::Metric(side, name), name_end + 2 - start))
        }
        _ => Err((
            end + 1,
            format!(
                "expected `.` and a metric name after `{word}`, as in {word}.{}",
                dialect.example
            ),
        )),
    }
}

struct Parser<'a> {
    tokens: &'a [(Tok, usize)],
    pos: usize,
    end_column: usize,
    dialect: &'a Dialect<'a>,
}

type ParseResult<T> = Result<T, (usize, String)>;

impl Parser<'_> {
    fn peek(&self) -> Option<(&Tok, &usize)> {
        self.tokens.get(self.pos).map(|(t, c)| (t, c))
    }

    fn expr(&mut self) -> ParseResult<Expr> {
        let mut lhs = self.term()?;
        while let Some((tok, _)) = self.peek() {
            let op = match tok {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => break,
            };
            self.pos += 1;
            let rhs = self.term()?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    fn term(&mut self) -> ParseResult<Expr> {
        let mut lhs = self.unary()?;
        while let Some((tok, _)) = self.peek() {
            let op = match tok {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                _ => break,
            };
            self.pos += 1;
            let rhs = self.unary()?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> ParseResult<Expr> {
        if let Some((Tok::Minus, _)) = self.peek() {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> ParseResult<Expr> {
        let expected = format!(
            "expected a number, {}.<metric>, {}.<metric> or `(`",
            self.dialect.candidate, self.dialect.champion
        );
        let Some((tok, col)) = self.peek() else {
            return Err((self.end_column, format!("{expected}, but the rule ends")));
        };
        let col = *col;
        match tok.clone() {
            Tok::Number(n) => {
                self.pos += 1;
                Ok(Expr::Number(n))
            }
            Tok::Metric(side, name) => {
                self.pos += 1;
                Ok(Expr::Metric { side, name })
            }
            Tok::LParen => {
                self.pos += 1;
                let inner = self.expr()?;
                match self.peek() {
                    Some((Tok::RParen, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err((col, "this `(` is never closed".into())),
                }
            }
            other => Err((col, format!("{expected}, found {}", other.describe(self.dialect)))),
        }
    }
}

/// A model's or job's metrics, with a description of where they came from for messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    /// Where the metrics came from (`job 'x'`, `model churn:3`).
    pub source: String,
    /// Name to value.
    pub values: BTreeMap<String, f64>,
}

impl MetricSet {
    /// A set from pairs.
    pub fn new(source: impl Into<String>, values: impl IntoIterator<Item = (String, f64)>) -> Self {
        Self {
            source: source.into(),
            values: values.into_iter().collect(),
        }
    }

    /// The names, comma-separated, for messages.
    pub fn names(&self) -> String {
        if self.values.is_empty() {
            "none".to_string()
        } else {
            self.values.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }
}

/// Candidate metrics and, when there is one, the champion's.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// The candidate's metrics (empty when no rule needs them).
    pub candidate: MetricSet,
    /// The champion's metrics, `None` when there is no champion.
    pub champion: Option<MetricSet>,
}

impl MetricValues for Metrics {
    fn value(&self, side: Side, name: &str) -> Result<f64, EvalError> {
        let set = match side {
            Side::Candidate => &self.candidate,
            Side::Champion => self.champion.as_ref().ok_or(EvalError::NoChampion)?,
        };
        set.values
            .get(name)
            .copied()
            .ok_or_else(|| EvalError::MissingMetric {
                side,
                name: name.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn origin() -> RuleOrigin {
        RuleOrigin::Input("rules".into())
    }

    fn parse(text: &str) -> Rule {
        parse_rule(text, &origin()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> RuleParseError {
        parse_rule(text, &origin()).expect_err(text)
    }

    fn metrics() -> Metrics {
        Metrics {
            candidate: MetricSet::new(
                "job 'j1'",
                [
                    ("accuracy".to_string(), 0.93),
                    ("rmse".to_string(), 0.41),
                    ("val/loss".to_string(), 0.2),
                    ("val.acc".to_string(), 0.8),
                ],
            ),
            champion: Some(MetricSet::new(
                "model churn:3",
                [("accuracy".to_string(), 0.9), ("rmse".to_string(), 0.4)],
            )),
        }
    }

    fn eval(rule: &Rule, m: &Metrics) -> Result<bool, EvalError> {
        Ok(rule.op.holds(rule.lhs.eval(m)?, rule.rhs.eval(m)?))
    }

    #[test]
    fn parses_the_issue_examples() {
        let r = parse("candidate.accuracy >= 0.9");
        assert_eq!(
            r.lhs,
            Expr::Metric {
                side: Side::Candidate,
                name: "accuracy".into()
            }
        );
        assert_eq!(r.op, CompareOp::Ge);
        assert_eq!(r.rhs, Expr::Number(0.9));
        assert_eq!(eval(&r, &metrics()), Ok(true));

        let r = parse("candidate.rmse <= champion.rmse * 1.02");
        assert_eq!(
            r.metrics(),
            vec![
                (Side::Candidate, "rmse".to_string()),
                (Side::Champion, "rmse".to_string())
            ]
        );
        // 0.41 <= 0.408 is false.
        assert_eq!(eval(&r, &metrics()), Ok(false));
        assert!(r.mentions(Side::Champion));
    }

    #[test]
    fn precedence_parentheses_and_unary_minus() {
        let m = metrics();
        // 1 + 2 * 3 = 7, not 9.
        assert_eq!(
            eval(&parse("candidate.accuracy * 0 + 1 + 2 * 3 == 7"), &m),
            Ok(true)
        );
        assert_eq!(
            eval(&parse("(1 + 2) * 3 == 9 + candidate.rmse * 0"), &m),
            Ok(true)
        );
        assert_eq!(
            eval(&parse("candidate.rmse - champion.rmse <= 0.02"), &m),
            Ok(true)
        );
        // Left-associative: 8 / 4 / 2 = 1.
        assert_eq!(eval(&parse("8 / 4 / 2 == 1 + 0 * candidate.rmse"), &m), Ok(true));
        assert_eq!(eval(&parse("-candidate.rmse < -0.4"), &m), Ok(true));
        assert_eq!(eval(&parse("--candidate.rmse > 0.4"), &m), Ok(true));
        assert_eq!(eval(&parse("candidate.accuracy - -0.07 == 1"), &m), Ok(true));
        assert_eq!(eval(&parse("candidate.accuracy != 0.93"), &m), Ok(false));
        assert_eq!(eval(&parse("candidate.accuracy > 1e-3"), &m), Ok(true));
        assert_eq!(eval(&parse("candidate.accuracy < .95"), &m), Ok(true));
        assert_eq!(eval(&parse("candidate.accuracy<=0.93"), &m), Ok(true));
    }

    #[test]
    fn equality_tolerates_rounding() {
        // 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
        let m = Metrics {
            candidate: MetricSet::new("x", [("a".to_string(), 0.1), ("b".to_string(), 0.2)]),
            champion: None,
        };
        assert_eq!(eval(&parse("candidate.a + candidate.b == 0.3"), &m), Ok(true));
        assert_eq!(eval(&parse("candidate.a + candidate.b != 0.3"), &m), Ok(false));
        assert_eq!(eval(&parse("candidate.a == 0.1000001"), &m), Ok(false));
    }

    #[test]
    fn dotted_and_quoted_metric_names() {
        let m = metrics();
        let r = parse("candidate.val.acc >= 0.8");
        assert_eq!(r.metrics(), vec![(Side::Candidate, "val.acc".to_string())]);
        assert_eq!(eval(&r, &m), Ok(true));
        let r = parse(r#"candidate["val/loss"] < 0.3"#);
        assert_eq!(r.metrics(), vec![(Side::Candidate, "val/loss".to_string())]);
        assert_eq!(eval(&r, &m), Ok(true));
        let r = parse("Champion['accuracy'] > 0.5");
        assert_eq!(r.metrics(), vec![(Side::Champion, "accuracy".to_string())]);
    }

    #[test]
    fn missing_metric_no_champion_and_division_by_zero() {
        let mut m = metrics();
        assert_eq!(
            eval(&parse("candidate.f1 > 0.5"), &m),
            Err(EvalError::MissingMetric {
                side: Side::Candidate,
                name: "f1".into()
            })
        );
        assert_eq!(
            eval(&parse("candidate.accuracy / (champion.rmse - 0.4) > 1"), &m),
            Err(EvalError::NotFinite)
        );
        m.champion = None;
        assert_eq!(
            eval(&parse("candidate.accuracy >= champion.accuracy"), &m),
            Err(EvalError::NoChampion)
        );
        assert_eq!(m.candidate.names(), "accuracy, rmse, val.acc, val/loss");
    }

    #[test]
    fn several_rules_with_comments_and_blank_lines() {
        let text =
            "# quality\ncandidate.accuracy >= 0.9   # floor\n\n   candidate.rmse <= champion.rmse * 1.02\n";
        let rules = parse_rules(text, &origin()).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(
            (rules[0].line, rules[0].text.as_str()),
            (2, "candidate.accuracy >= 0.9")
        );
        assert_eq!(rules[1].line, 4);
        assert_eq!(rules[1].text, "candidate.rmse <= champion.rmse * 1.02");
        // A # inside a quoted name is not a comment.
        let rules = parse_rules("candidate[\"a#b\"] > 1", &origin()).unwrap();
        assert_eq!(rules[0].metrics(), vec![(Side::Candidate, "a#b".to_string())]);
    }

    #[test]
    fn errors_point_at_the_character() {
        let cases: &[(&str, usize, &str)] = &[
            ("candidate.accuracy = 0.9", 20, "use `==`"),
            ("candidate.accuracy => 0.9", 20, "use `>=`"),
            ("candidate.accuracy <> 0.9", 20, "use `!=`"),
            ("candidate.accuracy ! 0.9", 20, "use `!=`"),
            ("candidate.accuracy", 19, "has no comparison"),
            ("candidate.accuracy >=", 22, "expected an expression after `>=`"),
            (
                "candidate.accuracy >= 0.9 0.8",
                27,
                "did not expect the number 0.8",
            ),
            ("candidate.accuracy >= (0.9 * 2", 23, "never closed"),
            ("candidate.accuracy >= 0.9)", 26, "without a matching `(`"),
            ("candidate.accuracy >= 0.9 >= 0.8", 27, "only one comparison"),
            (
                "accuracy >= 0.9",
                1,
                "write candidate.accuracy or champion.accuracy",
            ),
            ("candidate >= 0.9", 10, "expected `.` and a metric name"),
            (
                "candidate. >= 0.9",
                11,
                "expected a metric name after `candidate.`",
            ),
            ("candidate.acc. >= 0.9", 14, "cannot end with `.`"),
            ("candidate[val] >= 0.9", 11, "expected a quoted metric name"),
            ("candidate[\"val >= 0.9", 11, "never closed"),
            ("candidate[\"val\" >= 0.9", 16, "expected `]`"),
            ("candidate.accuracy >= 0.9x", 26, "right after a number"),
            ("candidate.accuracy >= 1e", 23, "exponent"),
            ("candidate.accuracy >= $x", 23, "unexpected character `$`"),
            ("candidate.accuracy * >= 0.9", 22, "found `>=`"),
            ("candidate.accuracy >= * 0.9", 23, "found `*`"),
            ("0.9 <= 1", 5, "compares only numbers"),
            ("candidate.accuracy 0.9", 20, "expected a comparison"),
            ("()", 2, "found `)`"),
            ("\"x\" > 1", 1, "quoted name must follow"),
        ];
        for (text, column, needle) in cases {
            let e = err(text);
            assert_eq!(e.column, *column, "{text}: {e}");
            assert!(e.message.contains(needle), "{text}: {e}");
            assert_eq!(e.text, *text);
        }
    }

    #[test]
    fn error_message_names_origin_line_rule_and_column() {
        let text = "candidate.accuracy >= 0.9\n\n  candidate.rmse =< 0.5\n";
        let e = parse_rules(text, &RuleOrigin::File("gates/rules.txt".into())).unwrap_err();
        assert_eq!(e.line, 3);
        // Columns count from the start of the line, leading spaces included.
        assert_eq!(e.column, 18);
        assert_eq!(
            e.to_string(),
            "invalid rule on line 3 of gates/rules.txt: `candidate.rmse =< 0.5`: at character 18: `=<` is not \
             an operator; use `<=`"
        );
        let e = err("candidate.x = 1");
        assert_eq!(e.pointer(), "candidate.x = 1\n            ^");
    }

    #[test]
    fn the_guide_examples_parse() {
        let text = "candidate.accuracy >= 0.9\n\
                    candidate.rmse <= champion.rmse * 1.02        # at most 2% worse than production\n\
                    candidate.auc - champion.auc >= -0.005\n\
                    (candidate.precision + candidate.recall) / 2 > 0.8\n\
                    champion['f1-score'] < candidate[\"val/loss\"]\n";
        let rules = parse_rules(text, &origin()).unwrap();
        assert_eq!(rules.len(), 5);
        let m = Metrics {
            candidate: MetricSet::new("c", [("precision".to_string(), 0.9), ("recall".to_string(), 0.8)]),
            champion: None,
        };
        // (0.9 + 0.8) / 2 = 0.85 > 0.8
        assert_eq!(eval(&rules[3], &m), Ok(true));
        assert_eq!(rules[2].rhs, Expr::Neg(Box::new(Expr::Number(0.005))));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = err("candidate.précision >= é");
        assert_eq!(e.column, 24, "{e}");
    }
}
