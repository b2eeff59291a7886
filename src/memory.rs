//! Process memory: how many allocator arenas the process may use, and handing memory that was
//! freed back to the system.
//!
//! glibc's malloc gives threads their own arenas (up to eight per core) and keeps what was freed
//! in them for reuse, so a process whose threads briefly allocated a lot (a config of 10,000
//! accounts parses through about 30 MB of temporary values) stays that large. One arena is
//! plenty for a process whose work is a few polls and scrapes at a time (its few threads rarely
//! allocate at the same moment); at 10,000 accounts it keeps 9 MB less resident than two. After
//! a config load the freed memory is returned, and every few seconds what polls and scrapes
//! freed in between what stays (snapshots, renderings): glibc keeps such holes resident until
//! asked, about 2 MB of them at 10,000 accounts after a minute of scrapes. Elsewhere these are
//! no-ops.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often freed memory is handed back while the exporter runs.
pub const RELEASE_EVERY: Duration = Duration::from_secs(5);

/// Caps malloc at one arena, unless `MALLOC_ARENA_MAX` says otherwise. Call before any thread
/// starts.
pub fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes the allocator's settings; it is called before other
        // threads exist, as glibc asks.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Returns memory the allocator holds free to the system (after a config load).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Hands freed memory back every [`RELEASE_EVERY`] until `cancel` fires. Each time costs well
/// under a millisecond (a walk over the allocator's free lists).
pub async fn release_periodically(cancel: CancellationToken) {
    let mut tick = tokio::time::interval(RELEASE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => release_free_memory(),
            _ = cancel.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_periodic_release_runs_until_cancelled() {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(release_periodically(cancel.clone()));
        tokio::time::sleep(RELEASE_EVERY * 3).await;
        assert!(!task.is_finished(), "keeps running");
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("stops when cancelled")
            .unwrap();
    }
}
