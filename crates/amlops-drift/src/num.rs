//! Exact decimal-to-double conversion for the text readers (CSV, JSON Lines, data quality), and
//! their integer parser.
//!
//! Plain decimals (`-0.6330826569402187`, `1.5e-3`: a sign, digits, a point, an exponent; at most
//! 19 significant digits) are converted here; everything else (more digits, `inf`, spaces, other
//! spellings) goes to the standard parser. Both give the same double, bit for bit:
//!
//! - A plain decimal of at most 20 bytes after its sign, without an exponent (nearly every number
//!   a CSV file of doubles holds), is read from three words with no branch on its digits
//!   ([`parse_simple`]) and converted by Eisel and Lemire's algorithm alone.
//! - Clinger's fast path: a mantissa `w <= 2^53` and a power of ten `10^|e|` with `|e| <= 22`
//!   are both exact doubles, so one multiplication or division is correctly rounded.
//! - Otherwise Eisel and Lemire's algorithm (the one Rust's own parser uses, "Number Parsing at a
//!   Gigabyte per Second", 2021), over 128-bit truncated powers of five for decimal exponents in
//!   [-27, 55]: there the 128-bit product decides the rounding in every case, ties included. The
//!   powers are computed at compile time from exact integer arithmetic. Exponents outside that
//!   range, and the rare products the algorithm cannot decide, go to the standard parser.
//!
//! Written here for speed: on the 2.97M numbers of MF's CSV (one process, alternating, on a 2 vCPU
//! host) the standard parser took 41-48 ns a number (UTF-8 check included), `lexical-core` 1.0
//! (already in the tree through `arrow`) 26-28 ns, this module 23-26 ns; and the drift readers
//! need the standard parser's exact set of accepted spellings, which the fallback gives. The
//! `drift_number` fuzz target compares this module with the standard parsers on arbitrary bytes.

/// Decimal exponents covered by the power table.
const Q_MIN: i64 = -27;
const Q_MAX: i64 = 55;

/// 128-bit truncated 5^q, normalised so that the top bit is set, as (high, low) words; for
/// q < 0, floor(2^b / 5^-q) + 1 with b = bit length of 5^-q plus 127.
const POW5: [(u64, u64); (Q_MAX - Q_MIN + 1) as usize] = pow5_table();

const fn pow5_table() -> [(u64, u64); (Q_MAX - Q_MIN + 1) as usize] {
    let mut out = [(0u64, 0u64); (Q_MAX - Q_MIN + 1) as usize];
    let mut q = Q_MIN;
    while q <= Q_MAX {
        let c: u128 = if q >= 0 {
            // 5^55 < 2^128: exact, then shifted up to a set top bit.
            let mut p: u128 = 1;
            let mut k = 0;
            while k < q {
                p *= 5;
                k += 1;
            }
            p << p.leading_zeros()
        } else {
            let mut p: u128 = 1;
            let mut k = 0;
            while k < -q {
                p *= 5;
                k += 1;
            }
            let z = 128 - p.leading_zeros();
            let b = z + 127;
            // floor(2^b / p) by binary long division (p < 2^63, so the remainder never overflows).
            let mut rem: u128 = 0;
            let mut quo: u128 = 0;
            let mut i = b as i32;
            while i >= 0 {
                rem <<= 1;
                if i as u32 == b {
                    rem |= 1;
                }
                if rem >= p {
                    rem -= p;
                    if i < 128 {
                        quo |= 1u128 << i;
                    }
                }
                i -= 1;
            }
            quo + 1
        };
        out[(q - Q_MIN) as usize] = ((c >> 64) as u64, c as u64);
        q += 1;
    }
    out
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// Parse a finite number: the standard parser's value (after trimming white space), or `None`
/// for text it rejects and for infinities and NaN.
#[inline]
pub(crate) fn parse_f64(s: &[u8]) -> Option<f64> {
    if let Some(v) = parse_simple(s) {
        return Some(v);
    }
    match parse_plain(s) {
        Plain::Value(v) => Some(v),
        Plain::Invalid => None,
        Plain::Other => std::str::from_utf8(s)
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite()),
    }
}

enum Plain {
    Value(f64),
    /// Not a number in any spelling the standard parser accepts either.
    Invalid,
    /// Ask the standard parser.
    Other,
}

