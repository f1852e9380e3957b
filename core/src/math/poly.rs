//! Polynomials of `Z_Q[X]/(X^N + 1)` in RNS form: limbs of `N` words, one per prime, each in the NTT domain
//! unless a function says otherwise. Functions here operate limb-wise on caller buffers.

use super::ntt::NttTable;
use super::rns;
use super::zq::{MAX_MODULI, Modulus};
use crate::parallel::for_each_limb;

/// `a += b` limb-wise.
pub fn add_assign(moduli: &[Modulus], a: &mut [u64], b: &[u64]) {
    for_limbs(moduli, a, b, |m, x, y| m.add(x, y));
}

/// `a -= b` limb-wise.
pub fn sub_assign(moduli: &[Modulus], a: &mut [u64], b: &[u64]) {
    for_limbs(moduli, a, b, |m, x, y| m.sub(x, y));
}

/// `a ⊙= b` (pointwise products, i.e. ring products in the NTT domain).
pub fn mul_assign(moduli: &[Modulus], a: &mut [u64], b: &[u64]) {
    pointwise_products(moduli, a, None, b);
}

/// `acc += a ⊙ b`.
pub fn mul_add_assign(moduli: &[Modulus], acc: &mut [u64], a: &[u64], b: &[u64]) {
    pointwise_products(moduli, acc, Some(a), b);
}

/// `out ⊙= b`, or `out += a ⊙ b` with `a`, limb by limb; on vector lanes where they can.
fn pointwise_products(moduli: &[Modulus], out: &mut [u64], a: Option<&[u64]>, b: &[u64]) {
    if moduli.is_empty() {
        return;
    }
    let n = out.len() / moduli.len();
    for (i, m) in moduli.iter().enumerate() {
        let range = i * n..(i + 1) * n;
        let (limb, a, b) = (&mut out[range.clone()], a.map(|a| &a[range.clone()]), &b[range]);
        #[cfg(target_arch = "x86_64")]
        if super::lanes::pointwise_product(limb, a, b, m.value()) {
            continue;
        }
        match a {
            Some(a) => limb.iter_mut().zip(a).zip(b).for_each(|((z, &x), &y)| *z = m.add(*z, m.mul(x, y))),
            None => limb.iter_mut().zip(b).for_each(|(z, &y)| *z = m.mul(*z, y)),
        }
    }
}

/// `out = Σ_k a_k ⊙ b_k` over the `pairs` of residues (each limb's words below its prime): on vector lanes where
/// they can, else products summed in 128 bits, each coefficient reduced once per fifteen products instead of
/// once per product.
#[cfg(feature = "alloc")]
pub fn dot(moduli: &[Modulus], out: &mut [u64], pairs: &[(&[u64], &[u64])]) {
    const TILE: usize = 256;
    if moduli.is_empty() {
        return;
    }
    let n = out.len() / moduli.len();
    let mut acc = [0u128; TILE];
    for (i, m) in moduli.iter().enumerate() {
        #[cfg(target_arch = "x86_64")]
        if pairs.len() <= MAX_MODULI {
            let range = i * n..(i + 1) * n;
            let a: heapless::Vec<&[u64], MAX_MODULI> = pairs.iter().map(|(a, _)| &a[range.clone()]).collect();
            let b: heapless::Vec<&[u64], MAX_MODULI> = pairs.iter().map(|(_, b)| &b[range.clone()]).collect();
            if super::lanes::dot_product(&a, &b, m.value(), &mut out[range]) {
                continue;
            }
        }
        for start in (i * n..(i + 1) * n).step_by(TILE) {
            let range = start..start + TILE.min((i + 1) * n - start);
            let acc = &mut acc[..range.len()];
            acc.fill(0);
            for (k, (a, b)) in pairs.iter().enumerate() {
                if k % 15 == 14 {
                    acc.iter_mut().for_each(|x| *x = m.reduce_u128(*x) as u128);
                }
                for ((x, &y), &z) in acc.iter_mut().zip(&a[range.clone()]).zip(&b[range.clone()]) {
                    *x += super::zq::mul_wide(y, z);
                }
            }
            out[range].iter_mut().zip(acc.iter()).for_each(|(o, &x)| *o = m.reduce_u128(x));
        }
    }
}

