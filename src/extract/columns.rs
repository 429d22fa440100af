//! The export's file kinds and their canonical columns, with built-in aliases (the WFM API's JSON
//! names) and the configuration's header aliases. Matching is trimmed and case-insensitive.

use crate::config::Config;

/// Most columns a kind has; lets a record's fields live in a fixed array on the stack.
pub const MAX_COLS: usize = 17;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Agents,
    Shifts,
    Tasks,
    Trades,
    TimeOff,
}

pub struct Column {
    pub name: &'static str,
    /// Built-in alternatives (the API's JSON names).
    pub builtin: &'static [&'static str],
}

const fn c(name: &'static str, builtin: &'static [&'static str]) -> Column {
    Column { name, builtin }
}

pub const AGENTS: &[Column] = &[
    c("agent_id", &["id", "agentId"]),
    c("name", &[]),
    c("email", &[]),
    c("timezone", &["timeZone"]),
    c("location", &[]),
    c("team", &[]),
    c("deactivated", &[]),
];
pub mod agent {
    pub const ID: usize = 0;
    pub const NAME: usize = 1;
    pub const EMAIL: usize = 2;
    pub const TZ: usize = 3;
    pub const LOCATION: usize = 4;
    pub const TEAM: usize = 5;
    pub const DEACTIVATED: usize = 6;
}

pub const SHIFTS: &[Column] = &[
    c("shift_id", &["id", "shiftId"]),
    c("agent_id", &["agentId"]),
    c("start_local", &["startLocal"]),
    c("end_local", &["endLocal"]),
    c("start", &[]),
    c("end", &[]),
    c("startTime", &["start_time"]),
    c("endTime", &["end_time"]),
    c("timezone", &["timeZone"]),
    c("published", &[]),
    c("parent_id", &["parentId"]),
];
pub mod shift {
    pub const ID: usize = 0;
    pub const AGENT: usize = 1;
    pub const START_LOCAL: usize = 2;
    pub const END_LOCAL: usize = 3;
    pub const START: usize = 4;
    pub const END: usize = 5;
    pub const START_TIME: usize = 6;
    pub const END_TIME: usize = 7;
    pub const TZ: usize = 8;
    pub const PUBLISHED: usize = 9;
    pub const PARENT: usize = 10;
}

pub const TASKS: &[Column] = &[
    c("task_id", &["id", "taskId"]),
    c("shift_id", &["shiftId"]),
    c("name", &[]),
    c("start_local", &["startLocal"]),
    c("end_local", &["endLocal"]),
    c("start", &[]),
    c("end", &[]),
    c("startTime", &["start_time"]),
    c("endTime", &["end_time"]),
    c("paid", &[]),
];
pub mod task {
    pub const ID: usize = 0;
    pub const SHIFT: usize = 1;
    pub const NAME: usize = 2;
    pub const START_LOCAL: usize = 3;
    pub const END_LOCAL: usize = 4;
    pub const START: usize = 5;
    pub const END: usize = 6;
    pub const START_TIME: usize = 7;
    pub const END_TIME: usize = 8;
    pub const PAID: usize = 9;
}

pub const TRADES: &[Column] = &[
    c("trade_id", &["id", "tradeId"]),
    c("swap_request_id", &["swapRequestId"]),
    c("status", &[]),
    c("requester_agent_id", &["requesterAgentId"]),
    c("requester_shift_id", &["requesterShiftId"]),
    c("recipient_agent_id", &["recipientAgentId"]),
    c("recipient_shift_id", &["recipientShiftId"]),
    c("requester_shift_start_local", &["requesterShiftStartLocal"]),
    c("recipient_shift_start_local", &["recipientShiftStartLocal"]),
    c("created_at_local", &["createdAtLocal"]),
    c("resolved_at_local", &["resolvedAtLocal"]),
    c("timezone", &["timeZone"]),
];
pub mod trade {
    pub const ID: usize = 0;
    pub const SWAP: usize = 1;
    pub const STATUS: usize = 2;
    pub const REQ_AGENT: usize = 3;
    pub const REQ_SHIFT: usize = 4;
    pub const REC_AGENT: usize = 5;
    pub const REC_SHIFT: usize = 6;
    pub const REQ_START: usize = 7;
    pub const REC_START: usize = 8;
    pub const CREATED: usize = 9;
    pub const RESOLVED: usize = 10;
    pub const TZ: usize = 11;
}

pub const TIME_OFF: &[Column] = &[
    c("time_off_request_id", &["id", "timeOffRequestId"]),
    c("agent_id", &["agentId"]),
    c("start_local", &["startLocal"]),
    c("end_local", &["endLocal"]),
    c("startTime", &["start_time"]),
    c("endTime", &["end_time"]),
    c("status", &[]),
    c("reason", &[]),
    c("full_day", &["fullDay"]),
    c("start_date", &["startDate"]),
    c("end_date", &["endDate"]),
    c("start", &[]),
    c("end", &[]),
    c("paid", &[]),
    c("minutes_per_day", &["minutesPerDay"]),
    c("notes", &[]),
    c("timezone", &["timeZone"]),
];
pub mod time_off {
    pub const ID: usize = 0;
    pub const AGENT: usize = 1;
    pub const START_LOCAL: usize = 2;
    pub const END_LOCAL: usize = 3;
    pub const START_TIME: usize = 4;
    pub const END_TIME: usize = 5;
    pub const STATUS: usize = 6;
    pub const REASON: usize = 7;
    pub const FULL_DAY: usize = 8;
    pub const START_DATE: usize = 9;
    pub const END_DATE: usize = 10;
    pub const START: usize = 11;
    pub const END: usize = 12;
    pub const PAID: usize = 13;
    pub const MINUTES: usize = 14;
    pub const NOTES: usize = 15;
    pub const TZ: usize = 16;
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Agents,
        Kind::Shifts,
        Kind::Tasks,
        Kind::Trades,
        Kind::TimeOff,
    ];

    /// The section name in `[columns.<kind>]` and the file's base name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Agents => "agents",
            Kind::Shifts => "shifts",
            Kind::Tasks => "shift_tasks",
            Kind::Trades => "shift_trades",
            Kind::TimeOff => "time_off",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Kind::Agents => AGENTS,
            Kind::Shifts => SHIFTS,
            Kind::Tasks => TASKS,
            Kind::Trades => TRADES,
            Kind::TimeOff => TIME_OFF,
        }
    }

    pub fn required(self) -> bool {
        matches!(self, Kind::Agents | Kind::Shifts)
    }

    /// Columns that must be present as headers (a CSV without them cannot be read at all).
    pub fn required_columns(self) -> &'static [usize] {
        match self {
            Kind::Agents => &[agent::ID],
            Kind::Shifts => &[shift::ID, shift::AGENT],
            Kind::Tasks => &[task::SHIFT, task::NAME],
            Kind::Trades => &[
                trade::ID,
                trade::SWAP,
                trade::STATUS,
                trade::REQ_AGENT,
                trade::REQ_SHIFT,
                trade::REC_AGENT,
            ],
            Kind::TimeOff => &[time_off::ID, time_off::AGENT],
        }
    }

    /// Pairs of start/end columns of which at least one pair must be present.
    pub fn time_pairs(self) -> &'static [(usize, usize)] {
        match self {
            Kind::Shifts => &[
                (shift::START_LOCAL, shift::END_LOCAL),
                (shift::START, shift::END),
                (shift::START_TIME, shift::END_TIME),
            ],
            Kind::Tasks => &[
                (task::START_LOCAL, task::END_LOCAL),
                (task::START, task::END),
                (task::START_TIME, task::END_TIME),
            ],
            Kind::TimeOff => &[
                (time_off::START_LOCAL, time_off::END_LOCAL),
                (time_off::START_DATE, time_off::END_DATE),
                (time_off::START, time_off::END),
                (time_off::START_TIME, time_off::END_TIME),
            ],
            _ => &[],
        }
    }
}

