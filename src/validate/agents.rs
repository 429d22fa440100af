//! Agent rows (their zone chain, `unknown-timezone` on the `timezone` field) and the findings only
//! `map` can make: `unmapped-agent`, `ambiguous-agent-mapping` and `unmapped-activity` (read from
//! `map_findings`, one per agent / per task as map records them).

use super::{AgentInfo, Env};
use crate::config::Severity;
use crate::error::Result;
use crate::report::Finding;
use crate::timeval::zone::{ZoneSel, zone_name};
use rusqlite::Connection;
use std::collections::HashMap;

/// Read the agents (the first row of an id wins) and report unknown zone names on them.
pub fn check_agents(env: &mut Env<'_>, snap: &Connection) -> Result<()> {
    let mut st = snap.prepare(
        "SELECT file_id, line, agent_id, timezone, location, deactivated FROM agents ORDER BY file_id, line",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        env.records += 1;
        let file_id: i64 = r.get(0)?;
        let line: i64 = r.get(1)?;
        let id: String = r.get(2)?;
        let tz: Option<String> = r.get(3)?;
        let location: Option<String> = r.get(4)?;
        let deactivated = r.get::<_, Option<i64>>(5)?.unwrap_or(0) != 0;
        let own = env.zones.sel(tz.as_deref());
        if own == ZoneSel::Unknown {
            let mut f = Finding::new(
                "unknown-timezone",
                Severity::Error,
                format!(
                    "agent `{id}`'s zone `{}` is not in the tz database; none of the agent's local times can be resolved",
                    tz.as_deref().unwrap_or_default().trim()
                ),
            );
            f.file = env.file(file_id);
            f.line = Some(line as u64);
            f.record_id = Some(id.clone());
            f.field = Some("timezone".into());
            f.value = tz.clone();
            f.help = "use an IANA zone name such as `Europe/Paris` or `America/Chicago`, or leave it empty for the location's zone".into();
            env.sink.push(f);
        }
        if env.agents.contains_key(&id) {
            continue;
        }
        // The agent's part of the zone chain: agent → location → default.
        let loc = location
            .as_deref()
            .and_then(|l| env.location_tz.get(l.trim()))
            .cloned();
        let name = zone_name(
            None,
            tz.as_deref(),
            loc.as_deref(),
            env.cfg.default_timezone.as_deref(),
        );
        let zone = env.zones.sel(name.map(|z| z.0));
        std::sync::Arc::make_mut(&mut env.agents).insert_first(
            id,
            AgentInfo {
                zone,
                deactivated,
                file_id,
                line,
            },
        );
    }
    Ok(())
}

/// map's agent and activity findings, and every finding map made about a time-off request (the
/// time-off rules, and the zone, DST and sub-minute rules on its times: map is the one place that
/// resolves a request, see `map::time_off`).
pub fn map_findings(env: &mut Env<'_>, state: &Connection) -> Result<()> {
    let time_off_files: Vec<String> = env
        .files
        .values()
        .filter(|f| {
            let stem = f.rsplit('/').next().unwrap_or(f);
            stem.starts_with("time_off.")
        })
        .cloned()
        .collect();
    for r in crate::store::findings::for_validate(state, &time_off_files)? {
        let rule = r.rule;
        let time_off = rule.contains("time-off")
            || r.file.as_ref().is_some_and(|f| time_off_files.contains(f));
        let severity = match r.severity.as_str() {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            _ => Severity::Error,
        };
        let mut f = Finding::new(&rule, Severity::Error, r.message);
        if time_off {
            f.severity = severity;
            if let Some(c) = &r.candidates {
                f.candidates = Some(serde_json::from_str(c).unwrap_or_default());
            } else if rule.starts_with("dst-") {
                f.candidates = Some(Vec::new());
            }
        }
        f.file = r.file;
        f.line = r.line.map(|l| l as u64);
        f.record_id = r.record_id;
        f.field = r.field;
        f.value = r.value;
        f.timezone = r.timezone;
        if rule == "ambiguous-agent-mapping"
            && let Some(c) = &r.candidates
        {
            // Genesys users the agent matches: kept in the message's help for the reader.
            let users: Vec<String> = serde_json::from_str(c).unwrap_or_default();
            if !users.is_empty() {
                f.message = format!("{} (candidates: {})", f.message, users.join(", "));
            }
        }
        f.help = r.help.unwrap_or_default();
        if time_off {
            // map applied the configured severity, or a DST policy decided it.
            env.sink.push_as(f);
        } else {
            env.sink.push(f);
        }
    }
    Ok(())
}