const POW10_U64: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The next up to 8 bytes of `s` from `i` as a little-endian word (bytes past the end are 0,
/// not a digit).
#[inline]
fn word_at(s: &[u8], i: usize) -> u64 {
    let load = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    if let Some(c) = s.get(i..i + 8) {
        load(c)
    } else if i >= s.len() {
        0
    } else if s.len() >= 8 {
        // The last 8 bytes, shifted down so that byte i comes first.
        load(&s[s.len() - 8..]) >> (8 * (i + 8 - s.len()))
    } else {
        let mut b = [0u8; 8];
        for (d, &c) in b.iter_mut().zip(&s[i..]) {
            *d = c;
        }
        u64::from_le_bytes(b)
    }
}

/// Eight digit values (0 to 9 a byte, little-endian word, first digit lowest) to their value.
#[inline]
fn digit_values(v: u64) -> u64 {
    let v = (v.wrapping_mul(10)).wrapping_add(v >> 8) & 0x00ff_00ff_00ff_00ff;
    let v = (v.wrapping_mul(100)).wrapping_add(v >> 16) & 0x0000_ffff_0000_ffff;
    (v.wrapping_mul(10_000)).wrapping_add(v >> 32) & 0xffff_ffff
}

/// The run of digits at `s[start..]`, 8 bytes a step: returns where it ends; `w` takes the
/// digits (wrapping: callers check how many there were).
#[inline]
fn digit_run(s: &[u8], start: usize, w: &mut u64) -> usize {
    let mut i = start;
    loop {
        let word = word_at(s, i);
        let sub = word.wrapping_sub(0x3030_3030_3030_3030);
        let over = word.wrapping_add(0x4646_4646_4646_4646);
        // The lowest flagged byte is the first non-digit (borrows and carries only move up, so
        // the bytes below it hold their digit values exactly).
        let bad = (sub | over) & 0x8080_8080_8080_8080;
        let n = (bad.trailing_zeros() / 8) as usize;
        if n == 0 {
            return i;
        }
        // The n digit values to the top of the word, zeros below: an 8-digit number.
        *w = w
            .wrapping_mul(POW10_U64[n])
            .wrapping_add(digit_values(sub << (8 * (8 - n))));
        i += n;
        if n < 8 {
            return i;
        }
    }
}

/// The common spelling, `-?[0-9]*(\.[0-9]*)?` with at most 19 digits in all: no exponent.
/// `None`: ask [`parse_plain`].
///
/// Without a branch on the digits: the text after the sign (at most 20 bytes) is loaded
/// right-aligned into 24 bytes padded with `'0'` ([`window`]), the first non-digit byte (the
/// point) is found in the three words at once, the bytes below it move up one byte over it, and
/// the 24 digits are valued 8 at a time. A loop over runs of digits (as [`parse_plain`] has)
/// mispredicts where the lengths of the integer and fraction parts vary from value to value, as
/// they do in full-precision data; copying the text into a buffer and reading it back as words
/// stalls on store forwarding. The value is Eisel and Lemire's product throughout (no branch to
/// Clinger's division, which 16- and 17-digit mantissas take in turn). About 25% less time a
/// number than the loop over runs, on MF's CSV numbers (see docs/performance.md).
#[inline]
fn parse_simple(s: &[u8]) -> Option<f64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of every byte that is not an ASCII digit; the lowest one flagged is exact
    // (borrows and carries move up only), and no byte is flagged in a word of digits.
    let non_digits = |x: u64| (x.wrapping_sub(ZEROS) | x.wrapping_add(0x4646_4646_4646_4646)) & HIGH;
    let neg = s.first() == Some(&b'-');
    let t = &s[usize::from(neg)..];
    let l = t.len();
    if l == 0 || l > 20 {
        return None;
    }
    let (w0, w1, hi) = window(t);
    let lo = u128::from(w0) | (u128::from(w1) << 64);
    let bad_lo = u128::from(non_digits(w0)) | (u128::from(non_digits(w1)) << 64);
    let bad_hi = non_digits(hi);
    // The first byte that is not a digit (24: none); it has to be the point.
    let p = if bad_lo != 0 {
        (bad_lo.trailing_zeros() / 8) as usize
    } else if bad_hi != 0 {
        16 + (bad_hi.trailing_zeros() / 8) as usize
    } else {
        24
    };
    let point = p < 24;
    if point && t[l + p - 24] != b'.' {
        return None;
    }
    // Bytes 0..=p move up one byte (over the point, a '0' coming in at the bottom).
    let n = if point { p + 1 } else { 0 };
    let lo_mask = if n >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * n)) - 1
    };
    let hi_mask = !u64::MAX.checked_shl(8 * n.saturating_sub(16) as u32).unwrap_or(0);
    let hi = (((hi << 8) | (w1 >> 56)) & hi_mask) | (hi & !hi_mask);
    let lo = (((lo << 8) | 0x30) & lo_mask) | (lo & !lo_mask);
    let (d0, d1) = (lo as u64, (lo >> 64) as u64);
    if non_digits(d0) | non_digits(d1) | non_digits(hi) != 0 {
        return None;
    }
    let digits = l - usize::from(point);
    if digits == 0 || digits > 19 {
        return None;
    }
    // At most 19 digits: the first word holds at most 3 of them, and the sum fits.
    let w = digit_values(d0.wrapping_sub(ZEROS)) * 10_000_000_000_000_000
        + digit_values(d1.wrapping_sub(ZEROS)) * 100_000_000
        + digit_values(hi.wrapping_sub(ZEROS));
    let frac = if point { 23 - p } else { 0 };
    let v = if w == 0 {
        0.0
    } else {
        eisel_lemire(-(frac as i64), w)?
    };
    Some(if neg { -v } else { v })
}

