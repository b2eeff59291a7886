//! Poll loops: when each account is polled, how failures are retried, and what every outcome
//! does to the store and the log.
//!
//! One timer loop per configuration schedules every account; a poll in flight has its own task.
//! The first poll is spread at random over `startup_spread`, later ones follow the interval ±
//! jitter. One poll is a series of attempts: each under the timeout, each in its own task so a
//! panic is caught and counted instead of taking anything down, and retried with exponential
//! backoff only when the vendor says it can help. Polls of one vendor share a concurrency cap.
//! Cancellation stops the loop and every poll at their next await.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::alerting::AlertSettings;
use crate::config::{AccountConfig, Config, Defaults, Schedule};
use crate::exposition::Samples;
use crate::store::{AccountInfo, AccountKey, Store};
use crate::vendors::http::Clients;
use crate::vendors::limiter::Limiters;
use crate::vendors::{
    guard, Account, CallStats, FailureReason, PollContext, PollError, Retry, MAX_RETRY_AFTER,
};

/// Longest wait before a retry; a vendor asking for more is answered at the next poll instead.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// Longest hold-off after repeated `auth` failures.
pub const MAX_AUTH_HOLD_OFF: Duration = Duration::from_secs(6 * 3600);

/// Everything one account's loop needs.
#[derive(Clone)]
pub struct AccountTask {
    pub key: AccountKey,
    pub schedule: Schedule,
    pub client: Arc<dyn Account>,
    pub ctx: PollContext,
    pub limit: Arc<Semaphore>,
    /// When the account may poll next. Kept by the supervisor across reloads, so a reload never
    /// makes an account poll sooner than it would have.
    pub due: Arc<Due>,
    pub alerting: Arc<AlertSettings>,
}

/// What an account carries from one configuration to the next.
#[derive(Clone, Default)]
pub struct Carried {
    pub stats: Arc<CallStats>,
    pub due: Arc<Due>,
}

/// The earliest moment an account's next poll may start: the scheduled time while it sleeps,
/// the end of the attempt's deadline while an attempt is in flight.
#[derive(Debug, Default)]
pub struct Due(std::sync::Mutex<Option<SystemTime>>);

impl Due {
    fn set(&self, at: SystemTime) {
        *self.0.lock().expect("due lock") = Some(at);
    }
    fn get(&self) -> Option<SystemTime> {
        *self.0.lock().expect("due lock")
    }
}

impl AccountTask {
    pub fn info(&self) -> AccountInfo {
        AccountInfo {
            key: self.key.clone(),
            interval: self.schedule.interval,
            max_staleness: self.schedule.max_staleness,
            description: self.client.describe(),
            stats: self.ctx.stats.clone(),
            alerting: self.alerting.clone(),
        }
    }
}

/// Builds one task per account, with one concurrency cap per vendor. `previous` carries call
/// counters and next-poll times over from a previous configuration, so counters stay monotonic
/// and a reload causes no extra vendor calls.
/// Accounts with the same TLS and proxy settings share one client from `clients`.
pub fn tasks(
    config: &Config,
    clients: &Clients,
    previous: &HashMap<AccountKey, Carried>,
) -> Vec<AccountTask> {
    let mut limits: HashMap<&'static str, Arc<Semaphore>> = HashMap::new();
    // One registry for the set (the supervisor puts its own, kept across reloads, in place).
    let limiters: Arc<Limiters> = Default::default();
    config
        .accounts
        .iter()
        .map(|a: &AccountConfig| {
            let key = AccountKey {
                vendor: a.vendor.name,
                account: a.name.clone(),
            };
            let limit = limits
                .entry(a.vendor.name)
                .or_insert_with(|| Arc::new(Semaphore::new(config.defaults.max_concurrent_polls)))
                .clone();
            let carried = previous.get(&key).cloned().unwrap_or_default();
            let http = clients.get(&a.http.client).unwrap_or_else(|e| {
                // Settings were checked at load, so this is the system's store failing us.
                tracing::error!(vendor = key.vendor, account = %key.account, "{e}; using the default client");
                crate::http_client()
            });
            AccountTask {
                key,
                schedule: a.schedule.clone(),
                client: a.client.clone(),
                ctx: PollContext {
                    http,
                    max_response_bytes: a.http.max_response_bytes,
                    stats: carried.stats,
                    attempt: 0,
                    limiters: limiters.clone(),
                },
                limit,
                due: carried.due,
                alerting: Arc::new(a.alerting.clone()),
            }
        })
        .collect()
}

