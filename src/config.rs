//! `zd2gc.toml`, the migration configuration (see `docs/mappings.md`). Every key is optional;
//! unknown keys are an error with the file and line, so a typo is never ignored.

use crate::diag::SourceDiag;
use crate::error::{Error, Result};
pub use crate::rules::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE_NAME: &str = "zd2gc.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DstPolicy {
    #[default]
    Reject,
    Earlier,
    Later,
}

impl DstPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DstPolicy::Reject => "reject",
            DstPolicy::Earlier => "earlier",
            DstPolicy::Later => "later",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PendingTradePolicy {
    #[default]
    Report,
    Apply,
    Drop,
}

impl PendingTradePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PendingTradePolicy::Report => "report",
            PendingTradePolicy::Apply => "apply",
            PendingTradePolicy::Drop => "drop",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GenesysConfig {
    pub region: Option<String>,
    pub api_url: Option<String>,
    pub login_url: Option<String>,
    pub client_secret_file: Option<String>,
    pub client_id: Option<String>,
}

impl From<&GenesysConfig> for genesys::client::ClientConfig {
    fn from(g: &GenesysConfig) -> Self {
        genesys::client::ClientConfig {
            region: g.region.clone(),
            api_url: g.api_url.clone(),
            login_url: g.login_url.clone(),
            client_id: g.client_id.clone(),
            client_secret_file: g.client_secret_file.clone(),
        }
    }
}

/// `[csv]`: how the export's CSV files are written, when not comma-separated UTF-8.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CsvConfig {
    /// `","` (default), `";"`, `"\t"` or `"|"`.
    pub delimiter: Option<String>,
    /// `utf-8` (default), `utf-16` (BOM decides the byte order), `windows-1252` (Latin-1), or
    /// another WHATWG encoding label.
    pub encoding: Option<String>,
}

/// The delimiters `[csv] delimiter` accepts.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

impl CsvConfig {
    /// The field delimiter (one byte; checked when the configuration is read).
    pub fn delimiter(&self) -> u8 {
        match self.delimiter.as_deref() {
            Some("\\t") | Some("tab") => b'\t',
            Some(d) if d.len() == 1 => d.as_bytes()[0],
            _ => b',',
        }
    }

    /// The encoding to decode from, or `None` for UTF-8 (read as it is, the fast path).
    pub fn encoding(&self) -> Option<&'static encoding_rs::Encoding> {
        let e = encoding_rs::Encoding::for_label(self.encoding.as_deref()?.trim().as_bytes())?;
        (e != encoding_rs::UTF_8).then_some(e)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub default_timezone: Option<String>,
    pub default_activity: Option<String>,
    pub dst_ambiguous: DstPolicy,
    pub pending_trades: PendingTradePolicy,
    pub include_drafts: bool,
    pub max_shift_hours: f64,
    /// Which time-off requests load (`approved`, `requested`; `pending` = `requested`); the
    /// others stay history in the crosswalk (docs/mappings.md).
    pub time_off_statuses: Vec<String>,
    /// Load only requests ending on or after this date (`YYYY-MM-DD`); empty = all.
    pub time_off_from: String,
    /// Minutes of a full day of leave when the export does not say.
    pub time_off_day_minutes: u32,
    pub genesys: GenesysConfig,
    pub csv: CsvConfig,
    pub severity: BTreeMap<String, Severity>,
    /// Header aliases per export file kind (`agents`, `shifts`, `shift_tasks`, `shift_trades`,
    /// `time_off`): canonical column → names it may have in the export.
    pub columns: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_timezone: None,
            default_activity: None,
            dst_ambiguous: DstPolicy::Reject,
            pending_trades: PendingTradePolicy::Report,
            include_drafts: false,
            max_shift_hours: 16.0,
            time_off_statuses: vec!["approved".into(), "requested".into()],
            time_off_from: String::new(),
            time_off_day_minutes: 480,
            genesys: GenesysConfig::default(),
            csv: CsvConfig::default(),
            severity: BTreeMap::new(),
            columns: BTreeMap::new(),
        }
    }
}

