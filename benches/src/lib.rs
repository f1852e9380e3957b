//! Criterion benchmarks live in `benches/`; peer comparison scripts in `peers/`.
