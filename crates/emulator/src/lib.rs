//! The Genesys Cloud WFM emulator (docs/genesys-contract.md, "The emulator"): a loopback HTTP
//! server that serves every call the loader makes, with the contract's versions, validation and
//! asynchronous processing, plus seeded fault injection and an admin surface under `/emulator/`.
//!
//! Code map:
//! - `state`: the org and every rule of the contract (pure, synchronous, under one lock);
//! - `http`: routing, and the order in which faults apply to a request;
//! - `wire`: the parsed request and the reply (with the Genesys error body) the routes share;
//! - `listener`: the TCP listener whose connections can be dropped on purpose;
//! - `admin`: `/emulator/org`, `/emulator/state`, `/emulator/faults`, `/emulator/edits`, `/emulator/locks`;
//! - `faults`: the knobs, the seeded generator, the rate-limit bucket;
//! - [`fixture`]: the org fixture format and the dump.
//!
//! In-process use (tests, `rehearse`, benches): [`Emulator::start`] runs the server on its own
//! runtime thread and returns a [`RunningEmulator`] usable from sync or async code.

mod admin;
mod clock;
mod error;
mod faults;
pub mod fixture;
mod http;
mod listener;
mod state;
mod wire;

pub use clock::Clock;
pub use faults::{Faults, Rng};
pub use fixture::{Actor, ConcurrentEdit, Dump, Fixture, OperationRecord, SyntheticOrg, synthetic};

pub use error::{Error, Result};

use genesys::Endpoints;
use http::App;
use state::State;
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
    /// The time every rule reads: [`Clock::system`] (the default), or [`Clock::manual`] for tests
    /// that step through time ([`RunningEmulator::advance_clock`]) instead of sleeping.
    pub clock: Clock,
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
            clock: Clock::system(),
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
        config.faults.validate().map_err(Error::Faults)?;
        let mut seed_rng = faults::Rng::new(config.faults.seed ^ 0xC1_1E47);
        let client_id = config.client_id.clone().unwrap_or_else(|| seed_rng.uuid());
        let client_secret = config.client_secret.clone().unwrap_or_else(random_secret);
        let mut st = State::new(
            client_id.clone(),
            client_secret.clone(),
            config.faults.clone(),
            config.clock.clone(),
        );
        if let Some(org) = &config.org {
            st.load(org).map_err(Error::Fixture)?;
        }
        let app = Arc::new(App::new(st));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("zd2gc-emulator")
            .enable_all()
            .build()
            .map_err(|e| Error::Start(format!("cannot start the emulator's runtime: {e}")))?;
        let std_listener =
            std::net::TcpListener::bind(("127.0.0.1", config.port)).map_err(|e| {
                Error::Start(format!("cannot listen on 127.0.0.1:{}: {e}", config.port))
            })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| Error::Start(format!("cannot configure the listener: {e}")))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| Error::Start(format!("no local address: {e}")))?;
        let base_url = format!("http://{addr}");
        app.lock().base_url = base_url.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serve_app = app.clone();
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)
                .map_err(|e| Error::Start(format!("cannot register the listener: {e}")))?
        };
        let thread = std::thread::Builder::new()
            .name("zd2gc-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let router = http::router(serve_app);
                    let service = router.into_make_service_with_connect_info::<listener::Conn>();
                    let _ = axum::serve(listener::KillListener(listener), service)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            })
            .map_err(|e| Error::Start(format!("cannot start the emulator thread: {e}")))?;
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
        self.app.lock().load(dump).map_err(Error::Fixture)
    }

    /// The whole state, with every version and every concurrent edit the emulator made.
    pub fn dump(&self) -> Dump {
        self.app.lock().dump()
    }

    /// Set every fault knob (re-seeds the generator).
    pub fn set_faults(&self, faults: Faults) -> Result<()> {
        faults.validate().map_err(Error::Faults)?;
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
            .map_err(|e| Error::Refused(e.message))
    }

    /// The emulator's clock (a handle: advancing it here advances the emulator's).
    pub fn clock(&self) -> Clock {
        self.app.lock().clock.clone()
    }

    /// Move a manual clock forward by `by`, then finish every operation whose processing time has
    /// passed (as the next request would). Refused when the emulator runs on the system clock.
    pub fn advance_clock(&self, by: std::time::Duration) -> Result<()> {
        let mut st = self.app.lock();
        st.advance_clock(by).map_err(|e| Error::Refused(e.message))
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