impl Config {
    /// The severity in force for a rule: the configuration's override, else the default.
    pub fn severity_of(&self, id: &str) -> Severity {
        self.severity
            .get(id)
            .copied()
            .or_else(|| crate::rules::default_severity(id))
            .unwrap_or(Severity::Error)
    }

    /// Parse a configuration's text; `file` names it in diagnostics.
    pub fn parse(text: &str, file: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, line_text, col) = match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    let start = text[..span.start.min(text.len())]
                        .rfind('\n')
                        .map_or(0, |i| i + 1);
                    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
                    (
                        line as u64,
                        text[start..end].to_string(),
                        span.start - start,
                    )
                }
                None => (1, String::new(), 0),
            };
            let mut d = SourceDiag::new("bad-config", file, line, e.message().trim().to_string())
                .help("see the commented template `zd2gc init` writes, or docs/mappings.md");
            if !line_text.is_empty() {
                let len = line_text.len();
                d = d.text(line_text);
                d.span = Some((
                    col.min(len),
                    (len - col.min(len)).max(1).min(len),
                    "here".into(),
                ));
            }
            Error::from(d)
        })?;
        cfg.check(file)?;
        Ok(cfg)
    }

    fn check(&self, file: &str) -> Result<()> {
        if let Some(tz) = &self.default_timezone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(Error::from(
                SourceDiag::new(
                    "bad-config",
                    file,
                    1,
                    format!("default_timezone `{tz}` is not a zone of the tz database"),
                )
                .help("use an IANA name such as `Europe/Paris`"),
            ));
        }
        if !(self.max_shift_hours > 0.0 && self.max_shift_hours <= 72.0) {
            return Err(Error::usage(
                format!(
                    "{file}: max_shift_hours must be between 0 and 72, not {}",
                    self.max_shift_hours
                ),
                None,
            ));
        }
        if let Some(d) = self.csv.delimiter.as_deref()
            && !matches!(d, "," | ";" | "\t" | "|" | "\\t" | "tab")
        {
            return Err(Error::usage(
                format!("{file}: [csv] delimiter `{d}` is not one of \",\" \";\" \"\\t\" \"|\""),
                Some("see docs/mappings.md".into()),
            ));
        }
        if let Some(e) = &self.csv.encoding
            && encoding_rs::Encoding::for_label(e.trim().as_bytes()).is_none()
        {
            return Err(Error::usage(
                format!("{file}: [csv] encoding `{e}` is not an encoding zd2gc knows"),
                Some("use \"utf-8\", \"utf-16\" or \"windows-1252\" (docs/mappings.md)".into()),
            ));
        }
        for st in &self.time_off_statuses {
            if !matches!(
                st.to_ascii_lowercase().as_str(),
                "approved" | "requested" | "pending"
            ) {
                return Err(Error::usage(
                    format!("{file}: time_off_statuses names `{st}`, which zd2gc cannot load"),
                    Some("Genesys creates time off as APPROVED or PENDING only: use \"approved\" and/or \"requested\"; denied and cancelled requests stay history in the crosswalk (docs/mappings.md)".into()),
                ));
            }
        }
        if !self.time_off_from.trim().is_empty() && self.time_off_from_date().is_none() {
            return Err(Error::usage(
                format!(
                    "{file}: time_off_from `{}` is not a date YYYY-MM-DD",
                    self.time_off_from
                ),
                Some("write e.g. time_off_from = \"2026-10-01\", or \"\" to load all".into()),
            ));
        }
        if !(1..=1440).contains(&self.time_off_day_minutes) {
            return Err(Error::usage(
                format!(
                    "{file}: time_off_day_minutes must be between 1 and 1440, not {}",
                    self.time_off_day_minutes
                ),
                None,
            ));
        }
        for rule in self.severity.keys() {
            if !crate::rules::is_rule(rule) {
                return Err(Error::usage(
                    format!("{file}: [severity] names unknown rule `{rule}`"),
                    Some(format!(
                        "known rules: {}",
                        crate::rules::RULES
                            .iter()
                            .map(|r| r.id)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ));
            }
        }
        Ok(())
    }

    /// `time_off_from` as a date (`None`: empty, every request).
    pub fn time_off_from_date(&self) -> Option<chrono::NaiveDate> {
        chrono::NaiveDate::parse_from_str(self.time_off_from.trim(), "%Y-%m-%d").ok()
    }

    /// Whether requests of a (lower-case, `pending` = `requested`) status load.
    pub fn time_off_status_loads(&self, status: &str) -> bool {
        self.time_off_statuses.iter().any(|s| {
            let s = s.to_ascii_lowercase();
            let s = if s == "pending" { "requested" } else { &s };
            s == status
        })
    }

    /// Load `zd2gc.toml` from a migration directory; a missing file is the default configuration.
    pub fn load(dir: &Path) -> Result<Config> {
        let path = dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Header aliases of one export file kind for one canonical column.
    pub fn aliases(&self, kind: &str, column: &str) -> &[String] {
        self.columns
            .get(kind)
            .and_then(|m| m.get(column))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// The commented template `zd2gc init` writes.
pub const TEMPLATE: &str = r#"# zd2gc migration configuration. Every key is optional; an empty file is valid.
# Reference: docs/mappings.md. Unknown keys are an error, so a typo is never ignored.

# Zone of local wall-clock times when the row, the agent and the location give none.
default_timezone = "Europe/Paris"

# Genesys activity code (by name, resolved per business unit) that fills every part of a shift
# that no task covers. Without it, an uncovered part is an `unmapped-activity` finding.
default_activity = "On Queue Work"

# A local time that happens twice (autumn DST night): "reject" (hold the record back and report it),
# "earlier" (the first occurrence, summer time) or "later" (the second, winter time).
dst_ambiguous = "reject"

# Trades still pending at export time: "report" (load the shifts as exported, list the trades),
# "apply" (swap the owners before load) or "drop" (ignore them).
pending_trades = "report"

# Draft (unpublished) shifts are skipped unless this is true.
include_drafts = false

# Shifts longer than this are reported (`shift-too-long`).
max_shift_hours = 16

[genesys]
# The environment wins over these: GENESYSCLOUD_REGION, ZD2GC_API_URL, ZD2GC_LOGIN_URL.
# Credentials: GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET, or a secret file
# readable by its owner only (chmod 600). Never put the secret itself in this file.
region = "mypurecloud.ie"
# api_url = "http://127.0.0.1:8080"     # an emulator (`zd2gc emulate`)
# login_url = "http://127.0.0.1:8080"
# client_id = "…"                        # not a secret; the secret comes from the file below
# client_secret_file = "/home/me/.config/zd2gc/secret"

# Only when the export is not comma-separated UTF-8 (Excel in a European locale writes ";",
# its "Unicode text" is UTF-16 and tab-separated). See docs/export-format.md.
# [csv]
# delimiter = ";"          # "," ";" "\t" "|"
# encoding = "utf-16"      # "utf-8" "utf-16" "windows-1252"

[severity]
# Change a validation rule's severity: "error" blocks load; "warning" and "info" do not.
# "shift-too-long" = "error"

# Header aliases: the names a column may have in your export, per file.
# [columns.shifts]
# start_local = ["Shift start", "Start (local)"]
# end_local = ["Shift end", "End (local)"]
# [columns.agents]
# email = ["E-mail", "Email address"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_and_empty_is_valid() {
        let c = Config::parse(TEMPLATE, "zd2gc.toml").unwrap();
        assert_eq!(c.default_timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(c.dst_ambiguous, DstPolicy::Reject);
        let e = Config::parse("", "zd2gc.toml").unwrap();
        assert_eq!(e.max_shift_hours, 16.0);
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let err = Config::parse(
            "default_timezone = \"Europe/Paris\"\ndst_ambigous = \"earlier\"\n",
            "z.toml",
        )
        .unwrap_err();
        match err {
            Error::Source(d) => {
                assert_eq!(d.line, 2);
                assert!(d.message.contains("dst_ambigous"), "{}", d.message);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
