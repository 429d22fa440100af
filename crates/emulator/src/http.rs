//! The HTTP side of the emulator: one handler that routes every request by its path, and the order in which the contract's rules
//! apply to an API call: latency → bearer token (`401`) → per-client rate limit (`429`) → injected
//! `502`/`503` → the call itself → injected `504` (after it was applied) → dropped connection (after
//! it was applied).
//!
//! Every response carries `ININ-Correlation-Id`; every error body carries the same value as
//! `contextId`.

use super::admin;
use super::listener::Conn;
use super::state::{ApiError, State};
use super::wire::{Reply, Req, base64_decode, ok_or_error, parse_query};
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{HeaderValue, Method, Response, StatusCode, header};
use genesys::model as m;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What the server shares between requests.
pub(crate) struct App {
    pub state: Mutex<State>,
    correlation: AtomicU64,
    correlation_seed: u64,
}

impl App {
    pub(crate) fn new(state: State) -> App {
        let seed = state.faults.seed;
        App {
            state: Mutex::new(state),
            correlation: AtomicU64::new(0),
            correlation_seed: seed ^ 0xC0AA_E1A7,
        }
    }

    /// The state, even if a handler panicked while holding it (a bug; the emulator keeps serving).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn correlation_id(&self) -> String {
        let n = self.correlation.fetch_add(1, Ordering::Relaxed);
        super::faults::Rng::new(
            self.correlation_seed
                .wrapping_add(n.wrapping_mul(0x9E37_79B9)),
        )
        .uuid()
    }
}

/// The router: one handler for every path.
pub(crate) fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(app)
}

// ------------------------------------------------------------------------ the handler

async fn handle(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    req: axum::extract::Request,
) -> Response<Body> {
    let cid = app.correlation_id();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 512 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return finish(
                Reply::error(
                    ApiError::bad_request("the request body could not be read"),
                    &cid,
                ),
                &cid,
            );
        }
    };
    let path = parts.uri.path();
    let is_api = path.starts_with("/api/v2/") || path == "/oauth/token";
    if is_api {
        let latency = app.lock().faults.latency_ms;
        if latency > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
        }
    }
    let req = Req {
        method: &parts.method,
        segs: path.trim_matches('/').split('/').collect(),
        query: parse_query(parts.uri.query()),
        headers: &parts.headers,
        body: &body,
        cid: &cid,
    };
    let (reply, kill) = {
        let mut st = app.lock();
        let now = st.clock.now();
        st.settle(now);
        dispatch(&mut st, &req, now)
    };
    if kill {
        conn.kill();
    }
    finish(reply, &cid)
}

fn finish(reply: Reply, cid: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(reply.body));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    for (k, v) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(k, v);
        }
    }
    h.insert(
        "inin-correlation-id",
        HeaderValue::from_str(cid).expect("uuid is a valid header"),
    );
    resp
}

/// Route one request; the flag says whether to drop the connection instead of answering.
fn dispatch(st: &mut State, req: &Req<'_>, now: Instant) -> (Reply, bool) {
    let cid = req.cid;
    match (req.method, req.segs.as_slice()) {
        (&Method::POST, ["oauth", "token"]) => (token(st, req), false),
        (&Method::PUT, ["upload", key]) => {
            let r = st
                .put_upload(key, req.headers, req.body)
                .map(|()| Reply::empty(200));
            (r.unwrap_or_else(|e| Reply::error(e, cid)), false)
        }
        (&Method::GET, ["download", key]) => {
            if req.headers.contains_key(header::AUTHORIZATION) {
                return (
                    Reply::error(
                        ApiError::bad_request(
                            "the download URL is signed: send no Authorization header",
                        ),
                        cid,
                    ),
                    false,
                );
            }
            match st.download(key) {
                Some(body) => (
                    Reply {
                        status: 200,
                        headers: vec![(header::CONTENT_TYPE, "application/json".into())],
                        body,
                    },
                    false,
                ),
                None => (
                    Reply::error(
                        ApiError::new(404, "not.found", format!("no download {key}")),
                        cid,
                    ),
                    false,
                ),
            }
        }
        (_, ["emulator", rest @ ..]) => (admin::handle(st, req, rest, now), false),
        (_, ["api", "v2", rest @ ..]) => api(st, req, rest, now),
        _ => (
            Reply::error(
                ApiError::new(
                    404,
                    "not.found",
                    "The requested operation failed with status 404",
                ),
                cid,
            ),
            false,
        ),
    }
}

