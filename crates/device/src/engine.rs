//! The background sync engine: one tokio task per device that pushes the outbox, pulls the
//! tenant's changes, and waits — on a long-poll pull, a local write, or a timer — for the next
//! round. Failures back off exponentially with jitter (backon); a 429 answer's `Retry-After`
//! is honoured. Every request has a timeout. The UI follows a status stream.

use crate::error::{DeviceError, Result};
use crate::sync::SyncStatus;
use crate::Device;
use backon::{BackoffBuilder, ExponentialBuilder};
use dukkan_core::sync::{
    OpOutcome, OpResult, PullResponse, PushRequest, PushResponse, ServerHistory,
    MAX_PULL_WAIT_SECS, MAX_PUSH_BATCH, PROTOCOL_VERSION,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where the tenant server is and how this device proves who it is.
#[derive(Clone)]
pub struct ServerConfig {
    /// Base URL, e.g. `https://shop.example.om` (no trailing `/api/v1`).
    pub base_url: String,
    /// The device token from enrollment.
    pub token: String,
    /// Fixed timeout of push and short pull requests.
    pub request_timeout: Duration,
    /// How long an idle long-poll pull waits for a change (the server caps it at 25 s).
    pub long_poll: Duration,
    /// Longest pause between rounds when nothing wakes the engine.
    pub idle_interval: Duration,
    /// First and longest pause after a failed round (exponential with jitter in between).
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl ServerConfig {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: token.into(),
            request_timeout: Duration::from_secs(15),
            long_poll: Duration::from_secs(MAX_PULL_WAIT_SECS),
            idle_interval: Duration::from_secs(60),
            retry_min: Duration::from_millis(200),
            retry_max: Duration::from_secs(60),
        }
    }
}

/// The token is a secret: never print it.
impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("base_url", &self.base_url)
            .field("token", &"***")
            .finish()
    }
}

/// What the sync indicator shows, as a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EngineStatus {
    /// The last request reached the server and was answered.
    pub online: bool,
    #[serde(flatten)]
    pub store: SyncStatus,
    /// Stable code of the last failure while offline (`network`, `http-503`, ...).
    pub last_error: Option<String>,
}

/// A running engine. Dropping it does not stop the task; call [`SyncHandle::stop`].
pub struct SyncHandle {
    status: watch::Receiver<EngineStatus>,
    stop: Arc<tokio::sync::Notify>,
    task: JoinHandle<()>,
}

impl SyncHandle {
    /// A receiver of status updates (the latest value is always available).
    pub fn status(&self) -> watch::Receiver<EngineStatus> {
        self.status.clone()
    }

    /// Stops the task and waits for it; an in-flight request is abandoned (the server applies
    /// ops exactly once, so an abandoned push is simply answered `duplicate` next time).
    pub async fn stop(mut self) {
        self.stop.notify_one();
        // The task sees the stop between requests; a request in flight is cut short.
        if tokio::time::timeout(Duration::from_secs(1), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
            let _ = self.task.await;
        }
    }
}

#[derive(Debug)]
enum RoundError {
    /// No answer (connection refused, timeout, reset).
    Network,
    /// The server's certificate is not trusted: nothing was sent.
    Untrusted,
    /// An HTTP error answer; `retry_after` from a 429.
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// The local store failed.
    Store(DeviceError),
}

impl RoundError {
    fn code(&self) -> String {
        match self {
            RoundError::Network => "network".into(),
            RoundError::Untrusted => "untrusted".into(),
            RoundError::Status { code, .. } => format!("http-{code}"),
            RoundError::Store(e) => e.code().into(),
        }
    }
}

/// A request that got no answer: an untrusted certificate, or no answer at all.
fn no_answer(e: reqwest::Error) -> RoundError {
    if certificate_refused(&e) {
        RoundError::Untrusted
    } else {
        RoundError::Network
    }
}

/// The same for a one-off call (enrollment, upgrade codes).
fn unreachable(e: reqwest::Error) -> DeviceError {
    if certificate_refused(&e) {
        DeviceError::ServerUntrusted
    } else {
        DeviceError::ServerUnreachable
    }
}

