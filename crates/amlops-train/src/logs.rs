//! Incremental log streaming: each file is given as it grows (the whole content so far, or a byte range), and only
//! new complete lines come out, each once, in order. A chunk that ends mid-line keeps the partial line until the
//! rest arrives (or the job ends: [`LogStreamer::finish`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

#[derive(Debug, Default, Clone)]
struct FileState {
    /// Bytes of the file received so far.
    offset: u64,
    /// Bytes after the last newline.
    partial: Vec<u8>,
}

/// Per-file streaming state.
#[derive(Debug, Default, Clone)]
pub struct LogStreamer {
    files: BTreeMap<String, FileState>,
}

impl LogStreamer {
    /// An empty streamer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of `file` received so far: the start of the next range to ask for.
    pub fn offset(&self, file: &str) -> u64 {
        self.files.get(file).map_or(0, |f| f.offset)
    }

    /// Content of `file` starting at byte `start`. Bytes already received are skipped; the new complete lines are
    /// returned (without `\n`/`\r\n`). A range starting after the bytes received so far cannot be placed: it is
    /// ignored (the caller asks again from [`LogStreamer::offset`]).
    pub fn push(&mut self, file: &str, start: u64, bytes: &[u8]) -> Vec<String> {
        let state = self.files.entry(file.to_string()).or_default();
        if start > state.offset {
            tracing::debug!(
                file,
                start,
                offset = state.offset,
                "log range after a gap ignored"
            );
            return Vec::new();
        }
        let skip = usize::try_from(state.offset - start).unwrap_or(usize::MAX);
        let Some(fresh) = bytes.get(skip..).filter(|b| !b.is_empty()) else {
            return Vec::new();
        };
        state.offset += fresh.len() as u64;
        state.partial.extend_from_slice(fresh);
        let Some(last_newline) = state.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = state.partial.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut state.partial, rest);
        complete[..complete.len() - 1]
            .split(|b| *b == b'\n')
            .map(decode_line)
            .collect()
    }

    /// The whole content of `file` so far.
    pub fn push_full(&mut self, file: &str, content: &[u8]) -> Vec<String> {
        self.push(file, 0, content)
    }

    /// The last line of `file` if it has no newline yet; call once the job has ended.
    pub fn finish(&mut self, file: &str) -> Option<String> {
        let state = self.files.get_mut(file)?;
        if state.partial.is_empty() {
            return None;
        }
        let line = decode_line(&state.partial);
        state.partial.clear();
        Some(line)
    }

    /// Every file with a pending partial line, flushed in name order.
    pub fn finish_all(&mut self) -> Vec<(String, String)> {
        let names: Vec<String> = self.files.keys().cloned().collect();
        names
            .into_iter()
            .filter_map(|n| self.finish(&n).map(|l| (n, l)))
            .collect()
    }
}

fn decode_line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// The user log of rank 0, as `az ml job stream` picks it: `user_logs/std_log[\D]*[0]*(?:_ps)?\.txt`.
static USER_LOG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:.*/)?user_logs/std_log\D*0*(?:_ps)?\.txt$").expect("a valid pattern"));

/// Older runtimes' driver logs, used when there is no user log.
static LEGACY_LOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^azureml-logs/(?:70_driver_log|55_azureml-execution)[^/]*\.txt$").expect("a valid pattern")
});

/// The log files worth streaming among a run's `logFiles` names: the user logs of rank 0, else the legacy driver
/// logs; sorted.
pub fn select_log_files<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut picked: Vec<String> = names
        .iter()
        .filter(|n| USER_LOG.is_match(n))
        .map(|n| n.to_string())
        .collect();
    if picked.is_empty() {
        picked = names
            .iter()
            .filter(|n| LEGACY_LOG.is_match(n))
            .map(|n| n.to_string())
            .collect();
    }
    picked.sort();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_content_gives_each_complete_line_once() {
        let mut s = LogStreamer::new();
        assert_eq!(s.push_full("f", b"one\ntw"), ["one"]);
        assert_eq!(s.offset("f"), 6);
        assert_eq!(s.push_full("f", b"one\ntwo\nthr"), ["two"]);
        assert!(s.push_full("f", b"one\ntwo\nthr").is_empty());
        assert_eq!(s.push_full("f", b"one\ntwo\nthree\r\nfour\n"), ["three", "four"]);
        assert_eq!(s.finish("f"), None);
    }

    #[test]
    fn ranges_and_overlaps() {
        let mut s = LogStreamer::new();
        assert_eq!(s.push("f", 0, b"a\nb"), ["a"]);
        // The server ignored the range and sent from 1: the overlap is skipped.
        assert_eq!(s.push("f", 1, b"\nbc\nd"), ["bc"]);
        assert_eq!(s.offset("f"), 6);
        // A range after a gap cannot be placed.
        assert!(s.push("f", 20, b"zzz\n").is_empty());
        assert_eq!(s.push("f", 6, b"\n"), ["d"]);
        assert!(s.push("f", 0, b"").is_empty());
    }

    #[test]
    fn partial_last_line_comes_out_at_the_end() {
        let mut s = LogStreamer::new();
        assert!(s.push_full("a", b"no newline").is_empty());
        assert_eq!(s.push_full("b", b"x\ny"), ["x"]);
        assert_eq!(
            s.finish_all(),
            [
                ("a".to_string(), "no newline".to_string()),
                ("b".to_string(), "y".to_string())
            ]
        );
        assert!(s.finish_all().is_empty());
    }

    #[test]
    fn multibyte_characters_split_across_chunks() {
        let text = "héllo wörld\n".as_bytes();
        let mut s = LogStreamer::new();
        let mut out = Vec::new();
        for i in 1..=text.len() {
            out.extend(s.push_full("f", &text[..i]));
        }
        assert_eq!(out, ["héllo wörld"]);
    }

    #[test]
    fn any_chunking_gives_the_same_lines() {
        let text = b"l1\nline two\n\nl4 end\nl5";
        for cut1 in 0..text.len() {
            for cut2 in cut1..text.len() {
                let mut s = LogStreamer::new();
                let mut out = s.push("f", 0, &text[..cut1]);
                out.extend(s.push("f", cut1 as u64, &text[cut1..cut2]));
                out.extend(s.push_full("f", text));
                out.extend(s.finish("f"));
                assert_eq!(out, ["l1", "line two", "", "l4 end", "l5"], "{cut1} {cut2}");
            }
        }
    }

    #[test]
    fn selects_rank_zero_user_logs() {
        let names = [
            "azureml-logs/70_driver_log.txt",
            "user_logs/std_log.txt",
            "user_logs/std_log_process_1.txt",
            "user_logs/std_log_process_0.txt",
            "system_logs/lifecycler/execution-wrapper.txt",
        ];
        assert_eq!(
            select_log_files(names),
            ["user_logs/std_log.txt", "user_logs/std_log_process_0.txt"]
        );
        assert_eq!(
            select_log_files(["azureml-logs/70_driver_log.txt", "logs/x.txt"]),
            ["azureml-logs/70_driver_log.txt"]
        );
        assert!(select_log_files(["system_logs/a.txt"]).is_empty());
    }
}
