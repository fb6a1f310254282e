//! What cannot be caught: an abort (a refused allocation, a stack overflow, a double panic) or an
//! input that never returns. Either way the input that did it is written to the failures folder
//! before the process goes: from a signal handler for aborts, from a watchdog thread for hangs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The running input, for the signal handler (which may only read atomics).
static INPUT_PTR: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static INPUT_LEN: AtomicUsize = AtomicUsize::new(0);
static RUNNING: AtomicBool = AtomicBool::new(false);
/// The failures folder of the running target, with a trailing `/`, as leaked bytes.
static DIR_PTR: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static DIR_LEN: AtomicUsize = AtomicUsize::new(0);
/// When the running input started, in nanoseconds since [`epoch`].
static STARTED_NS: AtomicU64 = AtomicU64::new(0);
/// An input running longer than this is a hang: saved, and the process exits.
static HANG_NS: AtomicU64 = AtomicU64::new(30_000_000_000);
/// The running input for the watchdog (which may lock).
static CURRENT: Mutex<Option<(Arc<[u8]>, PathBuf)>> = Mutex::new(None);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// FNV-1a, 64 bits: the name of a saved input. Computable inside a signal handler.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `<dir>/<hash>.bin`.
pub fn saved_path(dir: &Path, input: &[u8]) -> PathBuf {
    dir.join(format!("{:016x}.bin", hash(input)))
}

/// Installs the abort handler and starts the watchdog, once per process; `hang` is how long an
/// input may run before the watchdog calls it a hang.
pub fn install(hang: Duration) {
    HANG_NS.store(hang.as_nanos().min(u128::from(u64::MAX)) as u64, SeqCst);
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        epoch();
        #[cfg(unix)]
        unix::install_handlers();
        std::thread::Builder::new()
            .name("fuzz-watchdog".into())
            .spawn(watchdog)
            .expect("a watchdog thread");
    });
}

/// The input about to run, and the folder its target's failures go to.
pub(crate) fn enter(input: &Arc<[u8]>, dir: &Path) {
    let mut dir_bytes = dir.as_os_str().as_encoded_bytes().to_vec();
    dir_bytes.push(b'/');
    if DIR_LEN.load(SeqCst) != dir_bytes.len() || !same_dir(&dir_bytes) {
        // Leaked once per target folder: the handler must never see freed bytes.
        let leaked: &'static mut [u8] = Box::leak(dir_bytes.into_boxed_slice());
        DIR_LEN.store(0, SeqCst);
        DIR_PTR.store(leaked.as_mut_ptr(), SeqCst);
        DIR_LEN.store(leaked.len(), SeqCst);
    }
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some((input.clone(), dir.to_path_buf()));
    INPUT_PTR.store(input.as_ptr() as *mut u8, SeqCst);
    INPUT_LEN.store(input.len(), SeqCst);
    STARTED_NS.store(epoch().elapsed().as_nanos() as u64, SeqCst);
    RUNNING.store(true, SeqCst);
}

fn same_dir(bytes: &[u8]) -> bool {
    let ptr = DIR_PTR.load(SeqCst);
    let len = DIR_LEN.load(SeqCst);
    // SAFETY: DIR_PTR/DIR_LEN always describe a leaked, never-freed slice (or null/0).
    !ptr.is_null() && unsafe { std::slice::from_raw_parts(ptr, len) } == bytes
}

/// The input returned (or unwound).
pub(crate) fn leave() {
    RUNNING.store(false, SeqCst);
    INPUT_LEN.store(0, SeqCst);
    INPUT_PTR.store(std::ptr::null_mut(), SeqCst);
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

fn watchdog() {
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if !RUNNING.load(SeqCst) {
            continue;
        }
        let now = epoch().elapsed().as_nanos() as u64;
        let ran = now.saturating_sub(STARTED_NS.load(SeqCst));
        if ran < HANG_NS.load(SeqCst) {
            continue;
        }
        let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some((input, dir)) = current else {
            continue;
        };
        let path = saved_path(&dir, &input);
        let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &input[..]));
        eprintln!(
            "fuzz: HANG: an input of {} bytes has run for {:.1} s (limit {:.1} s); {}; exiting",
            input.len(),
            ran as f64 / 1e9,
            HANG_NS.load(SeqCst) as f64 / 1e9,
            match saved {
                Ok(()) => format!("saved to {}", path.display()),
                Err(e) => format!("could not save it to {}: {e}", path.display()),
            }
        );
        std::process::exit(3);
    }
}

#[cfg(unix)]
mod unix {
    use super::*;

    pub(super) fn install_handlers() {
        for signal in [libc::SIGABRT, libc::SIGILL, libc::SIGTRAP, libc::SIGBUS] {
            // SAFETY: a plain sigaction with a handler that only calls async-signal-safe
            // functions (open, write, close, signal, raise) and reads atomics.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as usize;
                action.sa_flags = libc::SA_ONSTACK | libc::SA_RESETHAND;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }

    fn write_all(fd: libc::c_int, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            // SAFETY: `bytes` is a valid slice; write(2) is async-signal-safe.
            let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
            if n <= 0 {
                return;
            }
            bytes = &bytes[n as usize..];
        }
    }

    fn decimal(mut n: usize, out: &mut [u8; 20]) -> &[u8] {
        let mut i = out.len();
        loop {
            i -= 1;
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return &out[i..];
            }
        }
    }

    extern "C" fn on_signal(signal: libc::c_int) {
        let ptr = INPUT_PTR.load(SeqCst);
        let len = INPUT_LEN.load(SeqCst);
        let dir_ptr = DIR_PTR.load(SeqCst);
        let dir_len = DIR_LEN.load(SeqCst);
        if RUNNING.load(SeqCst) && !ptr.is_null() && !dir_ptr.is_null() && dir_len < 3800 {
            // SAFETY: both slices stay alive while RUNNING (the input is owned by the running
            // loop; the folder name is leaked).
            let input = unsafe { std::slice::from_raw_parts(ptr, len) };
            let dir = unsafe { std::slice::from_raw_parts(dir_ptr, dir_len) };
            let mut path = [0u8; 4096];
            path[..dir_len].copy_from_slice(dir);
            let h = hash(input);
            let mut at = dir_len;
            for shift in (0..16).rev() {
                path[at] = b"0123456789abcdef"[((h >> (shift * 4)) & 0xf) as usize];
                at += 1;
            }
            path[at..at + 5].copy_from_slice(b".bin\0");
            let mut digits = [0u8; 20];
            write_all(2, b"\nfuzz: the process is aborting (signal ");
            write_all(2, decimal(signal as usize, &mut digits));
            write_all(2, b") while running an input of ");
            write_all(2, decimal(len, &mut digits));
            write_all(2, b" bytes; saved to ");
            write_all(2, &path[..at + 4]);
            write_all(2, b"\n");
            // SAFETY: `path` is NUL-terminated; open/write/close are async-signal-safe. The
            // folder was created before the input ran.
            unsafe {
                let fd = libc::open(
                    path.as_ptr().cast(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                    0o644,
                );
                if fd >= 0 {
                    write_all(fd, input);
                    libc::close(fd);
                }
            }
        }
        // SA_RESETHAND put the default action back: raising again ends the process as it would
        // have ended.
        // SAFETY: raise(3) is async-signal-safe.
        unsafe {
            libc::raise(signal);
        }
    }
}