/// `t` (1 to 20 bytes) right-aligned in 24 bytes padded with `'0'`, as three little-endian
/// words (lowest byte first). Loaded from the slice in words: lengths of 16 and more (most
/// full-precision numbers) take no loop.
#[inline]
fn window(t: &[u8]) -> (u64, u64, u64) {
    const PAD: u64 = 0x3030_3030_3030_3030;
    let l = t.len();
    let load = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    // `x` moved up by `k` bytes (`k` in 0..=8), '0' coming in below.
    let up = |x: u64, k: usize| {
        let b = 8 * k as u32;
        x.checked_shl(b).unwrap_or(0) | (PAD & !u64::MAX.checked_shl(b).unwrap_or(0))
    };
    if l >= 16 {
        (
            up(load(&t[..8]), 24 - l),
            load(&t[l - 16..l - 8]),
            load(&t[l - 8..]),
        )
    } else if l >= 8 {
        (PAD, up(load(&t[..8]), 16 - l), load(&t[l - 8..]))
    } else {
        let mut x = 0u64;
        for &c in t {
            x = (x >> 8) | (u64::from(c) << 56);
        }
        (PAD, PAD, x | (PAD >> (8 * l)))
    }
}

#[inline]
fn parse_plain(s: &[u8]) -> Plain {
    let n = s.len();
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        Some(_) => false,
        None => return Plain::Invalid,
    };
    // Leading zeros do not count as significant digits.
    let int_start = i;
    while s.get(i) == Some(&b'0') {
        i += 1;
    }
    let mut w = 0u64;
    let sig_start = i;
    i = digit_run(s, i, &mut w);
    let mut sig = i - sig_start;
    let int_digits = i - int_start;
    let mut frac_digits = 0usize;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        if sig == 0 {
            while s.get(i) == Some(&b'0') {
                i += 1;
            }
        }
        let sig_frac_start = i;
        i = digit_run(s, i, &mut w);
        sig += i - sig_frac_start;
        frac_digits = i - frac_start;
    }
    if int_digits + frac_digits == 0 {
        return Plain::Other;
    }
    let mut exp: i64 = 0;
    if let Some(&(b'e' | b'E')) = s.get(i) {
        i += 1;
        let eneg = match s.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while let Some(&c) = s.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if exp < 100_000 {
                exp = exp * 10 + i64::from(d);
            }
            i += 1;
        }
        if i == start {
            return Plain::Other;
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != n || sig > 19 {
        return Plain::Other;
    }
    if w == 0 {
        return Plain::Value(if neg { -0.0 } else { 0.0 });
    }
    let q = exp - frac_digits as i64;
    let v = if w <= 1 << 53 && (-22..=22).contains(&q) {
        let m = w as f64;
        if q < 0 {
            m / POW10[(-q) as usize]
        } else {
            m * POW10[q as usize]
        }
    } else {
        match eisel_lemire(q, w) {
            Some(v) => v,
            None => return Plain::Other,
        }
    };
    Plain::Value(if neg { -v } else { v })
}

