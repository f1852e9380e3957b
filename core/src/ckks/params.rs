//! CKKS parameters: a plain [`ParamsLiteral`] (`const`-constructible) and its validated form [`Params`].
//!
//! The ciphertext modulus is `Q = q_0 · q_1 ⋯ q_L` (`q_0` the base prime, `q_1..q_L` the rescaling primes, dropped
//! from the top); key switching works over `QP` with the special primes `P = p_0 ⋯ p_{K-1}` and splits `Q` into
//! `dnum` digits of consecutive primes, each no larger than `P` (hybrid key switching, Han–Ki 2020): from `q_0`
//! up, a digit takes primes while their product stays within `P`, so `Q` splits into the fewest digits it can.
//!
//! Security: `log2(QP)` must not exceed the HomomorphicEncryption.org standard's bound for 128-bit classical
//! security with a ternary secret (Albrecht et al. 2018, table of SEAL's `hestdparms`), unless the literal says
//! [`Security::InsecureForTestsOnly`].

use crate::math::prime::is_ntt_prime;
use crate::math::zq::Modulus;
use crate::{Error, Result};

pub use crate::math::zq::MAX_MODULI;

/// `(log2 N, largest log2(QP))` for 128-bit security with a ternary secret (HomomorphicEncryption.org standard).
pub const SECURITY_BOUNDS_128: [(u32, u32); 7] =
    [(10, 27), (11, 54), (12, 109), (13, 218), (14, 438), (15, 881), (16, 1772)];

/// The distribution of the secret key's coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SecretDistribution {
    /// Uniform over `{-1, 0, 1}`.
    Ternary,
    /// Exactly `h` coefficients in `{-1, 1}`, the others zero.
    HammingWeight(u32),
}

/// The security a parameter set claims; checked by [`Params::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Security {
    /// 128-bit classical security per the HomomorphicEncryption.org standard.
    Bits128,
    /// No security claimed: small parameters that keep tests fast. Never use for real data.
    InsecureForTestsOnly,
}

/// A parameter set as plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamsLiteral {
    /// A short name, for reports and errors.
    pub name: &'static str,
    /// `log2 N`, the ring degree; there are `N/2` complex slots.
    pub log_degree: u32,
    /// The ciphertext primes `q_0, …, q_L`.
    pub q: &'static [u64],
    /// The special primes for key switching.
    pub p: &'static [u64],
    /// `log2` of the default encoding scale `Δ`.
    pub log_scale: u32,
    /// The secret key distribution.
    pub secret: SecretDistribution,
    /// The security claimed.
    pub security: Security,
}

/// A validated parameter set (see [`Params::new`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    literal: ParamsLiteral,
    q: heapless::Vec<Modulus, MAX_MODULI>,
    p: heapless::Vec<Modulus, MAX_MODULI>,
    /// The end (exclusive index into `q`) of each key-switching digit, in order; the last is `L + 1`.
    digit_ends: heapless::Vec<u8, MAX_MODULI>,
    log_qp: f64,
    fingerprint: u64,
}

