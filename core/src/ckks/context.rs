//! The ring context of a parameter set: NTT tables for every prime of `Q` and `P`.
//!
//! Ciphertext-modulus polynomials at level `l` have limbs `q_0..=q_l`; key-switching polynomials at level `l`
//! have limbs `q_0..=q_l` followed by `p_0..p_{K-1}` (the basis `Q_l ∪ P`).

use super::params::{MAX_MODULI, Params};
use crate::math::ntt::NttTable;
use crate::math::zq::Modulus;
use crate::{Error, Result};

/// Parameters plus the NTT tables of all their primes, in storage `T` (`Vec<u64>` or a borrowed static buffer).
#[derive(Debug)]
pub struct Context<T> {
    params: Params,
    tables: heapless::Vec<NttTable<T>, MAX_MODULI>,
}

/// Moduli (or tables) of a basis, in limb order.
pub(crate) type Basis<X> = heapless::Vec<X, MAX_MODULI>;

impl<T> Context<T> {
    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The ring degree `N`.
    pub fn degree(&self) -> usize {
        self.params.degree()
    }

    /// `log2 N`.
    pub fn log_degree(&self) -> u32 {
        self.params.literal().log_degree
    }

    /// The storage words the tables need (for [`Context::new_in`]).
    pub fn words(params: &Params) -> usize {
        (params.q().len() + params.p().len()) * NttTable::<T>::words(params.degree())
    }

    /// `q_0..=q_level`.
    pub(crate) fn q_moduli(&self, level: usize) -> &[Modulus] {
        &self.params.q()[..=level]
    }

    /// `q_0..=q_level, p_0..p_{K-1}`.
    pub(crate) fn qp_moduli(&self, level: usize) -> Basis<Modulus> {
        self.params.q()[..=level].iter().chain(self.params.p()).copied().collect()
    }

    /// The tables of `q_0..=q_level`.
    pub(crate) fn q_tables(&self, level: usize) -> Basis<&NttTable<T>> {
        self.tables[..=level].iter().collect()
    }

    /// The tables of `p_0..p_{K-1}`.
    pub(crate) fn p_tables(&self) -> Basis<&NttTable<T>> {
        self.tables[self.params.q().len()..].iter().collect()
    }

    /// The tables of `q_0..=q_level, p_0..p_{K-1}`.
    pub(crate) fn qp_tables(&self, level: usize) -> Basis<&NttTable<T>> {
        self.tables[..=level].iter().chain(&self.tables[self.params.q().len()..]).collect()
    }
}

#[cfg(feature = "alloc")]
impl Context<alloc::vec::Vec<u64>> {
    /// Builds the context with owned tables.
    ///
    /// # Errors
    /// If a table cannot be built (not for validated parameters).
    pub fn new(params: &Params) -> Result<Self> {
        let log_degree = params.literal().log_degree;
        let tables = params
            .q()
            .iter()
            .chain(params.p())
            .map(|&m| NttTable::new(m, log_degree))
            .collect::<Result<heapless::Vec<_, MAX_MODULI>>>()?;
        Ok(Self { params: params.clone(), tables })
    }
}

impl<'a> Context<&'a mut [u64]> {
    /// Builds the context in caller storage of exactly [`Context::words`] words (e.g. a static buffer).
    ///
    /// # Errors
    /// [`Error::BufferLength`] if the storage has the wrong size.
    pub fn new_in(params: &Params, storage: &'a mut [u64]) -> Result<Self> {
        let expected = Self::words(params);
        if storage.len() != expected {
            return Err(Error::BufferLength { expected, actual: storage.len() });
        }
        let log_degree = params.literal().log_degree;
        let per_table = NttTable::<&mut [u64]>::words(params.degree());
        let mut tables = heapless::Vec::new();
        for (&m, chunk) in params.q().iter().chain(params.p()).zip(storage.chunks_exact_mut(per_table)) {
            let table = NttTable::new_in(m, log_degree, chunk)?;
            tables.push(table).map_err(|_| Error::TooManyModuli { count: MAX_MODULI + 1, max: MAX_MODULI })?;
        }
        Ok(Self { params: params.clone(), tables })
    }
}