/// w * 10^q correctly rounded, for 0 < w and q in the table's range; `None` when the 128-bit
/// product cannot decide (or q is outside the table).
#[inline]
fn eisel_lemire(q: i64, w: u64) -> Option<f64> {
    const SIG_BITS: i32 = 52;
    if !(Q_MIN..=Q_MAX).contains(&q) || w == 0 {
        return None;
    }
    let lz = w.leading_zeros();
    let w = w << lz;
    let (hi5, lo5) = POW5[(q - Q_MIN) as usize];
    let mask = u64::MAX >> (SIG_BITS + 3);
    let full = |a: u64, b: u64| {
        let r = u128::from(a) * u128::from(b);
        (r as u64, (r >> 64) as u64)
    };
    let (mut lo, mut hi) = full(w, hi5);
    if hi & mask == mask {
        let (_, second_hi) = full(w, lo5);
        lo = lo.wrapping_add(second_hi);
        if second_hi > lo {
            hi += 1;
        }
    }
    // In [-27, 55] an all-ones low word still rounds correctly (the table is exact enough there).
    let upperbit = (hi >> 63) as i32;
    let shift = upperbit + 64 - SIG_BITS - 3;
    let mut mantissa = hi >> shift;
    let power = ((q as i32).wrapping_mul(152_170 + 65_536) >> 16) + 63;
    let mut power2 = power + upperbit - lz as i32 + 1022 + 1;
    if power2 <= 0 {
        // Subnormal results are out of this table's range; let the standard parser decide.
        return None;
    }
    if lo <= 1 && (-4..=23).contains(&q) && mantissa & 0b11 == 0b01 && (mantissa << shift) == hi {
        mantissa &= !1u64;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= (2u64 << SIG_BITS) {
        mantissa = 1u64 << SIG_BITS;
        power2 += 1;
    }
    mantissa &= !(1u64 << SIG_BITS);
    if power2 >= 0x7ff {
        return None;
    }
    Some(f64::from_bits(mantissa | ((power2 as u64) << SIG_BITS)))
}

/// An integer as `str::parse::<i64>` reads the text after trimming white space.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    plain_i64(s).or_else(|| std::str::from_utf8(s).ok()?.trim().parse::<i64>().ok())
}

/// The common spelling of an integer, without the standard parser: an optional sign and 1 to 18
/// ASCII digits (which cannot overflow). Anything else is `None` (and goes to the standard parser).
pub(crate) fn plain_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v = 0i64;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if neg { -v } else { v })
}

