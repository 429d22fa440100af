//! Genesys Cloud Platform API shapes (JSON, camelCase) used by the loader's client and served by the
//! emulator. Names follow the official Genesys Cloud SDKs (`platform-client-sdk-*`); only the fields the
//! toolkit reads or writes are modelled, and unknown fields are ignored when reading.
//!
//! Instants stay strings (`yyyy-MM-ddTHH:mm:ss[.fff]Z`) so that the emulator can validate what was
//! sent byte for byte; compare them as instants (see [`parse_instant`]), never as strings.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `WfmVersionedEntityMetadata`: the optimistic-locking version of a schedule or agent schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WfmVersionedEntityMetadata {
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<UserReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_modified: Option<String>,
}

impl WfmVersionedEntityMetadata {
    pub fn version(version: i64) -> Self {
        WfmVersionedEntityMetadata {
            version,
            ..Default::default()
        }
    }
}

/// `UserReference`, `ManagementUnitReference`, `BusinessUnitReference`: an id and its URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserReference {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// A reference to a management unit or business unit (same shape as [`UserReference`]).
pub type EntityReference = UserReference;

/// `ErrorBody`: every non-2xx answer of the Platform API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    #[serde(default)]
    pub message_params: BTreeMap<String, String>,
    #[serde(default)]
    pub context_id: String,
    #[serde(default)]
    pub details: Vec<Detail>,
    #[serde(default)]
    pub errors: Vec<ErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
}

/// `Detail` of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
}

/// `Limit` of a 429 [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Limit {
    pub key: String,
    pub namespace: String,
    pub value: i64,
}

/// `POST {login}/oauth/token` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

/// `POST {login}/oauth/token` error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    pub description: String,
    pub error_description: String,
}

/// `UserSearchRequest` (`POST /api/v2/users/search`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserSearchRequest {
    #[serde(default)]
    pub query: Vec<UserSearchCriteria>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
}

impl UserSearchRequest {
    /// The EXACT search on `email` the loader sends (the address trimmed and lower-cased by the caller).
    pub(crate) fn exact_email(email: &str) -> Self {
        UserSearchRequest {
            query: vec![UserSearchCriteria {
                kind: "EXACT".into(),
                fields: vec!["email".into()],
                value: Some(email.to_string()),
                values: None,
            }],
            page_size: Some(25),
            page_number: Some(1),
        }
    }
}

/// `UserSearchCriteria`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserSearchCriteria {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// `UsersSearchResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UsersSearchResponse {
    pub total: u64,
    pub page_count: u64,
    pub page_size: u64,
    pub page_number: u64,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub results: Vec<User>,
}

/// `User` (the fields the toolkit reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default)]
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `AgentManagementUnitReference` (`GET /workforcemanagement/agents/{userId}/managementunit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentManagementUnitReference {
    pub user: UserReference,
    pub management_unit: EntityReference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit: Option<EntityReference>,
}

/// `ManagementUnit` (`GET /workforcemanagement/managementunits/{muId}`): the fields the toolkit
/// reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementUnit {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit: Option<EntityReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `BusinessUnitResponse` (`GET /businessunits/{buId}?expand=settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessUnitResponse {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BusinessUnitSettingsResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// The days of the week as Genesys Cloud writes them (`startDayOfWeek`).
const DAY_NAMES: [(chrono::Weekday, &str); 7] = [
    (chrono::Weekday::Sun, "Sunday"),
    (chrono::Weekday::Mon, "Monday"),
    (chrono::Weekday::Tue, "Tuesday"),
    (chrono::Weekday::Wed, "Wednesday"),
    (chrono::Weekday::Thu, "Thursday"),
    (chrono::Weekday::Fri, "Friday"),
    (chrono::Weekday::Sat, "Saturday"),
];

/// A day of the week as Genesys writes it in `startDayOfWeek`: `Sunday` … `Saturday`.
pub fn day_name(d: chrono::Weekday) -> &'static str {
    DAY_NAMES[d.num_days_from_sunday() as usize].1
}

/// A `startDayOfWeek` value: exactly one of `Sunday` … `Saturday`.
pub fn parse_day_name(s: &str) -> Option<chrono::Weekday> {
    DAY_NAMES.iter().find(|(_, n)| *n == s).map(|(d, _)| *d)
}

/// `BusinessUnitSettingsResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessUnitSettingsResponse {
    /// `Sunday` … `Saturday`.
    pub start_day_of_week: String,
    /// IANA zone id.
    pub time_zone: String,
    pub metadata: WfmVersionedEntityMetadata,
}

