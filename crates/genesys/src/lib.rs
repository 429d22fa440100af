//! The Genesys Cloud side: API models shared by the emulator and the loader's client ([`model`]),
//! and where Genesys is ([`Endpoints`]): the region table and the base-URL overrides.
//!
//! Resolution follows Genesys' own CLI and Terraform provider: `GENESYSCLOUD_REGION` is a domain
//! (`mypurecloud.ie`) or a region name (`eu-west-1`) from the official SDKs' table; the API is
//! `https://api.<domain>` and the token endpoint `https://login.<domain>/oauth/token`.
//! `ZD2GC_API_URL` and `ZD2GC_LOGIN_URL` win over the region (this is how a rehearsal or a test points
//! the toolkit at an emulator).

pub mod client;
pub mod error;
pub mod model;

pub use error::{Error, Result};

/// Region names of the official SDKs (`PureCloudRegionHosts`) and their domains.
pub(crate) const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
];

/// The two base URLs the toolkit talks to, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `https://api.<domain>` (paths start with `/api/v2/…`).
    pub api: String,
    /// `https://login.<domain>` (the token endpoint is `{login}/oauth/token`).
    pub login: String,
}

/// Why the Genesys endpoints could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error(
        "unknown Genesys Cloud region `{0}` (give a domain such as mypurecloud.ie or a region name such as eu-west-1)"
    )]
    UnknownRegion(String),
    #[error(
        "no Genesys Cloud region: set GENESYSCLOUD_REGION, or ZD2GC_API_URL and ZD2GC_LOGIN_URL"
    )]
    Missing,
    #[error(
        "`{0}` is not a usable base URL: Genesys Cloud is reached over https; plain http is accepted only on loopback (an emulator)"
    )]
    Insecure(String),
}

/// Whether a base URL may be used: `https://` anywhere, `http://` only to a loopback host
/// (127.0.0.0/8, `localhost`, `[::1]`), where the emulator runs. The client credentials and the bearer
/// token travel on every call, so they must never cross a network in clear text.
pub(crate) fn transport_ok(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("https://") {
        return !rest.is_empty();
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The domain of a region given as a domain or as an SDK region name (`eu_west_1` is accepted too).
pub(crate) fn region_domain(region: &str) -> Result<String, EndpointError> {
    let r = region.trim().trim_end_matches('/').to_ascii_lowercase();
    let r = r.strip_prefix("https://").unwrap_or(&r);
    let r = r
        .strip_prefix("api.")
        .or_else(|| r.strip_prefix("login."))
        .unwrap_or(r);
    let name = r.replace('_', "-");
    if let Some((_, domain)) = REGIONS.iter().find(|(n, _)| *n == name) {
        return Ok((*domain).to_string());
    }
    if r.contains('.')
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Ok(r.to_string());
    }
    Err(EndpointError::UnknownRegion(region.to_string()))
}

impl Endpoints {
    /// Resolve from explicit values (each `None` when unset): overrides win over the region. When only
    /// the API URL is given, the login URL is derived from it as the SDKs do (`//api.` → `//login.`),
    /// or is the same URL (an emulator serves both).
    pub fn resolve(
        region: Option<&str>,
        api_url: Option<&str>,
        login_url: Option<&str>,
    ) -> Result<Endpoints, EndpointError> {
        let clean = |s: &str| s.trim().trim_end_matches('/').to_string();
        let from_region = match region.filter(|r| !r.trim().is_empty()) {
            Some(r) => {
                let d = region_domain(r)?;
                Some(Endpoints {
                    api: format!("https://api.{d}"),
                    login: format!("https://login.{d}"),
                })
            }
            None => None,
        };
        let api = api_url.filter(|s| !s.trim().is_empty()).map(clean);
        let login = login_url.filter(|s| !s.trim().is_empty()).map(clean);
        for url in [&api, &login].into_iter().flatten() {
            if !transport_ok(url) {
                return Err(EndpointError::Insecure(url.clone()));
            }
        }
        match (api, login, from_region) {
            (Some(api), Some(login), _) => Ok(Endpoints { api, login }),
            (Some(api), None, Some(r)) => Ok(Endpoints {
                api,
                login: r.login,
            }),
            (Some(api), None, None) => {
                let login = if api.contains("//api.") {
                    api.replacen("//api.", "//login.", 1)
                } else {
                    api.clone()
                };
                Ok(Endpoints { api, login })
            }
            (None, Some(login), Some(r)) => Ok(Endpoints { api: r.api, login }),
            (None, None, Some(r)) => Ok(r),
            (None, _, None) => Err(EndpointError::Missing),
        }
    }

    /// Both base URLs pointing at one server (an emulator).
    pub fn single(base: &str) -> Endpoints {
        let b = base.trim_end_matches('/').to_string();
        Endpoints {
            api: b.clone(),
            login: b,
        }
    }

    /// The token endpoint.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/oauth/token", self.login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_and_domains() {
        assert_eq!(region_domain("eu-west-1").unwrap(), "mypurecloud.ie");
        assert_eq!(region_domain("EU_WEST_2").unwrap(), "euw2.pure.cloud");
        assert_eq!(region_domain("mypurecloud.de").unwrap(), "mypurecloud.de");
        assert_eq!(
            region_domain("https://api.mypurecloud.com/").unwrap(),
            "mypurecloud.com"
        );
        assert!(matches!(
            region_domain("mars-1"),
            Err(EndpointError::UnknownRegion(_))
        ));
    }

    #[test]
    fn overrides_win() {
        let e = Endpoints::resolve(Some("eu-west-1"), None, None).unwrap();
        assert_eq!(e.api, "https://api.mypurecloud.ie");
        assert_eq!(e.token_url(), "https://login.mypurecloud.ie/oauth/token");
        let e = Endpoints::resolve(Some("eu-west-1"), Some("http://127.0.0.1:9/"), None).unwrap();
        assert_eq!(e.api, "http://127.0.0.1:9");
        assert_eq!(e.login, "https://login.mypurecloud.ie");
        let e = Endpoints::resolve(None, Some("http://127.0.0.1:9"), None).unwrap();
        assert_eq!(e.login, "http://127.0.0.1:9");
        let e = Endpoints::resolve(None, Some("https://api.x.pure.cloud"), None).unwrap();
        assert_eq!(e.login, "https://login.x.pure.cloud");
        assert_eq!(
            Endpoints::resolve(None, None, None),
            Err(EndpointError::Missing)
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "https://api.mypurecloud.ie",
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://localhost:9000/",
            "http://[::1]:8080",
        ] {
            assert!(transport_ok(ok), "{ok}");
            assert!(Endpoints::resolve(None, Some(ok), Some(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.mypurecloud.ie",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example",
            "http://user@127.0.0.1.evil.example",
            "ftp://127.0.0.1",
            "api.mypurecloud.ie",
        ] {
            assert!(!transport_ok(bad), "{bad}");
            assert_eq!(
                Endpoints::resolve(None, Some(bad), None),
                Err(EndpointError::Insecure(
                    bad.trim_end_matches('/').to_string()
                )),
                "{bad}"
            );
        }
    }
}
