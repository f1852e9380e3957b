//! Which kernels the transforms and the products run: scalar code everywhere, four 64-bit lanes with AVX2, or
//! eight with AVX-512 IFMA. Every set gives the scalar code's results word for word, so the choice changes only
//! the speed. The best set this CPU supports runs unless the process selects another — with [`select`], or (with
//! `std`) by naming it in the environment variable [`ENV`] — which lets one machine test and compare all of them.

use core::sync::atomic::{AtomicU8, Ordering};

/// Whether the CPU has all the named features: detected at run time with `std` on x86-64, from the compile-time
/// target features otherwise.
macro_rules! cpu_has {
    ($($feature:tt),+) => {{
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        let has = $(std::is_x86_feature_detected!($feature))&&+;
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        let has = cfg!(all($(target_feature = $feature),+));
        has
    }};
}

/// A set of kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSet {
    /// One word at a time; every target.
    Scalar,
    /// Four 64-bit lanes (x86-64 with AVX2 and FMA).
    Avx2,
    /// Eight 64-bit lanes with 52-bit multiply-accumulate (x86-64 with AVX-512 F, DQ and IFMA); the sets'
    /// kernels that have no eight-lane form take four lanes.
    Avx512Ifma,
}

impl KernelSet {
    /// Every set, from the simplest.
    pub const ALL: [KernelSet; 3] = [KernelSet::Scalar, KernelSet::Avx2, KernelSet::Avx512Ifma];

    /// The set's name, as [`KernelSet::from_name`] reads it.
    pub const fn name(self) -> &'static str {
        match self {
            KernelSet::Scalar => "scalar",
            KernelSet::Avx2 => "avx2",
            KernelSet::Avx512Ifma => "avx512-ifma",
        }
    }

    /// The set named `name` (`scalar`, `avx2` or `avx512-ifma`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|set| set.name() == name)
    }

    /// Whether this CPU has the set's instructions (at compile time only, without the `std` feature).
    pub fn supported(self) -> bool {
        match self {
            KernelSet::Scalar => true,
            KernelSet::Avx2 => cpu_has!("avx2", "fma"),
            KernelSet::Avx512Ifma => KernelSet::Avx2.supported() && cpu_has!("avx512f", "avx512dq", "avx512ifma"),
        }
    }

    /// The fastest set this CPU supports.
    pub fn best() -> Self {
        Self::ALL.into_iter().rev().find(|set| set.supported()).unwrap_or(KernelSet::Scalar)
    }
}

impl core::fmt::Display for KernelSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The selected set's index in [`KernelSet::ALL`], or `UNSET` before the first use.
static SELECTED: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = u8::MAX;

/// The environment variable naming the kernel set a process runs (`scalar`, `avx2` or `avx512-ifma`).
pub const ENV: &str = "MEDBLIND_KERNELS";

/// The set the kernels run: the one [`select`]ed, else the one [`ENV`] names (with `std`; an unusable value counts
/// as unset — [`from_env`] reports it), else [`KernelSet::best`].
pub fn active() -> KernelSet {
    match KernelSet::ALL.get(SELECTED.load(Ordering::Relaxed) as usize) {
        Some(&set) => set,
        None => {
            #[cfg(feature = "std")]
            let set = from_env().ok().flatten().unwrap_or_else(KernelSet::best);
            #[cfg(not(feature = "std"))]
            let set = KernelSet::best();
            store(set);
            set
        }
    }
}

/// The set [`ENV`] names, `None` if it is unset.
///
/// # Errors
/// A one-line message if the value names no set, or a set this CPU lacks.
#[cfg(feature = "std")]
pub fn from_env() -> Result<Option<KernelSet>, alloc::string::String> {
    let Some(value) = std::env::var_os(ENV) else { return Ok(None) };
    let value = value.to_string_lossy();
    let supported: alloc::vec::Vec<&str> =
        KernelSet::ALL.into_iter().filter(|set| set.supported()).map(KernelSet::name).collect();
    match KernelSet::from_name(&value) {
        Some(set) if set.supported() => Ok(Some(set)),
        Some(_) => {
            Err(alloc::format!("{ENV}={value}: this CPU lacks its instructions (it runs {})", supported.join(", ")))
        }
        None => Err(alloc::format!(
            "{ENV}={value}: not a kernel set (one of {})",
            KernelSet::ALL.map(KernelSet::name).join(", ")
        )),
    }
}

/// Runs `set` from now on in this process; refused (returning `false`, nothing changed) if this CPU lacks its
/// instructions.
pub fn select(set: KernelSet) -> bool {
    if set.supported() {
        store(set);
    }
    set.supported()
}

fn store(set: KernelSet) {
    let index = KernelSet::ALL.iter().position(|&s| s == set).unwrap_or(0);
    SELECTED.store(index as u8, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_best_set_is_supported() {
        for set in KernelSet::ALL {
            assert_eq!(KernelSet::from_name(set.name()), Some(set));
        }
        assert_eq!(KernelSet::from_name("avx512"), None);
        assert!(KernelSet::Scalar.supported());
        assert!(KernelSet::best().supported());
        assert!(!KernelSet::Avx512Ifma.supported() || KernelSet::Avx2.supported());
    }
}
