//! The traffic planner: pure functions from the endpoint's current split and the strategy to the sequence of
//! splits to PUT, and the exact split to restore on rollback.
//!
//! A [`Split`] maps lower-cased deployment names to whole percentages; zero entries are dropped (the SDK does both
//! when it reads and writes `traffic`).

use std::collections::BTreeMap;

/// Traffic (or mirror traffic) per deployment, in percent.
pub type Split = BTreeMap<String, u32>;

/// How the new deployment receives live traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Smoke test at 0%, then all traffic at once, without a second check.
    Replace,
    /// Smoke test at 0%, then 0 -> 100, smoke-tested again at 100% (rolled back if it fails).
    BlueGreen,
    /// Smoke test at 0%, then through the traffic steps, smoke-testing after each.
    Canary,
}

impl Strategy {
    /// The input value.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Replace => "replace",
            Strategy::BlueGreen => "blueGreen",
            Strategy::Canary => "canary",
        }
    }
}

/// One traffic change of the rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What the change is.
    pub kind: StepKind,
    /// The endpoint's `traffic` after it.
    pub traffic: Split,
    /// The endpoint's `mirrorTraffic` after it.
    pub mirror: Split,
}

/// The kind of a [`Step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Shadow phase: this share of live traffic is copied to the new deployment.
    Mirror(u32),
    /// The new deployment serves this share of live traffic.
    Live(u32),
}

/// A split from the service's representation: keys lower-cased, zero and negative entries dropped, values capped
/// at 100.
pub fn normalize(raw: &BTreeMap<String, i64>) -> Split {
    let mut out = Split::new();
    for (k, v) in raw {
        if *v > 0 {
            *out.entry(k.to_ascii_lowercase()).or_insert(0) += (*v).min(100) as u32;
        }
    }
    out
}

/// The split as the service takes it.
pub fn to_rest(split: &Split) -> BTreeMap<String, i64> {
    split.iter().map(|(k, v)| (k.clone(), i64::from(*v))).collect()
}

/// The split as compact JSON (`{"blue":90,"green":10}`; `{}` when empty).
pub fn to_json(split: &Split) -> String {
    serde_json::to_string(split).unwrap_or_else(|_| "{}".into())
}

