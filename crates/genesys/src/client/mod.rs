//! A client of the Genesys Cloud Platform API (async, reqwest): the client-credentials token, the
//! bearer on every call, and the retry rules of `genesys-contract.md` through the one pure decision
//! function [`retry::decide`]. `map --online` uses its reads; the loader reuses it for writes.
//!
//! Invariants: the client secret and the access token are never logged, printed or put in an error
//! (both are [`Secret`]s whose `Debug` is redacted); a secret file readable by group or others is
//! refused; the environment wins over the configuration (`GENESYSCLOUD_*`, `ZD2GC_*_URL`).

mod api_error;
mod reads;
pub mod retry;
mod settings;
mod wire;

pub use api_error::{ApiError, Refusal};
pub use settings::{ClientConfig, Credentials, Secret, Settings, endpoints};
pub use wire::{clean, enc};

use crate::Endpoints;
use crate::error::{Error, Result};
use crate::model;
use reqwest::header::HeaderMap;
use retry::{Action, Attempt, CallKind, Policy, Reply};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use wire::{classify, correlation, error_body, jitter, read_body, unreachable, without_url};

struct Token {
    value: Secret,
    expires: Instant,
}

/// The client. Cheap to share by reference across tasks.
pub struct Client {
    http: reqwest::Client,
    pub endpoints: Endpoints,
    creds: Credentials,
    token: Mutex<Option<Token>>,
    pub policy: Policy,
    /// Largest answers read (a hostile or broken server must not exhaust memory).
    pub limits: Limits,
    calls: std::sync::atomic::AtomicU64,
    gate: std::sync::RwLock<Option<std::sync::Arc<dyn Gate>>>,
    /// The settings to name when the URLs or the credentials are wrong.
    pub settings: Settings,
    /// An answer (any status) came from the login host / the API host: from then on a failed
    /// connection is transient; before, it is a wrong URL or a host that is down, and retrying
    /// for minutes cannot help.
    reached_login: std::sync::atomic::AtomicBool,
    reached_api: std::sync::atomic::AtomicBool,
}

/// The largest answer bodies the client reads; a longer one is refused with a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// An API answer (JSON of one call).
    pub answer: usize,
    /// A signed download URL's body (large agent-schedule queries).
    pub download: usize,
    /// The token answer and error bodies.
    pub small: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            answer: 32 << 20,
            download: 256 << 20,
            small: 1 << 20,
        }
    }
}

