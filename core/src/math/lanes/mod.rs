//! Arithmetic modulo `q` on vector lanes for x86-64, one module per instruction set; [`super::kernels`] says
//! which set runs. Every kernel gives the scalar code's results word for word.

pub mod avx2;
pub mod avx512;
