//! Mathematical objects: `Z_q` arithmetic, prime generation, the negacyclic NTT, RNS bases.

pub mod ntt;
pub mod prime;
pub mod zq;