/// An entry of `BusinessUnitListing` / `ManagementUnitListing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedEntity {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// A listing `{entities: [...]}` (BusinessUnitListing, ManagementUnitListing, BuScheduleListing,
/// BusinessUnitActivityCodeListing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing<T> {
    pub entities: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// `BusinessUnitActivityCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessUnitActivityCode {
    pub id: String,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub default_code: bool,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<WfmVersionedEntityMetadata>,
}

fn yes() -> bool {
    true
}

/// `BuScheduleMetadata` (and `BuScheduleListItem`, the same without `managementUnits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuScheduleMetadata {
    pub id: String,
    /// `yyyy-MM-dd`, the first day of the business unit's week.
    pub week_date: String,
    pub week_count: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub published: bool,
    pub metadata: WfmVersionedEntityMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_units: Option<Vec<BuManagementUnitScheduleSummary>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `BuManagementUnitScheduleSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuManagementUnitScheduleSummary {
    pub management_unit: EntityReference,
    pub agent_count: u64,
}

/// `BuQueryAgentSchedulesRequest`. `managementUnitId` is required by Genesys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuQueryAgentSchedulesRequest {
    pub management_unit_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<Vec<String>>,
}

/// `BuAsyncAgentSchedulesQueryResponse`: the result inline, or a `downloadUrl` to fetch (plain JSON
/// [`BuAgentSchedulesQueryResponse`], without the bearer token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuAsyncAgentSchedulesQueryResponse {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<BuAgentSchedulesQueryResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// `BuAgentSchedulesQueryResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BuAgentSchedulesQueryResponse {
    #[serde(default)]
    pub agent_schedules: Vec<BuAgentScheduleQueryResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit_time_zone: Option<String>,
}

/// `BuAgentScheduleQueryResponse`: one agent's schedule with its own version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuAgentScheduleQueryResponse {
    pub user: UserReference,
    #[serde(default)]
    pub shifts: Vec<BuAgentScheduleShift>,
    #[serde(default)]
    pub full_day_time_off_markers: Vec<serde_json::Value>,
    pub metadata: WfmVersionedEntityMetadata,
}

/// `BuAgentScheduleShift` (read) and `BuAgentScheduleShiftRequest` (import): `startDate` +
/// `lengthMinutes`, its activities likewise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuAgentScheduleShift {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub start_date: String,
    pub length_minutes: i64,
    #[serde(default)]
    pub activities: Vec<BuAgentScheduleActivity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manually_edited: Option<bool>,
}

/// `BuAgentScheduleActivity`: every field but `paid` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuAgentScheduleActivity {
    pub start_date: String,
    pub length_minutes: i64,
    pub description: String,
    pub activity_code_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<bool>,
    /// Set by Genesys on the activity an approved time-off request puts in a shift: zd2gc never
    /// owns, changes or deletes such a shift (docs/genesys-contract.md, "Time off").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_off_request_id: Option<String>,
}

/// `UploadUrlRequestBody`: the length of the gzip body that will be PUT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlRequestBody {
    pub content_length_bytes: u64,
}

