//! Fork–join over the chunks of a slice: scoped threads with `std`, sequential without.

use alloc::vec::Vec;

/// `work` applied to at most `threads` consecutive, near-equal chunks of `items`, each on its own thread (with
/// `std`), the results concatenated in order. A panic in a worker is propagated.
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
pub(crate) fn default_threads() -> usize {
    #[cfg(feature = "std")]
    return std::thread::available_parallelism().map_or(1, |n| n.get());
    #[cfg(not(feature = "std"))]
    1
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
}