/// For the fuzz target and its replay: what this module's parsers and the standard parsers (after
/// trimming white space; infinities and NaN are not numbers here) make of the same bytes, as bits,
/// in pairs that must be equal (bytes that are not UTF-8 are a number for neither).
#[doc(hidden)]
pub fn fuzz_numbers(s: &[u8]) -> [(Option<u64>, Option<u64>); 2] {
    let std_f64 = std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite());
    let std_i64 = std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok());
    [
        (parse_f64(s).map(f64::to_bits), std_f64.map(f64::to_bits)),
        (parse_i64(s).map(|v| v as u64), std_i64.map(|v| v as u64)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn standard(s: &str) -> Option<f64> {
        s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }

    fn same(s: &str) {
        let got = parse_f64(s.as_bytes());
        let want = standard(s);
        assert_eq!(
            got.map(f64::to_bits),
            want.map(f64::to_bits),
            "`{s}`: {got:?} != {want:?}"
        );
    }

    #[test]
    fn power_table_holds_known_entries() {
        // 5^0 and 5^1 normalised; 5^-1 = 0.2 as floor(2^130 / 5) + 1.
        assert_eq!(POW5[(0 - Q_MIN) as usize], (1 << 63, 0));
        assert_eq!(POW5[(1 - Q_MIN) as usize], (0xa000_0000_0000_0000, 0));
        assert_eq!(
            POW5[(-1 - Q_MIN) as usize],
            (0xcccc_cccc_cccc_cccc, 0xcccc_cccc_cccc_cccd)
        );
        // The ends of the range and an exact one (5^23 < 2^64), as every Eisel-Lemire table has them.
        assert_eq!(POW5[0], (0x9e74_d1b7_91e0_7e48, 0x775e_a264_cf55_347e));
        assert_eq!(POW5[(23 - Q_MIN) as usize], (0xa968_163f_0a57_b400, 0));
        assert_eq!(
            POW5[(55 - Q_MIN) as usize],
            (0xd0cf_4b50_cfe2_0765, 0xfff4_b4e3_f741_cf6d)
        );
    }

    #[test]
    fn edge_cases_equal_the_standard_parser() {
        for s in [
            "0",
            "-0",
            "+0",
            "0.0",
            "-0.0e5",
            "48.8435",
            "-19.4659",
            "0.0001",
            "123456789012345",
            "1234567890.12345",
            "0.1",
            "+7.25",
            "9007199254740993",
            "9007199254740992",
            "9007199254740991",
            "1e5",
            "-2.5E-3",
            "12345678901234567890",
            "1234567890123456789",
            "18446744073709551615",
            "18446744073709551616",
            "0.00000000000000000000001",
            ".5",
            "5.",
            "-.5e1",
            "1e",
            "1e+",
            "e5",
            "-",
            "+",
            ".",
            "",
            "abc",
            "1.2.3",
            "inf",
            "-Infinity",
            "NaN",
            "1,5",
            " 1.5",
            "1.5 ",
            "1_000",
            "1e400",
            "1e-400",
            "4.9406564584124654e-324",
            "2.2250738585072014e-308",
            "2.2250738585072011e-308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "-0.6330826569402187",
            "3022.1246054632866",
            "0.27008797562057774",
            "9007199254740993.0",
            "9.007199254740993e15",
            "2.0000000000000004",
            "2.0000000000000002",
            "2.0000000000000003",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203124",
            "0.1000000000000000055511151231257827",
            "7.3177701707893310e+15",
            "00000000000000000000000000001.5",
            "0.000000000000000000000000000000000000000000001",
            "1e0000000000000000000000000000001",
            "1e-0000000000000000000000000000001",
            "123456789e-30",
            "123456789e50",
            "123456789e56",
            "99999999999999999999e-20",
        ] {
            same(s);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn shortest_repr_of_any_double_round_trips(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            let s = format!("{v}");
            same(&s);
            same(&format!("{v:e}"));
            prop_assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), Some(v.to_bits()));
        }

        #[test]
        fn doubles_near_one_and_their_neighbours(x in -1.0e6f64..1.0e6, k in 0usize..25) {
            same(&format!("{x}"));
            same(&format!("{x:.k$}"));
        }

        #[test]
        fn random_digit_strings(
            neg in any::<bool>(),
            int in "[0-9]{0,22}",
            frac in proptest::option::of("[0-9]{0,22}"),
            exp in proptest::option::of(-400i32..400),
        ) {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&int);
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some(e) = exp {
                s.push_str(&format!("e{e}"));
            }
            same(&s);
        }

        #[test]
        fn halfway_points_between_neighbours(bits in 1u64..0x7fe0_0000_0000_0000) {
            // The exact midpoint of two adjacent doubles rounds to even; just below and above it
            // round down and up.
            let a = f64::from_bits(bits);
            let b = f64::from_bits(bits + 1);
            let mid = (a / 2.0) + (b / 2.0);
            for v in [mid, a, b] {
                same(&format!("{v:.20e}"));
                same(&format!("{v:.17e}"));
                same(&format!("{v:.16e}"));
            }
        }

        #[test]
        fn a_point_anywhere_in_up_to_21_bytes(
            neg in any::<bool>(),
            digits in "[0-9]{0,21}",
            at in 0usize..22,
            point in any::<bool>(),
        ) {
            // Every length the word window takes (short, 8 to 15, 16 to 20, too long) with the
            // point at every place, leading and trailing included.
            let mut s = String::from(if neg { "-" } else { "" });
            let at = at.min(digits.len());
            s.push_str(&digits[..at]);
            if point {
                s.push('.');
            }
            s.push_str(&digits[at..]);
            same(&s);
        }

        #[test]
        fn plain_decimals_near_halfway_points(bits in 0x3f50_0000_0000_0000u64..0x4090_0000_0000_0000, k in 12usize..20) {
            // Midpoints of neighbouring doubles written without an exponent, cut to 12 to 19
            // decimals: the product has to round them as the standard parser does.
            let a = f64::from_bits(bits);
            let mid = (a / 2.0) + (f64::from_bits(bits + 1) / 2.0);
            same(&format!("{mid:.k$}"));
            same(&format!("{a:.k$}"));
        }

        #[test]
        fn text_of_number_characters(s in "[-+0-9.eE ]{0,24}") {
            same(&s);
        }
    }
}