/// `ImportScheduleUploadResponse` / `UpdateScheduleUploadResponse`: PUT the gzip body to `url` with
/// exactly `headers` and no `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadUrlResponse {
    pub upload_key: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// `ImportScheduleUploadSchema` (gzip JSON body of an import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportScheduleUploadSchema {
    pub description: String,
    pub week_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
    #[serde(default)]
    pub agent_schedules: Vec<BuImportAgentScheduleUploadSchema>,
}

/// `BuImportAgentScheduleUploadSchema`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuImportAgentScheduleUploadSchema {
    pub user_id: String,
    #[serde(default)]
    pub shifts: Vec<BuAgentScheduleShift>,
}

/// `UpdateScheduleUploadSchema` (gzip JSON body of an update): a patch of the listed agent schedules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateScheduleUploadSchema {
    /// The schedule's current version (required).
    pub metadata: WfmVersionedEntityMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<bool>,
    #[serde(default)]
    pub agent_schedules: Vec<BuUpdateAgentScheduleUploadSchema>,
}

/// `BuUpdateAgentScheduleUploadSchema`: `metadata` is required when the agent schedule exists and
/// must be absent when it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuUpdateAgentScheduleUploadSchema {
    pub user_id: String,
    #[serde(default)]
    pub shifts: Vec<BuUpdateAgentScheduleShift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<WfmVersionedEntityMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
}

/// `BuUpdateAgentScheduleShift`: with an `id` it replaces (or with `delete: true` removes) that
/// shift; without, it is added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BuUpdateAgentScheduleShift {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activities: Option<Vec<BuAgentScheduleActivity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
}

/// `BuCreateBlankScheduleRequest`: a blank (unpublished) schedule, created synchronously; the answer
/// is its [`BuScheduleMetadata`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuCreateBlankScheduleRequest {
    pub description: String,
    pub week_count: u32,
}

/// `WfmProcessUploadRequest` / `ProcessScheduleUpdateUploadRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessUploadRequest {
    pub upload_key: String,
}

/// `ScheduleUploadProcessingResponse` / `BuAsyncScheduleResponse`: `Processing` + `operationId`
/// (HTTP 202), or `Complete` + `result` (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AsyncScheduleResponse {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<BuScheduleMetadata>,
}

/// `WeekShiftTradeListResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeekShiftTradeListResponse {
    #[serde(default)]
    pub entities: Vec<WeekShiftTradeResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// `WeekShiftTradeResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeekShiftTradeResponse {
    pub trade: ShiftTradeResponse,
    /// Present when the list was asked with `evaluateMatches` (the API's default); zd2gc asks
    /// with `evaluateMatches=false` and never reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_review: Option<serde_json::Value>,
}

/// `ShiftTradeResponse` (the fields the crosswalk links on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftTradeResponse {
    pub id: String,
    pub week_date: String,
    pub state: String,
    pub initiating_user: UserReference,
    pub initiating_shift_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiating_shift_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiating_shift_end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_user: Option<UserReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_shift_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_shift_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_shift_end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<WfmVersionedEntityMetadata>,
}

/// Why an instant was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantError {
    #[error("`{0}` is not an ISO-8601 instant (yyyy-MM-ddTHH:mm:ss[.fff]Z)")]
    Malformed(String),
    #[error("`{0}` is not in UTC (it must end in Z)")]
    NotUtc(String),
    #[error("`{0}` is not on a whole minute")]
    NotWholeMinute(String),
}

/// Parse an API instant: `yyyy-MM-ddTHH:mm:ss[.fff]Z`, UTC, on a whole minute.
pub fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, InstantError> {
    use chrono::Timelike;
    let dt =
        chrono::DateTime::parse_from_rfc3339(s).map_err(|_| InstantError::Malformed(s.into()))?;
    if !(s.ends_with('Z') || s.ends_with('z')) || dt.offset().local_minus_utc() != 0 {
        return Err(InstantError::NotUtc(s.into()));
    }
    if s.len() < 20 || s.as_bytes()[10] != b'T' {
        return Err(InstantError::Malformed(s.into()));
    }
    let utc = dt.with_timezone(&chrono::Utc);
    if utc.second() != 0 || utc.nanosecond() != 0 {
        return Err(InstantError::NotWholeMinute(s.into()));
    }
    Ok(utc)
}

