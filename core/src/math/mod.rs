//! Mathematical objects: `Z_q` arithmetic, complex numbers, prime generation, the negacyclic NTT, RNS bases.

pub mod complex;
pub mod kernels;
#[cfg(target_arch = "x86_64")]
pub mod lanes;
pub mod ntt;
pub mod poly;
pub mod prime;
pub mod rns;
pub mod sampling;
pub mod zq;
