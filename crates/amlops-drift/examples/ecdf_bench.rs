//! Micro-benchmark of the two exact KS/W1 routes on full-precision samples: the bucket route
//! (`amlops_drift::ecdf`) against sorting both samples and merging (the route it replaced).
//!
//! `cargo run --profile perf -p amlops-drift --example ecdf_bench -- [N] [RUNS] [LEVEL1_BITS LEVEL2_CAP PER_BUCKET DIRECT]`
//! (N values a side, default 10,000,000; RUNS alternating runs, default 5; medians printed;
//! the bucket levels default to `Params::default()`).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use amlops_drift::ecdf::{EcdfBuf, Params, Side, ks_w1_with};
use amlops_drift::metrics::ks_and_wasserstein;

fn normalish(n: usize, seed: u64, shift: f64, scale: f64) -> Vec<f64> {
    let mut s = seed | 1;
    let mut r = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| ((0..4).map(|_| r()).sum::<f64>() - 2.0) * scale + shift)
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    // Bucket levels (for tuning): LEVEL1_BITS LEVEL2_CAP PER_BUCKET after N and RUNS.
    let arg = |i: usize| args.get(i).and_then(|v| v.parse::<u64>().ok());
    let d = Params::default();
    let params = Params {
        level1_bits: arg(3).map_or(d.level1_bits, |v| v as u32),
        level2_cap: arg(4).map_or(d.level2_cap, |v| v as usize),
        per_bucket: arg(5).unwrap_or(d.per_bucket),
        direct: arg(6).unwrap_or(d.direct),
    };
    println!("{params:?}");
    for (name, shift, scale) in [("drifted", 0.05, 1.1), ("same distribution", 0.0, 1.0)] {
        let b = normalish(n, 1, 0.0, 1.0);
        let t = normalish(n, 2, shift, scale);
        let (mut tb, mut ts) = (Vec::new(), Vec::new());
        let mut buf = EcdfBuf::default();
        let (mut got, mut want) = ((0.0, 0.0, 0), (0.0, 0.0));
        for _ in 0..runs {
            let start = Instant::now();
            let f = ks_w1_with(
                Side {
                    values: &b,
                    ..Side::default()
                },
                Side {
                    values: &t,
                    ..Side::default()
                },
                &mut buf,
                params,
            );
            tb.push(start.elapsed().as_secs_f64());
            got = (f.d, f.w1, f.sorted);
            let start = Instant::now();
            let (mut sb, mut st) = (b.clone(), t.clone());
            sb.sort_unstable_by(f64::total_cmp);
            st.sort_unstable_by(f64::total_cmp);
            want = ks_and_wasserstein(&sb, &st);
            ts.push(start.elapsed().as_secs_f64());
        }
        println!(
            "{name}: buckets {:.3} s (D {:.6e}, W1 {:.9e}, {} values sorted), sort+merge {:.3} s (D {:.6e}, W1 {:.9e})",
            median(tb),
            got.0,
            got.1,
            got.2,
            median(ts),
            want.0,
            want.1
        );
    }
}
