//! A global allocator for the integration binary that remembers, per thread, the
//! largest single allocation asked for. The fuzz corpus replay uses it to hold the
//! parsers to the limit libFuzzer enforces (`-malloc_limit_mb`, which follows
//! `-rss_limit_mb`): on stable an absurd `try_reserve` fails quietly and a replay would
//! pass, where the fuzzer, and AddressSanitizer, call the same request a crash.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// `System`, noting the size of every request on the calling thread.
struct Tracking;

thread_local! {
    /// The largest request on this thread since [`largest_during`] last reset it.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: a thread being torn down still allocates, after its locals are gone.
    let _ = LARGEST.try_with(|largest| {
        if size > largest.get() {
            largest.set(size);
        }
    });
}

// SAFETY: every call is passed to `System` unchanged; noting a size neither allocates
// nor touches the memory.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Runs `run` and answers the largest single allocation it asked for on this thread,
/// whether or not the allocation succeeded.
pub fn largest_during(run: impl FnOnce()) -> usize {
    LARGEST.with(|largest| largest.set(0));
    run();
    LARGEST.with(Cell::get)
}
