//! Wakes long-poll pulls when their tenant's change feed grows.
//!
//! Each server instance keeps one connection that `LISTEN`s on `dukkan_changes`; a trigger on
//! `change_feed` (V6__change_notify.sql) notifies it with the tenant id when a change commits,
//! whichever instance wrote it. A waiting pull then looks at the feed at once instead of every
//! 200 ms. While that connection is up, waiting pulls still look every few seconds as a safety
//! net; while it is down (or never started), they fall back to looking every 200 ms, so the
//! server stays correct without it. The server stays stateless: this is only a wake-up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

/// The channel the V6 trigger notifies.
const CHANNEL: &str = "dukkan_changes";
/// How often a waiting pull looks at the feed while notifications arrive: not again before
/// its wait ends (25 s at most). A pull registers for its wake-up before it looks, and a lost
/// listening connection wakes every waiting pull and falls back to polling, so a look every
/// 5 s bought nothing but 200 feed queries a second for 1,000 idle tills (fleet simulator).
const RECHECK_LISTENING: Duration = Duration::from_secs(dukkan_core::sync::MAX_PULL_WAIT_SECS);
/// How often it looks while they do not.
const RECHECK_POLLING: Duration = Duration::from_millis(200);
/// Pause before connecting again after the listening connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// One tenant's waiting pulls on this instance: their wake-up and how many there are.
#[derive(Debug, Default)]
pub struct TenantSignal {
    pub notify: Notify,
    waiting: AtomicI64,
}

impl TenantSignal {
    /// Counts a pull as waiting until the guard is dropped (answered, or its client gone).
    pub fn waiting(self: &Arc<Self>) -> Waiting {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(self.clone())
    }
}

/// A pull counted as waiting; see [`TenantSignal::waiting`].
#[derive(Debug)]
pub struct Waiting(Arc<TenantSignal>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Per-tenant wake-ups of the pulls waiting on this instance.
#[derive(Debug, Default)]
pub struct ChangeSignals {
    /// One entry per tenant that has had a waiting pull (tenants are few; never swept).
    tenants: Mutex<HashMap<Uuid, Arc<TenantSignal>>>,
    listening: AtomicBool,
    looks: AtomicU64,
}

impl ChangeSignals {
    /// The wake-up of `tenant`'s waiting pulls.
    pub fn tenant(&self, tenant: Uuid) -> Arc<TenantSignal> {
        let mut map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(tenant).or_default().clone()
    }

    /// Pulls waiting on this instance now, per tenant that has had one.
    pub fn waiting_by_tenant(&self) -> Vec<(Uuid, i64)> {
        let map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(t, s)| (*t, s.waiting.load(Ordering::Relaxed)))
            .collect()
    }

    /// How long a waiting pull may go without looking at the feed.
    pub fn recheck_every(&self) -> Duration {
        if self.is_listening() {
            RECHECK_LISTENING
        } else {
            RECHECK_POLLING
        }
    }

    /// Counts one look at the feed by a pull.
    pub fn looked(&self) {
        self.looks.fetch_add(1, Ordering::Relaxed);
    }

    /// Looks at the feed by pulls on this instance so far.
    pub fn looks(&self) -> u64 {
        self.looks.load(Ordering::Relaxed)
    }

    /// Whether notifications are arriving (the listening connection is up).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    fn wake(&self, tenant: Uuid) {
        let map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get(&tenant) {
            n.notify.notify_waiters();
        }
    }

    /// Every waiting pull looks again (changes may have been missed while not listening).
    fn wake_all(&self) {
        let map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        for n in map.values() {
            n.notify.notify_waiters();
        }
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Release);
        self.wake_all();
    }
}

/// Keeps a connection to `config` listening for committed changes and wakes `signals`;
/// reconnects a second after it fails. Runs until the runtime stops.
pub fn spawn_listener(
    signals: Arc<ChangeSignals>,
    config: tokio_postgres::Config,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&signals, &config).await {
                Ok(()) => tracing::warn!("change listener connection closed; reconnecting"),
                Err(e) => tracing::warn!(error = %e, "change listener failed; reconnecting"),
            }
            signals.set_listening(false);
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    })
}

/// One listening connection, until it ends.
async fn listen(
    signals: &ChangeSignals,
    config: &tokio_postgres::Config,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // Drives the connection (requests and notifications) until it ends.
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) if n.channel() == CHANNEL => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "change listener connection error");
                    break;
                }
            }
        }
    });
    let listened = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
    if listened.is_ok() {
        tracing::info!("listening for committed changes");
        signals.set_listening(true);
        while let Some(payload) = rx.recv().await {
            if let Ok(tenant) = Uuid::try_parse(&payload) {
                signals.wake(tenant);
            }
        }
    }
    driver.abort();
    drop(client);
    listened
}
