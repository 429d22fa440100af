//! The loader's own view of a shift: what is compared in a three-way merge and what is written.
//! Instants are UTC seconds; activities are kept sorted, so two equal shifts compare equal however
//! Genesys or the export ordered them.

use crate::genesys::model as m;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

/// A text that many shifts repeat (an activity code id, a description, a user id): one shared
/// copy, given by [`label`].
pub type Label = Arc<str>;

/// The one copy of `s` (interned for the life of the process: the activity codes, descriptions
/// and users of an org are few, their shifts many). A week in flight holds two pointers per
/// activity instead of two strings.
pub fn label(s: &str) -> Label {
    static LABELS: LazyLock<Mutex<HashSet<Label>>> = LazyLock::new(Mutex::default);
    let mut set = LABELS.lock().expect("labels");
    if let Some(l) = set.get(s) {
        return l.clone();
    }
    let l: Label = Arc::from(s);
    set.insert(l.clone());
    l
}

fn ser_label<S: serde::Serializer>(l: &Label, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(l)
}

fn de_label<'de, D: Deserializer<'de>>(d: D) -> Result<Label, D::Error> {
    let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
    Ok(label(&s))
}

/// One activity of a shift.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Act {
    pub start: i64,
    pub len: i64,
    #[serde(serialize_with = "ser_label", deserialize_with = "de_label")]
    pub code: Label,
    #[serde(serialize_with = "ser_label", deserialize_with = "de_label")]
    pub desc: Label,
}

/// A shift's content: who, when, how long, and its activities. Two shifts are "the same" exactly when
/// their contents are equal (the Genesys shift id is not content).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Content {
    #[serde(serialize_with = "ser_label", deserialize_with = "de_label")]
    pub user: Label,
    pub start: i64,
    pub len: i64,
    pub acts: Vec<Act>,
}

impl Content {
    /// Sort the activities (the canonical form every comparison uses).
    pub fn normalized(mut self) -> Content {
        self.acts.sort();
        self
    }

    /// Equal in user, start, length and activities' codes and times: equal but for the
    /// activities' descriptions, which are labels (a planner's "Meal" where the export says
    /// "Lunch" is the same shift). Activities are sorted by start, length and code first, so the
    /// comparison is order-independent.
    pub fn same_shape(&self, o: &Content) -> bool {
        self.user == o.user
            && self.start == o.start
            && self.len == o.len
            && self.acts.len() == o.acts.len()
            && self
                .acts
                .iter()
                .zip(&o.acts)
                .all(|(a, b)| a.start == b.start && a.len == b.len && a.code == b.code)
    }

    pub fn end(&self) -> i64 {
        self.start + self.len * 60
    }

    /// Whether two shifts of one agent overlap in time.
    pub fn overlaps(&self, o: &Content) -> bool {
        self.user == o.user && self.start < o.end() && o.start < self.end()
    }

    /// From an API shift of `user`; `None` when an instant is unreadable.
    pub fn from_api(user: &str, s: &m::BuAgentScheduleShift) -> Option<Content> {
        let secs = |t: &str| m::parse_instant(t).ok().map(|d| d.timestamp());
        let mut acts = Vec::with_capacity(s.activities.len());
        for a in &s.activities {
            acts.push(Act {
                start: secs(&a.start_date)?,
                len: a.length_minutes,
                code: label(&a.activity_code_id),
                desc: label(&a.description),
            });
        }
        Some(
            Content {
                user: label(user),
                start: secs(&s.start_date)?,
                len: s.length_minutes,
                acts,
            }
            .normalized(),
        )
    }

    fn instant(secs: i64) -> String {
        m::format_instant(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }

    fn api_acts(&self) -> Vec<m::BuAgentScheduleActivity> {
        self.acts
            .iter()
            .map(|a| m::BuAgentScheduleActivity {
                start_date: Content::instant(a.start),
                length_minutes: a.len,
                description: a.desc.to_string(),
                activity_code_id: a.code.to_string(),
                paid: None,
                time_off_request_id: None,
            })
            .collect()
    }

    /// The shift of an import.
    pub fn to_import(&self) -> m::BuAgentScheduleShift {
        m::BuAgentScheduleShift {
            id: None,
            start_date: Content::instant(self.start),
            length_minutes: self.len,
            activities: self.api_acts(),
            manually_edited: None,
        }
    }

    /// The shift of an update: added (no id) or replacing `id`.
    pub fn to_update(&self, id: Option<&str>) -> m::BuUpdateAgentScheduleShift {
        m::BuUpdateAgentScheduleShift {
            id: id.map(str::to_string),
            start_date: Some(Content::instant(self.start)),
            length_minutes: Some(self.len),
            activities: Some(self.api_acts()),
            delete: None,
        }
    }

    /// Compact JSON for the journal and the crosswalk's base.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("content serializes")
    }

