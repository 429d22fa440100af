//! Names, not ids, in the findings a person reads: a finding's message says "business unit
//! `Paris Contact Centre`" where the rule wrote the unit's id, and the id moves to the finding's
//! `business_unit_id` (`management_unit_id`) field of the JSON form. Names come from the mapping
//! tables (`business_units.csv`) and from what Genesys answered in an online `map` or `mappings
//! pull` (the `genesys_cache`); a unit with no known name stays its id.

use super::Finding;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;

/// Business and management unit id → name.
#[derive(Debug, Clone, Default)]
pub struct UnitNames {
    pub business_units: HashMap<String, String>,
    pub management_units: HashMap<String, String>,
}

impl UnitNames {
    /// The names known to the migration in `dir` (mapping tables in `mappings`), best effort.
    pub fn load(dir: &Path, mappings: &Path) -> UnitNames {
        let mut n = UnitNames::default();
        if let Ok(state) = crate::store::open_state(dir) {
            n.add_cache(&state);
        }
        // The tables' names win: they are what the engineer wrote and reads elsewhere.
        let mut diags = Vec::new();
        if let Ok(t) = crate::map::tables::load(mappings, &mut diags) {
            for b in t.business_units.into_iter().filter(|b| !b.name.is_empty()) {
                n.business_units.insert(b.business_unit_id, b.name);
            }
        }
        n
    }

    /// The names in the `genesys_cache`: business units (listed, or read one by one), management
    /// units (listed per business unit, or read one by one).
    fn add_cache(&mut self, state: &Connection) {
        #[derive(serde::Deserialize)]
        struct Named {
            id: String,
            #[serde(default)]
            name: String,
        }
        let Ok(rows) = crate::store::genesys_cache::entries(
            state,
            &[
                "business-unit",
                "business-units",
                "management-unit",
                "management-units",
            ],
        ) else {
            return;
        };
        for (kind, _, value) in rows {
            let list: Vec<Named> = if kind.ends_with('s') {
                serde_json::from_str(&value).unwrap_or_default()
            } else {
                serde_json::from_str::<Option<Named>>(&value)
                    .ok()
                    .flatten()
                    .into_iter()
                    .collect()
            };
            let into = if kind.starts_with("business") {
                &mut self.business_units
            } else {
                &mut self.management_units
            };
            for e in list.into_iter().filter(|e| !e.name.is_empty()) {
                into.insert(e.id, e.name);
            }
        }
    }
}

/// Every "business unit `id`" and "management unit `id`" in the findings' messages and help
/// replaced by the unit's name when it is known; the (first) id named goes to the finding's
/// `business_unit_id` / `management_unit_id` either way.
pub fn name_units(findings: &mut [Finding], names: &UnitNames) {
    for f in findings {
        for (label, known, field) in [
            (
                "business unit `",
                &names.business_units,
                &mut f.business_unit_id,
            ),
            (
                "management unit `",
                &names.management_units,
                &mut f.management_unit_id,
            ),
        ] {
            for text in [&mut f.message, &mut f.help] {
                let (named, first) = replace_ids(text, label, known);
                *text = named;
                if field.is_none() {
                    *field = first;
                }
            }
        }
    }
}

/// `text` with each `` label`id` `` whose id has a name written `` label`name` ``, and the first
/// id named (with a name or not).
fn replace_ids(
    text: &str,
    label: &str,
    names: &HashMap<String, String>,
) -> (String, Option<String>) {
    let mut out = String::with_capacity(text.len());
    let mut first = None;
    let mut rest = text;
    while let Some(at) = rest.find(label) {
        let (head, tail) = rest.split_at(at + label.len());
        out.push_str(head);
        let Some(end) = tail.find('`') else {
            rest = tail;
            break;
        };
        let id = &tail[..end];
        out.push_str(names.get(id).map_or(id, String::as_str));
        first.get_or_insert_with(|| id.to_string());
        rest = &tail[end..];
    }
    out.push_str(rest);
    (out, first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;

    #[test]
    fn unit_ids_in_messages_become_names_and_the_ids_stay_in_fields() {
        let bu = "5eac3200-a43b-4440-a8a1-a35668257610";
        let mu = "9f0e1d2c-0000-4000-8000-000000000001";
        let names = UnitNames {
            business_units: [(bu.to_string(), "Paris Contact Centre".to_string())].into(),
            management_units: [(mu.to_string(), "Paris Sales".to_string())].into(),
        };
        let mut r: Vec<Finding> = Vec::new();
        r.push(Finding::new(
            "mapping-unknown-reference",
            Severity::Error,
            format!(
                "management unit `{mu}` is not a management unit of business unit `{bu}` in Genesys"
            ),
        ));
        r.push(Finding::new(
            "unmapped-activity",
            Severity::Error,
            "task `Webinar` has no Genesys activity code in business unit `b-unknown`",
        ));
        name_units(&mut r, &names);
        assert_eq!(
            r[0].message,
            "management unit `Paris Sales` is not a management unit of business unit `Paris Contact Centre` in Genesys"
        );
        assert_eq!(r[0].business_unit_id.as_deref(), Some(bu));
        assert_eq!(r[0].management_unit_id.as_deref(), Some(mu));
        // No name known: the message says the id.
        assert!(r[1].message.contains("business unit `b-unknown`"));
        assert_eq!(r[1].business_unit_id.as_deref(), Some("b-unknown"));
        let j = serde_json::to_value(&r[0]).unwrap();
        assert_eq!(j["business_unit_id"], bu);
        assert_eq!(j["management_unit_id"], mu);
        let mut none: Vec<Finding> = Vec::new();
        none.push(Finding::new("x", Severity::Info, "no unit here"));
        name_units(&mut none, &names);
        assert!(
            serde_json::to_value(&none[0])
                .unwrap()
                .get("business_unit_id")
                .is_none()
        );
    }
}