/// Runs every account of one configuration until `cancel` fires: one timer for all of them,
/// and a task only for a poll in flight.
///
/// A sleeping account costs an entry in the timer's heap, not a task: with one task per account,
/// each waiting on its own timer, idle tasks were most of what 10,000 accounts cost in memory.
/// The loop owns the schedule: it starts a poll when the account is due and its vendor's cap
/// has room (accounts waiting for room start in the order they became due), and when the poll
/// reports back it works out the next one (interval ± jitter, or a hold-off). An account that
/// was already scheduled (its `due` is set) keeps its next poll time, so a reload causes no extra
/// vendor calls.
pub async fn run_accounts(
    tasks: Vec<AccountTask>,
    defaults: Defaults,
    store: Arc<Store>,
    tracker: TaskTracker,
    cancel: CancellationToken,
) {
    // One group per concurrency cap (one per vendor), each with its queue of due accounts.
    let mut caps: Vec<Arc<Semaphore>> = Vec::new();
    let mut accounts: Vec<Scheduled> = Vec::with_capacity(tasks.len());
    for task in tasks {
        let group = match caps.iter().position(|c| Arc::ptr_eq(c, &task.limit)) {
            Some(g) => g,
            None => {
                caps.push(task.limit.clone());
                caps.len() - 1
            }
        };
        accounts.push(Scheduled {
            task: Arc::new(task),
            group,
            auth_failures: 0,
        });
    }
    let mut timer = BinaryHeap::with_capacity(accounts.len());
    for (i, a) in accounts.iter().enumerate() {
        let delay = match a.task.due.get() {
            Some(at) => at.duration_since(SystemTime::now()).unwrap_or_default(),
            None => first_delay(defaults.startup_spread, a.task.schedule.interval),
        };
        timer.push(schedule(&a.task, &store, i, delay));
    }
    let mut queued: Vec<VecDeque<usize>> = vec![VecDeque::new(); caps.len()];
    let (done, mut reports) = tokio::sync::mpsc::unbounded_channel();
    loop {
        let now = Instant::now();
        while let Some(Reverse((at, i))) = timer.peek().copied() {
            if at > now {
                break;
            }
            timer.pop();
            queued[accounts[i].group].push_back(i);
        }
        for (cap, queue) in caps.iter().zip(&mut queued) {
            while let Some(&i) = queue.front() {
                let Ok(permit) = cap.clone().try_acquire_owned() else {
                    break;
                };
                queue.pop_front();
                let mut report = Report {
                    index: i,
                    outcome: None,
                    cancelled: false,
                    permit: Some(permit),
                    to: done.clone(),
                };
                let (task, store, cancel) =
                    (accounts[i].task.clone(), store.clone(), cancel.clone());
                tracker.spawn(async move {
                    match attempts(&task, &store, &cancel).await {
                        Some(outcome) => report.outcome = Some(outcome),
                        None => report.cancelled = true,
                    }
                    // Gives the permit back and reports (also on the way out of a panic).
                    drop(report);
                });
            }
        }
        let next = timer.peek().map(|Reverse((at, _))| *at);
        let wake = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            Some((i, outcome)) = reports.recv() => {
                let delay = accounts[i].next_delay(&outcome, &defaults, &store);
                timer.push(schedule(&accounts[i].task, &store, i, delay));
            }
            _ = wake => {}
        }
    }
}

/// One account as the timer loop keeps it.
struct Scheduled {
    task: Arc<AccountTask>,
    /// Its concurrency cap, by index.
    group: usize,
    /// `auth` failures in a row.
    auth_failures: u32,
}

impl Scheduled {
    /// How long after `outcome` the account polls again: the interval ± jitter, or longer when
    /// the vendor asked for it or the credentials keep failing (logged and shown on the page).
    fn next_delay(
        &mut self,
        outcome: &Result<(), PollError>,
        defaults: &Defaults,
        store: &Store,
    ) -> Duration {
        let task = &self.task;
        self.auth_failures = match outcome {
            Err(e) if e.reason == FailureReason::Auth => self.auth_failures.saturating_add(1),
            _ => 0,
        };
        let interval = jittered(task.schedule.interval, defaults.jitter);
        let (delay, held) = match hold_off(outcome, task.schedule.interval, self.auth_failures) {
            Some((hold, why)) if hold > interval => (hold, Some(why)),
            _ => (interval, None),
        };
        if let Some(why) = &held {
            tracing::info!(vendor = task.key.vendor, account = %task.key.account, hold_s = delay.as_secs(), "next poll held off: {why}");
        }
        store.set_held(&task.key, held);
        delay
    }
}

/// Notes when the account polls next (in its `Due`, kept across reloads, and for the landing
/// page) and gives the timer's entry for it.
fn schedule(
    task: &AccountTask,
    store: &Store,
    index: usize,
    delay: Duration,
) -> Reverse<(Instant, usize)> {
    store.set_next_poll(&task.key, after(delay));
    task.due.set(after(delay));
    let at = Instant::now()
        .checked_add(delay)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86400));
    Reverse((at, index))
}

/// A poll's report to the timer loop, sent when it is dropped: also when the poll's task
/// panicked outside the vendor's code (which [`attempt_once`] catches), so that an account is
/// never left out of the schedule. A cancelled poll reports nothing: its loop is ending.
struct Report {
    index: usize,
    outcome: Option<Result<(), PollError>>,
    cancelled: bool,
    /// The poll's place under its vendor's cap, given back before the report is sent, so the
    /// loop finds room for the next poll when it hears of this one (however the task ended).
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    to: tokio::sync::mpsc::UnboundedSender<(usize, Result<(), PollError>)>,
}

impl Drop for Report {
    fn drop(&mut self) {
        drop(self.permit.take());
        if self.cancelled {
            return;
        }
        let outcome = self.outcome.take().unwrap_or_else(|| {
            Err(PollError::new(
                FailureReason::Panic,
                "the poll stopped before it recorded an outcome",
            ))
        });
        let _ = self.to.send((self.index, outcome));
    }
}