/// `a = -a` limb-wise.
pub fn neg_assign(moduli: &[Modulus], a: &mut [u64]) {
    if moduli.is_empty() {
        return;
    }
    let n = a.len() / moduli.len();
    for (m, limb) in moduli.iter().zip(a.chunks_exact_mut(n)) {
        limb.iter_mut().for_each(|x| *x = m.neg(*x));
    }
}

/// Multiplies limb `i` by the scalar `scalars[i] < q_i`.
pub fn mul_scalar_assign(moduli: &[Modulus], a: &mut [u64], scalars: &[u64]) {
    if moduli.is_empty() {
        return;
    }
    let n = a.len() / moduli.len();
    for ((m, limb), &s) in moduli.iter().zip(a.chunks_exact_mut(n)).zip(scalars) {
        let s_shoup = m.shoup(s);
        limb.iter_mut().for_each(|x| *x = m.mul_shoup(*x, s, s_shoup));
    }
}

/// `acc += s_i · a` limb by limb (`s_i < q_i`; `a` as long as `acc`).
pub fn mul_scalar_add_assign(moduli: &[Modulus], acc: &mut [u64], a: &[u64], scalars: &[u64]) {
    if moduli.is_empty() {
        return;
    }
    let n = acc.len() / moduli.len();
    for (((m, limb), source), &s) in moduli.iter().zip(acc.chunks_exact_mut(n)).zip(a.chunks_exact(n)).zip(scalars) {
        let s_shoup = m.shoup(s);
        limb.iter_mut().zip(source).for_each(|(x, &y)| *x = m.add(*x, m.mul_shoup(y, s, s_shoup)));
    }
}

/// Forward NTT of every limb, limb `i` with `tables[i]` (the limbs shared among the limb threads).
pub fn forward<T: AsRef<[u64]>>(tables: &[&NttTable<T>], a: &mut [u64]) {
    let tables = views(tables);
    if let Some(first) = tables.first() {
        for_each_limb(&mut a[..tables.len() * first.degree()], first.degree(), |i, limb| tables[i].forward(limb));
    }
}

/// The NTT-domain limbs of the integer polynomial `round(coefficients)` (any magnitude), limb `i` modulo
/// `tables[i]`'s prime; `coefficients` holds the `N` coefficients, `a` one limb per table.
pub fn from_rounded<T: AsRef<[u64]>>(tables: &[&NttTable<T>], coefficients: &[f64], a: &mut [u64]) {
    let tables = views(tables);
    for_each_limb(&mut a[..tables.len() * coefficients.len()], coefficients.len(), |i, limb| {
        let m = tables[i].modulus();
        limb.iter_mut().zip(coefficients).for_each(|(x, &c)| *x = rns::reduce_f64(m, libm::round(c)));
        tables[i].forward(limb);
    });
}

/// Borrowed views of `tables`, shareable among threads whatever their storage.
pub(crate) fn views<'t, T: AsRef<[u64]>>(tables: &[&'t NttTable<T>]) -> heapless::Vec<NttTable<&'t [u64]>, MAX_MODULI> {
    tables.iter().map(|t| t.view()).collect()
}

/// Inverse NTT of every limb (the limbs shared among the limb threads).
pub fn inverse<T: AsRef<[u64]>>(tables: &[&NttTable<T>], a: &mut [u64]) {
    let tables = views(tables);
    if let Some(first) = tables.first() {
        for_each_limb(&mut a[..tables.len() * first.degree()], first.degree(), |i, limb| tables[i].inverse(limb));
    }
}

/// Applies the automorphism `X ↦ X^g` (`g` odd) to NTT-domain limbs: `out[i] = input[π(i)]`.
///
/// In the bit-reversed NTT order, slot `i` holds the evaluation at `ψ^{2·brv(i)+1}`; the automorphism maps it
/// to the evaluation at `ψ^{(2·brv(i)+1)·g}`, a pure permutation of the slots, the same for every prime.
pub fn automorphism_ntt(log_degree: u32, galois_element: u64, input: &[u64], out: &mut [u64]) {
    const TILE: usize = 512;
    let n = 1usize << log_degree;
    let mask = 2 * n as u64 - 1;
    let shift = usize::BITS - log_degree;
    let limbs = input.len().min(out.len()) / n;
    // The permutation is computed once per tile of slots and applied to every limb.
    let mut sources = [0usize; TILE];
    for start in (0..n).step_by(TILE) {
        let tile = &mut sources[..TILE.min(n - start)];
        for (i, source) in (start..).zip(tile.iter_mut()) {
            let brv = (i.reverse_bits() >> shift) as u64;
            let exponent = ((2 * brv + 1) * galois_element) & mask;
            *source = ((exponent >> 1) as usize).reverse_bits() >> shift;
        }
        for limb in 0..limbs {
            let (limb_in, limb_out) = (&input[limb * n..(limb + 1) * n], &mut out[limb * n + start..]);
            limb_out.iter_mut().zip(tile.iter()).for_each(|(o, &source)| *o = limb_in[source]);
        }
    }
}

