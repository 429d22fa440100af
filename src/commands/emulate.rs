//! `zd2gc emulate`: serve the Genesys Cloud WFM emulator (the `emulator` crate) on loopback until
//! Ctrl-C, with the org, the fault knobs and the credentials given on the command line.

use crate::context::Context;
use crate::emulator::{Clock, Dump, Emulator, EmulatorConfig, Faults, Fixture};
use crate::error::{Error, Result};
use crate::exit::Exit;
use std::path::{Path, PathBuf};

/// Options of `zd2gc emulate`.
///
/// Credentials: GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET when set; otherwise a
/// pair is generated, the client id printed on stderr and the secret written to `--secret-file`
/// (readable by its owner only). Stdout carries only the base URL.
#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Port on 127.0.0.1 (0 = any free port; the base URL is printed on stdout).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Org fixture to load at start (docs/org-fixture.md).
    #[arg(long, value_name = "FILE")]
    pub org: Option<PathBuf>,
    /// Load the state from FILE at start if it exists (it wins over --org) and save it there on exit.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Where to write a generated client secret [default: DIR/.zd2gc-emulator-secret].
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Seed of every fault decision (same seed + same requests = same run).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Probability that an update is preceded by a planner's or agent's edit of that schedule.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub concurrent_edit_rate: f64,
    /// Probability that an accepted update locks its schedule ("being modified by another process").
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub lock_rate: f64,
    /// How long such a lock lasts.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub lock_ms: u64,
    /// Probability of a 502, 503 or 504 on an API call (a 504 comes after the call was applied).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub error_rate: f64,
    /// Probability that an API call is applied and its connection then dropped without an answer.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub drop_rate: f64,
    /// Requests per minute per OAuth client, then 429 + Retry-After (0 = no limit; Genesys: ~300).
    #[arg(long, default_value_t = 0, value_name = "RPM")]
    pub rate_limit: u32,
    /// Latency added to every API call.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// How long imports, updates and deletes stay `Processing` (0 = `200 Complete` at once; a
    /// real org takes seconds to minutes: try 2000).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub processing_ms: u64,
    /// When above --processing-ms: each operation takes a (seeded) random time between the two.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub processing_max_ms: u64,
    /// Probability that an accepted import or update ends `Error` with nothing applied, no reason.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub late_error_rate: f64,
    /// Do not enforce If-Match (as Genesys itself: only the body's metadata.version protects).
    #[arg(long)]
    pub no_if_match: bool,
    /// `expires_in` of the tokens handed out; an expired token gets 401.
    #[arg(long, default_value_t = 86_400, value_name = "SECS")]
    pub token_lifetime: u64,
    /// Agent-schedule queries with more agent schedules than this answer with a downloadUrl.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub download_threshold: usize,
    /// Probability that an agent-schedule query answers `status: Processing` with no result.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub query_processing_rate: f64,
    /// Every week whose schedule list is read also holds unpublished drafts (one- and two-week).
    #[arg(long)]
    pub drafts: bool,
    /// Leave `businessUnit` out of the agent's management-unit answer (as Genesys does without
    /// `expand`): clients must ask `GET /managementunits/{muId}`.
    #[arg(long)]
    pub omit_agent_business_unit: bool,
    /// Run on a manual clock that stands still until `POST /emulator/clock {"advanceMs": N}`
    /// moves it (processing, locks, token lifetimes, the rate limit): for tests that step
    /// through time instead of sleeping.
    #[arg(long)]
    pub manual_clock: bool,
}

impl EmulateArgs {
    pub fn faults(&self) -> Faults {
        Faults {
            seed: self.seed,
            concurrent_edit_rate: self.concurrent_edit_rate,
            lock_rate: self.lock_rate,
            lock_ms: self.lock_ms,
            rate_limit_rpm: self.rate_limit,
            error_rate: self.error_rate,
            drop_rate: self.drop_rate,
            latency_ms: self.latency_ms,
            processing_ms: self.processing_ms,
            processing_max_ms: self.processing_max_ms,
            late_error_rate: self.late_error_rate,
            enforce_if_match: !self.no_if_match,
            token_lifetime_secs: self.token_lifetime,
            download_threshold: self.download_threshold,
            query_processing_rate: self.query_processing_rate,
            drafts: self.drafts,
            omit_agent_business_unit: self.omit_agent_business_unit,
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::usage(
            format!("{} is not a valid org fixture: {e}", path.display()),
            Some("see docs/org-fixture.md".to_string()),
        )
    })
}

/// Write a file readable by its owner only.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut f = crate::store::private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path, e))?;
    }
    f.write_all(contents.as_bytes())
        .map_err(|e| Error::io(path, e))
}

/// `zd2gc emulate`: serve until Ctrl-C.
pub fn run_cli(args: &EmulateArgs, ctx: &Context) -> Result<Exit> {
    let faults = args.faults();
    faults.validate().map_err(|m| Error::usage(m, None))?;
    let org: Option<Dump> = match (&args.state, &args.org) {
        (Some(state), _) if state.exists() => Some(read_json(state)?),
        (_, Some(org)) => Some(Dump {
            org: read_json::<Fixture>(org)?,
            ..Dump::default()
        }),
        _ => None,
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (client_id, client_secret) = (
        env("GENESYSCLOUD_OAUTHCLIENT_ID"),
        env("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
    );
    let generated = client_id.is_none() || client_secret.is_none();
    let config = EmulatorConfig {
        client_id: if generated { None } else { client_id },
        client_secret: if generated { None } else { client_secret },
        port: args.port,
        faults,
        org,
        worker_threads: 2,
        clock: if args.manual_clock {
            Clock::manual()
        } else {
            Clock::system()
        },
    };
    let emu = Emulator::start(config)?;
    if generated {
        let path = args
            .secret_file
            .clone()
            .unwrap_or_else(|| ctx.dir.join(".zd2gc-emulator-secret"));
        write_private(&path, emu.client_secret())?;
        ctx.ui.info(format!("client id: {}", emu.client_id()));
        ctx.ui.info(format!(
            "client secret written to {} (owner-only)",
            path.display()
        ));
    } else {
        ctx.ui
            .info("accepting the client credentials of GENESYSCLOUD_OAUTHCLIENT_ID / _SECRET");
    }
    if ctx.ui.json {
        // Printed at start (the server then runs until Ctrl-C): the command's one object.
        ctx.ui.json_summary(&serde_json::json!({
            "base_url": emu.base_url(),
            "client_id": emu.client_id(),
        }));
    } else {
        ctx.ui.data(emu.base_url());
    }
    ctx.ui.info("serving on loopback; Ctrl-C stops");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failure(format!("cannot wait for Ctrl-C: {e}"), None))?;
    rt.block_on(tokio::signal::ctrl_c())
        .map_err(|e| Error::failure(format!("cannot wait for Ctrl-C: {e}"), None))?;
    if let Some(state) = &args.state {
        let dump = serde_json::to_string_pretty(&emu.dump()).expect("dump serializes");
        std::fs::write(state, dump).map_err(|e| Error::io(state, e))?;
        ctx.ui.info(format!("state saved to {}", state.display()));
    }
    emu.shutdown();
    Ok(Exit::Ok)
}