/// Format an instant as the API does (`yyyy-MM-ddTHH:mm:ss.fffZ`).
pub fn format_instant(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // Written by hand: chrono's `format` parses its pattern on every call, and the emulator formats
    // every instant of every agent schedule it answers with.
    let mut s = String::with_capacity(24);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis().min(999)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert!(parse_instant("2026-10-19T07:00:00Z").is_ok());
        assert!(parse_instant("2026-10-19T07:00:00.000Z").is_ok());
        assert_eq!(
            parse_instant("2026-10-19T07:00:00+02:00"),
            Err(InstantError::NotUtc("2026-10-19T07:00:00+02:00".into()))
        );
        assert!(matches!(
            parse_instant("2026-10-19T07:00:30Z"),
            Err(InstantError::NotWholeMinute(_))
        ));
        assert!(matches!(
            parse_instant("2026-10-19 07:00"),
            Err(InstantError::Malformed(_))
        ));
        let t = parse_instant("2026-10-19T07:00:00Z").unwrap();
        assert_eq!(format_instant(t), "2026-10-19T07:00:00.000Z");
    }

    /// Each day's name reads back as that day; only the exact spelling is a `startDayOfWeek`.
    #[test]
    fn day_names_round_trip_exactly() {
        let names: Vec<&str> = (0..7u8)
            .map(|i| chrono::Weekday::try_from(i).unwrap())
            .map(|d| {
                assert_eq!(parse_day_name(day_name(d)), Some(d));
                day_name(d)
            })
            .collect();
        assert_eq!(
            names,
            [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday"
            ]
        );
        assert_eq!(parse_day_name("monday"), None);
        assert_eq!(parse_day_name(" Monday"), None);
    }

    #[test]
    fn update_shift_omits_absent_fields() {
        let s = BuUpdateAgentScheduleShift {
            id: Some("a".into()),
            delete: Some(true),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"id":"a","delete":true}"#
        );
    }
}

// ---------------------------------------------------------------------------- time off
// docs/genesys-contract.md, "Time off".

/// `CreateAdminTimeOffRequest`: an admin creates time off for agents (no idempotency key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateAdminTimeOffRequest {
    /// `APPROVED` or `PENDING`.
    pub status: String,
    pub users: Vec<UserReference>,
    pub activity_code_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_day_management_unit_dates: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial_day_start_date_times: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_duration_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<bool>,
}

/// `TimeOffRequestResponse` (and `TimeOffRequest`, the query's entities: the same fields here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TimeOffRequestResponse {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserReference>,
    #[serde(default)]
    pub is_full_day_request: bool,
    #[serde(default)]
    pub activity_code_id: String,
    #[serde(default)]
    pub paid: bool,
    /// `PENDING`, `APPROVED`, `DENIED` or `CANCELED`.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial_day_start_date_times: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_day_management_unit_dates: Vec<String>,
    #[serde(default)]
    pub daily_duration_minutes: i64,
    #[serde(default)]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<WfmVersionedEntityMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `TimeOffRequestList`: the answer of a create and of an agent's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TimeOffRequestList {
    #[serde(default)]
    pub time_off_requests: Vec<TimeOffRequestResponse>,
}

/// `DateRange`: inclusive `yyyy-MM-dd` dates in the management unit's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DateRange {
    pub start_date: String,
    pub end_date: String,
}

/// `TimeOffRequestQueryBody`: refused unless `statuses == ["Pending"]` or the date range is at most
/// 33 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TimeOffRequestQueryBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<DateRange>,
}

/// `AdminTimeOffRequestPatch` (the fields zd2gc uses): versioned by `metadata.version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AdminTimeOffRequestPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<bool>,
    pub metadata: WfmVersionedEntityMetadata,
}
