//! Fork–join with scoped threads when `std` is on, sequential otherwise: over the chunks of a slice
//! ([`map_chunks`]), and over the RNS limbs of one polynomial ([`for_each_limb`], under
//! [`with_limb_threads`]).

#[cfg(feature = "alloc")]
use alloc::vec::Vec;

/// `work` applied to at most `threads` consecutive, near-equal chunks of `items`, each on its own thread (with
/// `std`), the results concatenated in order. A panic in a worker is propagated.
#[cfg(feature = "alloc")]
pub(crate) fn map_chunks<I: Sync, O: Send>(
    items: &[I],
    threads: usize,
    work: impl Fn(&[I]) -> Vec<O> + Sync,
) -> Vec<O> {
    #[cfg(feature = "std")]
    if threads > 1 && items.len() > 1 {
        let chunk = items.len().div_ceil(threads.min(items.len()));
        return std::thread::scope(|scope| {
            let workers: Vec<_> = items.chunks(chunk).map(|chunk| scope.spawn(|| work(chunk))).collect();
            workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        });
    }
    #[cfg(not(feature = "std"))]
    let _ = threads;
    work(items)
}

/// The threads to use by default: the available parallelism with `std`, one without.
#[cfg(feature = "alloc")]
pub(crate) fn default_threads() -> usize {
    #[cfg(feature = "std")]
    return std::thread::available_parallelism().map_or(1, |n| n.get());
    #[cfg(not(feature = "std"))]
    1
}

#[cfg(feature = "std")]
std::thread_local! {
    /// The threads [`for_each_limb`] may use on this thread; every thread starts at one.
    static LIMB_THREADS: core::cell::Cell<usize> = const { core::cell::Cell::new(1) };
}

/// Runs `f` with the limb loops of the multi-limb kernels (NTTs, basis extensions, key-switching inner products)
/// on this thread shared among `threads` threads (with `std`). Threads spawned meanwhile start at one, so
/// parallelism over ciphertexts and over limbs never nest.
pub fn with_limb_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "std")]
    {
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                LIMB_THREADS.with(|t| t.set(self.0));
            }
        }
        let _restore = Restore(LIMB_THREADS.with(|t| t.replace(threads.max(1))));
        f()
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = threads;
        f()
    }
}

/// `work(i, limb)` for every `limb_words`-word limb `i` of `data` (a multiple of `limb_words` long), the limbs
/// split into consecutive runs, one per limb thread of [`with_limb_threads`]. A panic in a worker is propagated.
pub(crate) fn for_each_limb(data: &mut [u64], limb_words: usize, work: impl Fn(usize, &mut [u64]) + Sync) {
    for_each_limb_with(data, limb_words, &mut [], 0, |i, limb, _| work(i, limb));
}

/// [`for_each_limb`] with `scratch_words` words of `scratch` lent to each run: `work(i, limb, scratch)`. There
/// are no more runs than `scratch` has room for (at least one, which gets all of `scratch`).
pub(crate) fn for_each_limb_with(
    data: &mut [u64],
    limb_words: usize,
    scratch: &mut [u64],
    scratch_words: usize,
    work: impl Fn(usize, &mut [u64], &mut [u64]) + Sync,
) {
    if limb_words == 0 {
        return;
    }
    let limbs = data.len() / limb_words;
    #[cfg(feature = "std")]
    {
        let room = scratch.len().checked_div(scratch_words).unwrap_or(usize::MAX);
        let threads = LIMB_THREADS.with(core::cell::Cell::get).min(limbs).min(room);
        if threads > 1 {
            let run = limbs.div_ceil(threads);
            let work = &work;
            std::thread::scope(|scope| {
                let runs = data.chunks_mut(run * limb_words);
                let mut scratch = &mut *scratch;
                for (r, chunk) in runs.enumerate() {
                    let (own, rest) = core::mem::take(&mut scratch).split_at_mut(scratch_words);
                    scratch = rest;
                    scope.spawn(move || {
                        for (k, limb) in chunk.chunks_exact_mut(limb_words).enumerate() {
                            work(r * run + k, limb, own);
                        }
                    });
                }
            });
            return;
        }
    }
    #[cfg(not(feature = "std"))]
    let _ = scratch_words;
    for (i, limb) in data.chunks_exact_mut(limb_words).take(limbs).enumerate() {
        work(i, limb, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn chunks_are_mapped_in_order_whatever_the_thread_count() {
        let items: Vec<u32> = (0..10).collect();
        for threads in [0, 1, 2, 3, 16] {
            let out = map_chunks(&items, threads, |chunk| chunk.iter().map(|x| x * 2).collect());
            assert_eq!(out, (0..10).map(|x| x * 2).collect::<Vec<_>>(), "{threads} threads");
        }
        assert_eq!(map_chunks(&[] as &[u32], 2, |chunk| vec![chunk.len()]), vec![0]);
    }

    #[test]
    fn every_limb_is_visited_once_with_its_index_whatever_the_thread_count() {
        for threads in [0, 1, 2, 3, 7, 16] {
            for limbs in [0, 1, 2, 5, 7] {
                let mut data = vec![0u64; limbs * 3];
                with_limb_threads(threads, || {
                    for_each_limb(&mut data, 3, |i, limb| limb.iter_mut().for_each(|x| *x += i as u64 + 1));
                });
                let want: Vec<u64> = (0..limbs as u64).flat_map(|i| [i + 1; 3]).collect();
                assert_eq!(data, want, "{threads} threads, {limbs} limbs");
            }
        }
    }

    #[test]
    fn each_run_gets_its_own_scratch_and_runs_are_capped_by_the_scratch() {
        for (threads, scratch_len) in [(1, 2), (2, 2), (2, 4), (3, 5), (8, 6)] {
            let mut data = vec![0u64; 7 * 2];
            let mut scratch = vec![0u64; scratch_len];
            with_limb_threads(threads, || {
                for_each_limb_with(&mut data, 2, &mut scratch, 2, |i, limb, own| {
                    assert!(own.len() >= 2);
                    own[0] = i as u64;
                    own[1] = own[0] * 10;
                    limb.copy_from_slice(&own[..2]);
                });
            });
            let want: Vec<u64> = (0..7).flat_map(|i| [i, 10 * i]).collect();
            assert_eq!(data, want, "{threads} threads, {scratch_len} scratch words");
        }
    }

    #[cfg(feature = "std")]
    #[test]
    fn limb_threads_are_restored_and_do_not_reach_spawned_threads() {
        let read = || LIMB_THREADS.with(core::cell::Cell::get);
        with_limb_threads(2, || {
            assert_eq!(read(), 2);
            with_limb_threads(3, || assert_eq!(read(), 3));
            assert_eq!(read(), 2);
            assert_eq!(std::thread::scope(|s| s.spawn(read).join().unwrap()), 1);
        });
        assert_eq!(read(), 1);
    }
}
