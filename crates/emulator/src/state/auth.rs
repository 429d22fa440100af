//! Tokens (client credentials, lifetime, `401`) and the per-client rate limit (`429`).

use super::{ApiError, State, TokenRec};
use crate::faults::TokenBucket;
use genesys::model as m;
use std::time::Instant;

impl State {
    /// `POST /oauth/token` with the Basic credentials already decoded.
    pub(crate) fn issue_token(
        &mut self,
        client_id: &str,
        secret: &str,
        now: Instant,
    ) -> Option<m::TokenResponse> {
        if client_id != self.client_id || secret != self.client_secret {
            return None;
        }
        let token = self.id_rng.hex(24);
        let life = self.faults.token_lifetime_secs;
        self.tokens.insert(
            token.clone(),
            TokenRec {
                client: client_id.into(),
                expires: now + std::time::Duration::from_secs(life),
            },
        );
        if self.tokens.len() > 10_000 {
            self.tokens.retain(|_, t| t.expires > now);
        }
        Some(m::TokenResponse {
            access_token: token,
            token_type: "bearer".into(),
            expires_in: life,
        })
    }

    /// The client a bearer token belongs to, or `401`.
    pub(crate) fn authenticate(
        &self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<String, ApiError> {
        let Some(token) = authorization.and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        }) else {
            return Err(ApiError::new(
                401,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            ));
        };
        match self.tokens.get(token.trim()) {
            None => Err(ApiError::new(
                401,
                "bad.credentials",
                "Invalid login credentials.",
            )),
            Some(t) if t.expires <= now => Err(ApiError::new(
                401,
                "authentication.required",
                "The access token has expired; request a new one.",
            )),
            Some(t) => Ok(t.client.clone()),
        }
    }

    /// Count one request against the client's bucket, or `429` with the seconds to wait.
    pub(crate) fn rate_limit(&mut self, client: &str, now: Instant) -> Result<(), ApiError> {
        let rpm = self.faults.rate_limit_rpm;
        if rpm == 0 {
            return Ok(());
        }
        let bucket = self
            .buckets
            .entry(client.to_string())
            .or_insert_with(|| TokenBucket::new(rpm, now));
        bucket.take(rpm, now).map_err(|wait| {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            ApiError {
                retry_after: Some(secs),
                ..ApiError::new(
                    429,
                    "too.many.requests.retry.after",
                    format!(
                        "Rate limit exceeded the maximum. Retry the request in [{secs}] seconds"
                    ),
                )
            }
        })
    }
}
