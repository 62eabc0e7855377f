//! The one configuration of the property tests (`fuzz` modules): a fixed number of
//! cases and a fixed seed per suite, so CI runs are bounded and repeatable;
//! `PROPTEST_CASES` and `PROPTEST_RNG_SEED` override both for a longer local run.

use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// `cases` cases from the suite's own `seed`, no failure files.
pub fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases: env("PROPTEST_CASES").unwrap_or(cases),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(seed)),
        ..Config::default()
    }
}
