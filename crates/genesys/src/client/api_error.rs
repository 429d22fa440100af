//! A failed API call as the client reports it, and how a refused conditional write is treated.

/// A failed call: the status, the API's message and code, and its correlation id. Shown as
/// `POST /path: HTTP 409: message (code x, correlation id y)`, leaving out what is not known.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ApiError {
    pub method: &'static str,
    pub path: String,
    pub status: Option<u16>,
    pub message: String,
    pub code: String,
    pub context_id: String,
    /// A write whose outcome is unknown (a transient failure after it was sent): re-read first.
    pub outcome_unknown: bool,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: ", self.method, self.path)?;
        match self.status {
            Some(s) if !(200..300).contains(&s) => write!(f, "HTTP {s}: ")?,
            Some(_) => {}
            None if self.message.is_empty() => f.write_str("no answer")?,
            None => f.write_str("no answer: ")?,
        }
        f.write_str(&self.message)?;
        match (self.code.is_empty(), self.context_id.is_empty()) {
            (true, true) => Ok(()),
            (false, true) => write!(f, " (code {})", self.code),
            (true, false) => write!(f, " (correlation id {})", self.context_id),
            (false, false) => write!(
                f,
                " (code {}, correlation id {})",
                self.code, self.context_id
            ),
        }
    }
}

/// How a refused conditional write is to be treated (`genesys-contract.md`, "Optimistic locking").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `409` "…being modified by another process": a transient lock; send the same request again
    /// after a pause.
    Lock,
    /// A stale version (`409`, `412`, or `400` "does not match the current version"): re-read and
    /// merge again; never resend unchanged.
    Stale,
    /// Not a refusal of the version: another error.
    Other,
}

impl ApiError {
    /// A failure without the API's code or correlation id.
    pub(crate) fn bare(
        method: &'static str,
        path: impl Into<String>,
        status: Option<u16>,
        message: String,
    ) -> ApiError {
        ApiError {
            method,
            path: path.into(),
            status,
            message,
            code: String::new(),
            context_id: String::new(),
            outcome_unknown: false,
        }
    }

    /// Classify a failed write.
    pub fn refusal(&self) -> Refusal {
        let m = self.message.to_ascii_lowercase();
        match self.status {
            Some(409) if m.contains("being modified by another process") => Refusal::Lock,
            Some(409) | Some(412) => Refusal::Stale,
            Some(400) if m.contains("does not match the current version") => Refusal::Stale,
            _ => Refusal::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified() {
        let e = |status: u16, message: &str| ApiError {
            method: "POST",
            path: "/x".into(),
            status: Some(status),
            message: message.into(),
            code: String::new(),
            context_id: String::new(),
            outcome_unknown: false,
        };
        let lock = "The requested resource is currently being modified by another process";
        assert_eq!(e(409, lock).refusal(), Refusal::Lock);
        assert_eq!(
            e(409, "metadata.version 3 does not match").refusal(),
            Refusal::Stale
        );
        assert_eq!(e(412, "If-Match").refusal(), Refusal::Stale);
        assert_eq!(
            e(400, "Version 2 does not match the current version 3").refusal(),
            Refusal::Stale
        );
        assert_eq!(e(400, "unknown shift id").refusal(), Refusal::Other);
    }

    #[test]
    fn an_error_line_leaves_out_what_is_not_known() {
        let e = ApiError {
            method: "GET",
            path: "/x".into(),
            status: Some(503),
            message: "down".into(),
            code: "service.unavailable".into(),
            context_id: "c-1".into(),
            outcome_unknown: false,
        };
        assert_eq!(
            e.to_string(),
            "GET /x: HTTP 503: down (code service.unavailable, correlation id c-1)"
        );
        let e = ApiError {
            status: None,
            message: "connection refused".into(),
            code: String::new(),
            context_id: String::new(),
            ..e
        };
        assert_eq!(e.to_string(), "GET /x: no answer: connection refused");
        let e = ApiError {
            status: Some(200),
            message: "still processing".into(),
            context_id: "c-2".into(),
            ..e
        };
        assert_eq!(
            e.to_string(),
            "GET /x: still processing (correlation id c-2)"
        );
    }
}