fn for_limbs(moduli: &[Modulus], a: &mut [u64], b: &[u64], op: impl Fn(&Modulus, u64, u64) -> u64) {
    if moduli.is_empty() {
        return;
    }
    let n = a.len() / moduli.len();
    for ((m, la), lb) in moduli.iter().zip(a.chunks_exact_mut(n)).zip(b.chunks_exact(n)) {
        for (x, &y) in la.iter_mut().zip(lb) {
            *x = op(m, *x, y);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use super::*;
    use crate::math::prime::NttPrimes;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn dot_is_the_sum_of_pointwise_products() {
        let n = 1024;
        let primes: Vec<Modulus> = NttPrimes::new(62, n)
            .take(2)
            .chain(NttPrimes::new(40, n).take(1))
            .map(|q| Modulus::new(q).unwrap())
            .collect();
        // Forty pairs of near-maximal residues: the 128-bit sums must be reduced on the way.
        let limb = |seed: u64| -> Vec<u64> {
            primes.iter().flat_map(|m| (0..n as u64).map(move |i| m.value() - 1 - (i * seed) % 7)).collect()
        };
        let (a, b): (Vec<Vec<u64>>, Vec<Vec<u64>>) = (0..40).map(|k| (limb(k + 1), limb(k + 3))).unzip();
        let pairs: Vec<(&[u64], &[u64])> = a.iter().zip(&b).map(|(x, y)| (x.as_slice(), y.as_slice())).collect();
        let want: Vec<u64> = (0..3 * n)
            .map(|c| {
                let q = primes[c / n].value() as u128;
                (a.iter().zip(&b).map(|(x, y)| x[c] as u128 * y[c] as u128 % q).sum::<u128>() % q) as u64
            })
            .collect();
        let mut got = alloc::vec![0u64; 3 * n];
        dot(&primes, &mut got, &pairs);
        assert_eq!(got, want);
    }

    proptest! {
        /// Two limbs (two primes), degrees below and above the permutation's tile of 512.
        #[test]
        fn automorphism_in_ntt_domain_matches_coefficient_form(log_n in 2u32..12, k in 0u32..2048, seed in any::<u64>()) {
            let n = 1usize << log_n;
            let g = (2 * k as u64 + 1) % (2 * n as u64);
            let (mut input, mut wants, mut tables) = (Vec::new(), Vec::new(), Vec::new());
            for q in NttPrimes::new(40, n).take(2) {
                let m = Modulus::new(q).unwrap();
                let table = NttTable::new(m, log_n).unwrap();
                let a: Vec<u64> = (0..n as u64).map(|i| (i ^ seed ^ q).wrapping_mul(0x9e37_79b9_7f4a_7c15) % q).collect();
                // Reference: coefficient i moves to i·g mod 2N, negated when it lands at or above N.
                let mut want = alloc::vec![0u64; n];
                for (i, &c) in a.iter().enumerate() {
                    let j = (i as u64 * g) % (2 * n as u64);
                    if j < n as u64 { want[j as usize] = c } else { want[j as usize - n] = m.neg(c) }
                }
                let mut fa = a;
                table.forward(&mut fa);
                input.extend(fa);
                wants.extend(want);
                tables.push(table);
            }
            let mut got = alloc::vec![0u64; 2 * n];
            automorphism_ntt(log_n, g, &input, &mut got);
            for (limb, table) in got.chunks_exact_mut(n).zip(&tables) {
                table.inverse(limb);
            }
            prop_assert_eq!(got, wants);
        }
    }
}
