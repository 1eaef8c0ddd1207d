//! The `rules` fuzz target's committed corpus and crashers (`fuzz/corpus/rules`,
//! `fuzz/regressions/rules`), replayed on stable: rules or an error pointing at the line, and
//! every rule evaluates to a value or an error, never a panic. See docs/reliability.md, "Fuzzing".

use std::path::{Path, PathBuf};

use amlops_rules::{MetricSet, Metrics, RuleOrigin, Side, parse_rules};

/// Every input of a target: its minimised corpus, then its regressions.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            out.push(e.unwrap().path());
        }
    }
    out.sort();
    assert!(
        !out.is_empty(),
        "no committed inputs for the fuzz target {target}"
    );
    out
}

/// Run `f` on every input of `target`, naming the input that panics.
fn replay(target: &str, f: impl Fn(&[u8])) {
    for path in inputs(target) {
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)));
        assert!(r.is_ok(), "{target}: {} panicked", path.display());
    }
}

#[test]
fn rule_texts_parse_and_evaluate_or_give_an_error() {
    replay("rules", |d| {
        let Ok(text) = std::str::from_utf8(d) else {
            return;
        };
        let rules = match parse_rules(text, &RuleOrigin::Input("rules".into())) {
            Ok(rules) => rules,
            Err(e) => {
                assert!(e.line >= 1, "{e}");
                return;
            }
        };
        for rule in &rules {
            let names = rule.metrics();
            for value in [0.5, 0.0, -1.0, 1e308, f64::MIN_POSITIVE] {
                let set = |side| {
                    MetricSet::new(
                        "fuzz",
                        names
                            .iter()
                            .filter(|(s, _)| *s == side)
                            .map(|(_, n)| (n.clone(), value)),
                    )
                };
                let metrics = Metrics {
                    candidate: set(Side::Candidate),
                    champion: Some(set(Side::Champion)),
                };
                let _lhs = rule.lhs.eval(&metrics);
                let _rhs = rule.rhs.eval(&metrics);
            }
        }
    });
}
