//! `map --online`: fill what the mapping tables leave blank from Genesys Cloud (users by e-mail, an
//! agent's management and business unit, business-unit settings, activity codes), caching every
//! answer in `genesys_cache` so that a re-run makes no repeated calls (`--refresh` reads again).
//!
//! Ambiguity is reported, not resolved: an e-mail search with several users makes the agent
//! ambiguous.

use super::agents::{AgentIssue, AgentRes, ExportAgent};
use crate::client::{ApiError, Client};
use crate::error::{Error, Result};
use crate::genesys::model;
use rusqlite::Connection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::future::Future;

/// Reads through the cache.
pub struct Online<'a> {
    pub client: &'a Client,
    conn: &'a Connection,
    rt: tokio::runtime::Runtime,
    run_id: i64,
    refresh: bool,
    /// Answers taken from the cache.
    pub hits: u64,
    /// Calls made (answers not in the cache).
    pub fetched: u64,
}

impl<'a> Online<'a> {
    pub fn new(
        client: &'a Client,
        conn: &'a Connection,
        run_id: i64,
        refresh: bool,
    ) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::failure(format!("cannot start the async runtime: {e}"), None))?;
        Ok(Online {
            client,
            conn,
            rt,
            run_id,
            refresh,
            hits: 0,
            fetched: 0,
        })
    }

    /// The cached answer of (`kind`, `key`), else `fetch`'s, cached. With `refresh`, an answer
    /// cached by an earlier run is read again (once per run).
    pub fn cached<T, F, Fut>(&mut self, kind: &str, key: &str, fetch: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&'a Client) -> Fut,
        Fut: Future<Output = std::result::Result<T, ApiError>>,
    {
        let row = crate::store::genesys_cache::get(self.conn, kind, key)?;
        if let Some((v, run)) = &row
            && (!self.refresh || *run == self.run_id)
            && let Ok(t) = serde_json::from_str(v)
        {
            self.hits += 1;
            return Ok(t);
        }
        let t = self.rt.block_on(fetch(self.client)).map_err(Error::from)?;
        self.fetched += 1;
        let v = serde_json::to_string(&t).expect("model serializes");
        // A refreshed answer that differs from the one an earlier map used makes that map stale
        // (trades only link the crosswalk: they do not count).
        if kind != "shift-trades"
            && let Some((old, _)) = &row
            && *old != v
        {
            super::current::bump_cache_generation(self.conn)?;
        }
        crate::store::genesys_cache::put(self.conn, kind, key, &v, self.run_id)?;
        Ok(t)
    }

    /// The Genesys users whose e-mail is `email` (trimmed, lower-cased), deleted ones left out,
    /// compared as the contract says (the search is byte-exact; the answer is checked again here).
    pub fn users_by_email(&mut self, email: &str) -> Result<Vec<model::User>> {
        let email = email.trim().to_lowercase();
        let e = email.as_str();
        let users: Vec<model::User> =
            self.cached(
                "users-by-email",
                e,
                |c| async move { c.users_by_email(e).await },
            )?;
        let mut seen = BTreeSet::new();
        Ok(users
            .into_iter()
            .filter(|u| {
                u.email
                    .as_deref()
                    .map(|x| x.trim().to_lowercase())
                    .as_deref()
                    == Some(e)
                    && u.state.as_deref() != Some("deleted")
            })
            .filter(|u| seen.insert(u.id.clone()))
            .collect())
    }

    /// A management unit (with its business unit).
    pub fn management_unit(&mut self, mu: &str) -> Result<Option<model::ManagementUnit>> {
        self.cached("management-unit", mu, |c| async move {
            c.management_unit(mu).await
        })
    }

    /// A business unit's management units.
    pub fn management_units(&mut self, bu: &str) -> Result<Vec<model::NamedEntity>> {
        self.cached("management-units", bu, |c| async move {
            c.management_units(bu).await
        })
    }

    /// The users of a management unit.
    pub fn management_unit_users(&mut self, mu: &str) -> Result<Vec<model::UserReference>> {
        self.cached("management-unit-users", mu, |c| async move {
            c.management_unit_users(mu).await
        })
    }

    /// Every business unit of the org.
    pub fn business_units(&mut self) -> Result<Vec<model::NamedEntity>> {
        self.cached(
            "business-units",
            "",
            |c| async move { c.business_units().await },
        )
    }

    /// A user's management unit and that unit's business unit: from the agent's management-unit
    /// answer, or, when that answer has no `businessUnit` (Genesys fills it only on expand), from
    /// `GET /managementunits/{muId}`. `None`: the user is in no management unit.
    pub fn agent_units(&mut self, user: &str) -> Result<Option<(String, Option<String>)>> {
        let mu: Option<model::AgentManagementUnitReference> =
            self.cached("agent-management-unit", user, |c| async move {
                c.agent_management_unit(user).await
            })?;
        let Some(mu) = mu else { return Ok(None) };
        let mu_id = mu.management_unit.id;
        let bu = match mu.business_unit {
            Some(b) => Some(b.id),
            None => self
                .management_unit(&mu_id)?
                .and_then(|m| m.business_unit)
                .map(|b| b.id),
        };
        Ok(Some((mu_id, bu)))
    }

    /// Find users by e-mail and units by user, for the agents that own shifts or trades.
    pub fn fill_agents(&mut self, agents: &[ExportAgent], res: &mut [AgentRes]) -> Result<()> {
        for (a, r) in agents.iter().zip(res.iter_mut()) {
            if !a.owns || r.issue.is_some() {
                continue;
            }
            if r.user_id.is_none()
                && let Some(email) = &a.email
            {
                let mut ids: Vec<String> = self
                    .users_by_email(email)?
                    .into_iter()
                    .map(|u| u.id)
                    .collect();
                ids.sort();
                match ids.len() {
                    0 => {}
                    1 => {
                        r.user_id = ids.into_iter().next();
                        r.resolved_by = "online:email";
                    }
                    _ => {
                        r.issue = Some(AgentIssue::Ambiguous {
                            message: format!(
                                "the e-mail <{email}> of agent `{}` finds {} Genesys Cloud users",
                                a.agent_id,
                                ids.len()
                            ),
                            candidates: ids,
                        });
                        continue;
                    }
                }
            }
            // A management unit from the table without its business unit: that unit's.
            if r.business_unit_id.is_none()
                && let Some(mu) = r.management_unit_id.clone()
            {
                r.business_unit_id = self
                    .management_unit(&mu)?
                    .and_then(|m| m.business_unit)
                    .map(|b| b.id.into());
            }
            if let Some(user) = r.user_id.clone()
                && (r.management_unit_id.is_none() || r.business_unit_id.is_none())
                && let Some((mu, bu)) = self.agent_units(&user)?
            {
                if r.management_unit_id.is_none() {
                    r.management_unit_id = Some(mu.into());
                }
                if r.business_unit_id.is_none() {
                    r.business_unit_id = bu.map(Into::into);
                }
            }
        }
        Ok(())
    }

    /// A business unit's settings.
    pub fn business_unit(&mut self, bu: &str) -> Result<model::BusinessUnitResponse> {
        self.cached(
            "business-unit",
            bu,
            |c| async move { c.business_unit(bu).await },
        )
    }

    /// A business unit's activity codes.
    pub fn activity_codes(&mut self, bu: &str) -> Result<Vec<model::BusinessUnitActivityCode>> {
        self.cached("activity-codes", bu, |c| async move {
            c.activity_codes(bu).await
        })
    }

    /// Link legacy trades to the Genesys trades that match them: the same initiating (requester)
    /// and receiving (recipient) users, and the initiating shift starting at the requester shift's
    /// start. Looks in the requester's management unit, in the week of the requester's shift.
    /// Returns the crosswalk rows changed.
    pub fn link_trades(&mut self, run_id: i64) -> Result<u64> {
        let rows = crate::store::crosswalk::trades_to_link(self.conn)?;
        let mut changed = 0;
        for (trade_id, req_user, rec_user, start, week, mu) in rows {
            let found = self.week_trades(&mu, &week)?;
            let hit: Vec<&model::ShiftTradeResponse> = found
                .iter()
                .filter(|g| {
                    g.initiating_user.id == req_user
                        && g.receiving_user.as_ref().map(|u| &u.id) == rec_user.as_ref()
                        && g.initiating_shift_start
                            .as_deref()
                            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                            .is_some_and(|d| d.timestamp() == start)
                })
                .collect();
            // Only an unambiguous match is linked.
            if let [g] = hit.as_slice() {
                changed +=
                    crate::store::crosswalk::link_trade(self.conn, &trade_id, &g.id, run_id)?;
            }
        }
        Ok(changed)
    }

    /// The Genesys trades of a management unit's week.
    pub fn week_trades(&mut self, mu: &str, week: &str) -> Result<Vec<model::ShiftTradeResponse>> {
        let key = format!("{mu}/{week}");
        self.cached("shift-trades", &key, |c| async move {
            c.week_shift_trades(mu, week).await
        })
    }
}
