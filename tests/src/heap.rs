//! A counting global allocator, so a test can measure the peak heap a scan reaches.
//!
//! A test binary that wants the numbers installs it itself (`#[global_allocator] static A:
//! CountingAlloc = CountingAlloc::new();`): only that binary pays for the counting, and the
//! other test binaries keep the system allocator untouched.
//!
//! The counters are process-wide, and the test harness runs tests in parallel threads of one
//! process, so a scan measured while another test builds its input (a 100 MB file) would be
//! charged for it. Each test therefore holds one lock ([`serial`]) from before it builds its
//! input until it ends, and [`measure`] demands the lock's guard: every test of the binary
//! runs alone, which keeps each peak its own and each wall time free of a neighbour competing
//! for the CPU (the CI machine has two cores). Counting per thread instead would let tests
//! run in parallel, but they would then distort each other's time, and memory freed by
//! another thread would be miscounted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// [`System`], counting the bytes currently allocated and the highest count reached.
#[derive(Debug)]
pub struct CountingAlloc {
    /// Bytes allocated and not yet freed.
    current: AtomicUsize,
    /// The highest `current` since the last [`reset_peak`](CountingAlloc::reset_peak).
    peak: AtomicUsize,
}

impl CountingAlloc {
    /// A counter at zero.
    pub const fn new() -> CountingAlloc {
        CountingAlloc {
            current: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::SeqCst)
    }

    /// The highest allocation count since the last reset.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Starts a new peak measurement from what is allocated now.
    pub fn reset_peak(&self) {
        self.peak.store(self.current(), Ordering::SeqCst);
    }

    /// Counts `size` more bytes.
    fn grew(&self, size: usize) {
        let now = self.current.fetch_add(size, Ordering::SeqCst) + size;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    /// Counts `size` fewer bytes.
    fn shrank(&self, size: usize) {
        self.current.fetch_sub(size, Ordering::SeqCst);
    }
}

impl Default for CountingAlloc {
    fn default() -> CountingAlloc {
        CountingAlloc::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so it
// upholds `GlobalAlloc`'s contract exactly as `System` does; the counting only touches
// atomics and never allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Count the growth before the release, so the peak covers a moment when both
            // blocks may exist (a moving realloc).
            self.grew(new_size);
            self.shrank(layout.size());
        }
        new
    }
}

/// The lock that runs measuring tests one at a time (see the module documentation): take it
/// first thing in a test, and keep the guard until the test ends.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A test that failed while holding the lock poisons it; the next test may still run.
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What running one piece of work cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Wall time.
    pub time: Duration,
    /// The highest heap in use while it ran, above what was in use when it started (the
    /// attack bytes themselves are allocated before and not counted).
    pub peak_heap: usize,
}

impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>9.3} s  peak heap {:>10.3} MiB",
            self.time.as_secs_f64(),
            self.peak_heap as f64 / (1 << 20) as f64
        )
    }
}

/// Measures the wall time and peak heap of `work` with `counter`, which must be the binary's
/// global allocator. `_alone` is the guard of [`serial`], held by the calling test since
/// before it built its input.
pub fn measure<T>(
    counter: &CountingAlloc,
    _alone: &MutexGuard<'static, ()>,
    work: impl FnOnce() -> T,
) -> (T, Cost) {
    let base = counter.current();
    counter.reset_peak();
    let start = Instant::now();
    let out = work();
    let time = start.elapsed();
    let peak_heap = counter.peak().saturating_sub(base);
    (out, Cost { time, peak_heap })
}