/// The mapping tables' own findings (`mapping-invalid-value`, `mapping-unknown-reference`), at the
/// table's file (`mappings/<table>.csv`) and line. A business unit Genesys answered for in an
/// online `map` (the `genesys_cache`) is known even when the table lacks it.
pub fn table_findings(
    env: &mut Env<'_>,
    mappings: &std::path::Path,
    tables: &crate::map::tables::Tables,
    state: &Connection,
) -> Result<()> {
    /// Only the id of a cached entity is needed.
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let mut online: std::collections::HashSet<String> = Default::default();
    let mut time_off_codes: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    let mut codes: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    let mut mus: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    let mut missing_mus: std::collections::HashSet<String> = Default::default();
    {
        let rows = crate::store::genesys_cache::entries(
            state,
            &[
                "business-unit",
                "business-units",
                "activity-codes",
                "management-unit",
                "management-units",
            ],
        )?;
        for (kind, key, value) in rows {
            match kind.as_str() {
                "business-unit" => {
                    online.insert(key);
                }
                "business-units" => {
                    if let Ok(list) = serde_json::from_str::<Vec<Id>>(&value) {
                        online.extend(list.into_iter().map(|b| b.id));
                    }
                }
                // `GET /managementunits/{id}` answered 404 (cached as null).
                "management-unit" => {
                    if value.trim() == "null" {
                        missing_mus.insert(key);
                    }
                }
                "management-units" => {
                    if let Ok(list) = serde_json::from_str::<Vec<Id>>(&value) {
                        mus.insert(key, list.into_iter().map(|m| m.id).collect());
                    }
                }
                _ => {
                    if let Ok(list) = serde_json::from_str::<
                        Vec<crate::genesys::model::BusinessUnitActivityCode>,
                    >(&value)
                    {
                        time_off_codes.insert(
                            key.clone(),
                            list.iter()
                                .filter(|c| c.active && c.category == "TimeOff")
                                .map(|c| c.id.clone())
                                .collect(),
                        );
                    }
                    if let Ok(list) = serde_json::from_str::<Vec<Id>>(&value) {
                        codes.insert(key, list.into_iter().map(|c| c.id).collect());
                    }
                }
            }
        }
    }
    let mut refs =
        crate::map::tables::unknown_references(mappings, tables, &|bu| online.contains(bu));
    refs.extend(crate::map::tables::unknown_activity_codes(
        mappings, tables, &codes,
    ));
    refs.extend(crate::map::tables::unknown_time_off_codes(
        mappings,
        tables,
        &time_off_codes,
    ));
    refs.extend(crate::map::tables::unknown_management_units(
        mappings,
        tables,
        &missing_mus,
        &mus,
    ));
    for d in tables.findings.iter().chain(refs.iter()) {
        let mut f = Finding::new(&d.code, Severity::Error, d.message.clone());
        f.file = Some(if d.file.starts_with("mappings/") {
            d.file.clone()
        } else {
            format!("mappings/{}", d.file)
        });
        f.line = Some(d.line);
        if let (Some(t), Some((s, l, label))) = (&d.text, &d.span) {
            f.field = Some(label.clone());
            f.value = t.get(*s..s + l).map(str::to_string);
        }
        f.text = d.text.clone();
        f.help = d.help.clone().unwrap_or_default();
        env.sink.push(f);
    }
    Ok(())
}
