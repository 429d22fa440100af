//! Keeping the environment's secrets out of what zd2gc records (the audit trail's arguments and
//! error texts).

/// The secrets of the environment (the client secret), to keep out of the audit.
pub fn env_secrets() -> Vec<String> {
    ["GENESYSCLOUD_OAUTHCLIENT_SECRET"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_string())
        .filter(|v| v.len() >= 4)
        .collect()
}

/// A text for the audit (an error message that may quote an argument) without the environment's
/// secrets.
pub fn redact_text(s: &str) -> String {
    env_secrets()
        .iter()
        .fold(s.to_string(), |t, sec| t.replace(sec.as_str(), "***"))
}