fn norm(s: &str) -> String {
    s.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()
}

/// All names a column answers to: configured aliases first, then its own name, then built-ins.
pub fn names_for(cfg: &Config, kind: Kind, col: &Column) -> Vec<String> {
    let mut v: Vec<String> = cfg.aliases(kind.name(), col.name).to_vec();
    v.push(col.name.to_string());
    v.extend(col.builtin.iter().map(|s| s.to_string()));
    v
}

/// For each canonical column of `kind`, the index of the header that names it (if any).
pub fn resolve_headers(cfg: &Config, kind: Kind, headers: &[String]) -> Vec<Option<usize>> {
    let normed: Vec<String> = headers.iter().map(|h| norm(h)).collect();
    kind.columns()
        .iter()
        .map(|col| {
            names_for(cfg, kind, col)
                .iter()
                .find_map(|n| normed.iter().position(|h| *h == norm(n)))
        })
        .collect()
}

/// Configured aliases that name a column no kind has (a typo in `[columns.*]`).
pub fn unknown_alias_targets(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (kind, cols) in &cfg.columns {
        match Kind::ALL.iter().find(|k| k.name() == kind) {
            None => out.push(format!("[columns.{kind}]")),
            Some(k) => {
                for col in cols.keys() {
                    if !k.columns().iter().any(|c| c.name == col) {
                        out.push(format!("[columns.{kind}] {col}"));
                    }
                }
            }
        }
    }
    out
}