impl Params {
    /// Validates a literal: every modulus an NTT-friendly prime `< 2^62` for degree `N`, all distinct, every
    /// prime of `Q` no larger than `P` (each digit is, so key switching adds noise of order `N`, not
    /// `N · digit / P`), and the security bound unless waived for tests.
    ///
    /// # Errors
    /// [`Error::InvalidDegree`], [`Error::InvalidModulus`], [`Error::DuplicateModulus`],
    /// [`Error::TooManyModuli`], [`Error::InvalidKeySwitching`], [`Error::Insecure`].
    pub fn new(literal: &ParamsLiteral) -> Result<Self> {
        let log_degree = literal.log_degree;
        if !crate::math::ntt::LOG_DEGREE_RANGE.contains(&log_degree) {
            return Err(Error::InvalidDegree { degree: 1usize.checked_shl(log_degree).unwrap_or(0) });
        }
        let degree = 1usize << log_degree;
        let count = literal.q.len() + literal.p.len();
        if count > MAX_MODULI || literal.q.is_empty() || literal.p.is_empty() {
            return Err(Error::TooManyModuli { count, max: MAX_MODULI });
        }
        let all = || literal.q.iter().chain(literal.p);
        let mut log_qp = 0.0;
        for (i, &m) in all().enumerate() {
            if !is_ntt_prime(m, degree) {
                return Err(Error::InvalidModulus { modulus: m });
            }
            if all().take(i).any(|&earlier| earlier == m) {
                return Err(Error::DuplicateModulus { modulus: m });
            }
            log_qp += libm::log2(m as f64);
        }
        let digit_ends = digits(literal)?;
        if literal.security == Security::Bits128 {
            let max_log_qp = max_log_qp_128(log_degree).unwrap_or(0);
            if log_qp > max_log_qp as f64 {
                return Err(Error::Insecure { log_qp: libm::ceil(log_qp) as u32, max_log_qp });
            }
        }
        let to_moduli = |primes: &[u64]| -> heapless::Vec<Modulus, MAX_MODULI> {
            primes.iter().filter_map(|&m| Modulus::new(m).ok()).collect()
        };
        Ok(Self {
            literal: *literal,
            q: to_moduli(literal.q),
            p: to_moduli(literal.p),
            fingerprint: fingerprint(literal, digit_ends.len()),
            digit_ends,
            log_qp,
        })
    }

    /// The literal this was built from.
    pub fn literal(&self) -> &ParamsLiteral {
        &self.literal
    }

    /// The ring degree `N`.
    pub fn degree(&self) -> usize {
        1 << self.literal.log_degree
    }

    /// The number of complex slots at full packing, `N/2`.
    pub fn max_slots(&self) -> usize {
        self.degree() / 2
    }

    /// The top level `L` (a fresh ciphertext has `L + 1` primes).
    pub fn max_level(&self) -> usize {
        self.q.len() - 1
    }

    /// The ciphertext moduli `q_0..=q_L`.
    pub fn q(&self) -> &[Modulus] {
        &self.q
    }

    /// The special moduli `p_0..p_{K-1}`.
    pub fn p(&self) -> &[Modulus] {
        &self.p
    }

    /// The default scale `Δ = 2^log_scale`.
    pub fn default_scale(&self) -> f64 {
        libm::exp2(self.literal.log_scale as f64)
    }

    /// The number of key-switching digits `dnum` (`1 ≤ dnum ≤ L + 1`).
    pub fn dnum(&self) -> usize {
        self.digit_ends.len()
    }

    /// The primes of digit `j < dnum`: a range of indices into [`Self::q`].
    pub fn digit(&self, j: usize) -> core::ops::Range<usize> {
        let start = if j == 0 { 0 } else { self.digit_ends[j - 1] as usize };
        start..self.digit_ends[j] as usize
    }

    /// `β`: the digits a ciphertext at `level` has primes of (`1 ≤ β ≤ dnum`).
    pub fn digits_at(&self, level: usize) -> usize {
        self.digit_ends.iter().take_while(|&&end| (end as usize) <= level).count() + 1
    }

    /// `log2(QP)`.
    pub fn log_qp(&self) -> f64 {
        self.log_qp
    }

