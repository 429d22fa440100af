//! Where Genesys is and who the client is: the configured settings ([`ClientConfig`]), the
//! environment that wins over them, the credentials (a [`Secret`] never shown), and the names of
//! the settings an error tells the user to check ([`Settings`]).

use crate::Endpoints;
use crate::error::{Error, Result};

/// Where Genesys is and who the client is, as configured (`[genesys]` of zd2gc.toml); the
/// environment wins over each of these when set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConfig {
    pub region: Option<String>,
    pub api_url: Option<String>,
    pub login_url: Option<String>,
    pub client_id: Option<String>,
    /// A file holding the client secret, readable by its owner only.
    pub client_secret_file: Option<String>,
}

/// A value that must never be shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(super) String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The client-credentials pair.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub secret: Secret,
}

impl Credentials {
    /// From `GENESYSCLOUD_OAUTHCLIENT_ID`/`_SECRET`, else `[genesys] client_id` and
    /// `client_secret_file` (which must be readable by its owner only).
    pub fn resolve(cfg: &ClientConfig) -> Result<Credentials> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let client_id = env("GENESYSCLOUD_OAUTHCLIENT_ID").or_else(|| cfg.client_id.clone());
        let Some(client_id) = client_id.filter(|c| !c.trim().is_empty()) else {
            return Err(Error::usage(
                "no Genesys Cloud client id",
                Some(
                    "set GENESYSCLOUD_OAUTHCLIENT_ID, or `[genesys] client_id` in zd2gc.toml"
                        .into(),
                ),
            ));
        };
        if let Some(s) = env("GENESYSCLOUD_OAUTHCLIENT_SECRET") {
            return Ok(Credentials {
                client_id,
                secret: Secret(s),
            });
        }
        let Some(file) = cfg
            .client_secret_file
            .as_deref()
            .filter(|f| !f.trim().is_empty())
        else {
            return Err(Error::usage(
                "no Genesys Cloud client secret",
                Some(
                    "set GENESYSCLOUD_OAUTHCLIENT_SECRET, or `[genesys] client_secret_file` in zd2gc.toml"
                        .into(),
                ),
            ));
        };
        let secret = read_secret_file(std::path::Path::new(file))?;
        Ok(Credentials {
            client_id,
            secret: Secret(secret),
        })
    }
}

/// Read a secret file, refusing one that group or others may read.
pub(crate) fn read_secret_file(path: &std::path::Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Error::usage(
                format!(
                    "the client secret file {} is readable by others (mode {:o})",
                    path.display(),
                    mode & 0o777
                ),
                Some(format!("restrict it: chmod 600 {}", path.display())),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let s = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let s = s.trim().to_string();
    if s.is_empty() {
        return Err(Error::usage(
            format!("the client secret file {} is empty", path.display()),
            None,
        ));
    }
    Ok(s)
}

/// Endpoints from the environment, else the configuration (explicit URLs win over the region).
pub fn endpoints(cfg: &ClientConfig) -> Result<Endpoints> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let region = env("GENESYSCLOUD_REGION").or_else(|| cfg.region.clone());
    let api = env("ZD2GC_API_URL").or_else(|| cfg.api_url.clone());
    let login = env("ZD2GC_LOGIN_URL").or_else(|| cfg.login_url.clone());
    Endpoints::resolve(region.as_deref(), api.as_deref(), login.as_deref()).map_err(|e| {
        Error::usage(
            e.to_string(),
            Some("see `[genesys]` in zd2gc.toml or docs/genesys-contract.md".into()),
        )
    })
}

/// Where the endpoints and the credentials of a client came from: the settings an error about
/// them names (the environment wins over `zd2gc.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub api: String,
    pub login: String,
    pub credentials: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            api: "ZD2GC_API_URL or GENESYSCLOUD_REGION (environment), or `api_url` / `region` under [genesys] in zd2gc.toml".into(),
            login: "ZD2GC_LOGIN_URL or GENESYSCLOUD_REGION (environment), or `login_url` / `region` under [genesys] in zd2gc.toml".into(),
            credentials: "GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET (environment), or `client_id` and `client_secret_file` under [genesys] in zd2gc.toml".into(),
        }
    }
}

impl Settings {
    /// The settings that gave `cfg`'s client its URLs and credentials, as [`endpoints`] and
    /// [`Credentials::resolve`] choose them.
    pub fn of(cfg: &ClientConfig) -> Settings {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        let g = cfg;
        let region = if env("GENESYSCLOUD_REGION").is_some() {
            Some("GENESYSCLOUD_REGION (environment)")
        } else if set(&g.region) {
            Some("`region` under [genesys] in zd2gc.toml")
        } else {
            None
        };
        let url = |var: &str, key: &str, v: &Option<String>| -> Option<String> {
            if env(var).is_some() {
                Some(format!("{var} (environment; it wins over zd2gc.toml)"))
            } else if set(v) {
                Some(format!("`{key}` under [genesys] in zd2gc.toml"))
            } else {
                None
            }
        };
        let d = Settings::default();
        let api = url("ZD2GC_API_URL", "api_url", &g.api_url)
            .or(region.map(str::to_string))
            .unwrap_or(d.api);
        let login = url("ZD2GC_LOGIN_URL", "login_url", &g.login_url)
            .or(region.map(str::to_string))
            .unwrap_or(d.login);
        let id = if env("GENESYSCLOUD_OAUTHCLIENT_ID").is_some() {
            "GENESYSCLOUD_OAUTHCLIENT_ID (environment)"
        } else {
            "`client_id` under [genesys] in zd2gc.toml"
        };
        let secret = if env("GENESYSCLOUD_OAUTHCLIENT_SECRET").is_some() {
            "GENESYSCLOUD_OAUTHCLIENT_SECRET (environment)"
        } else {
            "the file named by `client_secret_file` under [genesys] in zd2gc.toml"
        };
        Settings {
            api,
            login,
            credentials: format!("{id} and {secret}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let c = Credentials {
            client_id: "id".into(),
            secret: Secret::new("hunter2"),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2"), "{s}");
    }

    #[test]
    fn secret_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secret");
        std::fs::write(&p, "s3cret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_secret_file(&p).unwrap_err();
        assert!(e.to_string().contains("readable by others"), "{e}");
        assert!(!e.to_string().contains("s3cret"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret_file(&p).unwrap(), "s3cret");
    }
}
