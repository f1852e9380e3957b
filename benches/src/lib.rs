//! Criterion benchmarks live in `benches/`, timing examples in `examples/`, peer comparison scripts in `peers/`;
//! [`setup`] is the set-up they share.

pub mod setup;