fn token(st: &mut State, req: &Req<'_>) -> Reply {
    let oauth_error = |status: u16, error: &str, text: &str| {
        Reply::json(
            status,
            &m::OAuthError {
                error: error.into(),
                description: text.into(),
                error_description: text.into(),
            },
        )
    };
    let form = parse_query(std::str::from_utf8(req.body).ok());
    if !form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let creds = req
        .header(header::AUTHORIZATION)
        .and_then(|h| {
            h.strip_prefix("Basic ")
                .or_else(|| h.strip_prefix("basic "))
        })
        .and_then(base64_decode)
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = creds.as_deref().and_then(|c| c.split_once(':')) else {
        return oauth_error(
            401,
            "invalid_client",
            "client credentials are required as HTTP Basic authorization",
        );
    };
    let now = st.clock.now();
    match st.issue_token(id, secret, now) {
        Some(t) => Reply::json(200, &t),
        None => oauth_error(
            401,
            "invalid_client",
            "client not found or secret does not match",
        ),
    }
}

fn api(st: &mut State, req: &Req<'_>, rest: &[&str], now: Instant) -> (Reply, bool) {
    let cid = req.cid;
    let client = match st.authenticate(req.header(header::AUTHORIZATION), now) {
        Ok(c) => c,
        Err(e) => return (Reply::error(e, cid), false),
    };
    if let Err(e) = st.rate_limit(&client, now) {
        return (Reply::error(e, cid), false);
    }
    let (error_rate, drop_rate) = (st.faults.error_rate, st.faults.drop_rate);
    let rng = st.rng();
    let fail = rng.chance(error_rate);
    let which = rng.below(3);
    let drop = rng.chance(drop_rate);
    if fail && which < 2 {
        let (status, code, msg) = if which == 0 {
            (
                502,
                "bad.gateway",
                "The upstream service answered with an invalid response",
            )
        } else {
            (
                503,
                "service.unavailable",
                "The service is currently unavailable",
            )
        };
        return (Reply::error(ApiError::new(status, code, msg), cid), false);
    }
    let reply = route(st, req, rest, now);
    if fail {
        return (
            Reply::error(
                ApiError::new(
                    504,
                    "request.timeout",
                    "The request timed out at the gateway",
                ),
                cid,
            ),
            drop,
        );
    }
    (reply, drop)
}

fn route(st: &mut State, req: &Req<'_>, rest: &[&str], now: Instant) -> Reply {
    let cid = req.cid;
    let if_match = req.header(header::IF_MATCH);
    let m = req.method;
    match rest {
        ["users", "search"] if m == Method::POST => {
            ok_or_error(req.json().and_then(|r| st.users_search(&r)), cid)
        }
        ["workforcemanagement", "agents", uid, "managementunit"] if m == Method::GET => {
            ok_or_error(st.agent_management_unit(uid), cid)
        }
        ["workforcemanagement", "managementunits", mu] if m == Method::GET => {
            ok_or_error(st.management_unit(mu), cid)
        }
        ["workforcemanagement", "managementunits", mu, "users"] if m == Method::GET => {
            ok_or_error(st.management_unit_users(mu), cid)
        }
        ["workforcemanagement", "businessunits"] if m == Method::GET => {
            Reply::json(200, &st.business_units())
        }
        ["workforcemanagement", "businessunits", bu] if m == Method::GET => ok_or_error(
            st.business_unit(bu, req.query_has("expand", "settings")),
            cid,
        ),
        [
            "workforcemanagement",
            "businessunits",
            bu,
            "managementunits",
        ] if m == Method::GET => ok_or_error(st.management_units(bu), cid),
        ["workforcemanagement", "businessunits", bu, "activitycodes"] if m == Method::GET => {
            ok_or_error(st.activity_codes(bu), cid)
        }
        [
            "workforcemanagement",
            "businessunits",
            bu,
            "weeks",
            wk,
            "schedules",
            tail @ ..,
        ] => schedules(st, req, bu, wk, tail, if_match, now),
        [
            "workforcemanagement",
            "managementunits",
            mu,
            "timeoffrequests",
        ] if m == Method::POST => ok_or_error(
            req.json::<m::CreateAdminTimeOffRequest>()
                .and_then(|b| st.create_time_off(mu, &b)),
            cid,
        ),
        [
            "workforcemanagement",
            "managementunits",
            mu,
            "timeoffrequests",
            "query",
        ] if m == Method::POST => ok_or_error(
            req.json::<m::TimeOffRequestQueryBody>()
                .and_then(|b| st.query_time_off(mu, &b)),
            cid,
        ),
        [
            "workforcemanagement",
            "managementunits",
            mu,
            "users",
            uid,
            "timeoffrequests",
        ] if m == Method::GET => ok_or_error(st.user_time_off(mu, uid), cid),
        [
            "workforcemanagement",
            "managementunits",
            mu,
            "users",
            uid,
            "timeoffrequests",
            id,
        ] if m == Method::GET => ok_or_error(st.get_time_off(mu, uid, id), cid),
        [
            "workforcemanagement",
            "managementunits",
            mu,
            "users",
            uid,
            "timeoffrequests",
            id,
        ] if m == Method::PATCH => ok_or_error(
            req.json::<m::AdminTimeOffRequestPatch>()
                .and_then(|b| st.patch_time_off(mu, uid, id, &b)),
            cid,
        ),
        [
            "workforcemanagement",
            "managementunits",
            mu,
            "weeks",
            wk,
            "shifttrades",
        ] if m == Method::GET => ok_or_error(
            // `evaluateMatches` defaults to true, as in the real API.
            st.shift_trades(mu, wk, !req.query_has("evaluateMatches", "false")),
            cid,
        ),
        _ => Reply::error(
            ApiError::new(
                404,
                "not.found",
                "The requested operation failed with status 404",
            ),
            cid,
        ),
    }
}

