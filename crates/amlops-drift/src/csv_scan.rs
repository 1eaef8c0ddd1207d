//! A CSV record reader over large blocks (RFC 4180, read as the `csv` crate reads it by default).
//!
//! The file is read 4 MiB at a time into one buffer. Field and record ends are found from a bit
//! mask of the structural bytes (`,`, `"`, `\r`, `\n`) of 64 bytes at a time, so a field costs a
//! few instructions whatever its length; fields are slices of the buffer. Quoted fields are read
//! where they occur: `""` is a quote, a quoted field may hold commas and line ends, and text after
//! the closing quote is appended (the only fields copied are those with escapes or such text).
//! `\n`, `\r\n` and a lone `\r` end a record; blank lines are skipped; a UTF-8 byte order mark
//! at the start is dropped; the last line needs no line end; a quote left open runs to the end
//! of the file. These are the `csv` crate's rules (`csv::ReaderBuilder` defaults), and tests
//! compare the two on random tables.

use std::io::Read;

/// Bytes read at a time.
const BLOCK: usize = 4 << 20;

/// Where one field's bytes are: the buffer, or the copy made for an escaped field.
#[derive(Debug, Clone, Copy)]
enum Span {
    Buf(usize, usize),
    Copy(usize, usize),
}

/// One bit per byte of `data`, set on the structural bytes, 64 bytes a word (bit i of word w:
/// `data[64 w + i]`). Bytes are compared a block at a time (the compiler vectorises the loop),
/// and each 8 flags are packed into 8 bits with one multiplication.
fn structural(data: &[u8], out: &mut Vec<u64>) {
    out.clear();
    let mut chunks = data.chunks_exact(64);
    let mut flags = [0u8; 64];
    for c in &mut chunks {
        for (f, &b) in flags.iter_mut().zip(c) {
            *f = u8::from((b == b',') | (b == b'"') | (b == b'\n') | (b == b'\r'));
        }
        out.push(pack(&flags));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        flags = [0u8; 64];
        for (f, &b) in flags.iter_mut().zip(rest) {
            *f = u8::from((b == b',') | (b == b'"') | (b == b'\n') | (b == b'\r'));
        }
        out.push(pack(&flags));
    }
}

