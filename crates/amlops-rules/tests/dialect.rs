//! The canary-analysis dialect: `canary`/`baseline` sides over a fixed metric list.

use amlops_rules::{
    Dialect, MetricSet, MetricValues, Metrics, RuleOrigin, Side, parse_rules, parse_rules_in,
};

const METRICS: &[&str] = &["error_rate", "latency_p95", "requests_per_minute"];

fn canary() -> Dialect<'static> {
    Dialect {
        candidate: "canary",
        champion: "baseline",
        example: "latency_p95",
        metrics: Some(METRICS),
    }
}

fn origin() -> RuleOrigin {
    RuleOrigin::Input("analysis".into())
}

#[test]
fn canary_words_map_to_the_two_sides_and_evaluate() {
    let text = "canary.error_rate <= 0.01\ncanary.latency_p95 <= baseline.latency_p95 * 1.2 + 20\n";
    let rules = parse_rules_in(text, &origin(), &canary()).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[1].metrics(),
        vec![
            (Side::Candidate, "latency_p95".to_string()),
            (Side::Champion, "latency_p95".to_string())
        ]
    );
    let m = Metrics {
        candidate: MetricSet::new("canary", [("latency_p95".to_string(), 800.0)]),
        champion: Some(MetricSet::new("baseline", [("latency_p95".to_string(), 100.0)])),
    };
    let r = &rules[1];
    let (l, rhs) = (r.lhs.eval(&m).unwrap(), r.rhs.eval(&m).unwrap());
    assert_eq!((l, rhs), (800.0, 140.0));
    assert!(!r.op.holds(l, rhs));
    assert_eq!(m.value(Side::Champion, "latency_p95"), Ok(100.0));
}

#[test]
fn unknown_metric_and_gate_words_point_at_the_character() {
    let e = parse_rules_in("canary.latency_p99.9 < 5", &origin(), &canary()).unwrap_err();
    assert_eq!(e.column, 8, "{e}");
    assert!(e.message.contains("unknown metric `canary.latency_p99.9`"), "{e}");
    assert!(
        e.message.contains("error_rate, latency_p95, requests_per_minute"),
        "{e}"
    );

    let e = parse_rules_in("  canary.error_rate < baseline['p50']", &origin(), &canary()).unwrap_err();
    assert_eq!(e.column, 33, "{e}");
    assert!(e.message.contains("unknown metric `baseline.p50`"), "{e}");

    let e = parse_rules_in("candidate.error_rate < 1", &origin(), &canary()).unwrap_err();
    assert_eq!(e.column, 1, "{e}");
    assert_eq!(
        e.message,
        "unknown name `candidate.error_rate`: write canary.candidate.error_rate or baseline.candidate.error_rate"
    );

    let e = parse_rules_in("canary >= 1", &origin(), &canary()).unwrap_err();
    assert_eq!(e.column, 7, "{e}");
    assert!(e.message.contains("as in canary.latency_p95"), "{e}");

    let e = parse_rules_in("1 < 2", &origin(), &canary()).unwrap_err();
    assert!(
        e.message.contains("mention canary.<metric> or baseline.<metric>"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "invalid rule on line 1 of input 'analysis': `1 < 2`: at character 3: the rule compares only numbers; \
         mention canary.<metric> or baseline.<metric>"
    );
}

#[test]
fn the_gate_dialect_is_unchanged_and_knows_no_canary() {
    assert!(parse_rules("candidate.anything_at_all > 1", &origin()).is_ok());
    let e = parse_rules("canary.error_rate < 1", &origin()).unwrap_err();
    assert!(e.message.contains("write candidate.canary.error_rate"), "{e}");
    assert_eq!(Dialect::GATE.word(Side::Champion), "champion");
    assert_eq!(canary().word(Side::Champion), "baseline");
    // Side words match without regard to ASCII case, as the gate's always did.
    assert!(parse_rules_in("CANARY.error_rate < 1", &origin(), &canary()).is_ok());
}