/// Now plus `d`, saturating far in the future instead of panicking.
fn after(d: Duration) -> SystemTime {
    let now = SystemTime::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86400))
}

/// How long the next poll must wait at least after `outcome`, and why, when the vendor asked for
/// it or the credentials keep failing:
/// - `Retry-After` (429 or 503) that the poll's own retries could not wait for, capped at 6 h;
/// - a vendor hold-off (a used-up monthly quota);
/// - the 2nd and later `auth` failure in a row: interval × 2^(failures − 1), capped at 6 h (or the
///   interval, if longer). WeCom bans the caller's IP after repeated wrong secrets, and no vendor
///   starts accepting a wrong secret by being asked more often.
pub fn hold_off(
    outcome: &Result<(), PollError>,
    interval: Duration,
    auth_failures: u32,
) -> Option<(Duration, String)> {
    let error = outcome.as_ref().err()?;
    match error.retry {
        Retry::After(d) => {
            let d = d.min(MAX_RETRY_AFTER);
            return Some((
                d,
                format!(
                    "the vendor answered {} with Retry-After {}",
                    error.reason,
                    humantime::format_duration(d)
                ),
            ));
        }
        Retry::HoldOff(d) => {
            return Some((d, format!("{}: {}", error.reason, error.message)));
        }
        Retry::Never | Retry::Backoff => {}
    }
    if error.reason == FailureReason::Auth && auth_failures >= 2 {
        let factor = 2u32.saturating_pow(auth_failures - 1);
        let hold = interval
            .saturating_mul(factor)
            .min(MAX_AUTH_HOLD_OFF.max(interval));
        return Some((
            hold,
            format!("{auth_failures} auth failures in a row; check the credentials, then reload"),
        ));
    }
    None
}

/// Polls every account once, concurrently (within each vendor's cap), and records the outcomes.
/// Used by `--once`. Returns the failures.
pub async fn poll_all_once(
    tasks: Vec<AccountTask>,
    store: Arc<Store>,
) -> Vec<(AccountKey, PollError)> {
    let cancel = CancellationToken::new();
    let handles: Vec<_> = tasks
        .into_iter()
        .map(|task| {
            let (store, cancel) = (store.clone(), cancel.clone());
            tokio::spawn(async move {
                let outcome = poll(&task, &store, &cancel).await;
                (task.key, outcome)
            })
        })
        .collect();
    let mut failures = Vec::new();
    for h in handles {
        if let Ok((key, Some(Err(e)))) = h.await {
            failures.push((key, e));
        }
    }
    failures
}

/// One poll: attempts and retries, then the outcome recorded. `None` if cancelled.
pub async fn poll(
    task: &AccountTask,
    store: &Store,
    cancel: &CancellationToken,
) -> Option<Result<(), PollError>> {
    let _permit = tokio::select! {
        permit = task.limit.clone().acquire_owned() => permit.ok()?,
        _ = cancel.cancelled() => return None,
    };
    attempts(task, store, cancel).await
}

/// The attempts of one poll, once its vendor's cap has let it start.
async fn attempts(
    task: &AccountTask,
    store: &Store,
    cancel: &CancellationToken,
) -> Option<Result<(), PollError>> {
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        // Should a reload cancel this attempt, the next poll waits for its deadline.
        task.due.set(after(task.schedule.timeout));
        let result = tokio::select! {
            r = attempt_once(task, attempt) => r,
            _ = cancel.cancelled() => return None,
        };
        // The one check between every vendor and the store: impossible values fail the poll.
        let result = result.and_then(|samples| guard::check(&samples).map(|()| samples));
        // The one redaction boundary: nothing below sees a secret or a URL query.
        let result = result.map_err(|mut error| {
            error.message = crate::redact::scrub(&error.message, &task.client.secrets());
            error
        });
        match result {
            Ok(samples) => {
                let took = started.elapsed();
                tracing::debug!(vendor = task.key.vendor, account = %task.key.account, took_ms = took.as_millis() as u64, "poll succeeded");
                store.record_success(&task.key, samples, took);
                return Some(Ok(()));
            }
            Err(error) => {
                let wait = match error.retry {
                    Retry::Backoff => Some(backoff(task.schedule.retry_backoff, attempt)),
                    Retry::After(d) if d <= MAX_RETRY_WAIT => Some(d),
                    Retry::After(_) | Retry::Never | Retry::HoldOff(_) => None,
                };
                if let (Some(wait), true) = (wait, attempt < task.schedule.retries) {
                    tracing::info!(
                        vendor = task.key.vendor,
                        account = %task.key.account,
                        reason = %error.reason,
                        attempt = attempt + 1,
                        retry_in_ms = wait.as_millis() as u64,
                        "poll attempt failed, retrying: {}",
                        error.message
                    );
                    if !sleep(wait, cancel).await {
                        return None;
                    }
                    attempt += 1;
                    continue;
                }
                let took = started.elapsed();
                tracing::warn!(
                    vendor = task.key.vendor,
                    account = %task.key.account,
                    reason = %error.reason,
                    attempts = attempt + 1,
                    "poll failed: {}",
                    error.message
                );
                store.record_failure(&task.key, &error, took);
                return Some(Err(error));
            }
        }
    }
}