fn schedules(
    st: &mut State,
    req: &Req<'_>,
    bu: &str,
    wk: &str,
    tail: &[&str],
    if_match: Option<&str>,
    now: Instant,
) -> Reply {
    let cid = req.cid;
    let m = req.method;
    let accepted = |r: Result<super::state::Accepted, ApiError>| match r {
        Ok(a) => Reply::json(a.status, &a.body),
        Err(e) => Reply::error(e, cid),
    };
    match tail {
        [] if m == Method::GET => ok_or_error(st.week_schedules(bu, wk), cid),
        [] if m == Method::POST => ok_or_error(
            req.json::<m::BuCreateBlankScheduleRequest>()
                .and_then(|b| st.create_blank(bu, wk, &b)),
            cid,
        ),
        ["import", "uploadurl"] if m == Method::POST => ok_or_error(
            req.json::<m::UploadUrlRequestBody>()
                .and_then(|b| st.import_upload_url(bu, wk, b.content_length_bytes)),
            cid,
        ),
        ["import"] if m == Method::POST => accepted(
            req.json::<m::ProcessUploadRequest>()
                .and_then(|b| st.process_import(bu, wk, &b.upload_key, now)),
        ),
        [sid] if m == Method::GET => match st.schedule(bu, wk, sid) {
            Ok(s) => {
                let v = s.metadata.version;
                Reply::json(200, &s).with_etag(v)
            }
            Err(e) => Reply::error(e, cid),
        },
        [sid] if m == Method::DELETE => accepted(st.delete_schedule(bu, wk, sid, if_match, now)),
        [sid, "agentschedules", "query"] if m == Method::POST => ok_or_error(
            req.json::<m::BuQueryAgentSchedulesRequest>().and_then(|b| {
                st.query_agent_schedules(bu, wk, sid, &b, req.query_flag("forceDownloadService"))
            }),
            cid,
        ),
        [sid, "update", "uploadurl"] if m == Method::POST => ok_or_error(
            req.json::<m::UploadUrlRequestBody>().and_then(|b| {
                st.update_upload_url(bu, wk, sid, if_match, b.content_length_bytes, now)
            }),
            cid,
        ),
        [sid, "update"] if m == Method::POST => accepted(
            req.json::<m::ProcessUploadRequest>()
                .and_then(|b| st.process_update(bu, wk, sid, if_match, &b.upload_key, now)),
        ),
        _ => Reply::error(
            ApiError::new(
                404,
                "not.found",
                "The requested operation failed with status 404",
            ),
            cid,
        ),
    }
}
