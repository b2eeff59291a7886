//! `gettid` for glibc older than 2.30, so the release binary runs on glibc 2.28 (RHEL 8).
//!
//! Rust's standard library calls `gettid()` on Linux, and glibc exports it only since 2.30: a
//! binary linked against glibc 2.28's symbol list (scripts/release) cannot resolve it. This
//! definition, linked into the binary itself, makes the system call directly — what glibc's
//! own `gettid` does — so the binary needs nothing newer than `GLIBC_2.28`. Built only with the
//! `glibc-2-28` feature.

/// The calling thread's id.
#[no_mangle]
pub extern "C" fn gettid() -> i32 {
    rustix::thread::gettid().as_raw_nonzero().get()
}