    pub fn from_json(s: &str) -> Option<Content> {
        serde_json::from_str::<Content>(s)
            .ok()
            .map(Content::normalized)
    }
}

/// A shift of the desired state (`desired_shifts`), ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub legacy: String,
    pub mu: Label,
    pub content: Content,
}

/// What the crosswalk knows of a legacy shift of this week: the Genesys shift it went to and the
/// content zd2gc last wrote or adopted there (the merge's base).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub legacy: String,
    pub gid: String,
    pub base: Option<Content>,
}

/// One agent schedule as read from Genesys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentView {
    pub version: i64,
    pub shifts: Vec<(String, Content)>,
    /// Ids of the shifts that carry time off (an activity with a `timeOffRequestId`): never
    /// adopted, replaced or deleted by a merge.
    pub time_off: Vec<String>,
}

/// The schedule of a business-unit week as read from Genesys (for the management units read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekView {
    pub schedule_id: String,
    /// The schedule's own week (a multi-week schedule may start before this week).
    pub week_date: String,
    pub version: i64,
    pub ours: bool,
    /// Schedules carrying this migration's marker in the week's list (more than one is a defect
    /// `verify` reports); counted when the list was read.
    pub ours_in_week: usize,
    pub agents: std::collections::BTreeMap<String, AgentView>,
}

impl WeekView {
    /// The schedule alone, without its agent schedules.
    pub fn header(self) -> WeekView {
        WeekView {
            agents: Default::default(),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels are shared, whichever way a shift was made (the desired state, an API shift, a
    /// journaled base): equal texts are one allocation.
    #[test]
    fn labels_are_one_copy_whatever_made_the_shift() {
        let api = m::BuAgentScheduleShift {
            id: Some("g".into()),
            start_date: "2026-10-19T08:00:00.000Z".into(),
            length_minutes: 60,
            activities: vec![m::BuAgentScheduleActivity {
                start_date: "2026-10-19T08:00:00.000Z".into(),
                length_minutes: 60,
                description: "Shared description".into(),
                activity_code_id: "shared-code".into(),
                paid: None,
                time_off_request_id: None,
            }],
            manually_edited: None,
        };
        let a = Content::from_api("shared-user", &api).unwrap();
        let b = Content::from_json(&a.to_json()).unwrap();
        assert_eq!(a, b);
        assert!(Arc::ptr_eq(&a.user, &b.user));
        assert!(Arc::ptr_eq(&a.acts[0].code, &b.acts[0].code));
        assert!(Arc::ptr_eq(&a.acts[0].desc, &b.acts[0].desc));
        assert!(Arc::ptr_eq(&a.acts[0].code, &label("shared-code")));
        assert!(!Arc::ptr_eq(&a.acts[0].code, &a.acts[0].desc));
    }

    #[test]
    fn api_round_trip_and_overlap() {
        let c = Content {
            user: "u".into(),
            start: 1_792_393_200,
            len: 480,
            acts: vec![
                Act {
                    start: 1_792_396_800,
                    len: 60,
                    code: "b".into(),
                    desc: "Email".into(),
                },
                Act {
                    start: 1_792_393_200,
                    len: 60,
                    code: "a".into(),
                    desc: "Phone".into(),
                },
            ],
        }
        .normalized();
        let back = Content::from_api("u", &c.to_import()).unwrap();
        assert_eq!(back, c);
        assert_eq!(Content::from_json(&c.to_json()).unwrap(), c);
        let mut later = c.clone();
        later.start = c.end();
        assert!(!c.overlaps(&later));
        later.start -= 60;
        assert!(c.overlaps(&later));
    }
}