/// Whether the TLS handshake failed because the server's certificate was refused. The rustls
/// error sits somewhere down reqwest's chain of sources, inside an `io::Error` (whose own
/// `source()` skips the error it wraps, so that one is unwrapped by hand).
fn certificate_refused(e: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

impl From<DeviceError> for RoundError {
    fn from(e: DeviceError) -> Self {
        RoundError::Store(e)
    }
}

/// An HTTP error answer, with the delay a 429 asked for.
fn status_error(resp: &reqwest::Response) -> RoundError {
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    RoundError::Status {
        code: resp.status().as_u16(),
        retry_after,
    }
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    config: ServerConfig,
}

impl Client {
    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, RoundError> {
        let resp = req
            .bearer_auth(&self.config.token)
            .send()
            .await
            .map_err(no_answer)?;
        if !resp.status().is_success() {
            return Err(status_error(&resp));
        }
        resp.json::<T>().await.map_err(|_| RoundError::Network)
    }

    async fn push(&self, body: &PushRequest) -> Result<PushResponse, RoundError> {
        let url = format!("{}/api/v1/sync/push", self.config.base_url);
        self.send(
            self.http
                .post(url)
                .timeout(self.config.request_timeout)
                .json(body),
        )
        .await
    }

    /// The staff roster, unless it is unchanged since `etag` (`None` on a 304).
    async fn staff(
        &self,
        etag: Option<&str>,
    ) -> Result<Option<(dukkan_core::staff::Roster, Option<String>)>, RoundError> {
        let url = format!("{}/api/v1/sync/staff", self.config.base_url);
        let mut req = self
            .http
            .get(url)
            .timeout(self.config.request_timeout)
            .bearer_auth(&self.config.token);
        if let Some(tag) = etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        let resp = req.send().await.map_err(no_answer)?;
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(status_error(&resp));
        }
        let tag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let roster = resp.json().await.map_err(|_| RoundError::Network)?;
        Ok(Some((roster, tag)))
    }

    /// A JSON answer of the sync API at `path` (after `/api/v1/sync`); `None` when the server
    /// answers 404 (it does not know the customer).
    async fn get_known<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, RoundError> {
        let url = format!("{}/api/v1/sync{path}", self.config.base_url);
        let resp = self
            .http
            .get(url)
            .timeout(self.config.request_timeout)
            .bearer_auth(&self.config.token)
            .send()
            .await
            .map_err(no_answer)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(status_error(&resp));
        }
        resp.json().await.map(Some).map_err(|_| RoundError::Network)
    }

    /// One customer as the server holds it now; `None` when the server does not know it.
    async fn customer(
        &self,
        id: dukkan_core::CustomerId,
    ) -> Result<Option<dukkan_core::sync::CustomerSnapshot>, RoundError> {
        self.get_known(&format!("/customers/{id}")).await
    }

    /// A customer's history as the server holds it; `None` when the server does not know it.
    async fn history(
        &self,
        id: dukkan_core::CustomerId,
    ) -> Result<Option<ServerHistory>, RoundError> {
        self.get_known(&format!("/customers/{id}/history")).await
    }

    async fn pull(&self, since: i64, wait: Duration) -> Result<PullResponse, RoundError> {
        let url = format!(
            "{}/api/v1/sync/pull?since={since}&wait={}",
            self.config.base_url,
            wait.as_secs()
        );
        self.send(
            self.http
                .get(url)
                .timeout(self.config.request_timeout + wait),
        )
        .await
    }
}

/// Pages fetched ahead of the store's writes, at most.
const PAGES_AHEAD: usize = 4;

