//! A small JSON scanner for one line of JSON Lines: the event or row object is parsed in place,
//! strings without escapes and number literals stay ranges of the line (nothing is allocated
//! for them), and objects or arrays inside a cell are kept as their JSON text.

use std::collections::HashMap;

/// One value of a row, as ranges of the line (or of the decoded-string arena).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// `null`, a missing key, or `NaN`/`Infinity` (Python's `json` writes them for floats).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number literal; `int` when it has neither fraction nor exponent.
    Num { start: usize, end: usize, int: bool },
    /// A string: a range of the line, or of the arena when it had escapes (`decoded`).
    Str { start: usize, end: usize, decoded: bool },
    /// An object or an array: its JSON text.
    Nested { start: usize, end: usize },
}

/// Why a line cannot be used.
#[derive(Debug)]
pub(crate) enum LineError {
    /// Not valid JSON, or not rows: the line is skipped with a warning.
    Malformed(String),
    /// A payload-logging event (`data` holds the raw request or response body).
    Payload(String),
}

impl From<String> for LineError {
    fn from(s: String) -> Self {
        LineError::Malformed(s)
    }
}

/// Most distinct keys a data set's rows may have (schema inference).
pub(crate) const MAX_COLUMNS: usize = 10_000;

/// Column names to indexes; remembers the key order of the last row so that rows written
/// with the same keys in the same order find their columns by one comparison a key.
#[derive(Debug, Default)]
pub(crate) struct ColumnMap {
    index: HashMap<Vec<u8>, usize>,
    /// The columns, in the order they were first seen (or given).
    pub names: Vec<String>,
    /// Unknown keys become new columns (schema inference) instead of being skipped.
    grow: bool,
    /// A key met once [`MAX_COLUMNS`] columns were known (schema inference stops there).
    pub overflow: bool,
    recent: Vec<(Vec<u8>, Option<usize>)>,
}

impl ColumnMap {
    /// A map of fixed columns (other keys are skipped).
    pub(crate) fn fixed(names: &[String]) -> ColumnMap {
        ColumnMap {
            index: names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_bytes().to_vec(), i))
                .collect(),
            names: names.to_vec(),
            grow: false,
            overflow: false,
            recent: Vec::new(),
        }
    }

    /// A map that learns every key it meets.
    pub(crate) fn growing() -> ColumnMap {
        ColumnMap {
            grow: true,
            ..ColumnMap::default()
        }
    }

    fn lookup(&mut self, pos: usize, key: &[u8]) -> Option<usize> {
        if let Some((k, c)) = self.recent.get(pos)
            && k.as_slice() == key
        {
            return *c;
        }
        let c = match self.index.get(key) {
            Some(&c) => Some(c),
            None if self.grow && self.names.len() >= MAX_COLUMNS => {
                self.overflow = true;
                None
            }
            None if self.grow => {
                let c = self.names.len();
                self.names.push(String::from_utf8_lossy(key).into_owned());
                self.index.insert(key.to_vec(), c);
                Some(c)
            }
            None => None,
        };
        if pos < self.recent.len() {
            self.recent[pos] = (key.to_vec(), c);
        } else if pos == self.recent.len() && pos < 4096 {
            self.recent.push((key.to_vec(), c));
        }
        c
    }
}

/// The rows of one line: (column, value) entries, where each row ends, decoded strings.
#[derive(Debug, Default)]
pub(crate) struct LineRows {
    pub entries: Vec<(usize, Cell)>,
    pub ends: Vec<usize>,
    pub arena: Vec<u8>,
    top: Vec<((usize, usize, bool), Cell)>,
    columnar: Vec<(Option<usize>, usize, usize)>,
    values: Vec<Cell>,
}

impl LineRows {
    fn clear(&mut self) {
        self.entries.clear();
        self.ends.clear();
        self.arena.clear();
        self.top.clear();
        self.columnar.clear();
        self.values.clear();
    }
}