/// 64 flags (0 or 1 a byte) to 64 bits. In an 8-byte word, the flag of byte i (bit 8 i) times
/// 0x0102040810204080 (the powers 2^(7 j), j = 1..8) lands on bit 56 + i for j = 8 - i; no two
/// partial products share a bit, so nothing carries into the top byte.
#[inline]
fn pack(flags: &[u8; 64]) -> u64 {
    let mut m = 0u64;
    for (k, w) in flags.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        m |= (w.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    m
}

/// The structural bytes of a buffer, found once per read.
#[derive(Debug, Default)]
struct Cursor {
    words: Vec<u64>,
}

impl Cursor {
    /// The first structural byte at or after `from` (`None` past the data).
    #[inline]
    fn next_from(&self, from: usize) -> Option<usize> {
        let mut w = from >> 6;
        let mut m = *self.words.get(w)? & (u64::MAX << (from & 63));
        while m == 0 {
            w += 1;
            m = *self.words.get(w)?;
        }
        Some((w << 6) + m.trailing_zeros() as usize)
    }
}

/// Why a record could not be read.
#[derive(Debug)]
pub(crate) enum ScanError {
    Io(std::io::Error),
    /// A record with a different number of fields than the header (line, fields, header fields).
    Fields {
        line: u64,
        found: usize,
        expected: usize,
    },
}

/// Reads the records of one CSV file.
pub(crate) struct CsvScanner<R> {
    src: R,
    buf: Vec<u8>,
    /// Unread data: `buf[pos..len]`.
    pos: usize,
    len: usize,
    eof: bool,
    /// The line of `buf[pos]` (1-based; every `\n` starts a line).
    next_line: u64,
    cursor: Cursor,
    spans: Vec<Span>,
    copy: Vec<u8>,
    record_line: u64,
    /// Fields every record must have (the header's), once the header is read.
    expected: Option<usize>,
    started: bool,
}

/// How reading a record from the buffer went.
enum Step {
    /// A record ends before `pos`; `lines` line ends were passed.
    Record { pos: usize, lines: u64 },
    /// Only blank lines (or nothing) up to the end of the file.
    End,
    /// The record runs past the data read so far.
    More,
}

impl<R: Read> CsvScanner<R> {
    pub(crate) fn new(src: R) -> Self {
        CsvScanner {
            src,
            buf: vec![0; BLOCK],
            pos: 0,
            len: 0,
            eof: false,
            next_line: 1,
            cursor: Cursor::default(),
            spans: Vec::new(),
            copy: Vec::new(),
            record_line: 0,
            expected: None,
            started: false,
        }
    }

    /// Keep the unread tail, then read more after it (growing the buffer for a long record).
    fn refill(&mut self) -> std::io::Result<()> {
        let keep = self.len - self.pos;
        self.buf.copy_within(self.pos..self.len, 0);
        self.pos = 0;
        self.len = keep;
        if self.buf.len() - keep < BLOCK / 2 {
            self.buf.resize(self.buf.len() + BLOCK, 0);
        }
        // One read a call (a file in the page cache fills the block at once); at the start, until
        // a byte order mark can be seen.
        loop {
            match self.src.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if self.started || self.eof || self.len >= 3 {
                break;
            }
        }
        if !self.started {
            self.started = true;
            if self.buf[..self.len].starts_with(b"\xef\xbb\xbf") {
                self.pos = 3;
            }
        }
        structural(&self.buf[..self.len], &mut self.cursor.words);
        Ok(())
    }

    /// Read the next record; `false` at the end of the file. The first record is the header:
    /// every later one must have as many fields.
    pub(crate) fn next_record(&mut self) -> Result<bool, ScanError> {
        loop {
            match self.step() {
                Step::Record { pos, lines } => {
                    self.pos = pos;
                    self.next_line += lines;
                    let n = self.spans.len();
                    match self.expected {
                        None => self.expected = Some(n),
                        Some(e) if e != n => {
                            return Err(ScanError::Fields {
                                line: self.record_line,
                                found: n,
                                expected: e,
                            });
                        }
                        Some(_) => {}
                    }
                    return Ok(true);
                }
                Step::End => {
                    self.pos = self.len;
                    return Ok(false);
                }
                Step::More => self.refill().map_err(ScanError::Io)?,
            }
        }
    }

    /// Fields of the current record.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Field `i` of the current record (empty past the last field).
    #[inline]
    pub(crate) fn field(&self, i: usize) -> &[u8] {
        match self.spans.get(i) {
            Some(&Span::Buf(a, b)) => &self.buf[a..b],
            Some(&Span::Copy(a, b)) => &self.copy[a..b],
            None => b"",
        }
    }

    /// The line the current record starts on (1-based).
    #[inline]
    pub(crate) fn line(&self) -> u64 {
        self.record_line
    }

    /// Parse one record starting at `pos`, filling `spans`.
    fn step(&mut self) -> Step {
        let data = &self.buf[..self.len];
        let eof = self.eof;
        let mut p = self.pos;
        let mut lines = 0u64;
        // Blank lines before the record.
        while let Some(&c) = data.get(p) {
            match c {
                b'\n' => lines += 1,
                b'\r' => {}
                _ => break,
            }
            p += 1;
        }
        if p >= data.len() {
            if !eof {
                return Step::More;
            }
            // Consume the blank tail.
            self.pos = p;
            self.next_line += lines;
            return Step::End;
        }
        self.record_line = self.next_line + lines;
        self.spans.clear();
        self.copy.clear();
        let cursor = &self.cursor;
        loop {
            // One field from `p`.
            let end;
            if data[p] == b'"' {
                let open = p + 1;
                let mut q = open;
                let mut escaped = false;
                let close;
                loop {
                    match cursor.next_from(q) {
                        Some(k) if data[k] == b'"' => match data.get(k + 1) {
                            Some(b'"') => {
                                escaped = true;
                                q = k + 2;
                            }
                            Some(_) => {
                                close = Some(k);
                                break;
                            }
                            None if eof => {
                                close = Some(k);
                                break;
                            }
                            None => return Step::More,
                        },
                        Some(k) => {
                            if data[k] == b'\n' {
                                lines += 1;
                            }
                            q = k + 1;
                        }
                        None if eof => {
                            // A quote left open runs to the end of the file.
                            close = None;
                            break;
                        }
                        None => return Step::More,
                    }
                }
                let inner_end = close.unwrap_or(data.len());
                let after = close.map_or(data.len(), |c| c + 1);
                // Text after the closing quote, up to the delimiter, is part of the field.
                let tail_end = if after < data.len() && !is_end(data[after]) {
                    match next_end(cursor, data, after) {
                        Some(k) => k,
                        None if eof => data.len(),
                        None => return Step::More,
                    }
                } else {
                    after
                };
                if escaped || tail_end > after {
                    let a = self.copy.len();
                    unescape(&data[open..inner_end], &mut self.copy);
                    self.copy.extend_from_slice(&data[after..tail_end]);
                    self.spans.push(Span::Copy(a, self.copy.len()));
                } else {
                    self.spans.push(Span::Buf(open, inner_end));
                }
                end = tail_end;
            } else {
                end = match next_end(cursor, data, p) {
                    Some(k) => k,
                    None if eof => data.len(),
                    None => return Step::More,
                };
                self.spans.push(Span::Buf(p, end));
            }
            match data.get(end) {
                Some(b',') => {
                    p = end + 1;
                    if p >= data.len() {
                        if !eof {
                            return Step::More;
                        }
                        // A trailing comma at the end of the file: one more, empty field.
                        self.spans.push(Span::Buf(p, p));
                        return Step::Record { pos: p, lines };
                    }
                }
                Some(b'\n') => {
                    return Step::Record {
                        pos: end + 1,
                        lines: lines + 1,
                    };
                }
                Some(_) => {
                    // `\r`, perhaps followed by `\n`.
                    return match data.get(end + 1) {
                        Some(b'\n') => Step::Record {
                            pos: end + 2,
                            lines: lines + 1,
                        },
                        Some(_) => Step::Record { pos: end + 1, lines },
                        None if eof => Step::Record { pos: end + 1, lines },
                        None => Step::More,
                    };
                }
                None => return Step::Record { pos: end, lines },
            }
        }
    }
}

#[inline]
fn is_end(b: u8) -> bool {
    b == b',' || b == b'\n' || b == b'\r'
}

/// The next delimiter or line end at or after `from` (quotes inside an unquoted field are text).
#[inline]
fn next_end(cursor: &Cursor, data: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let k = cursor.next_from(from)?;
        if data[k] != b'"' {
            return Some(k);
        }
        from = k + 1;
    }
}

