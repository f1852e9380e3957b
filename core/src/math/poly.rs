//! Polynomials of `Z_Q[X]/(X^N + 1)` in RNS form: limbs of `N` words, one per prime, each in the NTT domain
//! unless a function says otherwise. Functions here operate limb-wise on caller buffers.

use super::ntt::NttTable;
use super::zq::Modulus;

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
    for_limbs(moduli, a, b, |m, x, y| m.mul(x, y));
}

/// `acc += a ⊙ b`.
pub fn mul_add_assign(moduli: &[Modulus], acc: &mut [u64], a: &[u64], b: &[u64]) {
    if moduli.is_empty() {
        return;
    }
    let n = acc.len() / moduli.len();
    for (i, m) in moduli.iter().enumerate() {
        let range = i * n..(i + 1) * n;
        for ((z, &x), &y) in acc[range.clone()].iter_mut().zip(&a[range.clone()]).zip(&b[range]) {
            *z = m.add(*z, m.mul(x, y));
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

/// Forward NTT of every limb, limb `i` with `tables[i]`.
pub fn forward<T: AsRef<[u64]>>(tables: &[&NttTable<T>], a: &mut [u64]) {
    if tables.is_empty() {
        return;
    }
    let n = a.len() / tables.len();
    for (t, limb) in tables.iter().zip(a.chunks_exact_mut(n)) {
        t.forward(limb);
    }
}

/// Inverse NTT of every limb.
pub fn inverse<T: AsRef<[u64]>>(tables: &[&NttTable<T>], a: &mut [u64]) {
    if tables.is_empty() {
        return;
    }
    let n = a.len() / tables.len();
    for (t, limb) in tables.iter().zip(a.chunks_exact_mut(n)) {
        t.inverse(limb);
    }
}

/// Applies the automorphism `X ↦ X^g` (`g` odd) to NTT-domain limbs: `out[i] = input[π(i)]`.
///
/// In the bit-reversed NTT order, slot `i` holds the evaluation at `ψ^{2·brv(i)+1}`; the automorphism maps it
/// to the evaluation at `ψ^{(2·brv(i)+1)·g}`, a pure permutation of the slots, the same for every prime.
pub fn automorphism_ntt(log_degree: u32, galois_element: u64, input: &[u64], out: &mut [u64]) {
    let n = 1usize << log_degree;
    let mask = 2 * n as u64 - 1;
    let shift = usize::BITS - log_degree;
    for (limb_in, limb_out) in input.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        for (i, o) in limb_out.iter_mut().enumerate() {
            let brv = (i.reverse_bits() >> shift) as u64;
            let exponent = ((2 * brv + 1) * galois_element) & mask;
            let source = ((exponent >> 1) as usize).reverse_bits() >> shift;
            *o = limb_in[source];
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

    proptest! {
        #[test]
        fn automorphism_in_ntt_domain_matches_coefficient_form(log_n in 2u32..8, k in 0u32..64, seed in any::<u64>()) {
            let n = 1usize << log_n;
            let q = NttPrimes::new(40, n).next().unwrap();
            let m = Modulus::new(q).unwrap();
            let table = NttTable::new(m, log_n).unwrap();
            let a: Vec<u64> = (0..n as u64).map(|i| (i ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) % q).collect();
            let g = (2 * k as u64 + 1) % (2 * n as u64);
            // Reference: coefficient i moves to i·g mod 2N, negated when it lands at or above N.
            let mut want = alloc::vec![0u64; n];
            for (i, &c) in a.iter().enumerate() {
                let j = (i as u64 * g) % (2 * n as u64);
                if j < n as u64 { want[j as usize] = c } else { want[j as usize - n] = m.neg(c) }
            }
            let mut fa = a.clone();
            table.forward(&mut fa);
            let mut got = alloc::vec![0u64; n];
            automorphism_ntt(log_n, g, &fa, &mut got);
            table.inverse(&mut got);
            prop_assert_eq!(got, want);
        }
    }
}