/// The split for people: `blue 90%, green 10%` (or `none`).
pub fn describe(split: &Split) -> String {
    if split.is_empty() {
        return "none".into();
    }
    split
        .iter()
        .map(|(k, v)| format!("{k} {v}%"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Share `total` percent among `others` in proportion to their current shares (largest remainder, ties by name),
/// dropping zeros.
pub fn scale(others: &Split, total: u32) -> Split {
    let weight: u64 = others.values().map(|v| u64::from(*v)).sum();
    let mut out = Split::new();
    if weight == 0 || total == 0 {
        return out;
    }
    let mut rests: Vec<(u64, &String)> = Vec::new();
    let mut given = 0u32;
    for (k, v) in others {
        let exact = u64::from(total) * u64::from(*v);
        let floor = (exact / weight) as u32;
        given += floor;
        out.insert(k.clone(), floor);
        rests.push((exact % weight, k));
    }
    // Largest remainder first; among equal remainders the name order (stable sort keeps it).
    rests.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (_, k) in rests.into_iter().take((total - given) as usize) {
        if let Some(v) = out.get_mut(k) {
            *v += 1;
        }
    }
    out.retain(|_, v| *v > 0);
    out
}

/// The traffic changes of a rollout of `new` (lower-cased) over the endpoint's `current` split and mirror split.
///
/// - A mirror phase first when `mirror_percent > 0`: live traffic unchanged, `new` mirrored at that share.
/// - Then the live steps: `replace` and `blueGreen` one step to 100; `canary` each of `steps`. At a step of `p`
///   percent the other deployments share `100 - p` in proportion to their current shares. Steps at or below the
///   share `new` already holds are skipped. When no other deployment has traffic, the only step is 100.
/// - Live steps carry the current mirror split without `new` (a deployment cannot take both).
pub fn plan(
    strategy: Strategy,
    current: &Split,
    current_mirror: &Split,
    new: &str,
    steps: &[u32],
    mirror_percent: u32,
) -> Vec<Step> {
    let new = new.to_ascii_lowercase();
    let mut others = current.clone();
    let already = others.remove(&new).unwrap_or(0);
    let mut mirror_others = current_mirror.clone();
    mirror_others.remove(&new);
    let mut out = Vec::new();
    if mirror_percent > 0 && already == 0 && !others.is_empty() {
        let mut mirror = mirror_others.clone();
        mirror.insert(new.clone(), mirror_percent);
        out.push(Step {
            kind: StepKind::Mirror(mirror_percent),
            traffic: current.clone(),
            mirror,
        });
    }
    let live: Vec<u32> = match strategy {
        Strategy::Canary if !others.is_empty() => steps.to_vec(),
        _ => vec![100],
    };
    for p in live.into_iter().filter(|p| *p > already) {
        let mut traffic = scale(&others, 100 - p);
        traffic.insert(new.clone(), p);
        out.push(Step {
            kind: StepKind::Live(p),
            traffic,
            mirror: mirror_others.clone(),
        });
    }
    out
}

/// The split to restore on rollback: exactly what was there before (traffic, mirror).
pub fn restore(current: &Split, current_mirror: &Split) -> (Split, Split) {
    (current.clone(), current_mirror.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pairs: &[(&str, u32)]) -> Split {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn normalize_lowercases_and_drops_zeros() {
        let raw: BTreeMap<String, i64> = [("Blue".to_string(), 100), ("green".to_string(), 0)].into();
        assert_eq!(normalize(&raw), split(&[("blue", 100)]));
        assert_eq!(to_json(&normalize(&raw)), r#"{"blue":100}"#);
        assert_eq!(to_json(&Split::new()), "{}");
    }

    #[test]
    fn scale_keeps_proportions_and_sums_exactly() {
        let s = scale(&split(&[("a", 50), ("b", 30), ("c", 20)]), 90);
        assert_eq!(s, split(&[("a", 45), ("b", 27), ("c", 18)]));
        let s = scale(&split(&[("a", 1), ("b", 1), ("c", 1)]), 50);
        assert_eq!(s.values().sum::<u32>(), 50);
        assert_eq!(s, split(&[("a", 17), ("b", 17), ("c", 16)]));
        assert_eq!(scale(&split(&[("a", 100)]), 0), Split::new());
        assert_eq!(scale(&split(&[("a", 3), ("b", 97)]), 10), split(&[("b", 10)]));
    }

    #[test]
    fn canary_steps_shrink_the_others() {
        let cur = split(&[("blue", 100)]);
        let p = plan(Strategy::Canary, &cur, &Split::new(), "Green", &[10, 50, 100], 0);
        let splits: Vec<_> = p.iter().map(|s| s.traffic.clone()).collect();
        assert_eq!(
            splits,
            vec![
                split(&[("blue", 90), ("green", 10)]),
                split(&[("blue", 50), ("green", 50)]),
                split(&[("green", 100)]),
            ]
        );
        assert!(p.iter().all(|s| s.mirror.is_empty()));
        assert_eq!(p[1].kind, StepKind::Live(50));
    }

    #[test]
    fn blue_green_and_replace_go_to_100_in_one_step() {
        let cur = split(&[("blue", 70), ("red", 30)]);
        for s in [Strategy::BlueGreen, Strategy::Replace] {
            let p = plan(s, &cur, &Split::new(), "green", &[10, 100], 0);
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].traffic, split(&[("green", 100)]));
        }
    }

    #[test]
    fn first_deployment_goes_straight_to_100_even_for_canary() {
        let p = plan(
            Strategy::Canary,
            &Split::new(),
            &Split::new(),
            "green",
            &[10, 50, 100],
            20,
        );
        assert_eq!(p.len(), 1, "no mirror phase without live traffic to copy");
        assert_eq!(p[0].traffic, split(&[("green", 100)]));
    }

    #[test]
    fn mirror_phase_comes_first_and_is_cleared_for_live_traffic() {
        let cur = split(&[("blue", 100)]);
        let mirror = split(&[("old", 5)]);
        let p = plan(Strategy::BlueGreen, &cur, &mirror, "green", &[], 20);
        assert_eq!(p[0].kind, StepKind::Mirror(20));
        assert_eq!(p[0].traffic, cur);
        assert_eq!(p[0].mirror, split(&[("green", 20), ("old", 5)]));
        assert_eq!(p[1].mirror, mirror);
        assert_eq!(p[1].traffic, split(&[("green", 100)]));
    }

    #[test]
    fn steps_below_the_current_share_are_skipped() {
        let cur = split(&[("blue", 70), ("green", 30)]);
        let p = plan(Strategy::Canary, &cur, &Split::new(), "green", &[10, 50, 100], 10);
        let kinds: Vec<_> = p.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, vec![StepKind::Live(50), StepKind::Live(100)]);
        assert_eq!(p[0].traffic, split(&[("blue", 50), ("green", 50)]));
    }

    #[test]
    fn restore_is_the_exact_previous_split() {
        let cur = split(&[("blue", 33), ("red", 67)]);
        let mirror = split(&[("x", 10)]);
        assert_eq!(restore(&cur, &mirror), (cur.clone(), mirror.clone()));
        assert_eq!(describe(&cur), "blue 33%, red 67%");
        assert_eq!(describe(&Split::new()), "none");
    }
}