/// Pulls until no page is left. A task fetches the pages one after the other while the store
/// writes the ones already here, on a blocking thread, every page waiting in one transaction
/// (one after the other and a page per transaction, the server's answers and the store's
/// writes took 1.6 s and 5.4 s of a 100,000-customer first sync).
async fn pull_all(device: &Arc<Device>, client: &Client) -> Result<(), RoundError> {
    let (pages, mut ready) = tokio::sync::mpsc::channel(PAGES_AHEAD);
    let fetcher = {
        let client = client.clone();
        let mut since = device.sync_cursor()?;
        tokio::spawn(async move {
            loop {
                let page = client.pull(since, Duration::ZERO).await;
                let next = page.as_ref().ok().filter(|p| p.more).map(|p| p.cursor);
                if pages.send(page).await.is_err() {
                    break;
                }
                match next {
                    Some(cursor) => since = cursor,
                    None => break,
                }
            }
        })
    };
    // The fetcher stops with this round, whichever way it ends.
    struct Abort(JoinHandle<()>);
    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _fetcher = Abort(fetcher);
    while let Some(page) = ready.recv().await {
        let mut batch = vec![page?];
        while batch.last().is_some_and(|p| p.more) {
            match ready.try_recv() {
                Ok(page) => batch.push(page?),
                Err(_) => break,
            }
        }
        let more = batch.last().is_some_and(|p| p.more);
        let device = device.clone();
        match tokio::task::spawn_blocking(move || device.apply_pulls(&batch)).await {
            Ok(applied) => applied?,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
        if !more {
            break;
        }
    }
    Ok(())
}

/// Pushes the whole outbox in bounded batches, then pulls until no page is left.
///
/// When every op of a batch was taken as sent (applied, or applied before), the ops after it
/// are pushed as they stand: the next batch is read at once and sent while this batch's
/// answers are recorded. Any other answer (a redirect, a rejection, a sequence conflict) can
/// change the ops after it, so it is recorded before the next batch is read.
async fn round(device: &Arc<Device>, client: &Client) -> Result<(), RoundError> {
    let mut ops = device.next_push_batch(MAX_PUSH_BATCH)?;
    // Answers of the batch before, all plain, still to record.
    let mut unrecorded: Option<Vec<OpResult>> = None;
    while !ops.is_empty() {
        let sent = ops.len();
        let last_sent = ops.last().map_or(0, |o| o.device_seq);
        let request = PushRequest {
            protocol: PROTOCOL_VERSION,
            ops,
        };
        // Both run to the end: answers are recorded even when this push fails.
        let (answer, recorded) = tokio::join!(
            client.push(&request),
            record_answers(device, unrecorded.take())
        );
        recorded?;
        let answer = answer?;
        let progressed = answer
            .results
            .iter()
            .any(|r| !matches!(r.outcome, OpOutcome::OutOfOrder { .. }));
        if !progressed || answer.results.len() < sent {
            // The server did not take the batch (a gap it wants filled first): try again later
            // rather than spinning.
            record_answers(device, Some(answer.results)).await?;
            return finish_round(device, client).await;
        }
        let plain = answer
            .results
            .iter()
            .all(|r| matches!(r.outcome, OpOutcome::Applied | OpOutcome::Duplicate));
        if plain {
            ops = device.next_push_batch_after(last_sent, MAX_PUSH_BATCH)?;
            unrecorded = Some(answer.results);
        } else {
            record_answers(device, Some(answer.results)).await?;
            ops = device.next_push_batch(MAX_PUSH_BATCH)?;
        }
    }
    record_answers(device, unrecorded).await?;
    finish_round(device, client).await
}

/// Records a push's answers off the async threads (a store write).
async fn record_answers(
    device: &Arc<Device>,
    answers: Option<Vec<OpResult>>,
) -> Result<(), RoundError> {
    let Some(answers) = answers else {
        return Ok(());
    };
    let device = device.clone();
    match tokio::task::spawn_blocking(move || device.apply_push_results(&answers)).await {
        Ok(recorded) => Ok(recorded?),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The rest of a round once the outbox is pushed: pulls, the roster, refetched customers.
async fn finish_round(device: &Arc<Device>, client: &Client) -> Result<(), RoundError> {
    pull_all(device, client).await?;
    // The staff roster (a 304 while unchanged), so sign-in at this till works offline with
    // the shop's current staff and PINs.
    if let Some((roster, etag)) = client.staff(device.roster_etag()?.as_deref()).await? {
        device.replace_roster(&roster, etag.as_deref())?;
    }
    // Customers whose refused change a person discarded: back to the server's truth.
    for id in device.stale_customers()? {
        let snapshot = client.customer(id).await?;
        device.apply_refetched(id, snapshot.as_ref())?;
    }
    device.mark_synced_now()?;
    Ok(())
}

/// The one HTTP client of everything the till asks its server (sync, enrollment, upgrade
/// codes). Each request sets its own overall timeout. The server's certificate is verified
/// against the system's roots and, where the shop runs its own authority, the certificates in
/// the file [`SERVER_CA_ENV`] names.
fn http_client() -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
    for root in shop_roots()? {
        builder = builder.add_root_certificate(root);
    }
    builder
        .build()
        .map_err(|e| DeviceError::Export(e.to_string()))
}

/// The path of a PEM file with the certificate authorities of a shop that signs its server's
/// certificate itself; trusted in addition to the system's roots. Set by whoever installs
/// the till (docs/security.md).
pub const SERVER_CA_ENV: &str = "DUKKAN_SERVER_CA";

/// A CA file is a few certificates; anything much larger is not one.
const SERVER_CA_MAX_BYTES: u64 = 1 << 20;

/// The shop's certificate authorities from [`SERVER_CA_ENV`], none when it is unset. A file
/// that is set but unusable is an error, never ignored: the till would otherwise fall back to
/// the system's roots and the shop's server would look like an impostor for no clear reason.
fn shop_roots() -> Result<Vec<reqwest::Certificate>> {
    let Some(path) = std::env::var_os(SERVER_CA_ENV).filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let invalid = |why: &str| DeviceError::ServerCaInvalid(why.to_owned());
    let file = std::fs::File::open(&path).map_err(|e| invalid(&e.to_string()))?;
    let mut pem = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, SERVER_CA_MAX_BYTES + 1),
        &mut pem,
    )
    .map_err(|e| invalid(&e.to_string()))?;
    if pem.len() as u64 > SERVER_CA_MAX_BYTES {
        return Err(invalid("larger than 1 MiB"));
    }
    let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| invalid(&e.to_string()))?;
    if roots.is_empty() {
        return Err(invalid("no certificate in the file"));
    }
    Ok(roots)
}

