//! A request as the routes see it ([`Req`]) and an answer before its correlation id is attached
//! ([`Reply`], with the Genesys error body), shared by the API routes (`http.rs`) and the admin
//! surface (`admin.rs`).

use crate::state::ApiError;
use axum::http::{HeaderMap, Method, header};
use genesys::model as m;

/// An answer before the correlation id is attached.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json<T: serde::Serialize>(status: u16, v: &T) -> Reply {
        let body = serde_json::to_vec(v).expect("emulator replies serialize");
        Reply {
            status,
            headers: vec![(header::CONTENT_TYPE, "application/json".into())],
            body,
        }
    }
    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: vec![],
        }
    }
    pub(crate) fn error(e: ApiError, context_id: &str) -> Reply {
        let mut params = std::collections::BTreeMap::new();
        if let Some(f) = &e.field {
            params.insert("field".to_string(), f.clone());
        }
        let body = m::ErrorBody {
            message: e.message.clone(),
            code: e.code.into(),
            status: e.status,
            entity_id: e.entity_id.clone(),
            message_with_params: Some(e.message.clone()),
            message_params: params,
            context_id: context_id.into(),
            details: e
                .field
                .as_ref()
                .map(|f| {
                    vec![m::Detail {
                        error_code: Some(e.code.into()),
                        field_name: Some(f.clone()),
                        entity_id: e.entity_id.clone(),
                    }]
                })
                .unwrap_or_default(),
            errors: vec![],
            limit: (e.status == 429).then(|| m::Limit {
                key: "client.credentials.token.rate.per.minute".into(),
                namespace: "platform.api".into(),
                value: 0,
            }),
        };
        let mut r = Reply::json(e.status, &body);
        if let Some(s) = e.retry_after {
            r.headers.push((header::RETRY_AFTER, s.to_string()));
        }
        r
    }
    pub(crate) fn with_etag(mut self, version: i64) -> Reply {
        self.headers.push((header::ETAG, format!("\"{version}\"")));
        self
    }
}

pub(crate) fn ok_or_error<T: serde::Serialize>(r: Result<T, ApiError>, cid: &str) -> Reply {
    match r {
        Ok(v) => Reply::json(200, &v),
        Err(e) => Reply::error(e, cid),
    }
}

/// A parsed request, handed to the routes.
pub(crate) struct Req<'a> {
    pub method: &'a Method,
    pub segs: Vec<&'a str>,
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub cid: &'a str,
}

impl Req<'_> {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request("a JSON body is required"));
        }
        serde_json::from_slice(self.body)
            .map_err(|e| ApiError::bad_request(format!("the request body is invalid: {e}")))
    }
    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub(crate) fn query_flag(&self, name: &str) -> bool {
        self.query
            .iter()
            .any(|(k, v)| k == name && v.eq_ignore_ascii_case("true"))
    }
    pub(crate) fn query_has(&self, name: &str, value: &str) -> bool {
        self.query.iter().any(|(k, v)| {
            k == name
                && v.split(',')
                    .any(|x| x.trim() == value || x.trim().starts_with(&format!("{value}.")))
        })
    }
}

pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decode standard base64 (for Basic credentials).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    };
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_query() {
        assert_eq!(base64_decode("aWQ6c2VjcmV0").unwrap(), b"id:secret");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("a$b").is_none());
        let q = parse_query(Some("expand=settings%2Cx&forceDownloadService=true"));
        assert_eq!(q[0], ("expand".into(), "settings,x".into()));
        assert_eq!(q[1].1, "true");
    }
}