/// One attempt, in its own task so that a panic in vendor code is caught here. The deadline
/// travels with the attempt (the spawned task ends at the timeout whoever waits for it), and the
/// task is aborted when this future is dropped — a cancelled poll leaves no attempt behind, and
/// with it no open connection to the vendor.
async fn attempt_once(task: &AccountTask, attempt: u32) -> Result<Samples, PollError> {
    let (client, mut ctx, timeout) = (task.client.clone(), task.ctx.clone(), task.schedule.timeout);
    ctx.attempt = attempt;
    let handle = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
        tokio::time::timeout(timeout, client.poll(&ctx)).await
    }));
    match handle.await {
        Ok(Ok(result)) => result,
        Err(join_error) if join_error.is_panic() => {
            let message = panic_message(&*join_error.into_panic());
            Err(PollError::new(
                FailureReason::Panic,
                format!("poll panicked: {message}"),
            ))
        }
        Err(_cancelled) => Err(PollError::new(
            FailureReason::Panic,
            "poll task was cancelled",
        )),
        Ok(Err(_elapsed)) => Err(PollError::new(
            FailureReason::Timeout,
            format!(
                "no complete answer within the timeout of {}",
                humantime::format_duration(task.schedule.timeout)
            ),
        )
        .with_retry(Retry::Backoff)),
    }
}

/// Sleeps unless cancelled first. Returns false when cancelled.
async fn sleep(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = cancel.cancelled() => false,
    }
}

/// `base × 2^attempt`, randomised to 50–100% of that so retries of many accounts spread out,
/// capped at a minute.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let full = base
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(MAX_RETRY_WAIT);
    full.mul_f64(rand::rng().random_range(0.5..=1.0))
}

/// The interval varied by ±`fraction`, so accounts started together drift apart.
fn jittered(interval: Duration, fraction: f64) -> Duration {
    if fraction <= 0.0 {
        return interval;
    }
    interval.mul_f64(1.0 + rand::rng().random_range(-fraction..=fraction))
}

/// When an account's first poll starts: at random within the spread (never beyond the interval).
pub fn first_delay(spread: Duration, interval: Duration) -> Duration {
    let spread = spread.min(interval);
    if spread.is_zero() {
        return Duration::ZERO;
    }
    spread.mul_f64(rand::rng().random_range(0.0..1.0))
}

/// The running accounts: replaced as a whole on reload, as one transaction.
///
/// It owns what outlives one configuration: each account's call counters (so counters stay
/// monotonic) and next-poll time (so a reload causes no extra vendor calls), the HTTP clients
/// shared by accounts with the same settings, and the task tracker.
pub struct Supervisor {
    store: Arc<Store>,
    clients: Arc<Clients>,
    tracker: TaskTracker,
    root: CancellationToken,
    current: CancellationToken,
    carried: HashMap<AccountKey, Carried>,
    /// Rate limiters shared by accounts (e.g. one per Tencent SecretId), kept across reloads and
    /// pruned of the keys no account uses any more.
    limiters: Arc<Limiters>,
}

impl Supervisor {
    /// A supervisor with no accounts yet; its loops stop when `root` is cancelled.
    pub fn new(store: Arc<Store>, root: &CancellationToken) -> Self {
        Self {
            store,
            clients: Default::default(),
            tracker: TaskTracker::new(),
            current: root.child_token(),
            root: root.clone(),
            carried: HashMap::new(),
            limiters: Default::default(),
        }
    }