/// Set to `1` to let a till talk plain `http://` to another computer (development only).
pub const ALLOW_INSECURE_HTTP_ENV: &str = "DUKKAN_ALLOW_INSECURE_HTTP";

/// The server's base URL as a till may use it: `https://` (the certificate is verified against
/// the system's roots), or `http://` to this computer only. Over plain http on the shop's
/// network the device token and every customer would travel in clear, and anyone on that
/// network could answer in the server's place (an empty roster, forged customers).
pub fn checked_server_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    if trimmed.len() > dukkan_core::net::URL_MAX_CHARS {
        return Err(DeviceError::ServerUnreachable);
    }
    let parsed = reqwest::Url::parse(trimmed).map_err(|_| DeviceError::ServerUnreachable)?;
    let insecure_allowed = std::env::var(ALLOW_INSECURE_HTTP_ENV).is_ok_and(|v| v == "1");
    use dukkan_core::net::Transport;
    match dukkan_core::net::transport(&parsed) {
        Transport::Secure | Transport::Loopback => Ok(trimmed.to_owned()),
        Transport::Insecure if insecure_allowed => Ok(trimmed.to_owned()),
        Transport::Insecure => Err(DeviceError::InsecureServer),
        Transport::Unsupported => Err(DeviceError::ServerUnreachable),
    }
}

/// Starts the engine for `device` on the current tokio runtime. A stored server address that
/// is not [`checked_server_url`] (enrolled by an older version over plain http) is refused.
pub fn spawn(device: Arc<Device>, config: ServerConfig) -> Result<SyncHandle> {
    checked_server_url(&config.base_url)?;
    let http = http_client()?;
    let client = Client { http, config };
    let initial = EngineStatus {
        online: false,
        store: device.sync_status()?,
        last_error: None,
    };
    let (tx, rx) = watch::channel(initial);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_task = stop.clone();
    let wake = device.write_signal();
    let task = tokio::spawn(async move {
        let mut backoff = new_backoff(&client.config);
        loop {
            let result = round(&device, &client).await;
            let store = device.sync_status().unwrap_or_default();
            let delay = match &result {
                Ok(()) => {
                    backoff = new_backoff(&client.config);
                    if let Err(e) = device.checkpoint() {
                        tracing::warn!(error = %e, "idle WAL checkpoint failed");
                    }
                    tx.send_replace(EngineStatus {
                        online: true,
                        store,
                        last_error: None,
                    });
                    None
                }
                Err(e) => {
                    let online = matches!(e, RoundError::Status { .. });
                    tracing::debug!(error = e.code(), "sync round failed");
                    tx.send_replace(EngineStatus {
                        online,
                        store,
                        last_error: Some(e.code()),
                    });
                    let retry_after = match e {
                        RoundError::Status {
                            retry_after: Some(d),
                            ..
                        } => Some(*d),
                        _ => None,
                    };
                    Some(
                        retry_after
                            .unwrap_or_else(|| backoff.next().unwrap_or(client.config.retry_max)),
                    )
                }
            };
            match delay {
                // Online: idle on long-poll pulls, one after another, until a local write, a
                // page with more behind it, a failure, or the next full round (the roster,
                // customers to read again) is due. A round after every answer cost each till
                // two more requests per change in its shop: 27 requests per change in a shop
                // of ten tills, which saturated the server at 1,000 tills (fleet simulator).
                None => {
                    let due = tokio::time::Instant::now() + client.config.idle_interval;
                    loop {
                        let since = device.sync_cursor().unwrap_or(0);
                        tokio::select! {
                            _ = stop_task.notified() => return,
                            _ = wake.notified() => break,
                            _ = tokio::time::sleep_until(due) => break,
                            page = client.pull(since, client.config.long_poll) => {
                                let Ok(page) = page else { break };
                                if !page.changes.is_empty() || page.cursor != since {
                                    if let Err(e) = device.apply_pull(&page) {
                                        tracing::warn!(error = %e, "applying a pulled page failed");
                                        break;
                                    }
                                    tx.send_replace(EngineStatus {
                                        online: true,
                                        store: device.sync_status().unwrap_or_default(),
                                        last_error: None,
                                    });
                                }
                                if page.more {
                                    break;
                                }
                            }
                        }
                    }
                }
                // Offline or refused: wait out the backoff; a local write does not hurry a
                // server that asked us to slow down, but does hurry a reconnect attempt.
                Some(d) => {
                    let unreachable = matches!(result, Err(RoundError::Network));
                    tokio::select! {
                        _ = stop_task.notified() => return,
                        _ = wake.notified(), if unreachable => {}
                        _ = tokio::time::sleep(d) => {}
                    }
                }
            }
        }
    });
    Ok(SyncHandle {
        status: rx,
        stop,
        task,
    })
}

