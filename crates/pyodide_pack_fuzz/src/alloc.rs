//! A counting global allocator: the live heap, its peak during one input, and where the input
//! first went over its budget.
//!
//! The fuzz binary and the fuzz tests install it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;`; [`installed`] says whether they
//! did (without it every input would seem to allocate nothing).

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// [`System`], counting every byte it hands out and takes back.
pub struct CountingAlloc;

static INSTALLED: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Live bytes past which the running input has failed its memory rule (`usize::MAX` between
/// inputs).
static SOFT_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Live bytes past which an allocation is refused: the process then aborts with "memory
/// allocation of N bytes failed", and the crash handler saves the input.
static HARD_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static CROSSED: AtomicBool = AtomicBool::new(false);
/// Where the running input first went past [`SOFT_LIMIT`] (unresolved, cheap to take).
static CROSSED_AT: Mutex<Option<Backtrace>> = Mutex::new(None);

thread_local! {
    /// Set while this thread is inside the allocator's own bookkeeping (taking a backtrace) or the
    /// panic hook: allocations then are counted but not checked, so nothing recurses.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the allocator's checks off on this thread.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    let was = IN_HOOK.with(|h| h.replace(true));
    let result = f();
    IN_HOOK.with(|h| h.set(was));
    result
}

/// Whether the binary or test running this installed [`CountingAlloc`].
pub fn installed() -> bool {
    // Any program has allocated by the time it asks.
    drop(std::hint::black_box(vec![0u8; 16]));
    INSTALLED.load(Relaxed)
}

/// Bytes live on the heap now.
pub fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Starts measuring one input: the peak restarts at the live heap now (the baseline), an input
/// that goes `soft` bytes past the baseline has failed, one that asks for more than `hard` past it
/// is refused.
pub(crate) fn begin(soft: usize, hard: usize) -> usize {
    let baseline = LIVE.load(Relaxed);
    PEAK.store(baseline, Relaxed);
    CROSSED.store(false, Relaxed);
    *CROSSED_AT.lock().unwrap_or_else(|e| e.into_inner()) = None;
    HARD_LIMIT.store(baseline.saturating_add(hard), Relaxed);
    SOFT_LIMIT.store(baseline.saturating_add(soft), Relaxed);
    baseline
}

/// Ends the measure begun at `baseline`: the peak above it, and where the budget was first
/// exceeded if it was.
pub(crate) fn end(baseline: usize) -> (usize, Option<Backtrace>) {
    SOFT_LIMIT.store(usize::MAX, Relaxed);
    HARD_LIMIT.store(usize::MAX, Relaxed);
    let peak = PEAK.load(Relaxed).saturating_sub(baseline);
    let at = CROSSED_AT.lock().unwrap_or_else(|e| e.into_inner()).take();
    (peak, at)
}

/// Counts `size` more live bytes; `false` if the allocation must be refused.
#[inline]
fn admit(size: usize) -> bool {
    if !INSTALLED.load(Relaxed) {
        INSTALLED.store(true, Relaxed);
    }
    let live = LIVE.fetch_add(size, Relaxed).wrapping_add(size);
    PEAK.fetch_max(live, Relaxed);
    if live <= SOFT_LIMIT.load(Relaxed) || IN_HOOK.with(Cell::get) {
        return true;
    }
    over_budget(live, size)
}

#[cold]
fn over_budget(live: usize, size: usize) -> bool {
    if live > HARD_LIMIT.load(Relaxed) {
        // The process is about to abort: no more checks (the runtime's out-of-memory report may
        // allocate while it holds the backtrace lock, and a second capture would deadlock).
        SOFT_LIMIT.store(usize::MAX, Relaxed);
        HARD_LIMIT.store(usize::MAX, Relaxed);
        quietly(|| {
            eprintln!(
                "fuzz: refusing an allocation of {size} bytes ({} MiB live): past the hard limit; \
                 the process aborts now and the input is saved. Allocated at:\n{}",
                live >> 20,
                crate::harness::top_frames(&Backtrace::force_capture(), 12)
            );
        });
        LIVE.fetch_sub(size, Relaxed);
        return false;
    }
    // Once per input: where the budget was first exceeded. Later allocations of the same input
    // only count.
    if !CROSSED.swap(true, Relaxed) {
        quietly(|| {
            let trace = Backtrace::force_capture();
            *CROSSED_AT.lock().unwrap_or_else(|e| e.into_inner()) = Some(trace);
        });
    }
    true
}

// SAFETY: every method forwards to `System` with the same arguments; the counting only touches
// atomics and a thread-local flag.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                LIVE.fetch_sub(new_size - old, Relaxed);
            }
        } else if new_size < old {
            LIVE.fetch_sub(old - new_size, Relaxed);
        }
        p
    }
}
