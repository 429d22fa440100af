//! Upload URLs and the uploads behind them: announced length, headers, gzip body, one target each.

use super::{ApiError, State, Upload, UploadTarget};
use genesys::model as m;
use std::collections::BTreeMap;
use std::time::Instant;

impl State {
    /// Hand out an upload URL for a target.
    pub(crate) fn upload_url(
        &mut self,
        target: UploadTarget,
        content_length: u64,
    ) -> m::UploadUrlResponse {
        let key = self.id_rng.uuid();
        let signature = self.id_rng.hex(16);
        let headers: BTreeMap<String, String> = [
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Content-Encoding".to_string(), "gzip".to_string()),
            (
                "x-amz-server-side-encryption".to_string(),
                "AES256".to_string(),
            ),
            ("x-emulator-signature".to_string(), signature),
        ]
        .into();
        self.uploads.insert(
            key.clone(),
            Upload {
                target,
                content_length,
                headers: headers.clone(),
                body: None,
            },
        );
        m::UploadUrlResponse {
            upload_key: key.clone(),
            url: format!("{}/upload/{key}", self.base_url),
            headers,
        }
    }

    /// The `PUT` of an upload: exact headers, exact length, gzip, and no bearer token.
    pub(crate) fn put_upload(
        &mut self,
        key: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let up = self.uploads.get_mut(key).ok_or_else(|| {
            ApiError::new(
                404,
                "not.found",
                format!("no upload URL was handed out for key {key}"),
            )
        })?;
        if headers.contains_key(axum::http::header::AUTHORIZATION) {
            return Err(ApiError::bad_request(
                "An Authorization header must not be sent to the upload URL (it is signed)",
            ));
        }
        for (name, value) in &up.headers {
            let got = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
            if got != Some(value.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "header {name} must be `{value}` as handed out with the upload URL, not {}",
                    got.map_or("absent".to_string(), |g| format!("`{g}`"))
                )));
            }
        }
        let declared = headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared != Some(up.content_length) || body.len() as u64 != up.content_length {
            return Err(ApiError::bad_request(format!(
                "Content-Length must be {} (the contentLengthBytes asked for), not {}",
                up.content_length,
                declared.map_or("absent".to_string(), |d| d.to_string())
            )));
        }
        // Checked here, as the body arrives, but kept as it came: compressed, as the object store
        // keeps it. Schedule JSON is many times its gzip, and every upload stays processable (keys
        // are reusable), so keeping the JSON held the whole cutover's bodies in memory.
        std::io::copy(
            &mut flate2::read::GzDecoder::new(body),
            &mut std::io::sink(),
        )
        .map_err(|e| ApiError::bad_request(format!("the body is not gzip: {e}")))?;
        up.body = Some(body.to_vec());
        Ok(())
    }

    pub(super) fn uploaded(&self, key: &str, target: &UploadTarget) -> Result<Vec<u8>, ApiError> {
        let up = self
            .uploads
            .get(key)
            .ok_or_else(|| ApiError::invalid("uploadKey", format!("unknown upload key {key}")))?;
        if &up.target != target {
            return Err(ApiError::invalid(
                "uploadKey",
                format!("upload key {key} was handed out for another schedule or week"),
            ));
        }
        let gz = up.body.as_deref().ok_or_else(|| {
            ApiError::invalid("uploadKey", format!("nothing was uploaded for key {key}"))
        })?;
        gunzip(gz)
    }

    pub(crate) fn import_upload_url(
        &mut self,
        bu: &str,
        week_id: &str,
        len: u64,
    ) -> Result<m::UploadUrlResponse, ApiError> {
        let week = self.week(bu, week_id)?;
        check_length(len)?;
        Ok(self.upload_url(
            UploadTarget::Import {
                bu: bu.into(),
                week,
            },
            len,
        ))
    }

    pub(crate) fn update_upload_url(
        &mut self,
        bu: &str,
        week_id: &str,
        id: &str,
        if_match: Option<&str>,
        len: u64,
        now: Instant,
    ) -> Result<m::UploadUrlResponse, ApiError> {
        let s = self.schedule_of(bu, week_id, id)?;
        let week = s.week;
        Self::check_if_match(s, if_match.filter(|_| self.faults.enforce_if_match))?;
        self.check_lock(id, now)?;
        check_length(len)?;
        Ok(self.upload_url(
            UploadTarget::Update {
                bu: bu.into(),
                week,
                schedule: id.into(),
            },
            len,
        ))
    }
}

pub(super) fn check_length(len: u64) -> Result<(), ApiError> {
    if len == 0 {
        return Err(ApiError::invalid(
            "contentLengthBytes",
            "must be greater than 0",
        ));
    }
    Ok(())
}

/// The JSON of a stored upload (its gzip was checked when it was put).
pub(super) fn gunzip(gz: &[u8]) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut json)
        .map_err(|e| ApiError::bad_request(format!("the body is not gzip: {e}")))?;
    Ok(json)
}

pub(super) fn parse_upload<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "wfm.validation.failure",
            format!("the uploaded schedule is invalid: {e}"),
        )
    })
}
