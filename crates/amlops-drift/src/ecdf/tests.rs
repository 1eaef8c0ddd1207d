//! The bucketed KS and W1 against the plain reference: both samples sorted whole and merged
//! ([`crate::metrics::ks_and_wasserstein`]), on random and adversarial samples.

use proptest::prelude::*;

use crate::test_support::unit;

use super::*;
use crate::metrics::ks_and_wasserstein;

fn reference(b: &[f64], t: &[f64]) -> (f64, f64) {
    let (mut b, mut t) = (b.to_vec(), t.to_vec());
    b.sort_unstable_by(|x, y| x.total_cmp(y));
    t.sort_unstable_by(|x, y| x.total_cmp(y));
    ks_and_wasserstein(&b, &t)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// A side of single values only.
fn plain(values: &[f64]) -> Side<'_> {
    Side {
        values,
        ..Side::default()
    }
}

fn check_with(b: &[f64], t: &[f64], p: Params) -> Found {
    let (d, w1) = reference(b, t);
    let found = ks_w1_with(plain(b), plain(t), &mut EcdfBuf::default(), p);
    assert!(
        close(found.d, d, 1e-12),
        "KS {} vs reference {d} ({p:?})",
        found.d
    );
    assert!(
        close(found.w1, w1, 1e-10),
        "W1 {} vs reference {w1} ({p:?})",
        found.w1
    );
    let fold = |v: &[f64]| {
        v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, z), &x| {
            (a.min(x), z.max(x))
        })
    };
    let ((bl, bh), (tl, th)) = (fold(b), fold(t));
    assert!(found.min[0] == bl && found.max[0] == bh && found.min[1] == tl && found.max[1] == th);
    found
}

/// Small levels reach the second level and the gathering on small samples.
fn tiny() -> Params {
    Params {
        level1_bits: 3,
        level2_cap: 16,
        per_bucket: 2,
        direct: u64::MAX,
    }
}

/// Roughly normal values (sum of uniforms), scaled and shifted.
fn normalish(n: usize, seed: u64, shift: f64, scale: f64) -> Vec<f64> {
    let mut r = unit(seed | 1);
    (0..n)
        .map(|_| ((0..4).map(|_| r()).sum::<f64>() - 2.0) * scale + shift)
        .collect()
}

/// Values a numerical column can hold, weighted towards what breaks bucketing: ties, zeros of
/// both signs, subnormals, huge and tiny magnitudes, neighbours one ulp apart.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3f64..1e3,
        2 => (0u32..8).prop_map(f64::from),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => (1u64..1000).prop_map(f64::from_bits),
        1 => (1u64..1000).prop_map(|b| -f64::from_bits(b)),
        1 => prop::num::f64::NORMAL,
        1 => (0u64..16).prop_map(|u| f64::from_bits(1.5f64.to_bits() + u)),
        1 => prop_oneof![Just(f64::MAX), Just(-f64::MAX), Just(f64::MIN_POSITIVE)],
    ]
}