/// The text of a cell (a string's decoded bytes, a number's literal, an object's JSON).
pub(crate) fn cell_text<'a>(cell: Cell, line: &'a [u8], arena: &'a [u8]) -> &'a [u8] {
    match cell {
        Cell::Null => b"",
        Cell::Bool(true) => b"true",
        Cell::Bool(false) => b"false",
        Cell::Num { start, end, .. } | Cell::Nested { start, end } => &line[start..end],
        Cell::Str {
            start,
            end,
            decoded: false,
        } => &line[start..end],
        Cell::Str {
            start,
            end,
            decoded: true,
        } => &arena[start..end],
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn shown(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("`{}`", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

impl<'a> Parser<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.s.get(self.i) {
            if c == b' ' || c == b'\t' || c == b'\r' || c == b'\n' {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn unexpected(&self, what: &str) -> String {
        match self.s.get(self.i) {
            Some(&c) => format!(
                "expected {what} at character {} but found {}",
                self.i + 1,
                shown(c)
            ),
            None => format!("expected {what} but the line ends"),
        }
    }

    #[inline]
    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// A string (at its opening quote).
    fn string(&mut self, arena: &mut Vec<u8>) -> Result<Cell, String> {
        let start = self.i + 1;
        let mut j = start;
        while let Some(&c) = self.s.get(j) {
            match c {
                b'"' => {
                    self.i = j + 1;
                    return Ok(Cell::Str {
                        start,
                        end: j,
                        decoded: false,
                    });
                }
                b'\\' => break,
                0..=0x1f => return Err(format!("control character in a string at character {}", j + 1)),
                _ => j += 1,
            }
        }
        if j >= self.s.len() {
            return Err("a string is not closed".into());
        }
        let astart = arena.len();
        arena.extend_from_slice(&self.s[start..j]);
        loop {
            match self.s.get(j) {
                None => return Err("a string is not closed".into()),
                Some(b'"') => {
                    self.i = j + 1;
                    return Ok(Cell::Str {
                        start: astart,
                        end: arena.len(),
                        decoded: true,
                    });
                }
                Some(b'\\') => {
                    let e = self.s.get(j + 1).copied();
                    j += 2;
                    let ch = match e {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4(j)?;
                            j += 4;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if self.s.get(j) != Some(&b'\\') || self.s.get(j + 1) != Some(&b'u') {
                                    return Err(format!("unpaired surrogate \\u{hi:04x} in a string"));
                                }
                                let lo = self.hex4(j + 2)?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(format!("unpaired surrogate \\u{hi:04x} in a string"));
                                }
                                j += 6;
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(code)
                                .ok_or_else(|| format!("invalid escape \\u{code:04x} in a string"))?
                        }
                        _ => return Err(format!("invalid escape in a string at character {}", j - 1)),
                    };
                    let mut b = [0u8; 4];
                    arena.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                Some(&c) if c < 0x20 => {
                    return Err(format!("control character in a string at character {}", j + 1));
                }
                Some(&c) => {
                    arena.push(c);
                    j += 1;
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, String> {
        let h = self
            .s
            .get(at..at + 4)
            .ok_or_else(|| "a \\u escape is cut short".to_string())?;
        let t = std::str::from_utf8(h).map_err(|_| "invalid \\u escape".to_string())?;
        u32::from_str_radix(t, 16).map_err(|_| format!("invalid \\u escape `\\u{t}`"))
    }

    fn literal(&mut self, word: &[u8], cell: Cell) -> Result<Cell, String> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(cell)
        } else {
            Err(self.unexpected("a value"))
        }
    }

    fn number(&mut self) -> Result<Cell, String> {
        let start = self.i;
        let s = self.s;
        let mut j = start;
        if s.get(j) == Some(&b'-') {
            j += 1;
            if s[j..].starts_with(b"Infinity") {
                self.i = j + 8;
                return Ok(Cell::Null);
            }
        }
        let digits = |j: &mut usize| {
            let from = *j;
            while s.get(*j).is_some_and(u8::is_ascii_digit) {
                *j += 1;
            }
            *j - from
        };
        let bad = |j: usize| format!("invalid number at character {}", j + 1);
        match s.get(j) {
            Some(b'0') => j += 1,
            Some(b'1'..=b'9') => {
                digits(&mut j);
            }
            _ => return Err(bad(start)),
        }
        let mut int = true;
        if s.get(j) == Some(&b'.') {
            j += 1;
            int = false;
            if digits(&mut j) == 0 {
                return Err(bad(start));
            }
        }
        if matches!(s.get(j), Some(b'e' | b'E')) {
            j += 1;
            int = false;
            if matches!(s.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if digits(&mut j) == 0 {
                return Err(bad(start));
            }
        }
        self.i = j;
        Ok(Cell::Num { start, end: j, int })
    }

    /// An object or array (at its opening bracket), skipped bracket by bracket.
    fn nested(&mut self) -> Result<Cell, String> {
        let start = self.i;
        let mut stack: Vec<u8> = Vec::new();
        let mut j = start;
        while let Some(&c) = self.s.get(j) {
            match c {
                b'"' => {
                    j += 1;
                    loop {
                        match self.s.get(j) {
                            None => return Err("a string is not closed".into()),
                            Some(b'\\') => j += 2,
                            Some(b'"') => break,
                            Some(_) => j += 1,
                        }
                    }
                }
                b'{' => stack.push(b'}'),
                b'[' => stack.push(b']'),
                b'}' | b']' => {
                    if stack.pop() != Some(c) {
                        return Err(format!("mismatched {} at character {}", shown(c), j + 1));
                    }
                    if stack.is_empty() {
                        self.i = j + 1;
                        return Ok(Cell::Nested { start, end: j + 1 });
                    }
                }
                _ => {}
            }
            j += 1;
        }
        Err("an object or array is not closed".into())
    }

    fn value(&mut self, arena: &mut Vec<u8>) -> Result<Cell, String> {
        match self.peek() {
            Some(b'"') => self.string(arena),
            Some(b'{' | b'[') => self.nested(),
            Some(b't') => self.literal(b"true", Cell::Bool(true)),
            Some(b'f') => self.literal(b"false", Cell::Bool(false)),
            Some(b'n') => self.literal(b"null", Cell::Null),
            Some(b'N') => self.literal(b"NaN", Cell::Null),
            Some(b'I') => self.literal(b"Infinity", Cell::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a value")),
        }
    }

    /// A key and its colon; the key's bytes are a range of the line or of the arena.
    fn key(&mut self, arena: &mut Vec<u8>) -> Result<(usize, usize, bool), String> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a key in quotes"));
        }
        let Cell::Str { start, end, decoded } = self.string(arena)? else {
            return Err("invalid key".into());
        };
        self.expect(b':', "`:` after a key")?;
        Ok((start, end, decoded))
    }

    /// `,` (true: another member follows) or the closing bracket (false).
    fn next_member(&mut self, close: u8) -> Result<bool, String> {
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(self.unexpected(if close == b'}' { "`,` or `}`" } else { "`,` or `]`" })),
        }
    }

    /// One row object of `data`: its entries, then the row's end.
    fn row_object(&mut self, cols: &mut ColumnMap, out: &mut LineRows) -> Result<(), String> {
        self.expect(b'{', "a row object `{`")?;
        if self.peek() == Some(b'}') {
            self.i += 1;
        } else {
            let mut pos = 0;
            loop {
                let (ks, ke, kd) = self.key(&mut out.arena)?;
                let key = if kd { &out.arena[ks..ke] } else { &self.s[ks..ke] };
                let col = cols.lookup(pos, key);
                pos += 1;
                let v = self.value(&mut out.arena)?;
                if let Some(c) = col {
                    out.entries.push((c, v));
                }
                if !self.next_member(b'}')? {
                    break;
                }
            }
        }
        out.ends.push(out.entries.len());
        Ok(())
    }

    /// The `data` of an event: a list of row objects, or an object of column arrays.
    fn data(&mut self, cols: &mut ColumnMap, out: &mut LineRows, kind: &str) -> Result<(), LineError> {
        match self.peek() {
            Some(b'[') => {
                self.i += 1;
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    if self.peek() != Some(b'{') {
                        return Err(LineError::Malformed(format!(
                            "`data` item {} is not a row object",
                            out.ends.len() + 1
                        )));
                    }
                    self.row_object(cols, out)?;
                    if !self.next_member(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b'{') => Ok(self.columns(cols, out)?),
            Some(b'n') => {
                self.literal(b"null", Cell::Null)?;
                Ok(())
            }
            Some(b'"') => Err(LineError::Payload(kind.to_string())),
            _ => Err(LineError::Malformed(
                "`data` is neither a list of row objects nor an object of column arrays".into(),
            )),
        }
    }

    /// `{"col": [v, ...], ...}`: every array the same length.
    fn columns(&mut self, cols: &mut ColumnMap, out: &mut LineRows) -> Result<(), String> {
        self.expect(b'{', "`{`")?;
        let mut rows: Option<(usize, String)> = None;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        let mut pos = 0;
        loop {
            let (ks, ke, kd) = self.key(&mut out.arena)?;
            let key = if kd { &out.arena[ks..ke] } else { &self.s[ks..ke] }.to_vec();
            let col = cols.lookup(pos, &key);
            pos += 1;
            self.expect(b'[', "an array of column values")?;
            let first = out.values.len();
            if self.peek() == Some(b']') {
                self.i += 1;
            } else {
                loop {
                    let v = self.value(&mut out.arena)?;
                    out.values.push(v);
                    if !self.next_member(b']')? {
                        break;
                    }
                }
            }
            let n = out.values.len() - first;
            let name = String::from_utf8_lossy(&key).into_owned();
            match &rows {
                None => rows = Some((n, name)),
                Some((m, other)) if *m != n => {
                    return Err(format!(
                        "column arrays of different lengths in `data` (`{other}`: {m}, `{name}`: {n})"
                    ));
                }
                _ => {}
            }
            out.columnar.push((col, first, n));
            if !self.next_member(b'}')? {
                break;
            }
        }
        let n = rows.map_or(0, |r| r.0);
        for r in 0..n {
            for &(col, first, _) in &out.columnar {
                if let Some(c) = col {
                    out.entries.push((c, out.values[first + r]));
                }
            }
            out.ends.push(out.entries.len());
        }
        Ok(())
    }
}

/// Parse one line (without its newline) into rows of the columns of `cols`.
///
/// A line is an event when its object has a `specversion` key (CloudEvents, as the Azure ML
/// data collector writes): its rows are in `data`. Any other object is one row.
pub(crate) fn parse_line(line: &[u8], cols: &mut ColumnMap, out: &mut LineRows) -> Result<(), LineError> {
    out.clear();
    let mut p = Parser { s: line, i: 0 };
    p.expect(b'{', "a JSON object `{`")?;
    let mut event = false;
    let mut data: Option<usize> = None;
    let mut data_done = false;
    let mut kind = String::new();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            let (ks, ke, kd) = p.key(&mut out.arena)?;
            let key: &[u8] = if kd { &out.arena[ks..ke] } else { &line[ks..ke] };
            match key {
                b"specversion" => {
                    event = true;
                    p.value(&mut out.arena)?;
                }
                b"data" if event => {
                    p.data(cols, out, &kind)?;
                    data_done = true;
                }
                b"data" => {
                    p.ws();
                    data = Some(p.i);
                    let v = p.value(&mut out.arena)?;
                    out.top.push(((ks, ke, kd), v));
                }
                b"type" => {
                    let v = p.value(&mut out.arena)?;
                    if let Cell::Str { .. } = v {
                        kind = String::from_utf8_lossy(cell_text(v, line, &out.arena)).into_owned();
                    }
                    out.top.push(((ks, ke, kd), v));
                }
                _ => {
                    let v = p.value(&mut out.arena)?;
                    out.top.push(((ks, ke, kd), v));
                }
            }
            if !p.next_member(b'}')? {
                break;
            }
        }
    }
    p.ws();
    if p.i < line.len() {
        return Err(LineError::Malformed(format!(
            "unexpected {} after the JSON object at character {}",
            shown(line[p.i]),
            p.i + 1
        )));
    }
    if event {
        if !data_done {
            match data {
                Some(at) => {
                    let mut q = Parser { s: line, i: at };
                    q.data(cols, out, &kind)?;
                }
                None => return Err(LineError::Malformed("the event has no `data`".into())),
            }
        }
        return Ok(());
    }
    let top = std::mem::take(&mut out.top);
    for (pos, &((ks, ke, kd), v)) in top.iter().enumerate() {
        let key = if kd { &out.arena[ks..ke] } else { &line[ks..ke] };
        if let Some(c) = cols.lookup(pos, key) {
            out.entries.push((c, v));
        }
    }
    out.top = top;
    out.ends.push(out.entries.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(line: &str, names: &[&str]) -> Result<Vec<Vec<String>>, LineError> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut cols = ColumnMap::fixed(&names);
        let mut out = LineRows::default();
        parse_line(line.as_bytes(), &mut cols, &mut out)?;
        let mut res = Vec::new();
        let mut from = 0;
        for &end in &out.ends {
            let mut row = vec!["<null>".to_string(); names.len()];
            for &(c, v) in &out.entries[from..end] {
                row[c] = match v {
                    Cell::Null => "<null>".into(),
                    _ => String::from_utf8_lossy(cell_text(v, line.as_bytes(), &out.arena)).into_owned(),
                };
            }
            res.push(row);
            from = end;
        }
        Ok(res)
    }

    #[test]
    fn events_rows_and_columns() {
        let ev = r#"{"specversion":"1.0","id":"x","type":"azureml.inference.model_inputs","time":"2026-12-01T08:51:30Z","data":[{"a":1,"b":"x\"y\u00e9"},{"b":null,"a":-2.5e3}],"correlationid":"c"}"#;
        assert_eq!(
            rows(ev, &["a", "b"]).unwrap(),
            [vec!["1", "x\"yé"], vec!["-2.5e3", "<null>"]]
        );
        let col =
            r#"{"data":{"a":[1,NaN,3],"zz":[[1],{"k":"]"},null],"b":[true,false,"s"]},"specversion":"1.0"}"#;
        assert_eq!(
            rows(col, &["a", "b", "zz"]).unwrap(),
            [
                vec!["1", "true", "[1]"],
                vec!["<null>", "false", r#"{"k":"]"}"#],
                vec!["3", "s", "<null>"]
            ]
        );
        // A plain row object with a column named `data`.
        assert_eq!(
            rows(r#" {"data": 5, "a": "q"} "#, &["a", "data"]).unwrap(),
            [vec!["q", "5"]]
        );
    }

    #[test]
    fn malformed_lines_say_why() {
        let why = |l: &str| match rows(l, &["a"]) {
            Err(LineError::Malformed(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(why(r#"{"a":1"#).contains("line ends"));
        assert!(why(r#"{"a":01}"#).contains("`,` or `}`"));
        assert!(why(r#"{"a":1} x"#).contains("after the JSON object"));
        assert!(why(r#"[1,2]"#).contains("JSON object"));
        assert!(why(r#"{"specversion":"1.0","data":[1]}"#).contains("not a row object"));
        assert!(why(r#"{"specversion":"1.0"}"#).contains("no `data`"));
        assert!(why(r#"{"specversion":"1.0","data":{"a":[1],"b":[1,2]}}"#).contains("different lengths"));
        assert!(why(r#"{"a":"\ud800"}"#).contains("surrogate"));
        assert!(why(r#"{"a":"x"#).contains("not closed"));
        assert!(why(r#"{"a":[1,2}"#).contains("mismatched"));
        match rows(
            r#"{"specversion":"1.0","type":"azureml.inference.request","data":"{\"input_data\":1}"}"#,
            &["a"],
        ) {
            Err(LineError::Payload(kind)) => assert_eq!(kind, "azureml.inference.request"),
            other => panic!("{other:?}"),
        }
    }
}
