//! Forward and inverse negacyclic NTT at N = 2^13 … 2^16 over a 60-bit prime.
#![allow(missing_docs)]

use core::hint::black_box;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use medblind_core::math::{ntt::NttTable, prime::NttPrimes, zq::Modulus};

fn ntt(c: &mut Criterion) {
    let mut group = c.benchmark_group("ntt");
    for log_n in 13..=16u32 {
        let n = 1usize << log_n;
        let q = NttPrimes::new(60, n).next().expect("a 60-bit NTT prime exists");
        let table = NttTable::new(Modulus::new(q).expect("valid modulus"), log_n).expect("valid table");
        let mut a: Vec<u64> = (0..n as u64).map(|i| i * 7919 % q).collect();
        group.bench_function(BenchmarkId::new("forward", format!("{n}/60")), |b| {
            b.iter(|| table.forward(black_box(&mut a)))
        });
        group.bench_function(BenchmarkId::new("inverse", format!("{n}/60")), |b| {
            b.iter(|| table.inverse(black_box(&mut a)))
        });
    }
    group.finish();
}

criterion_group!(benches, ntt);
criterion_main!(benches);
