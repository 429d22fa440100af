//! The client's handling of bytes on the wire: what a failed connection or a sent request came
//! back as, answer bodies read within a limit, error bodies, correlation ids, and text from a
//! server made safe to show.

use super::retry::Reply;
use crate::model;

/// Why a connection could not be made at all (DNS, refused), or `None` for anything a retry may
/// fix (a timeout, a reset, a dropped answer).
pub(super) fn unreachable(e: &reqwest::Error) -> Option<&'static str> {
    if !e.is_connect() || e.is_timeout() {
        return None;
    }
    let mut src: Option<&dyn std::error::Error> = Some(e);
    let mut text = String::new();
    while let Some(x) = src {
        if let Some(io) = x.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return Some("connection refused (nothing listens at that address)");
        }
        text.push_str(&x.to_string().to_ascii_lowercase());
        text.push(' ');
        src = x.source();
    }
    if text.contains("dns") || text.contains("lookup") || text.contains("resolve") {
        Some("the host name does not resolve (DNS lookup failed)")
    } else if text.contains("refused") {
        Some("connection refused (nothing listens at that address)")
    } else {
        Some("no connection could be made")
    }
}

pub(super) fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What a sent request came back as, for the retry decision: its status and headers, or a timeout,
/// or a connection that failed (refused, reset, dropped before an answer).
pub(super) fn classify(
    res: &reqwest::Result<reqwest::Response>,
) -> (Reply, reqwest::header::HeaderMap) {
    match res {
        Ok(r) => (Reply::Status(r.status().as_u16()), r.headers().clone()),
        Err(e) if e.is_timeout() => (Reply::Timeout, Default::default()),
        Err(_) => (Reply::Connection, Default::default()),
    }
}

pub(super) fn correlation(h: &reqwest::header::HeaderMap) -> String {
    clean(
        h.get("ININ-Correlation-Id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    )
}

/// The `message`, `code` and `contextId` of an error answer, each kept when it is a string (a
/// field of another type does not lose the others).
pub(super) fn error_body(bytes: &[u8]) -> model::ErrorBody {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    model::ErrorBody {
        message: text("message"),
        code: text("code"),
        context_id: text("contextId"),
        ..Default::default()
    }
}

/// Read an answer's body, refusing one longer than `limit` bytes: by its `Content-Length` before
/// reading, else as it streams in (memory stays bounded whatever the server sends).
pub(super) async fn read_body(
    mut r: reqwest::Response,
    limit: usize,
) -> std::result::Result<Vec<u8>, String> {
    if let Some(n) = r.content_length()
        && n > limit as u64
    {
        return Err(format!(
            "answer too large: {n} bytes announced, the limit is {limit} bytes"
        ));
    }
    let mut out = Vec::new();
    while let Some(c) = r
        .chunk()
        .await
        .map_err(|e| format!("answer cut short: {}", without_url(&e)))?
    {
        if out.len() + c.len() > limit {
            return Err(format!(
                "answer too large: more than {limit} bytes, refused"
            ));
        }
        out.extend_from_slice(&c);
    }
    Ok(out)
}

/// Text from a server made fit for a terminal and a log: control characters (escape sequences)
/// replaced, at most 300 characters.
pub fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(300)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(300).is_some() {
        out.push('…');
    }
    out
}

/// A reqwest error's text without its URL (a signed upload URL must not reach a log).
pub(super) fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<url>");
    }
    s
}

/// Percent-encode a path segment.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
        assert_eq!(enc("2026-10-19"), "2026-10-19");
    }
}
