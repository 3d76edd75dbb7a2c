//! A counting global allocator for tests.
//!
//! [`CountingAlloc`] forwards every call to [`System`] unchanged and keeps two counters: the
//! bytes currently allocated and the highest value that count reached since the last
//! [`CountingAlloc::reset_peak`]. Install it in a test binary and read the counters around the
//! code under test:
//!
//! ```
//! use counting_alloc::CountingAlloc;
//!
//! #[global_allocator]
//! static HEAP: CountingAlloc = CountingAlloc::new();
//!
//! HEAP.reset_peak();
//! let before = HEAP.current();
//! let v = vec![0u8; 1 << 20];
//! assert!(HEAP.peak() - before >= 1 << 20);
//! drop(v);
//! ```
//!
//! The counters are process-wide: tests that read them must not run in parallel with tests that
//! allocate (serialize them with a mutex). Sizes are the sizes requested in each [`Layout`];
//! a `realloc` counts as moving from the old size to the new one (the moment both blocks exist
//! during a copy is not counted).
//!
//! # Safety
//!
//! The only `unsafe` is the [`GlobalAlloc`] implementation. Each method calls the same method of
//! [`System`] with the caller's own arguments, so `System`'s contract is met exactly when the
//! caller meets `GlobalAlloc`'s; the bookkeeping around the calls is plain atomics that never
//! allocate and never panic (`fetch_sub` on a count that the matching allocation raised).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A [`GlobalAlloc`] that wraps [`System`] and counts current and peak heap bytes.
#[derive(Debug)]
pub struct CountingAlloc {
    current: AtomicUsize,
    peak: AtomicUsize,
}

impl Default for CountingAlloc {
    fn default() -> Self {
        CountingAlloc::new()
    }
}

impl CountingAlloc {
    /// A counter at zero (usable in a `static`).
    pub const fn new() -> CountingAlloc {
        CountingAlloc {
            current: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// The most bytes allocated at once since the last [`CountingAlloc::reset_peak`] (or since
    /// the start of the process).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new measurement: the peak becomes the current count.
    pub fn reset_peak(&self) {
        self.peak.store(self.current(), Ordering::Relaxed);
    }

    fn grew(&self, bytes: usize) {
        let now = self.current.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn shrank(&self, bytes: usize) {
        self.current.fetch_sub(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which implements
// `GlobalAlloc` soundly; the counters do not touch the memory and never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is `System`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` with `layout`; the caller upholds the
        // contract on `new_size`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            let old_size = layout.size();
            if new_size >= old_size {
                self.grew(new_size - old_size);
            } else {
                self.shrank(old_size - new_size);
            }
        }
        new
    }
}