/// The content of a quoted field: `""` is one quote.
fn unescape(inner: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        out.push(c);
        i += if c == b'"' && inner.get(i + 1) == Some(&b'"') {
            2
        } else {
            1
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records (fields as bytes, with each record's line) read by our scanner, through a reader
    /// that hands out at most `chunk` bytes a call (records then cross buffer refills).
    /// Records as (line, fields).
    type Records = Vec<(u64, Vec<Vec<u8>>)>;

    fn ours(data: &[u8], chunk: usize) -> Result<Records, String> {
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(out.len()).min(self.1);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut s = CsvScanner::new(Dribble(data, chunk));
        let mut out = Vec::new();
        loop {
            match s.next_record() {
                Ok(true) => out.push((s.line(), (0..s.len()).map(|i| s.field(i).to_vec()).collect())),
                Ok(false) => return Ok(out),
                Err(ScanError::Fields {
                    line,
                    found,
                    expected,
                }) => {
                    return Err(format!("line {line}: {found} fields, expected {expected}"));
                }
                Err(ScanError::Io(e)) => return Err(e.to_string()),
            }
        }
    }

    /// The same through the `csv` crate (the reference), header included as a record.
    fn reference(data: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
        let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(data);
        let mut out = Vec::new();
        let mut rec = csv::ByteRecord::new();
        loop {
            match r.read_byte_record(&mut rec) {
                Ok(true) => out.push(rec.iter().map(<[u8]>::to_vec).collect()),
                Ok(false) => return Ok(out),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn check(data: &[u8]) {
        let want = reference(data);
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            let got = ours(data, chunk);
            match (&got, &want) {
                (Ok(g), Ok(w)) => {
                    let g: Vec<_> = g.iter().map(|(_, f)| f.clone()).collect();
                    assert_eq!(&g, w, "{:?} (chunk {chunk})", String::from_utf8_lossy(data));
                }
                (Err(_), Err(_)) => {}
                _ => panic!(
                    "{:?} (chunk {chunk}): ours {got:?}, csv crate {want:?}",
                    String::from_utf8_lossy(data)
                ),
            }
        }
    }

    #[test]
    fn reads_what_the_csv_crate_reads() {
        for s in [
            "a,b\n1,2\n",
            "a,b\n1,2",
            "a,b\r\n1,2\r\n3,4",
            "a,b\r1,2\r3,4\r",
            "a,b\n\n\n1,2\n\r\n3,4\n\n",
            "a,b\n\"x,y\",2\n",
            "a,b\n\"x\ny\",2\n",
            "a,b\n\"x\"\"y\",\"\"\n",
            "a,b\n\"x\"tail,2\n",
            "a,b\n\"x\"\"\"tail\"z,2\n",
            "a,b\nx\"y,2\n",
            "a,b\n\"open,2\n3,4",
            "a,b\n\"x\"",
            "a,b\n1,",
            "a,b\n,\n",
            "a\n\n",
            "",
            "\n\n",
            "\u{feff}a,b\n1,2\n",
            "\u{feff}\"a\",b\n1,2\n",
            "a,b\n1,2,3\n",
            "a,b\n1\n",
            "a,b\n\"1\"\r",
            "a,b\n\"1\"\r\n\"2\",\"3\"",
        ] {
            check(s.as_bytes());
        }
    }

    #[test]
    fn lines_are_where_records_start() {
        let data = b"a,b\n1,2\n\n\"x\ny\",3\r\n4,5\n6\n";
        let got = ours(data, 3);
        assert_eq!(got, Err("line 7: 1 fields, expected 2".to_string()));
        let got = ours(&data[..data.len() - 2], 1 << 20).unwrap();
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![1, 2, 4, 6]);
    }

    #[test]
    fn long_records_grow_the_buffer() {
        let big = "x".repeat(3 * BLOCK);
        let data = format!("a,b\n\"{big}\",{big}\n1,2\n");
        let got = ours(data.as_bytes(), 1 << 20).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1[0].len(), 3 * BLOCK);
        assert_eq!(got[1].1[1].len(), 3 * BLOCK);
        assert_eq!(got[2].0, 3);
    }

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9.-]{0,6}",
            "[a-z,\"\r\n ]{0,5}",
            "\"[a-z,\"\r\n]{0,5}\"",
            "\"([a-z,\n]|\"\"){0,5}\"[a-z]{0,2}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        #[test]
        fn random_tables_read_as_the_csv_crate_reads_them(
            rows in proptest::collection::vec(proptest::collection::vec(cell(), 1..5), 0..8),
            crlf in any::<bool>(),
            bom in any::<bool>(),
            last_newline in any::<bool>(),
        ) {
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            let nl = if crlf { "\r\n" } else { "\n" };
            for (i, r) in rows.iter().enumerate() {
                s.push_str(&r.join(","));
                if i + 1 < rows.len() || last_newline {
                    s.push_str(nl);
                }
            }
            check(s.as_bytes());
        }

        #[test]
        fn regular_tables_with_quoted_cells_and_nulls(
            width in 1usize..6,
            cells in proptest::collection::vec(
                prop_oneof!["-?[0-9]{1,3}\\.[0-9]{0,17}", Just(String::new()), "\"[a-z ,]{0,4}\"", "\"a\"\"b\""],
                0..60,
            ),
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut s = String::new();
            for r in cells.chunks(width) {
                s.push_str(&r.join(","));
                s.push_str(nl);
            }
            check(s.as_bytes());
        }

        #[test]
        fn arbitrary_bytes_read_as_the_csv_crate_reads_them(data in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..80)
        ) {
            check(&data);
        }
    }
}
