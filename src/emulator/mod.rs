//! The Genesys Cloud WFM emulator (docs/genesys-contract.md, "The emulator"): a loopback HTTP
//! server that serves every call the loader makes, with the contract's versions, validation and
//! asynchronous processing, plus seeded fault injection and an admin surface under `/emulator/`.
//!
//! Code map:
//! - [`state`]: the org and every rule of the contract (pure, synchronous, under one lock);
//! - `http`: the listener, routing, and the order in which faults apply to a request;
//! - `admin`: `/emulator/org`, `/emulator/state`, `/emulator/faults`, `/emulator/edits`, `/emulator/locks`;
//! - [`faults`]: the knobs, the seeded generator, the rate-limit bucket;
//! - [`fixture`]: the org fixture format and the dump.
//!
//! In-process use (tests, `rehearse`, benches): [`Emulator::start`] runs the server on its own
//! runtime thread and returns a [`RunningEmulator`] usable from sync or async code.

mod admin;
pub mod faults;
pub mod fixture;
mod http;
pub mod state;

pub use faults::Faults;
pub use fixture::{Actor, ConcurrentEdit, Dump, Fixture, OperationRecord, SyntheticOrg, synthetic};

use crate::cli::Ctx;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::genesys::Endpoints;
use http::App;
use state::State;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The client id it accepts (generated when `None`).
    pub client_id: Option<String>,
    /// The secret it accepts (generated when `None`).
    pub client_secret: Option<String>,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub faults: Faults,
    /// The org to start with (a fixture, or a dump saved earlier).
    pub org: Option<Dump>,
    /// Worker threads of the emulator's runtime.
    pub worker_threads: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            client_id: None,
            client_secret: None,
            port: 0,
            faults: Faults::default(),
            org: None,
            worker_threads: 2,
        }
    }
}

impl EmulatorConfig {
    /// A config starting from a fixture.
    pub fn with_fixture(fixture: Fixture) -> Self {
        EmulatorConfig {
            org: Some(Dump {
                org: fixture,
                ..Dump::default()
            }),
            ..EmulatorConfig::default()
        }
    }
}

/// The emulator's entry point.
pub struct Emulator;

impl Emulator {
    /// Bind `127.0.0.1:port` and serve on a runtime thread of its own until
    /// [`RunningEmulator::shutdown`] (or drop).
    pub fn start(config: EmulatorConfig) -> Result<RunningEmulator> {
        config
            .faults
            .validate()
            .map_err(|m| Error::usage(format!("invalid fault knobs: {m}"), None))?;
        let mut seed_rng = faults::Rng::new(config.faults.seed ^ 0xC1_1E47);
        let client_id = config.client_id.clone().unwrap_or_else(|| seed_rng.uuid());
        let client_secret = config.client_secret.clone().unwrap_or_else(random_secret);
        let mut st = State::new(
            client_id.clone(),
            client_secret.clone(),
            config.faults.clone(),
        );
        if let Some(org) = &config.org {
            st.load(org).map_err(|errs| fixture_error(&errs))?;
        }
        let app = Arc::new(App::new(st));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("zd2gc-emulator")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::failure(format!("cannot start the emulator's runtime: {e}"), None)
            })?;
        let std_listener =
            std::net::TcpListener::bind(("127.0.0.1", config.port)).map_err(|e| {
                Error::failure(
                    format!("cannot listen on 127.0.0.1:{}: {e}", config.port),
                    None,
                )
            })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| Error::failure(format!("cannot configure the listener: {e}"), None))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| Error::failure(format!("no local address: {e}"), None))?;
        let base_url = format!("http://{addr}");
        app.lock().base_url = base_url.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serve_app = app.clone();
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)
                .map_err(|e| Error::failure(format!("cannot register the listener: {e}"), None))?
        };
        let thread = std::thread::Builder::new()
            .name("zd2gc-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let router = http::router(serve_app);
                    let service = router.into_make_service_with_connect_info::<http::Conn>();
                    let _ = axum::serve(http::KillListener(listener), service)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            })
            .map_err(|e| Error::failure(format!("cannot start the emulator thread: {e}"), None))?;
        Ok(RunningEmulator {
            app,
            base_url,
            client_id,
            client_secret,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

fn fixture_error(errs: &[String]) -> Error {
    let shown: Vec<&str> = errs.iter().take(10).map(String::as_str).collect();
    Error::usage(
        format!(
            "the org fixture is invalid ({} problem(s)): {}",
            errs.len(),
            shown.join("; ")
        ),
        Some("see docs/org-fixture.md for the format".to_string()),
    )
}

/// A secret no one can guess (the clock and the process id mixed through the generator; the
/// emulator only listens on loopback, so this need not be cryptographic).
fn random_secret() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut rng = faults::Rng::new(
        (t as u64) ^ ((std::process::id() as u64) << 32) ^ (&t as *const _ as u64),
    );
    rng.hex(32)
}

/// A started emulator. Dropping it stops the server.
pub struct RunningEmulator {
    app: Arc<App>,
    base_url: String,
    client_id: String,
    client_secret: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` (API, token endpoint, uploads and admin all live here).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API and login base URLs of this emulator (both the same).
    pub fn endpoints(&self) -> Endpoints {
        Endpoints::single(&self.base_url)
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Replace the org with a fixture.
    pub fn load_fixture(&self, fixture: &Fixture) -> Result<()> {
        self.load_dump(&Dump {
            org: fixture.clone(),
            ..Dump::default()
        })
    }

    /// Replace the org with a dump saved earlier (its edits and operations are kept).
    pub fn load_dump(&self, dump: &Dump) -> Result<()> {
        self.app.lock().load(dump).map_err(|e| fixture_error(&e))
    }

    /// The whole state, with every version and every concurrent edit the emulator made.
    pub fn dump(&self) -> Dump {
        self.app.lock().dump()
    }

    /// Set every fault knob (re-seeds the generator).
    pub fn set_faults(&self, faults: Faults) -> Result<()> {
        faults
            .validate()
            .map_err(|m| Error::usage(format!("invalid fault knobs: {m}"), None))?;
        self.app.lock().set_faults(faults);
        Ok(())
    }

    pub fn faults(&self) -> Faults {
        self.app.lock().faults.clone()
    }

    /// Make a concurrent edit now, on one agent schedule of `schedule_id` (that of `user_id` if given).
    pub fn concurrent_edit(
        &self,
        schedule_id: &str,
        user_id: Option<&str>,
        actor: Option<Actor>,
    ) -> Result<ConcurrentEdit> {
        self.app
            .lock()
            .concurrent_edit(schedule_id, user_id, &[], actor, "admin")
            .map_err(|e| Error::usage(e.message, None))
    }

    /// Stop serving and wait for the server thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}

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
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
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
pub fn run_cli(args: &EmulateArgs, ctx: &Ctx) -> Result<Exit> {
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