fn params() -> impl Strategy<Value = Params> {
    (
        1u32..10,
        1usize..256,
        1u64..64,
        prop_oneof![Just(1u64), 2u64..64, Just(u64::MAX)],
    )
        .prop_map(|(level1_bits, level2_cap, per_bucket, direct)| Params {
            level1_bits,
            level2_cap,
            per_bucket,
            direct,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn equals_the_sort_and_merge(
        b in prop::collection::vec(value(), 1..300),
        t in prop::collection::vec(value(), 1..300),
        p in params(),
    ) {
        check_with(&b, &t, p);
        check_with(&b, &t, Params::default());
    }

    #[test]
    fn weights_count_as_repeated_values(
        b in prop::collection::vec((value(), 1u64..5), 1..60),
        t in prop::collection::vec(value(), 1..200),
        p in params(),
    ) {
        let expanded: Vec<f64> = b.iter().flat_map(|&(x, c)| std::iter::repeat_n(x, c as usize)).collect();
        let (d, w1) = reference(&expanded, &t);
        let (xs, cs): (Vec<f64>, Vec<u64>) = b.iter().copied().unzip();
        let half = b.len() / 2;
        let side = Side { values: &[], pairs: &b[..half], counted: (&xs[half..], &cs[half..]) };
        let found = ks_w1_with(side, plain(&t), &mut EcdfBuf::default(), p);
        prop_assert!(close(found.d, d, 1e-12), "KS {} vs {}", found.d, d);
        prop_assert!(close(found.w1, w1, 1e-10), "W1 {} vs {}", found.w1, w1);
    }
}

#[test]
fn drifted_samples_leave_little_to_sort() {
    let b = normalish(200_000, 7, 0.0, 1.0);
    let t = normalish(150_000, 8, 0.05, 1.1);
    let found = check_with(&b, &t, Params::default());
    assert!(
        found.sorted < 35_000,
        "{} of 350,000 values had to be sorted",
        found.sorted
    );
}

#[test]
fn samples_from_one_distribution_are_exact_too() {
    let b = normalish(100_000, 11, 3.0, 2.0);
    let t = normalish(100_000, 12, 3.0, 2.0);
    check_with(&b, &t, Params::default());
    check_with(&b, &t, tiny());
}

#[test]
fn equal_samples_have_zero_distance() {
    let b = normalish(20_000, 3, -5.0, 1e-3);
    let mut t = b.clone();
    t.reverse();
    for p in [Params::default(), tiny()] {
        let found = check_with(&b, &t, p);
        assert_eq!((found.d, found.w1), (0.0, 0.0));
    }
    // The same values twice over on one side: the distribution functions are still equal.
    let twice: Vec<f64> = b.iter().chain(&b).copied().collect();
    let found = check_with(&b, &twice, tiny());
    assert_eq!(found.d, 0.0);
}

#[test]
fn constant_and_single_value_samples() {
    check_with(&[2.5], &[2.5], tiny());
    check_with(&[2.5; 10], &[2.5; 3], Params::default());
    check_with(&[0.0, -0.0, 0.0], &[-0.0], tiny());
    check_with(&[1.0], &[2.0], tiny());
    check_with(&[-1.0, 1.0], &[0.0; 5], tiny());
    let found = check_with(&[7.0; 4], &[7.0, 8.0], tiny());
    assert_eq!(found.d, 0.5);
}

#[test]
fn wide_magnitudes_and_neighbouring_floats() {
    let mut r = unit(99);
    let b: Vec<f64> = (0..5_000)
        .map(|i| match i % 4 {
            0 => r() * 1e-300,
            1 => -r() * 1e300,
            2 => f64::from_bits(1.0f64.to_bits() + (r() * 64.0) as u64),
            _ => (r() * 10.0).floor(),
        })
        .collect();
    let t: Vec<f64> = b
        .iter()
        .map(|&x| if x > 1.0 { x * 1.0000001 } else { x })
        .collect();
    check_with(&b, &t, Params::default());
    check_with(&b, &t, tiny());
}

#[test]
fn sort_keys_sorts() {
    let mut r = unit(5);
    let mut v: Vec<u64> = (0..50_000).map(|_| (r() * 1e15) as u64 + 1_000_000).collect();
    let mut want = v.clone();
    want.sort_unstable();
    crate::sort::sort_keys(&mut v, &mut Vec::new());
    assert_eq!(v, want);
}

/// Tallies taken per value, the reference for [`ks_w1_tally`]'s bucket-wise tallies.
fn tallied_one_by_one(b: &[f64], t: &[f64], tally: &Tally<'_>) -> Tallied {
    let mut want = Tallied::new(tally.classes);
    for (s, side) in [b, t].into_iter().enumerate() {
        for &x in side {
            want.add(tally, s, x, 1);
        }
    }
    want
}

fn check_tally(b: &[f64], t: &[f64], cuts: &[f64], p: Params) {
    let mut cuts = cuts.to_vec();
    cuts.sort_by(f64::total_cmp);
    // A monotone class: the number of cuts at or below the value.
    let class = |x: f64| cuts.partition_point(|&c| c <= x);
    let centre = b.iter().sum::<f64>() / b.len().max(1) as f64;
    let tally = Tally {
        class: &class,
        classes: cuts.len() + 1,
        centre,
    };
    let want = tallied_one_by_one(b, t, &tally);
    let (sb, st) = (plain(b), plain(t));
    let extent = Extent::of(sb, st);
    let (_, got) = ks_w1_tally(sb, st, &extent, &mut EcdfBuf::default(), p, &tally);
    assert_eq!(got.counts, want.counts, "class counts ({p:?}, cuts {cuts:?})");
    if want.ss.is_finite() {
        assert!(
            close(got.ss, want.ss, 1e-9) || (got.ss - want.ss).abs() < 1e-300,
            "sum of squares {} vs {} ({p:?})",
            got.ss,
            want.ss
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn tallies_equal_counting_value_by_value(
        b in prop::collection::vec(value(), 0..300),
        t in prop::collection::vec(value(), 0..300),
        cuts in prop::collection::vec(value(), 0..12),
        p in params(),
    ) {
        check_tally(&b, &t, &cuts, p);
        check_tally(&b, &t, &cuts, Params::default());
    }
}

#[test]
fn tallies_on_large_samples_and_cut_points_on_values() {
    let b = normalish(200_000, 21, 0.0, 1.0);
    let t = normalish(150_000, 22, 0.3, 1.2);
    // Cuts on sample values themselves, the bin edges of the metrics, and a range's ends.
    let mut cuts = vec![b[0], b[1], t[0], -0.0, 0.0];
    cuts.extend(crate::metrics::bin_edges(-4.0, 4.0, 17));
    check_tally(&b, &t, &cuts, Params::default());
    check_tally(&b, &t, &cuts, tiny());
    check_tally(&[3.0; 7], &[3.0, -0.0 + 3.0], &[3.0], tiny());
    check_tally(&[1.0, 2.0], &[], &[1.5], Params::default());
    check_tally(&[-0.0, 0.0, -0.0], &[0.0], &[0.0, -0.0], tiny());
}

/// The baseline's sum of squares where buckets are far wider than the baseline's spread: values
/// beyond 1e154 in a wide bucket (squares of their distance to the bucket's edge overflow), and
/// a baseline of nearly equal values beside a target spread over the whole range (the squares
/// about the bucket's edge are 1e10 times the squares about the mean).
#[test]
fn sums_of_squares_hold_where_buckets_are_far_wider_than_the_baseline() {
    let one_bucket = Params {
        level1_bits: 1,
        level2_cap: 1,
        per_bucket: 1,
        direct: 1,
    };
    for p in [one_bucket, tiny(), Params::default()] {
        check_tally(&[5.233912231196918e164], &[0.0], &[], p);
        check_tally(
            &[3e200, 3e200 + 1e185, 3e200 - 2e185],
            &[-1e300, 1e300],
            &[0.0],
            p,
        );
    }
    let b: Vec<f64> = (0..2000).map(|k| 1.3 + k as f64 * 1e-13).collect();
    let t = normalish(100_000, 23, 1.0, 0.5);
    let edges = crate::metrics::bin_edges(-1.0, 3.0, 11);
    for p in [one_bucket, tiny(), Params::default()] {
        check_tally(&b, &t, &edges, p);
    }
}
