//! The emulator's own surface under `/emulator/` (no token needed; it listens on loopback only):
//!
//! | call | effect |
//! |---|---|
//! | `POST /emulator/org` | replace the org with a fixture (docs/org-fixture.md) or a dump |
//! | `GET /emulator/state` | dump the whole state ([`Dump`](super::Dump)) |
//! | `GET /emulator/faults` | the fault knobs ([`Faults`](super::Faults)) |
//! | `PUT /emulator/faults` | set knobs; fields left out keep their value; re-seeds |
//! | `POST /emulator/edits` | a concurrent edit now: `{scheduleId, userId?, actor?}` |
//! | `POST /emulator/locks` | lock a schedule: `{scheduleId, ms}` |
//! | `GET /emulator/clock` | `{manual, elapsedMs, now}` |
//! | `POST /emulator/clock` | advance a manual clock: `{advanceMs}`; settles what became due |
//! | `GET /emulator/health` | `{"status":"ok"}` |

use super::faults::Faults;
use super::fixture::{Actor, Dump};
use super::state::{ApiError, State};
use super::wire::{Reply, Req};
use axum::http::Method;
use serde::Deserialize;
use std::time::Instant;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditRequest {
    schedule_id: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    actor: Option<Actor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LockRequest {
    schedule_id: String,
    #[serde(default = "default_lock_ms")]
    ms: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdvanceRequest {
    advance_ms: u64,
}

/// `{manual, elapsedMs, now}`: which clock, how far a manual one was advanced, its present.
fn clock_body(st: &State) -> serde_json::Value {
    serde_json::json!({
        "manual": st.clock.is_manual(),
        "elapsedMs": st.clock.elapsed().map(|d| d.as_millis() as u64),
        "now": genesys::model::format_instant(st.clock.wall()),
    })
}

fn default_lock_ms() -> u64 {
    500
}

pub(crate) fn handle(st: &mut State, req: &Req<'_>, rest: &[&str], now: Instant) -> Reply {
    let cid = req.cid;
    let m = req.method;
    let result: Result<Reply, ApiError> = match rest {
        ["health"] if m == Method::GET => {
            Ok(Reply::json(200, &serde_json::json!({"status": "ok"})))
        }
        ["org"] if m == Method::POST => req.json::<Dump>().and_then(|d| {
            st.load(&d).map_err(|errs| {
                ApiError::bad_request(format!("the org fixture is invalid: {}", errs.join("; ")))
            })?;
            Ok(Reply::json(
                200,
                &serde_json::json!({
                    "users": d.org.users.len(),
                    "businessUnits": d.org.business_units.len(),
                    "schedules": d.org.schedules.len(),
                    "shiftTrades": d.org.shift_trades.len(),
                    "timeOffRequests": d.org.time_off_requests.len(),
                }),
            ))
        }),
        ["state"] if m == Method::GET => Ok(Reply::json(200, &st.dump())),
        ["faults"] if m == Method::GET => Ok(Reply::json(200, &st.faults)),
        ["faults"] if m == Method::PUT => req.json::<serde_json::Value>().and_then(|patch| {
            let faults = merge_faults(&st.faults, patch)?;
            st.set_faults(faults);
            Ok(Reply::json(200, &st.faults))
        }),
        ["edits"] if m == Method::POST => req.json::<EditRequest>().and_then(|e| {
            let edit =
                st.concurrent_edit(&e.schedule_id, e.user_id.as_deref(), &[], e.actor, "admin")?;
            Ok(Reply::json(200, &edit))
        }),
        ["locks"] if m == Method::POST => req.json::<LockRequest>().and_then(|l| {
            st.lock(&l.schedule_id, l.ms, now)?;
            Ok(Reply::empty(204))
        }),
        ["clock"] if m == Method::GET => Ok(Reply::json(200, &clock_body(st))),
        ["clock"] if m == Method::POST => req.json::<AdvanceRequest>().and_then(|a| {
            st.advance_clock(std::time::Duration::from_millis(a.advance_ms))?;
            Ok(Reply::json(200, &clock_body(st)))
        }),
        _ => Err(ApiError::new(
            404,
            "not.found",
            "no such emulator admin call (see docs/emulator.md)",
        )),
    };
    result.unwrap_or_else(|e| Reply::error(e, cid))
}

/// The current knobs with the given fields replaced.
pub(crate) fn merge_faults(current: &Faults, patch: serde_json::Value) -> Result<Faults, ApiError> {
    let serde_json::Value::Object(patch) = patch else {
        return Err(ApiError::bad_request("the faults must be a JSON object"));
    };
    let mut v = serde_json::to_value(current).expect("faults serialize");
    let obj = v.as_object_mut().expect("faults are an object");
    for (k, val) in patch {
        if !obj.contains_key(&k) {
            return Err(ApiError::invalid(k.clone(), "unknown fault knob"));
        }
        obj.insert(k, val);
    }
    let f: Faults = serde_json::from_value(v)
        .map_err(|e| ApiError::bad_request(format!("invalid fault knobs: {e}")))?;
    f.validate().map_err(ApiError::bad_request)?;
    Ok(f)
}