fn new_backoff(config: &ServerConfig) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(config.retry_min)
        .with_max_delay(config.retry_max)
        .with_jitter()
        .without_max_times()
        .build()
}

/// Exchanges a one-time enrollment code for a device token and stores it. The device keeps its
/// pending ops; the server continues its exactly-once counter after the last acknowledged one.
pub async fn enroll(
    device: &Device,
    server_url: &str,
    tenant: &str,
    code: &str,
    device_name: Option<&str>,
) -> Result<()> {
    // A new till with no owner yet may be enrolled straight away: the one-time code, which a
    // manager made on the server, is the authority (the shop's roster then comes with sync).
    // Any other till needs a manager signed in.
    if !device.staff_session().owner_pin_required {
        device.authorize(dukkan_core::staff::Role::Manager)?;
    }
    let base = &checked_server_url(server_url)?;
    let request = dukkan_core::sync::EnrollRequest {
        tenant: tenant.trim().to_owned(),
        code: code.trim().to_owned(),
        device_name: device_name.map(str::to_owned),
        last_acked_seq: device.last_acked_seq()?,
    };
    let resp = http_client()?
        .post(format!("{base}/api/v1/devices/enroll"))
        .timeout(Duration::from_secs(15))
        .json(&request)
        .send()
        .await
        .map_err(unreachable)?;
    if resp.status().is_client_error() {
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let code = body["code"]
            .as_str()
            .unwrap_or("device.enrollment-refused")
            .to_owned();
        return Err(DeviceError::EnrollmentRefused(code));
    }
    if !resp.status().is_success() {
        return Err(DeviceError::ServerUnreachable);
    }
    let enrollment: dukkan_core::sync::Enrollment = resp
        .json()
        .await
        .map_err(|_| DeviceError::ServerUnreachable)?;
    device.save_enrollment(base, &enrollment)?;
    tracing::info!(device = %enrollment.device_id, "device enrolled");
    Ok(())
}

/// Asks the server for a new verification code for the customer's upgrade (cooldown and hourly
/// caps apply; a refusal comes back as the request's `errorCode` and `resendAfter`). Online only.
pub async fn resend_upgrade_code(
    device: &Device,
    customer: dukkan_core::CustomerId,
) -> Result<crate::UpgradeRequest> {
    upgrade_call(device, customer, "resend", None).await
}

/// Submits the code the customer read out. A right code makes the customer full with a
/// verified phone — set by the server and stored here at once; a wrong one leaves
/// `errorCode` `otp.invalid` and `attemptsLeft`. Online only.
pub async fn verify_upgrade_code(
    device: &Device,
    customer: dukkan_core::CustomerId,
    code: &str,
) -> Result<crate::UpgradeRequest> {
    let code = dukkan_core::phone::verification_code(code).ok_or(DeviceError::OtpMalformed)?;
    upgrade_call(device, customer, "verify", Some(code)).await
}

