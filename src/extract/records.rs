//! Typed records built from one row's fields, and the rejects for rows that cannot be built.
//! Pure functions: the readers hand in the fields, these decide what the record is or why not.

use super::columns::{self, Kind, MAX_COLS};
use crate::timeval::{self, TimeError, TimeVal};

/// One row's values by canonical column; `None` is an absent column or an empty value.
pub type Fields<'a> = [Option<&'a str>; MAX_COLS];

#[derive(Debug, Clone)]
pub struct AgentRow {
    pub line: u64,
    pub agent_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
    pub location: Option<String>,
    pub team: Option<String>,
    pub deactivated: Option<bool>,
}

/// A start or end as written: the parsed value, plus the text when it cannot be rebuilt from it.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub val: TimeVal,
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ShiftRow {
    pub line: u64,
    pub shift_id: String,
    pub agent_id: String,
    pub start: Stamp,
    pub end: Stamp,
    pub timezone: Option<String>,
    pub published: Option<bool>,
    pub parent_id: Option<String>,
}

/// A task. Tasks are most of an export's rows, so their three texts are not allocated per task:
/// they are appended, back to back, to the text of the batch the task is in ([`TaskBatch`]).
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub line: u64,
    /// Where `task_id`, `shift_id` and `name`, back to back, start and end in the batch's text.
    text_at: usize,
    text_end: usize,
    /// End of `task_id` (`None`: no task id) and of `shift_id`, from `at`.
    task_id_end: Option<u32>,
    shift_id_end: u32,
    pub start: Stamp,
    pub end: Stamp,
    pub paid: Option<bool>,
}

impl TaskRow {
    fn text<'t>(&self, batch_text: &'t str) -> &'t str {
        &batch_text[self.text_at..self.text_end]
    }
    /// Its task id (`batch_text`: the text of its [`TaskBatch`]).
    pub fn task_id<'t>(&self, batch_text: &'t str) -> Option<&'t str> {
        let t = self.text(batch_text);
        self.task_id_end.map(|e| &t[..e as usize])
    }
    pub fn shift_id<'t>(&self, batch_text: &'t str) -> &'t str {
        let t = self.text(batch_text);
        &t[self.task_id_end.unwrap_or(0) as usize..self.shift_id_end as usize]
    }
    pub fn name<'t>(&self, batch_text: &'t str) -> &'t str {
        &self.text(batch_text)[self.shift_id_end as usize..]
    }
}

/// Tasks sent to the writer together, and the one text their texts are in.
#[derive(Debug, Clone, Default)]
pub struct TaskBatch {
    pub rows: Vec<TaskRow>,
    pub text: String,
}