/// Timeouts of every request: to connect, and for the whole exchange (body included).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A hook every request passes through: the loader's global pace ([`Gate::reserve`] says how long to
/// wait before sending) and its accounting ([`Gate::observe`] sees every answer, or its absence).
pub trait Gate: Send + Sync {
    /// Reserve a slot for one API request; the caller sleeps for the returned time first. Not
    /// called for the token or for upload/download URLs (they are not the rate-limited API).
    fn reserve(&self) -> Duration;
    /// One request ended: which call (`method`, `path` without the query), what came back, and a
    /// `Retry-After` if one was sent.
    fn observe(
        &self,
        method: &'static str,
        path: &str,
        reply: Reply,
        retry_after: Option<Duration>,
    );
    /// How long every request must still hold off (a `Retry-After` in force). Checked again after
    /// the slot's wait, so a request that took its slot before a `429` came back does not go out
    /// during the pause the `429` asked for.
    fn hold(&self) -> Duration {
        Duration::ZERO
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.endpoints)
            .field("client_id", &self.creds.client_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(endpoints: Endpoints, creds: Credentials) -> Result<Client> {
        Client::with_timeouts(endpoints, creds, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// [`Client::new`] with other timeouts (tests of hostile servers use short ones).
    pub fn with_timeouts(
        endpoints: Endpoints,
        creds: Credentials,
        connect: Duration,
        total: Duration,
    ) -> Result<Client> {
        Client::build(endpoints, creds, connect, total, None)
    }

    /// [`Client::new`] resolving host names with `resolver` (tests of a failing DNS, without a
    /// network).
    pub fn with_dns_resolver(
        endpoints: Endpoints,
        creds: Credentials,
        resolver: std::sync::Arc<dyn reqwest::dns::Resolve>,
    ) -> Result<Client> {
        Client::build(
            endpoints,
            creds,
            CONNECT_TIMEOUT,
            REQUEST_TIMEOUT,
            Some(resolver),
        )
    }

    fn build(
        endpoints: Endpoints,
        creds: Credentials,
        connect: Duration,
        total: Duration,
        resolver: Option<std::sync::Arc<dyn reqwest::dns::Resolve>>,
    ) -> Result<Client> {
        let loopback =
            |u: &str| u.starts_with("http://127.0.0.1") || u.starts_with("http://localhost");
        let mut b = reqwest::Client::builder();
        if loopback(&endpoints.api) && loopback(&endpoints.login) {
            // An emulator: never through a proxy.
            b = b.no_proxy();
        }
        if let Some(r) = resolver {
            b = b.dns_resolver(r);
        }
        let http = b
            .timeout(total)
            .connect_timeout(connect)
            .user_agent(concat!("zd2gc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::failure(format!("cannot build the HTTP client: {e}"), None))?;
        Ok(Client {
            http,
            endpoints,
            creds,
            token: Mutex::new(None),
            policy: Policy::default(),
            limits: Limits::default(),
            calls: Default::default(),
            gate: std::sync::RwLock::new(None),
            settings: Settings::default(),
            reached_login: Default::default(),
            reached_api: Default::default(),
        })
    }

    /// Endpoints and credentials from the environment and the configuration.
    pub fn from_config(cfg: &ClientConfig) -> Result<Client> {
        let mut c = Client::new(endpoints(cfg)?, Credentials::resolve(cfg)?)?;
        c.settings = Settings::of(cfg);
        Ok(c)
    }

    /// One authenticated call that proves the URLs and the credentials right before anything is
    /// bound or written: a token, then the business units this client may read. What retrying
    /// cannot fix (a refused secret, a host that does not resolve or refuses connections, a
    /// token the API refuses) is one error naming the URL and the setting to change, within
    /// seconds.
    pub async fn identify(&self) -> Result<()> {
        self.bearer(false).await?;
        let path = "/api/v2/workforcemanagement/businessunits";
        let api = &self.endpoints.api;
        match self.send::<()>(reqwest::Method::GET, path, None, CallKind::Read).await {
            Ok((s, _, _)) if (200..300).contains(&s) => Ok(()),
            Ok((401, h, _)) => Err(Error::usage(
                format!(
                    "the Genesys Cloud API at {api} refused a token just issued by {} (HTTP 401, correlation id {}): the two URLs point at different regions or orgs",
                    self.endpoints.login,
                    correlation(&h)
                ),
                Some(format!(
                    "check {} and {}",
                    self.settings.api, self.settings.login
                )),
            )),
            Ok((403, h, body)) => Err(Error::usage(
                format!(
                    "the OAuth client {} may not read business units at {api} (HTTP 403: {}, correlation id {})",
                    self.creds.client_id,
                    clean(&error_body(&body.0).message),
                    correlation(&h)
                ),
                Some(
                    "give the OAuth client a role with the WFM administrator permissions (and user search)"
                        .into(),
                ),
            )),
            Ok((s, h, _)) if (500..600).contains(&s) => Err(Error::failure(
                format!(
                    "Genesys Cloud at {api} is failing (HTTP {s} on GET {path} after retries, correlation id {})",
                    correlation(&h)
                ),
                Some("try again later; nothing was written or bound".into()),
            )),
            Ok((s, h, _)) => Err(Error::usage(
                format!(
                    "{api} does not answer as the Genesys Cloud API (HTTP {s} on GET {path}, correlation id {})",
                    correlation(&h)
                ),
                Some(format!("check {}", self.settings.api)),
            )),
            Err(e) => Err(Error::usage(
                format!("cannot reach the Genesys Cloud API at {api}: {}", e.message),
                Some(format!("check {} and the network", self.settings.api)),
            )),
        }
    }

    /// The OAuth client id (not a secret; identifies the org binding of a migration).
    pub fn client_id(&self) -> &str {
        &self.creds.client_id
    }

    /// Route every later request through `gate` (replacing the previous one).
    pub fn set_gate(&self, gate: std::sync::Arc<dyn Gate>) {
        *self.gate.write().expect("gate lock") = Some(gate);
    }

    fn current_gate(&self) -> Option<std::sync::Arc<dyn Gate>> {
        self.gate.read().expect("gate lock").clone()
    }

    fn observe(
        &self,
        method: &'static str,
        path: &str,
        reply: Reply,
        headers: &reqwest::header::HeaderMap,
    ) {
        if let Some(g) = self.current_gate() {
            g.observe(method, path, reply, retry::retry_after(headers));
        }
    }

    /// The one retry loop of every request the client sends (API calls, the token, signed upload
    /// and download URLs): send what `request` builds (`true`: with a fresh token), count it, let
    /// the gate observe the reply, and do what [`retry::decide`] says until an answer is final.
    async fn exchange<E, F>(
        &self,
        x: Exchange<'_>,
        mut request: impl FnMut(bool) -> F,
    ) -> std::result::Result<(reqwest::Result<reqwest::Response>, HeaderMap), Stopped<E>>
    where
        F: std::future::Future<Output = std::result::Result<reqwest::RequestBuilder, E>>,
    {
        use std::sync::atomic::Ordering::Relaxed;
        let mut attempt = Attempt {
            number: 0,
            token_refreshed: !x.bearer,
            jitter: jitter(),
        };
        let mut fresh_token = false;
        loop {
            let req = request(fresh_token).await.map_err(Stopped::Request)?;
            fresh_token = false;
            self.calls.fetch_add(1, Relaxed);
            let res = req.send().await;
            let (reply, headers) = classify(&res);
            self.observe(x.method, x.observed, reply, &headers);
            if let Some(reached) = x.reached {
                match &res {
                    Ok(_) => reached.store(true, Relaxed),
                    // Never answered yet: a wrong URL or a host that is down; no retries.
                    Err(e) if !reached.load(Relaxed) => {
                        if let Some(why) = unreachable(e) {
                            return Err(Stopped::Unreachable(why));
                        }
                    }
                    Err(_) => {}
                }
            }
            match retry::decide(reply, &headers, attempt, x.kind, &self.policy) {
                Action::Retry(d) => {
                    tracing::debug!(
                        path = x.observed,
                        ?reply,
                        wait_ms = d.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(d).await;
                    attempt.number += 1;
                    attempt.jitter = jitter();
                }
                Action::RefreshToken => {
                    attempt.token_refreshed = true;
                    fresh_token = true;
                }
                Action::ReadBack => return Err(Stopped::ReadBack(reply)),
                Action::GiveUp | Action::Done => return Ok((res, headers)),
            }
        }
    }

    /// `PUT` a gzip body to a signed upload URL with exactly the headers handed out and no
    /// `Authorization` (the bearer token never reaches the upload host). Transient failures are
    /// retried: the upload key is not consumed by a PUT, so repeating it is harmless.
    pub async fn put_upload(
        &self,
        url: &str,
        headers: &std::collections::BTreeMap<String, String>,
        body: impl Into<UploadBody>,
    ) -> std::result::Result<(), ApiError> {
        let fail = |status, message| ApiError::bare("PUT", "<upload url>", status, message);
        // Each attempt sends the same buffer, or reads the same file from its start (a week's
        // gzip body is megabytes at 45,000 shifts: a copy per attempt was the largest item of a
        // load's peak, issue #17).
        let body = &body.into();
        let (res, h) = self
            .exchange(
                Exchange::signed_url("PUT", "<upload>"),
                move |_| async move {
                    let mut req = match body {
                        UploadBody::Bytes(b) => self.http.put(url).body(b.clone()),
                        UploadBody::File(f, len) => self
                            .http
                            .put(url)
                            .header(reqwest::header::CONTENT_LENGTH, *len)
                            .body(reqwest::Body::wrap(FileBody {
                                file: f.clone(),
                                at: 0,
                                len: *len,
                            })),
                    };
                    for (k, v) in headers {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    Ok::<_, ApiError>(req)
                },
            )
            .await
            .map_err(|s| s.into_api_error("PUT", "<upload url>"))?;
        let r = res.map_err(|e| fail(None, without_url(&e)))?;
        let status = r.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        // reqwest follows a 307/308 only with a body it can send again, which a file's is not:
        // that upload is sent once more from memory, which it follows. Presigned upload URLs
        // answer the PUT themselves, so this is rare, and the body is held only for it.
        if let (307 | 308, UploadBody::File(f, len)) = (status, body) {
            drop(r);
            let bytes = read_whole(f, *len)
                .map_err(|e| fail(None, format!("cannot read the upload body back: {e}")))?;
            return Box::pin(self.put_upload(url, headers, UploadBody::Bytes(bytes))).await;
        }
        let bytes = read_body(r, self.limits.small).await.unwrap_or_default();
        let err = error_body(&bytes);
        Err(ApiError {
            code: clean(&err.code),
            context_id: if err.context_id.is_empty() {
                correlation(&h)
            } else {
                clean(&err.context_id)
            },
            ..fail(Some(status), clean(&err.message))
        })
    }

    /// Fetch a signed download URL (plain JSON, no bearer token), retrying transient failures.
    pub async fn download<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> std::result::Result<T, ApiError> {
        let fail = |status, message| ApiError::bare("GET", "<download url>", status, message);
        let (res, _) = self
            .exchange(
                Exchange::signed_url("GET", "<download>"),
                move |_| async move { Ok::<_, ApiError>(self.http.get(url)) },
            )
            .await
            .map_err(|s| s.into_api_error("GET", "<download url>"))?;
        let r = res.map_err(|e| fail(None, without_url(&e)))?;
        let status = r.status().as_u16();
        let bytes = read_body(r, self.limits.download)
            .await
            .map_err(|m| fail(Some(status), m))?;
        if !(200..300).contains(&status) {
            return Err(fail(Some(status), clean(&String::from_utf8_lossy(&bytes))));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| fail(Some(status), format!("unreadable download: {e}")))
    }

    /// HTTP requests sent so far (token requests included).
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn fetch_token(&self) -> Result<Token> {
        let url = self.endpoints.token_url();
        let exchange = Exchange {
            method: "POST",
            observed: "/oauth/token",
            kind: CallKind::Read,
            bearer: false,
            reached: Some(&self.reached_login),
        };
        let to = &url;
        let sent = self
            .exchange(exchange, move |_| async move {
                Ok::<_, std::convert::Infallible>(
                    self.http
                        .post(to)
                        .basic_auth(&self.creds.client_id, Some(self.creds.secret.expose()))
                        .form(&[("grant_type", "client_credentials")]),
                )
            })
            .await;
        let res = match sent {
            Ok((res, _)) => res,
            Err(Stopped::Unreachable(why)) => {
                return Err(Error::usage(
                    format!("cannot reach the Genesys Cloud login at {url}: {why}"),
                    Some(format!("check {} and the network", self.settings.login)),
                ));
            }
            Err(Stopped::Request(never)) => match never {},
            Err(Stopped::ReadBack(_)) => unreachable!("the token request is a read"),
        };
        let r = res.map_err(|e| {
            Error::failure(
                format!("token request to {url} failed: {}", without_url(&e)),
                Some("check ZD2GC_LOGIN_URL / GENESYSCLOUD_REGION and the network".into()),
            )
        })?;
        let status = r.status();
        if !status.is_success() {
            let bytes = read_body(r, self.limits.small).await.unwrap_or_default();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let said = ["error_description", "description", "error", "message"]
                .iter()
                .find_map(|k| v.get(*k).and_then(|x| x.as_str()).filter(|x| !x.is_empty()))
                .map(|x| format!(": {}", clean(x)))
                .unwrap_or_default();
            let what = if matches!(status.as_u16(), 400 | 401 | 403) {
                "refused"
            } else {
                "not answered"
            };
            return Err(Error::usage(
                format!(
                    "the token request to {url} for client {} was {what} (HTTP {}{said})",
                    self.creds.client_id,
                    status.as_u16()
                ),
                Some(format!(
                    "check {}, and that the OAuth client uses the client-credentials grant in the org at {}",
                    self.settings.credentials, self.endpoints.login
                )),
            ));
        }
        let bytes = read_body(r, self.limits.small)
            .await
            .map_err(|m| Error::failure(format!("unreadable token answer: {m}"), None))?;
        let t: model::TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| Error::failure(format!("unreadable token answer: {e}"), None))?;
        let life = Duration::from_secs(t.expires_in.max(1));
        Ok(Token {
            value: Secret(t.access_token),
            // Refresh a little before it expires.
            expires: Instant::now() + life.mul_f64(0.9),
        })
    }

    async fn bearer(&self, force: bool) -> Result<Secret> {
        let mut g = self.token.lock().await;
        if !force
            && let Some(t) = g.as_ref()
            && t.expires > Instant::now()
        {
            return Ok(t.value.clone());
        }
        let t = self.fetch_token().await?;
        let v = t.value.clone();
        *g = Some(t);
        Ok(v)
    }

    /// Wait for the gate's slot, and out any `Retry-After` pause a `429` answered meanwhile.
    async fn wait_for_gate(&self) {
        let Some(g) = self.current_gate() else {
            return;
        };
        let wait = g.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        // A `429` answered while this request waited: wait out its pause, then queue again.
        loop {
            let hold = g.hold();
            if hold.is_zero() {
                break;
            }
            tokio::time::sleep(hold).await;
            let wait = g.reserve();
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Send one API call with the retry rules; `None` body for a GET. Returns the status and body of
    /// the final answer (2xx or not); transport failures and exhausted retries are errors.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        kind: CallKind,
    ) -> std::result::Result<(u16, HeaderMap, bytes_body::Body), ApiError> {
        self.send_with(method, path, body, kind, &[]).await
    }

    /// [`Client::send`] with extra request headers (e.g. `If-Match`).
    pub(crate) async fn send_with<B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        kind: CallKind,
        extra: &[(&str, String)],
    ) -> std::result::Result<(u16, HeaderMap, bytes_body::Body), ApiError> {
        let url = format!("{}{}", self.endpoints.api, path);
        let method_name = method_name(&method);
        let fail = |status, message| ApiError::bare(method_name, path, status, message);
        let exchange = Exchange {
            method: method_name,
            observed: path.split('?').next().unwrap_or(path),
            kind,
            bearer: true,
            reached: Some(&self.reached_api),
        };
        let (method, url, fail) = (&method, &url, &fail);
        let (res, _) = self
            .exchange(exchange, move |fresh_token| async move {
                let token = self
                    .bearer(fresh_token)
                    .await
                    .map_err(|e| fail(None, e.to_string()))?;
                let mut req = self
                    .http
                    .request(method.clone(), url)
                    .bearer_auth(token.expose());
                for (k, v) in extra {
                    req = req.header(*k, v.as_str());
                }
                if let Some(b) = body {
                    req = req.json(b);
                }
                self.wait_for_gate().await;
                Ok(req)
            })
            .await
            .map_err(|s| s.into_api_error(method_name, path))?;
        let r = match res {
            Ok(r) => r,
            Err(e) => return Err(fail(None, without_url(&e))),
        };
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let limit = if (200..300).contains(&status) {
            self.limits.answer
        } else {
            self.limits.small
        };
        let bytes = read_body(r, limit).await.map_err(|m| ApiError {
            context_id: correlation(&headers),
            ..fail(Some(status), m)
        })?;
        Ok((status, headers, bytes_body::Body(bytes)))
    }

    /// A call whose 2xx answer is JSON `T`; a non-2xx answer becomes an [`ApiError`] with the
    /// API's message, code and correlation id.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        kind: CallKind,
    ) -> std::result::Result<T, ApiError> {
        self.call_with(method, path, body, kind, &[]).await
    }

    /// [`Client::call`] with extra request headers (e.g. `If-Match`).
    pub async fn call_with<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        kind: CallKind,
        extra: &[(&str, String)],
    ) -> std::result::Result<T, ApiError> {
        self.call_cid(method, path, body, kind, extra)
            .await
            .map(|(t, _)| t)
    }

    /// [`Client::call_with`], also returning the answer's correlation id (for a write whose
    /// outcome is learnt later: a failure is told with it).
    pub async fn call_cid<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        kind: CallKind,
        extra: &[(&str, String)],
    ) -> std::result::Result<(T, String), ApiError> {
        let method_name = method_name(&method);
        let (status, headers, body) = self.send_with(method, path, body, kind, extra).await?;
        if (200..300).contains(&status) {
            let cid = correlation(&headers);
            return serde_json::from_slice(&body.0)
                .map(|t| (t, cid))
                .map_err(|e| ApiError {
                    method: method_name,
                    path: path.to_string(),
                    status: Some(status),
                    message: format!("unreadable answer: {e}"),
                    code: String::new(),
                    context_id: correlation(&headers),
                    outcome_unknown: false,
                });
        }
        let err = error_body(&body.0);
        Err(ApiError {
            method: method_name,
            path: path.to_string(),
            status: Some(status),
            message: match (err.message.trim(), String::from_utf8_lossy(&body.0).trim()) {
                ("", "") => format!(
                    "{} (the answer had no body)",
                    reqwest::StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("no reason")
                ),
                ("", body) => clean(body),
                (m, _) => clean(m),
            },
            code: clean(&err.code),
            context_id: if err.context_id.is_empty() {
                correlation(&headers)
            } else {
                clean(&err.context_id)
            },
            outcome_unknown: false,
        })
    }
}

/// What one exchange sends and what its retries may do.
struct Exchange<'a> {
    method: &'static str,
    /// The path the gate observes (no query; `<upload>`, `<download>` for signed URLs).
    observed: &'a str,
    kind: CallKind,
    /// An API call with the bearer token: a `401` may ask for a fresh one, once.
    bearer: bool,
    /// Whether the host has ever answered: until it has, a failed connection is a wrong URL or a
    /// host that is down, and retrying cannot help. `None`: retry it as any transient failure.
    reached: Option<&'a std::sync::atomic::AtomicBool>,
}

impl Exchange<'_> {
    /// A signed upload or download URL: no token, retried as a read.
    fn signed_url(method: &'static str, observed: &'static str) -> Exchange<'static> {
        Exchange {
            method,
            observed,
            kind: CallKind::Read,
            bearer: false,
            reached: None,
        }
    }
}