/// The customer's history as the server holds it — who changed what (field names, never
/// values), from which till, and its merges — for the Activity tab; `None` while the server
/// does not know the customer (it has not been pushed yet). Managers only, as over REST: a
/// cashier's session does not read who did what at the shop. Online only: without an answer,
/// `sync.server-unreachable` (or `device.server-untrusted`).
pub async fn server_history(
    device: &Device,
    customer: dukkan_core::CustomerId,
) -> Result<Option<ServerHistory>> {
    device.authorize(dukkan_core::staff::Role::Manager)?;
    let (base, token) = device.enrollment()?.ok_or(DeviceError::NotEnrolled)?;
    let client = Client {
        http: http_client()?,
        config: ServerConfig::new(base, token),
    };
    match client.history(customer).await {
        Ok(history) => Ok(history),
        Err(RoundError::Untrusted) => Err(DeviceError::ServerUntrusted),
        Err(RoundError::Status { code: 401, .. }) => {
            Err(DeviceError::EnrollmentRefused("unauthenticated".into()))
        }
        Err(RoundError::Store(e)) => Err(e),
        Err(e) => {
            tracing::info!(%customer, error = %e.code(), "server history unavailable");
            Err(DeviceError::ServerUnreachable)
        }
    }
}

async fn upgrade_call(
    device: &Device,
    customer: dukkan_core::CustomerId,
    action: &str,
    code: Option<String>,
) -> Result<crate::UpgradeRequest> {
    device.authorize(dukkan_core::staff::Role::Cashier)?;
    let (base, token) = device.enrollment()?.ok_or(DeviceError::NotEnrolled)?;
    let request = device
        .upgrade_request(customer)?
        .ok_or(DeviceError::NoUpgradeRequest)?;
    if request.waiting_for_sync {
        return Err(DeviceError::UpgradeWaitingForSync);
    }
    let url = format!("{base}/api/v1/sync/upgrades/{customer}/{action}");
    let mut req = http_client()?
        .post(url)
        .timeout(Duration::from_secs(20))
        .bearer_auth(token);
    if let Some(code) = code {
        req = req.json(&dukkan_core::sync::VerifyUpgrade { code });
    }
    let resp = req.send().await.map_err(unreachable)?;
    match resp.status() {
        s if s.is_success() => {}
        reqwest::StatusCode::NOT_FOUND => return Err(DeviceError::NoUpgradeRequest),
        reqwest::StatusCode::UNAUTHORIZED => {
            return Err(DeviceError::EnrollmentRefused("unauthenticated".into()))
        }
        _ => return Err(DeviceError::ServerUnreachable),
    }
    let status: dukkan_core::sync::UpgradeStatus = resp
        .json()
        .await
        .map_err(|_| DeviceError::ServerUnreachable)?;
    if status.customer_id != customer {
        return Err(DeviceError::ServerUnreachable);
    }
    device.apply_upgrade_status(&status)?;
    tracing::info!(%customer, state = status.state.as_str(), "upgrade {action} answered");
    device
        .upgrade_request(customer)?
        .ok_or(DeviceError::NoUpgradeRequest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_till_talks_https_or_plain_http_to_this_computer_only() {
        for ok in [
            "https://shop.example.om",
            " https://shop.example.om/ ",
            "https://10.0.0.5:8443",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(checked_server_url(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            checked_server_url("https://shop.example.om/").unwrap(),
            "https://shop.example.om"
        );
        for insecure in [
            "http://192.168.1.10:8080",
            "http://shop.example.om",
            "HTTP://shop.example.om",
            "http://127.0.0.1.evil.example",
        ] {
            assert_eq!(
                checked_server_url(insecure).map_err(|e| e.code()),
                Err("device.insecure-server"),
                "{insecure}"
            );
        }
        for malformed in [
            "ftp://shop",
            "shop.example.om",
            "https://",
            "",
            "javascript:x",
        ] {
            assert_eq!(
                checked_server_url(malformed).map_err(|e| e.code()),
                Err("sync.server-unreachable"),
                "{malformed}"
            );
        }
        assert!(checked_server_url(&format!("https://{}", "a".repeat(3000))).is_err());
    }
}
