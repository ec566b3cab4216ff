//! A small scoped worker pool that hands results back in input order.
//!
//! Workers take the next item from a shared counter, so a slow file never holds up the others;
//! the calling thread reorders results and passes each to `sink` as soon as every earlier item
//! is done, so output streams in a deterministic order.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread;

/// Runs `work` on every item with up to `jobs` threads and feeds the results to `sink` in the
/// order of `items`. Each worker owns one `S` made by `init` (scratch buffers).
///
/// When `sink` returns `false`, no new item is started and `sink` is not called again.
pub(crate) fn run_ordered<T, R, S>(
    items: &[T],
    jobs: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&T, &mut S) -> R + Sync,
    mut sink: impl FnMut(R) -> bool,
) where
    T: Sync,
    R: Send,
{
    let jobs = jobs.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, stop, init, work) = (&next, &stop, &init, &work);
            scope.spawn(move || {
                let mut state = init();
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else {
                        break;
                    };
                    if tx.send((index, work(item, &mut state))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut wanted = 0usize;
        for (index, result) in rx {
            pending.insert(index, result);
            while let Some(result) = pending.remove(&wanted) {
                wanted += 1;
                if !sink(result) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_input_order_whatever_the_timing() {
        let items: Vec<u64> = (0..50).collect();
        let mut seen = Vec::new();
        run_ordered(
            &items,
            8,
            || (),
            |n, ()| {
                thread::sleep(core::time::Duration::from_millis((50 - n) % 7));
                n * 2
            },
            |r| {
                seen.push(r);
                true
            },
        );
        assert_eq!(seen, items.iter().map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_refusing_sink_stops_the_pool() {
        let items: Vec<u32> = (0..1000).collect();
        let mut calls = 0;
        run_ordered(
            &items,
            4,
            || (),
            |n, ()| *n,
            |_| {
                calls += 1;
                calls < 3
            },
        );
        assert_eq!(calls, 3);
    }

    #[test]
    fn no_items_no_calls() {
        let mut calls = 0;
        run_ordered(
            &[] as &[u8],
            4,
            || (),
            |n, ()| *n,
            |_| {
                calls += 1;
                true
            },
        );
        assert_eq!(calls, 0);
    }
}
