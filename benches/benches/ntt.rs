//! Forward and inverse negacyclic NTT at N = 2^13 … 2^16 over a 60-bit and a 40-bit prime (the scaling primes),
//! with every kernel set this CPU supports (scalar, AVX2, AVX-512 IFMA).
#![allow(missing_docs)]

use core::hint::black_box;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use medblind_core::math::kernels::{self, KernelSet};
use medblind_core::math::{ntt::NttTable, prime::NttPrimes, zq::Modulus};

fn ntt(c: &mut Criterion) {
    let mut group = c.benchmark_group("ntt");
    let sets = KernelSet::ALL.into_iter().filter(|set| set.supported());
    for (set, (log_n, bits)) in
        sets.flat_map(|set| (13..=16u32).flat_map(move |log_n| [(set, (log_n, 60)), (set, (log_n, 40))]))
    {
        kernels::select(set);
        let n = 1usize << log_n;
        let q = NttPrimes::new(bits, n).next().expect("an NTT prime of that size exists");
        let table = NttTable::new(Modulus::new(q).expect("valid modulus"), log_n).expect("valid table");
        let mut a: Vec<u64> = (0..n as u64).map(|i| i * 7919 % q).collect();
        group.bench_function(BenchmarkId::new(format!("forward/{set}"), format!("{n}/{bits}")), |b| {
            b.iter(|| table.forward(black_box(&mut a)))
        });
        group.bench_function(BenchmarkId::new(format!("inverse/{set}"), format!("{n}/{bits}")), |b| {
            b.iter(|| table.inverse(black_box(&mut a)))
        });
    }
    group.finish();
    kernels::select(KernelSet::best());
}

criterion_group!(benches, ntt);
criterion_main!(benches);