    /// A 64-bit digest of the literal's contents (all but the name); carried by every serialized object so that
    /// objects made under different parameters are never mixed.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// The largest `log2(QP)` for 128-bit security at degree `2^log_degree`, if the standard covers that degree.
pub fn max_log_qp_128(log_degree: u32) -> Option<u32> {
    SECURITY_BOUNDS_128.iter().find(|(l, _)| *l == log_degree).map(|&(_, bound)| bound)
}

/// The ends of `Q`'s key-switching digits (see the module documentation).
///
/// # Errors
/// [`Error::InvalidKeySwitching`] if a prime of `Q` is larger than `P`.
fn digits(literal: &ParamsLiteral) -> Result<heapless::Vec<u8, MAX_MODULI>> {
    let log_p: f64 = literal.p.iter().map(|&p| libm::log2(p as f64)).sum();
    let mut ends = heapless::Vec::new();
    let mut bits = 0.0;
    for (i, &q) in literal.q.iter().enumerate() {
        let log_q = libm::log2(q as f64);
        if log_q > log_p {
            return Err(Error::InvalidKeySwitching { modulus: q });
        }
        if bits + log_q > log_p {
            // At most one end per prime, and there are fewer than MAX_MODULI primes.
            let _ = ends.push(i as u8);
            bits = 0.0;
        }
        bits += log_q;
    }
    let _ = ends.push(literal.q.len() as u8);
    Ok(ends)
}

/// FNV-1a over the literal's numbers and its digit count, little-endian.
fn fingerprint(literal: &ParamsLiteral, dnum: usize) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |x: u64| {
        for byte in x.to_le_bytes() {
            hash = (hash ^ byte as u64).wrapping_mul(0x100_0000_01b3);
        }
    };
    eat(literal.log_degree as u64);
    eat(literal.log_scale as u64);
    eat(dnum as u64);
    eat(match literal.secret {
        SecretDistribution::Ternary => u64::MAX,
        SecretDistribution::HammingWeight(h) => h as u64,
    });
    eat(literal.q.len() as u64);
    literal.q.iter().for_each(|&q| eat(q));
    eat(literal.p.len() as u64);
    literal.p.iter().for_each(|&p| eat(p));
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::presets;

    #[test]
    fn every_preset_validates_and_secure_ones_meet_the_bound() {
        for literal in presets::ALL {
            let params = Params::new(literal).unwrap_or_else(|e| panic!("{}: {e}", literal.name));
            if literal.security == Security::Bits128 {
                assert!(params.log_qp() <= max_log_qp_128(literal.log_degree).unwrap() as f64, "{}", literal.name);
            }
        }
    }

    #[test]
    fn insecure_parameters_are_refused_unless_waived() {
        let mut literal = presets::TEST_INSECURE_N1024;
        literal.security = Security::Bits128;
        assert!(matches!(Params::new(&literal), Err(Error::Insecure { max_log_qp: 27, .. })));
    }

    #[test]
    fn malformed_literals_are_typed_errors() {
        let base = presets::TEST_INSECURE_N1024;
        let bad_prime = ParamsLiteral { q: &[0x3ffffffffc001, 97], ..base };
        assert_eq!(Params::new(&bad_prime), Err(Error::InvalidModulus { modulus: 97 }));
        let repeated = ParamsLiteral { p: &[0x3ffffffffc001], ..base };
        assert_eq!(Params::new(&repeated), Err(Error::DuplicateModulus { modulus: 0x3ffffffffc001 }));
        let small_p = ParamsLiteral { q: &[0x3_ffff_ffff_c001], p: &[0x8_0000_4001], ..base }; // P of 36 bits < q_0
        assert_eq!(Params::new(&small_p), Err(Error::InvalidKeySwitching { modulus: 0x3_ffff_ffff_c001 }));
        let bad_degree = ParamsLiteral { log_degree: 20, ..base };
        assert_eq!(Params::new(&bad_degree), Err(Error::InvalidDegree { degree: 1 << 20 }));
    }

    #[test]
    fn fingerprint_separates_parameter_sets() {
        let a = Params::new(&presets::TEST_INSECURE_N1024).unwrap();
        let b = Params::new(&ParamsLiteral { log_scale: 36, ..presets::TEST_INSECURE_N1024 }).unwrap();
        let renamed = Params::new(&ParamsLiteral { name: "other", ..presets::TEST_INSECURE_N1024 }).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), renamed.fingerprint());
    }
}