impl TaskBatch {
    pub fn with_capacity(rows: usize, text: usize) -> TaskBatch {
        TaskBatch {
            rows: Vec::with_capacity(rows),
            text: String::with_capacity(text),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct TradeRow {
    pub line: u64,
    /// Values by `columns::trade::*`.
    pub vals: Vec<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct TimeOffRow {
    pub line: u64,
    pub id: String,
    pub agent_id: String,
    pub start: Stamp,
    pub end: Stamp,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub full_day: Option<bool>,
    /// Given as `start_date`/`end_date` (both inclusive): `start` is the first day's midnight and
    /// `end` the midnight after the last day, as local wall-clock values.
    pub dates: bool,
    pub paid: Option<bool>,
    pub minutes_per_day: Option<i64>,
    pub notes: Option<String>,
    pub timezone: Option<String>,
}

/// A row that could not be staged: kept with its code, the field at fault and the text as written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reject {
    pub line: u64,
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
    /// The offending value (for the label); the whole row text is in `text`.
    pub value: Option<String>,
    pub text: String,
    pub record_id: Option<String>,
    /// For a task: the shift it belongs to (so the shift can be held back).
    pub shift_id: Option<String>,
}

impl Reject {
    pub fn new(line: u64, code: &'static str, message: impl Into<String>) -> Reject {
        Reject {
            line,
            code,
            field: None,
            message: message.into(),
            value: None,
            text: String::new(),
            record_id: None,
            shift_id: None,
        }
    }
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

struct Ctx<'a> {
    kind: Kind,
    f: &'a Fields<'a>,
    line: u64,
    id: Option<&'a str>,
}

impl Ctx<'_> {
    fn col(&self, i: usize) -> &'static str {
        self.kind.columns()[i].name
    }

    fn reject(&self, code: &'static str, col: usize, msg: String) -> Box<Reject> {
        Box::new(Reject {
            line: self.line,
            code,
            field: Some(self.col(col).to_string()),
            message: msg,
            value: self.f[col].map(str::to_string),
            text: String::new(),
            record_id: self.id.map(str::to_string),
            shift_id: None,
        })
    }

    fn required(&self, col: usize) -> Result<&str, Box<Reject>> {
        self.f[col].ok_or_else(|| {
            self.reject(
                "missing-field",
                col,
                format!("required value `{}` is empty", self.col(col)),
            )
        })
    }

    fn bool(&self, col: usize) -> Result<Option<bool>, Box<Reject>> {
        match self.f[col] {
            None => Ok(None),
            // Compared without case, as lower-cased text (no allocation: one per task otherwise).
            Some(v)
                if ["true", "1", "yes", "y", "t"]
                    .iter()
                    .any(|w| v.eq_ignore_ascii_case(w)) =>
            {
                Ok(Some(true))
            }
            Some(v)
                if ["false", "0", "no", "n", "f"]
                    .iter()
                    .any(|w| v.eq_ignore_ascii_case(w)) =>
            {
                Ok(Some(false))
            }
            Some(v) => Err(self.reject(
                "malformed-row",
                col,
                format!("`{}` must be true/false or 1/0, not `{v}`", self.col(col)),
            )),
        }
    }

    fn time(
        &self,
        col: usize,
        parse: fn(&str) -> Result<TimeVal, TimeError>,
    ) -> Result<Stamp, Box<Reject>> {
        let v = self.required(col)?;
        match parse(v) {
            Ok(val) => {
                let text = (val.fmt & timeval::fmt::KIND_MASK == timeval::fmt::RFC3339)
                    .then(|| v.to_string());
                Ok(Stamp { val, text })
            }
            Err(e) => Err(self.reject(
                "malformed-row",
                col,
                format!("bad date in `{}`: {e}", self.col(col)),
            )),
        }
    }

    /// The first start/end pair with a value; which parser applies depends on the pair.
    fn times(&self) -> Result<(Stamp, Stamp), Box<Reject>> {
        let pairs = self.kind.time_pairs();
        let chosen = pairs
            .iter()
            .find(|(s, e)| self.f[*s].is_some() || self.f[*e].is_some());
        let Some(&(s, e)) = chosen else {
            let (s, _) = pairs[0];
            return Err(self.reject(
                "missing-field",
                s,
                format!(
                    "no start time: none of {} has a value",
                    pairs
                        .iter()
                        .map(|(s, _)| format!("`{}`", self.col(*s)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let parser: fn(&str) -> Result<TimeVal, TimeError> = match self.col(s) {
            "start_local" => timeval::parse_local,
            "start_date" => parse_date,
            "start" => timeval::parse_rfc3339,
            _ => timeval::parse_unix,
        };
        Ok((self.time(s, parser)?, self.time(e, parser)?))
    }
}

pub fn agent(f: &Fields, line: u64) -> Result<AgentRow, Box<Reject>> {
    use columns::agent::*;
    let c = Ctx {
        kind: Kind::Agents,
        f,
        line,
        id: f[ID],
    };
    Ok(AgentRow {
        line,
        agent_id: c.required(ID)?.to_string(),
        name: owned(f[NAME]),
        email: owned(f[EMAIL]),
        timezone: owned(f[TZ]),
        location: owned(f[LOCATION]),
        team: owned(f[TEAM]),
        deactivated: c.bool(DEACTIVATED)?,
    })
}

pub fn shift(f: &Fields, line: u64) -> Result<ShiftRow, Box<Reject>> {
    use columns::shift::*;
    let c = Ctx {
        kind: Kind::Shifts,
        f,
        line,
        id: f[ID],
    };
    let shift_id = c.required(ID)?.to_string();
    let agent_id = c.required(AGENT)?.to_string();
    let (start, end) = c.times()?;
    Ok(ShiftRow {
        line,
        shift_id,
        agent_id,
        start,
        end,
        timezone: owned(f[TZ]),
        published: c.bool(PUBLISHED)?,
        parent_id: owned(f[PARENT]),
    })
}

/// Build a task into `batch` (its texts appended to the batch's text), or its reject.
pub fn task(f: &Fields, line: u64, batch: &mut TaskBatch) -> Result<(), Box<Reject>> {
    use columns::task::*;
    let c = Ctx {
        kind: Kind::Tasks,
        f,
        line,
        id: f[ID],
    };
    let with_shift = |mut r: Box<Reject>| {
        r.shift_id = f[SHIFT].map(str::to_string);
        r
    };
    let shift_id = c.required(SHIFT).map_err(with_shift)?;
    let name = c.required(NAME).map_err(with_shift)?;
    let (start, end) = c.times().map_err(with_shift)?;
    let paid = c.bool(PAID).map_err(with_shift)?;
    let task_id = f[ID].unwrap_or("");
    // Values are at most `MAX_FIELD` bytes each, so the offsets from `at` fit in u32.
    let text = &mut batch.text;
    let at = text.len();
    text.push_str(task_id);
    let task_id_end = f[ID].map(|_| (text.len() - at) as u32);
    text.push_str(shift_id);
    let shift_id_end = (text.len() - at) as u32;
    text.push_str(name);
    batch.rows.push(TaskRow {
        line,
        text_at: at,
        text_end: text.len(),
        task_id_end,
        shift_id_end,
        start,
        end,
        paid,
    });
    Ok(())
}

pub const TRADE_STATUSES: &[&str] = &[
    "requested",
    "offered",
    "accepted",
    "approved",
    "denied",
    "cancelled",
    "expired",
];

pub fn trade(f: &Fields, line: u64) -> Result<TradeRow, Box<Reject>> {
    use columns::trade::*;
    let c = Ctx {
        kind: Kind::Trades,
        f,
        line,
        id: f[ID],
    };
    for col in [ID, SWAP, STATUS, REQ_AGENT, REQ_SHIFT, REC_AGENT] {
        c.required(col)?;
    }
    let status = f[STATUS].unwrap_or_default();
    let lower = status.to_ascii_lowercase();
    if !TRADE_STATUSES.contains(&lower.as_str()) {
        return Err(c.reject(
            "malformed-row",
            STATUS,
            format!(
                "unknown trade status `{status}` (expected one of {})",
                TRADE_STATUSES.join(", ")
            ),
        ));
    }
    for col in [REQ_START, REC_START, CREATED, RESOLVED] {
        if f[col].is_some() {
            c.time(col, timeval::parse_local)?;
        }
    }
    let mut vals: Vec<Option<String>> = (0..columns::TRADES.len()).map(|i| owned(f[i])).collect();
    vals[STATUS] = Some(lower);
    Ok(TradeRow { line, vals })
}

pub fn time_off(f: &Fields, line: u64) -> Result<TimeOffRow, Box<Reject>> {
    use columns::time_off::*;
    let c = Ctx {
        kind: Kind::TimeOff,
        f,
        line,
        id: f[ID],
    };
    let id = c.required(ID)?.to_string();
    let agent_id = c.required(AGENT)?.to_string();
    let status = c.required(STATUS)?.to_ascii_lowercase();
    let status = if status == "pending" {
        "requested".to_string()
    } else {
        status
    };
    if !TIME_OFF_STATUSES.contains(&status.as_str()) {
        return Err(c.reject(
            "malformed-row",
            STATUS,
            format!(
                "unknown time-off status `{}` (expected one of {}, or pending)",
                f[STATUS].unwrap_or_default(),
                TIME_OFF_STATUSES.join(", ")
            ),
        ));
    }
    let dates = f[START_LOCAL].is_none()
        && f[END_LOCAL].is_none()
        && (f[START_DATE].is_some() || f[END_DATE].is_some());
    let (start, mut end) = c.times()?;
    if dates {
        // The last day is inclusive: the request ends at the next midnight (as wall clock).
        end.val.secs += 86_400;
    }
    let minutes_per_day = match f[MINUTES] {
        None => None,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(m) if (1..=1440).contains(&m) => Some(m),
            _ => {
                return Err(c.reject(
                    "malformed-row",
                    MINUTES,
                    format!("`minutes_per_day` must be a whole number of minutes from 1 to 1440, not `{v}`"),
                ));
            }
        },
    };
    Ok(TimeOffRow {
        line,
        id,
        agent_id,
        start,
        end,
        status: Some(status),
        reason: owned(f[REASON]),
        full_day: if dates { Some(true) } else { c.bool(FULL_DAY)? },
        dates,
        paid: c.bool(PAID)?,
        minutes_per_day,
        notes: owned(f[NOTES]),
        timezone: owned(f[TZ]),
    })
}

/// The statuses of a time-off request (`pending` is read as `requested`).
pub const TIME_OFF_STATUSES: &[&str] = &["requested", "approved", "denied", "cancelled"];

/// A calendar date `YYYY-MM-DD`, as a local wall-clock value at midnight.
fn parse_date(s: &str) -> Result<TimeVal, TimeError> {
    if s.len() != 10 {
        return Err(TimeError::Malformed);
    }
    timeval::parse_local(&format!("{s} 00:00"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The flag as the text lower-cased (ASCII only) reads: true, false, or not a flag.
    fn lowered(v: &str) -> Option<bool> {
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "t" => Some(true),
            "false" | "0" | "no" | "n" | "f" => Some(false),
            _ => None,
        }
    }

    fn read_flag(v: &str) -> Result<Option<bool>, Box<Reject>> {
        let mut f: Fields = [None; MAX_COLS];
        f[columns::task::PAID] = Some(v);
        let c = Ctx {
            kind: Kind::Tasks,
            f: &f,
            line: 7,
            id: None,
        };
        c.bool(columns::task::PAID)
    }

    proptest! {
        /// Tasks built into one batch read back their own texts, as given, whatever rows around
        /// them were rejected (a reject leaves nothing in the batch's text).
        #[test]
        fn a_batch_gives_back_each_tasks_texts(
            rows in proptest::collection::vec(
                (proptest::option::of("[a-z0-9-]{0,6}|\\PC{0,4}"), "[a-z0-9]{1,6}|\\PC{1,4}", "\\PC{1,5}", any::<bool>()),
                0..30,
            )
        ) {
            let mut batch = TaskBatch::with_capacity(0, 0);
            let mut kept = Vec::new();
            for (k, (id, shift, name, ok)) in rows.iter().enumerate() {
                let mut f: Fields = [None; MAX_COLS];
                f[columns::task::ID] = id.as_deref().map(str::trim).filter(|v| !v.is_empty());
                f[columns::task::SHIFT] = Some(shift.trim()).filter(|v| !v.is_empty());
                f[columns::task::NAME] = Some(name.trim()).filter(|v| !v.is_empty());
                f[columns::task::START_LOCAL] = Some("2026-03-01 09:00");
                f[columns::task::END_LOCAL] = Some(if *ok { "2026-03-01 10:00" } else { "not a date" });
                let res = task(&f, k as u64 + 2, &mut batch);
                let want_ok = *ok && f[columns::task::SHIFT].is_some() && f[columns::task::NAME].is_some();
                prop_assert_eq!(res.is_ok(), want_ok);
                if want_ok {
                    kept.push((k as u64 + 2, f[columns::task::ID], f[columns::task::SHIFT].unwrap(), f[columns::task::NAME].unwrap()));
                }
            }
            prop_assert_eq!(batch.len(), kept.len());
            for (r, (line, id, shift, name)) in batch.rows.iter().zip(kept) {
                prop_assert_eq!(r.line, line);
                prop_assert_eq!(r.task_id(&batch.text), id);
                prop_assert_eq!(r.shift_id(&batch.text), shift);
                prop_assert_eq!(r.name(&batch.text), name);
            }
        }

        /// Flags compare without ASCII case, as their lower-cased text; anything else (non-ASCII
        /// look-alikes, spaces, other words) is a reject naming the column.
        #[test]
        fn flags_read_as_their_ascii_lower_cased_text(
            v in "(?i)(true|false|yes|no|y|n|t|f|1|0|tru|yess)|[tTrRuUeEfFaAlLsSyYnNoO10İıſ \u{212a}]{1,6}|\\PC{1,6}"
        ) {
            match (read_flag(&v), lowered(&v)) {
                (Ok(Some(got)), Some(want)) => prop_assert_eq!(got, want),
                (Err(r), None) => {
                    prop_assert_eq!(r.code, "malformed-row");
                    prop_assert_eq!(r.field.as_deref(), Some("paid"));
                    prop_assert_eq!(r.value.as_deref(), Some(v.as_str()));
                }
                (got, want) => prop_assert!(false, "{v:?}: {:?} against {want:?}", got.map_err(|r| r.message)),
            }
        }
    }

    #[test]
    fn flags_in_any_ascii_case_and_nothing_else() {
        for (v, want) in [
            ("TRUE", true),
            ("Yes", true),
            ("t", true),
            ("1", true),
            ("FaLsE", false),
            ("N", false),
            ("0", false),
        ] {
            assert_eq!(read_flag(v).ok(), Some(Some(want)), "{v}");
        }
        for v in ["truе", "İ", "yes!", "01", "2", "oui", "ſ"] {
            assert!(read_flag(v).is_err(), "{v}");
        }
    }
}
