//! Mathematical objects: `Z_q` arithmetic, complex numbers, prime generation, the negacyclic NTT, RNS bases.

pub mod complex;
pub mod ntt;
pub mod poly;
pub mod prime;
pub mod rns;
pub mod sampling;
pub mod zq;