/// Why an exchange ended without a final answer.
enum Stopped<E> {
    /// The request could not be built (no token).
    Request(E),
    /// A write failed transiently after it was sent: its outcome is unknown (the last reply).
    ReadBack(Reply),
    /// The host never answered: why (a wrong URL, or a host that is down).
    Unreachable(&'static str),
}

impl Stopped<ApiError> {
    fn into_api_error(self, method: &'static str, path: &str) -> ApiError {
        match self {
            Stopped::Request(e) => e,
            Stopped::ReadBack(reply) => ApiError {
                outcome_unknown: true,
                ..ApiError::bare(
                    method,
                    path,
                    match reply {
                        Reply::Status(s) => Some(s),
                        _ => None,
                    },
                    "the write's outcome is unknown; re-read before writing again".into(),
                )
            },
            Stopped::Unreachable(why) => ApiError::bare(method, path, None, why.to_string()),
        }
    }
}

/// A method's name in an [`ApiError`].
fn method_name(method: &reqwest::Method) -> &'static str {
    match *method {
        reqwest::Method::GET => "GET",
        reqwest::Method::POST => "POST",
        reqwest::Method::PUT => "PUT",
        reqwest::Method::DELETE => "DELETE",
        reqwest::Method::PATCH => "PATCH",
        _ => "REQUEST",
    }
}