    /// Waits for every loop to stop (after `root` was cancelled).
    pub async fn wait(self) {
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Replaces the running accounts with `config`'s. The new task set is built first; only when
    /// that succeeded are the old loops cancelled and the new ones started. A failure — an error
    /// or a panic — leaves the old set polling and is returned.
    pub fn apply(&mut self, config: &Config) -> Result<(), String> {
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut tasks = tasks(config, &self.clients, &self.carried);
            for t in &mut tasks {
                t.ctx.limiters = self.limiters.clone();
            }
            let limiter_keys: Vec<String> = tasks
                .iter()
                .filter_map(|t| t.client.rate_limit_key())
                .collect();
            let infos: Vec<AccountInfo> = tasks.iter().map(|t| t.info()).collect();
            (tasks, infos, limiter_keys)
        }));
        let (tasks, infos, limiter_keys) =
            built.map_err(|p| format!("building the accounts panicked: {}", panic_message(&*p)))?;

        // The swap: nothing below can fail.
        self.current.cancel();
        self.current = self.root.child_token();
        self.clients
            .retain(config.accounts.iter().map(|a| &a.http.client));
        self.limiters.retain(limiter_keys);
        self.carried = tasks
            .iter()
            .map(|t| {
                let carried = Carried {
                    stats: t.ctx.stats.clone(),
                    due: t.due.clone(),
                };
                (t.key.clone(), carried)
            })
            .collect();
        self.store.set_accounts(infos);
        self.tracker.spawn(run_accounts(
            tasks,
            config.defaults.clone(),
            self.store.clone(),
            self.tracker.clone(),
            self.current.clone(),
        ));
        Ok(())
    }
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Format, MetricDesc};
    use crate::render::Renderer;
    use crate::vendors::PollFuture;
    use std::sync::atomic::{AtomicU32, Ordering};

    static SEEN: MetricDesc = MetricDesc::gauge("test_polls_seen", "test");

    /// Fails `fail_first` times with `error`, panics when `panic_on` matches the call number,
    /// then succeeds.
    struct Scripted {
        calls: AtomicU32,
        fail_first: u32,
        error: PollError,
        panic_on: Option<u32>,
        hang: bool,
        secrets: Vec<&'static str>,
        limit_key: Option<&'static str>,
        /// How long each poll takes, and how many run at once (now and at most).
        busy: Duration,
        in_flight: AtomicU32,
        most_in_flight: AtomicU32,
    }

    impl Account for Scripted {
        fn poll<'a>(&'a self, _ctx: &'a PollContext) -> PollFuture<'a> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(self.busy).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                if self.hang {
                    std::future::pending::<()>().await;
                }
                if self.panic_on == Some(n) {
                    panic!("scripted panic on call {n}");
                }
                if n <= self.fail_first {
                    return Err(self.error.clone());
                }
                let mut s = Samples::new();
                s.set(&SEEN, n as f64);
                Ok(s)
            })
        }
        fn secrets(&self) -> Vec<secrecy::SecretString> {
            self.secrets.iter().map(|s| (*s).into()).collect()
        }
        fn rate_limit_key(&self) -> Option<String> {
            self.limit_key.map(str::to_owned)
        }
        fn describe(&self) -> String {
            if self.panic_on == Some(0) {
                panic!("scripted panic while the account is described");
            }
            "scripted".into()
        }
    }

    fn task(name: &str, account: Scripted, retries: u32) -> (AccountTask, Arc<Scripted>) {
        let account = Arc::new(account);
        let task = AccountTask {
            key: AccountKey {
                vendor: "wecom_wedrive",
                account: name.into(),
            },
            schedule: Schedule {
                interval: Duration::from_millis(50),
                timeout: Duration::from_millis(200),
                max_staleness: Duration::from_secs(60),
                retries,
                retry_backoff: Duration::from_millis(1),
            },
            client: account.clone(),
            ctx: PollContext::new(reqwest::Client::new(), Default::default()),
            limit: Arc::new(Semaphore::new(4)),
            due: Default::default(),
            alerting: Default::default(),
        };
        (task, account)
    }

    fn scripted(fail_first: u32, error: PollError) -> Scripted {
        Scripted {
            calls: AtomicU32::new(0),
            fail_first,
            error,
            panic_on: None,
            hang: false,
            secrets: Vec::new(),
            limit_key: None,
            busy: Duration::ZERO,
            in_flight: AtomicU32::new(0),
            most_in_flight: AtomicU32::new(0),
        }
    }

    /// First polls at once, intervals without jitter.
    fn now_and_exactly() -> Defaults {
        Defaults {
            jitter: 0.0,
            startup_spread: Duration::ZERO,
            ..Defaults::default()
        }
    }

    /// The accounts in the store and their timer loop running on a tracker of its own.
    fn start(tasks: Vec<AccountTask>, store: &Arc<Store>) -> (CancellationToken, TaskTracker) {
        store.set_accounts(tasks.iter().map(|t| t.info()).collect());
        let (cancel, tracker) = (CancellationToken::new(), TaskTracker::new());
        tracker.spawn(run_accounts(
            tasks,
            now_and_exactly(),
            store.clone(),
            tracker.clone(),
            cancel.clone(),
        ));
        (cancel, tracker)
    }

    fn exposition(store: &Arc<Store>) -> String {
        let rendered = Renderer::new(store.clone()).exposition(Format::Classic);
        String::from_utf8(rendered.body().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn retryable_failures_are_retried_within_one_poll() {
        let store = Arc::new(Store::new());
        let (t, account) = task(
            "a",
            scripted(
                2,
                PollError::new(FailureReason::Api, "busy").with_retry(Retry::Backoff),
            ),
            2,
        );
        store.set_accounts(vec![t.info()]);
        let outcome = poll(&t, &store, &CancellationToken::new()).await.unwrap();
        assert!(outcome.is_ok());
        assert_eq!(account.calls.load(Ordering::SeqCst), 3);
        let text = exposition(&store);
        assert!(text.contains("test_polls_seen{account=\"a\"} 3"), "{text}");
        assert!(
            text.contains("quota_exporter_polls_total{vendor=\"wecom_wedrive\",account=\"a\"} 1")
        );
    }

    #[tokio::test]
    async fn declared_secrets_of_any_length_never_reach_the_store_or_the_caller() {
        let store = Arc::new(Store::new());
        let mut account = scripted(
            5,
            PollError::new(
                FailureReason::Auth,
                "refused [K] and [k3y] via https://v.example/t?access_token=[tok]",
            ),
        );
        account.secrets = vec!["K", "k3y"];
        let (t, _) = task("a", account, 0);
        store.set_accounts(vec![t.info()]);
        let err = poll(&t, &store, &CancellationToken::new())
            .await
            .unwrap()
            .unwrap_err();
        let expected = "refused [<redacted>] and [<redacted>] via https://v.example/t";
        assert_eq!(err.message, expected);
        let status = store.statuses().into_iter().next().unwrap();
        assert_eq!(status.last_error.unwrap().1, expected);
    }

    #[tokio::test]
    async fn non_retryable_failures_are_not_retried() {
        let store = Arc::new(Store::new());
        let (t, account) = task(
            "a",
            scripted(5, PollError::new(FailureReason::Auth, "bad secret")),
            3,
        );
        store.set_accounts(vec![t.info()]);
        let err = poll(&t, &store, &CancellationToken::new())
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.reason, FailureReason::Auth);
        assert_eq!(account.calls.load(Ordering::SeqCst), 1);
        assert!(exposition(&store).contains("reason=\"auth\"} 1"));
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let store = Arc::new(Store::new());
        let (t, account) = task(
            "a",
            scripted(
                99,
                PollError::new(FailureReason::Transport, "reset").with_retry(Retry::Backoff),
            ),
            2,
        );
        store.set_accounts(vec![t.info()]);
        assert!(poll(&t, &store, &CancellationToken::new())
            .await
            .unwrap()
            .is_err());
        assert_eq!(account.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_hanging_poll_times_out() {
        let store = Arc::new(Store::new());
        let mut s = scripted(0, PollError::new(FailureReason::Api, ""));
        s.hang = true;
        let (t, _) = task("a", s, 0);
        store.set_accounts(vec![t.info()]);
        let err = poll(&t, &store, &CancellationToken::new())
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.reason, FailureReason::Timeout);
        assert!(exposition(&store).contains("reason=\"timeout\"} 1"));
    }

    #[tokio::test]
    async fn a_panic_is_counted_and_the_account_keeps_its_schedule_while_others_are_unaffected() {
        let store = Arc::new(Store::new());
        let mut panicky = scripted(0, PollError::new(FailureReason::Api, ""));
        panicky.panic_on = Some(1);
        let (t1, a1) = task("panicky", panicky, 0);
        let (t2, a2) = task(
            "calm",
            scripted(0, PollError::new(FailureReason::Api, "")),
            0,
        );
        store.set_accounts(vec![t1.info(), t2.info()]);
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(run_accounts(
            vec![t1, t2],
            now_and_exactly(),
            store.clone(),
            tracker.clone(),
            cancel.clone(),
        ));
        // Bounded wait for both accounts to poll a few times.
        for _ in 0..500 {
            if a1.calls.load(Ordering::SeqCst) >= 3 && a2.calls.load(Ordering::SeqCst) >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        assert!(
            a1.calls.load(Ordering::SeqCst) >= 3,
            "the panicking account kept polling"
        );
        let text = exposition(&store);
        assert!(text.contains("quota_exporter_poll_failures_total{vendor=\"wecom_wedrive\",account=\"panicky\",reason=\"panic\"} 1"), "{text}");
        assert!(
            text.contains("quota_exporter_up{vendor=\"wecom_wedrive\",account=\"panicky\"} 1"),
            "recovered after the panic"
        );
        assert!(text.contains("quota_exporter_poll_failures_total{vendor=\"wecom_wedrive\",account=\"calm\",reason=\"panic\"} 0"));
        let status = store
            .statuses()
            .into_iter()
            .find(|s| s.key.account == "panicky")
            .unwrap();
        assert!(status
            .last_error
            .unwrap()
            .1
            .contains("scripted panic on call 1"));
    }

    #[test]
    fn retry_after_and_auth_failures_hold_the_next_poll() {
        let hour = Duration::from_secs(3600);
        let interval = Duration::from_secs(60);
        let after =
            |d| Err(PollError::new(FailureReason::RateLimited, "429").with_retry(Retry::After(d)));
        let (d, why) = hold_off(&after(hour), interval, 0).unwrap();
        assert_eq!(d, hour);
        assert!(why.contains("Retry-After 1h"), "{why}");
        assert_eq!(
            hold_off(&after(100 * hour), interval, 0).unwrap().0,
            MAX_RETRY_AFTER
        );
        let auth = Err(PollError::new(FailureReason::Auth, "bad secret"));
        assert_eq!(
            hold_off(&auth, interval, 1),
            None,
            "one failure: the interval"
        );
        assert_eq!(hold_off(&auth, interval, 2).unwrap().0, interval * 2);
        assert_eq!(hold_off(&auth, interval, 4).unwrap().0, interval * 8);
        assert_eq!(hold_off(&auth, interval, 60).unwrap().0, MAX_AUTH_HOLD_OFF);
        let day = Duration::from_secs(86400);
        assert_eq!(
            hold_off(&auth, day, 3).unwrap().0,
            day,
            "never below the interval"
        );
        assert_eq!(hold_off(&Ok(()), interval, 0), None);
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_auth_failures_back_off_between_polls() {
        let store = Arc::new(Store::new());
        let (mut t, account) = task(
            "a",
            scripted(u32::MAX, PollError::new(FailureReason::Auth, "bad secret")),
            0,
        );
        t.schedule.interval = Duration::from_secs(10);
        store.set_accounts(vec![t.info()]);
        let cancel = CancellationToken::new();

        let key = t.key.clone();
        let handle = tokio::spawn(run_accounts(
            vec![t],
            now_and_exactly(),
            store.clone(),
            TaskTracker::new(),
            cancel.clone(),
        ));
        // Polls at 0, 10 (2nd failure: hold 20), 30 (3rd: 40), 70 (4th: 80), 150…
        tokio::time::sleep(Duration::from_secs(149)).await;
        assert_eq!(account.calls.load(Ordering::SeqCst), 4);
        let status = store.statuses().into_iter().find(|s| s.key == key).unwrap();
        assert!(
            status
                .held
                .as_deref()
                .unwrap()
                .contains("4 auth failures in a row"),
            "{:?}",
            status.held
        );
        cancel.cancel();
        handle.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_holds_the_next_poll_then_polling_resumes() {
        let store = Arc::new(Store::new());
        let (mut t, account) = task(
            "a",
            scripted(
                1,
                PollError::new(FailureReason::RateLimited, "429")
                    .with_retry(Retry::After(Duration::from_secs(300))),
            ),
            2,
        );
        t.schedule.interval = Duration::from_secs(10);
        store.set_accounts(vec![t.info()]);
        let cancel = CancellationToken::new();

        let handle = tokio::spawn(run_accounts(
            vec![t],
            now_and_exactly(),
            store.clone(),
            TaskTracker::new(),
            cancel.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(299)).await;
        assert_eq!(
            account.calls.load(Ordering::SeqCst),
            1,
            "no retry within the poll and no poll before Retry-After"
        );
        assert!(store.statuses()[0]
            .held
            .as_deref()
            .unwrap()
            .contains("Retry-After 5m"));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(account.calls.load(Ordering::SeqCst), 2);
        assert_eq!(store.statuses()[0].held, None, "succeeded: no longer held");
        cancel.cancel();
        handle.await.unwrap();
    }

    fn config(accounts: Vec<(&str, Scripted)>) -> (Config, Vec<Arc<Scripted>>) {
        let mut handles = Vec::new();
        let accounts = accounts
            .into_iter()
            .map(|(name, account)| {
                let account = Arc::new(account);
                handles.push(account.clone());
                AccountConfig {
                    vendor: crate::vendors::VENDORS[0],
                    name: name.into(),
                    schedule: Schedule {
                        interval: Duration::from_millis(50),
                        timeout: Duration::from_millis(200),
                        max_staleness: Duration::from_secs(60),
                        retries: 0,
                        retry_backoff: Duration::from_millis(1),
                    },
                    client: account,
                    http: Default::default(),
                    alerting: Default::default(),
                }
            })
            .collect();
        let config = Config {
            defaults: Defaults {
                jitter: 0.0,
                startup_spread: Duration::ZERO,
                ..Defaults::default()
            },
            accounts,
            shard: None,
            other_shards: Vec::new(),
            warnings: Vec::new(),
        };
        (config, handles)
    }

    #[tokio::test]
    async fn a_reload_that_panics_while_building_keeps_the_old_accounts_polling() {
        let store = Arc::new(Store::new());
        let root = CancellationToken::new();
        let mut supervisor = Supervisor::new(store.clone(), &root);
        let (old, old_accounts) = config(vec![(
            "old",
            scripted(0, PollError::new(FailureReason::Api, "")),
        )]);
        supervisor.apply(&old).unwrap();

        let mut panicky = scripted(0, PollError::new(FailureReason::Api, ""));
        panicky.panic_on = Some(0);
        let (new, new_accounts) = config(vec![("new", panicky)]);
        let e = supervisor.apply(&new).unwrap_err();
        assert!(
            e.contains("scripted panic while the account is described"),
            "{e}"
        );

        let seen = old_accounts[0].calls.load(Ordering::SeqCst);
        for _ in 0..500 {
            if old_accounts[0].calls.load(Ordering::SeqCst) >= seen + 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            old_accounts[0].calls.load(Ordering::SeqCst) >= seen + 3,
            "the old account kept polling"
        );
        assert_eq!(new_accounts[0].calls.load(Ordering::SeqCst), 0);
        assert_eq!(store.statuses().len(), 1);
        assert_eq!(store.statuses()[0].key.account, "old");
        root.cancel();
        supervisor.wait().await;
    }

    #[tokio::test]
    async fn the_supervisor_owns_the_limiters_and_a_reload_prunes_those_of_accounts_gone() {
        let store = Arc::new(Store::new());
        let root = CancellationToken::new();
        let mut supervisor = Supervisor::new(store.clone(), &root);
        let keyed = |key| {
            let mut s = scripted(0, PollError::new(FailureReason::Api, ""));
            s.limit_key = Some(key);
            s
        };
        let (both, _) = config(vec![("a", keyed("id-a")), ("b", keyed("id-b"))]);
        supervisor.apply(&both).unwrap();
        // What the accounts' polls do: take their limiter from the context.
        let limiter = supervisor.limiters.get("id-a", 1);
        supervisor.limiters.get("id-b", 1);
        assert_eq!(supervisor.limiters.keys(), ["id-a", "id-b"]);
        let (only_a, _) = config(vec![("a", keyed("id-a"))]);
        supervisor.apply(&only_a).unwrap();
        assert_eq!(supervisor.limiters.keys(), ["id-a"]);
        // Kept across the reload: the same limiter, its slots intact.
        assert!(Arc::ptr_eq(&limiter, &supervisor.limiters.get("id-a", 1)));
        let (none, _) = config(vec![]);
        supervisor.apply(&none).unwrap();
        assert!(
            supervisor.limiters.keys().is_empty(),
            "{:?}",
            supervisor.limiters.keys()
        );
        root.cancel();
        supervisor.wait().await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_loop_keeps_the_vendor_cap_and_starts_waiting_accounts_in_due_order() {
        let store = Arc::new(Store::new());
        let cap = Arc::new(Semaphore::new(2));
        let mut tasks = Vec::new();
        let mut accounts = Vec::new();
        for i in 0..6 {
            let mut s = scripted(0, PollError::new(FailureReason::Api, ""));
            s.busy = Duration::from_secs(1);
            let (mut t, a) = task(&format!("a{i}"), s, 0);
            t.schedule.interval = Duration::from_secs(3600);
            t.schedule.timeout = Duration::from_secs(10);
            t.limit = cap.clone();
            // Due one after the other, 10 ms apart, all before the first poll ends.
            t.due
                .set(SystemTime::now() + Duration::from_millis(10 * i as u64));
            tasks.push(t);
            accounts.push(a);
        }
        let (cancel, tracker) = start(tasks, &store);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let calls: Vec<u32> = accounts
            .iter()
            .map(|a| a.calls.load(Ordering::SeqCst))
            .collect();
        assert_eq!(calls, [1, 1, 1, 1, 0, 0], "two at a time, in due order");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(accounts.iter().all(|a| a.calls.load(Ordering::SeqCst) == 1));
        assert!(accounts
            .iter()
            .all(|a| a.most_in_flight.load(Ordering::SeqCst) == 1));
        assert!(store.ready());
        assert_eq!(cap.available_permits(), 2, "every permit given back");
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
    }

    #[tokio::test(start_paused = true)]
    async fn sleeping_accounts_hold_no_task_and_keep_their_next_poll_time() {
        let store = Arc::new(Store::new());
        let mut tasks = Vec::new();
        let mut accounts = Vec::new();
        for i in 0..50 {
            let (mut t, a) = task(
                &format!("a{i}"),
                scripted(0, PollError::new(FailureReason::Api, "")),
                0,
            );
            t.schedule.interval = Duration::from_secs(60);
            tasks.push(t);
            accounts.push(a);
        }
        let dues: Vec<Arc<Due>> = tasks.iter().map(|t| t.due.clone()).collect();
        let (cancel, tracker) = start(tasks, &store);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(store.ready(), "every account polled once");
        assert_eq!(
            tracker.len(),
            1,
            "only the timer loop is left while all sleep"
        );
        let next = dues[7].get().expect("scheduled");
        let wait = next.duration_since(SystemTime::now()).unwrap_or_default();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(accounts.iter().all(|a| a.calls.load(Ordering::SeqCst) == 2));
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        assert!(tracker.is_empty());
    }

    #[test]
    fn a_poll_that_ends_without_an_outcome_still_reports_so_the_account_stays_scheduled() {
        let (to, mut from) = tokio::sync::mpsc::unbounded_channel();
        let cap = Arc::new(Semaphore::new(1));
        drop(Report {
            index: 3,
            outcome: None,
            cancelled: false,
            permit: Some(cap.clone().try_acquire_owned().unwrap()),
            to: to.clone(),
        });
        assert_eq!(cap.available_permits(), 1, "the permit is given back");
        let (i, outcome) = from.try_recv().expect("reported");
        assert_eq!(i, 3);
        assert_eq!(outcome.unwrap_err().reason, FailureReason::Panic);
        drop(Report {
            index: 4,
            outcome: None,
            cancelled: true,
            permit: None,
            to,
        });
        assert!(from.try_recv().is_err(), "a cancelled poll reports nothing");
    }

    #[tokio::test]
    async fn a_cancelled_poll_aborts_its_attempt() {
        let store = Arc::new(Store::new());
        let mut s = scripted(0, PollError::new(FailureReason::Api, ""));
        s.hang = true;
        let (mut t, account) = task("a", s, 0);
        t.schedule.timeout = Duration::from_secs(3600);
        store.set_accounts(vec![t.info()]);
        let cancel = CancellationToken::new();
        let polling = tokio::spawn({
            let (store, cancel) = (store.clone(), cancel.clone());
            async move { poll(&t, &store, &cancel).await }
        });
        for _ in 0..500 {
            if account.calls.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
        assert!(polling.await.unwrap().is_none());
        // The poll (and its task) are gone; a running attempt would still hold the account.
        for _ in 0..500 {
            if Arc::strong_count(&account) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            Arc::strong_count(&account),
            1,
            "the attempt task outlived its cancelled poll"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Duration::from_secs(1);
        assert!(
            backoff(b, 0) <= Duration::from_secs(1) && backoff(b, 0) >= Duration::from_millis(500)
        );
        assert!(backoff(b, 3) >= Duration::from_secs(4));
        assert!(backoff(b, 20) <= MAX_RETRY_WAIT);
        assert!(
            first_delay(Duration::from_secs(5), Duration::from_secs(1)) < Duration::from_secs(1)
        );
        let j = jittered(Duration::from_secs(100), 0.1);
        assert!(j >= Duration::from_secs(90) && j <= Duration::from_secs(110));
    }
}
