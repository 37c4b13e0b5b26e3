//! The built-in CAPTCHA's verification cost, natively: a solved challenge
//! at the default difficulty checked many times (MAC in constant time,
//! expiry, binding, the one SHA-256 of the work). Prints the median of
//! five rounds in microseconds. Run by `node bench/captcha.js`.

use std::time::Instant;

use portcullis_core::challenge::{bench_verify, solve};

fn main() {
    let (challenge, bits) = portcullis_core::challenge::bench_challenge();
    let prefix = format!("{challenge}.");
    let counter = solve(&prefix, bits, 0, u64::MAX).unwrap_or(0);
    let solution = format!("{prefix}{counter}");
    let rounds: Vec<f64> = (0..5)
        .map(|_| {
            let n = 20_000u32;
            let started = Instant::now();
            for _ in 0..n {
                assert!(bench_verify(&solution));
            }
            started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .collect();
    let mut sorted = rounds.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "{{\"verifyMicros\":{:.3},\"rounds\":{rounds:?}}}",
        sorted[2]
    );
}