/// An upload's body ([`Client::put_upload`]): bytes in memory, or the first `len` bytes of a file,
/// read from its start by each attempt, a chunk at a time, so that a body of megabytes is not held
/// in memory while it is sent.
#[derive(Debug, Clone)]
pub enum UploadBody {
    Bytes(bytes::Bytes),
    File(std::sync::Arc<std::fs::File>, u64),
}

impl From<Vec<u8>> for UploadBody {
    fn from(v: Vec<u8>) -> Self {
        UploadBody::Bytes(v.into())
    }
}

impl UploadBody {
    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            UploadBody::Bytes(b) => b.len() as u64,
            UploadBody::File(_, len) => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An attempt's view of an [`UploadBody::File`]: the file's bytes from `at` to `len`, read as
/// they are sent (a file the caller just wrote: its pages are in memory, so a read does not
/// wait on the disk).
struct FileBody {
    file: std::sync::Arc<std::fs::File>,
    at: u64,
    len: u64,
}

impl FileBody {
    const CHUNK: u64 = 64 * 1024;

    fn next(&mut self) -> std::io::Result<bytes::Bytes> {
        use std::io::{Read, Seek, SeekFrom};
        let n = (self.len - self.at).min(Self::CHUNK) as usize;
        let mut buf = vec![0u8; n];
        let mut f: &std::fs::File = &self.file;
        f.seek(SeekFrom::Start(self.at))?;
        f.read_exact(&mut buf)?;
        self.at += n as u64;
        Ok(buf.into())
    }
}

/// The first `len` bytes of `file`, in memory.
fn read_whole(file: &std::fs::File, len: u64) -> std::io::Result<bytes::Bytes> {
    use std::io::{Read, Seek, SeekFrom};
    let mut buf = vec![0u8; len as usize];
    let mut f = file;
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut buf)?;
    Ok(buf.into())
}

impl http_body::Body for FileBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<bytes::Bytes>, std::io::Error>>>
    {
        if self.at >= self.len {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Ready(Some(self.next().map(http_body::Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.at >= self.len
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.len - self.at)
    }
}

/// The answer body of [`Client::send`].
pub mod bytes_body {
    #[derive(Debug, Clone)]
    pub struct Body(pub Vec<u8>);
}

#[cfg(test)]
mod tests;
