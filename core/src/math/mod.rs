//! Mathematical objects: `Z_q` arithmetic, complex numbers, prime generation, the negacyclic NTT, RNS bases.

// Public: what benches and on-target tests measure by path (the NTT, primes, `Z_q`) and the kernel-set choice.
#[cfg(feature = "alloc")]
pub(crate) mod complex;
pub mod kernels;
#[cfg(target_arch = "x86_64")]
pub(crate) mod lanes;
pub mod ntt;
pub(crate) mod poly;
pub mod prime;
pub(crate) mod rns;
pub(crate) mod sampling;
pub mod zq;
