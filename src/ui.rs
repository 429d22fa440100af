//! The terminal side of every command: stdout carries data, stderr carries progress, logs and
//! diagnostics. Respects `--quiet`, `--no-progress`, `--color` and `NO_COLOR`. The library's stages
//! report through this type only, so they never touch the terminal directly.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct Ui {
    pub quiet: bool,
    /// Progress bars (stderr is a terminal, neither `--quiet` nor `--no-progress`).
    pub progress: bool,
    /// Plain progress lines instead (stderr is not a terminal, neither `--quiet` nor
    /// `--no-progress`).
    pub plain_progress: bool,
    pub color: bool,
    pub json: bool,
    /// The command's name: its `--json` object is named `<command>/v1` unless it names itself.
    pub command: &'static str,
    /// Whether this command's one `--json` object was printed (shared by the clones of a run).
    pub json_printed: Arc<AtomicBool>,
    /// Where the lines for a person go: stderr (a screen in the tests of this module).
    pub(crate) sink: Sink,
}

/// Where [`Ui`] writes its stderr lines.
#[derive(Debug, Clone, Default)]
pub(crate) enum Sink {
    #[default]
    Stderr,
    #[cfg(test)]
    Screen(Arc<Mutex<tests::Screen>>),
}

impl Sink {
    fn write(&self, s: &str) {
        match self {
            Sink::Stderr => {
                let _ = write!(std::io::stderr(), "{s}");
            }
            #[cfg(test)]
            Sink::Screen(screen) => screen.lock().expect("screen").write(s),
        }
    }

    /// One line, above any live progress bar.
    fn line(&self, s: &str) {
        suspended(|| self.write(&format!("{s}\n")));
    }
}

impl Ui {
    pub fn new(quiet: bool, no_progress: bool, color: ColorChoice, json: bool) -> Ui {
        let tty = std::io::stderr().is_terminal();
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        Ui {
            quiet,
            progress: tty && !no_progress && !quiet,
            plain_progress: !tty && !no_progress && !quiet,
            color,
            json,
            command: "zd2gc",
            json_printed: Arc::default(),
            sink: Sink::Stderr,
        }
    }

    /// A silent UI for tests and in-process runs.
    pub fn silent() -> Ui {
        Ui {
            quiet: true,
            progress: false,
            plain_progress: false,
            color: false,
            json: false,
            command: "zd2gc",
            json_printed: Arc::default(),
            sink: Sink::Stderr,
        }
    }

    /// A status line on stderr (suppressed by `--quiet`).
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            self.sink.line(msg.as_ref());
        }
    }

    /// A headline on stderr, bold when colour is on.
    pub fn step(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            let style = self.style(anstyle::Style::new().bold());
            self.sink.line(&format!("{style}{}{style:#}", msg.as_ref()));
        }
    }

    /// A warning on stderr (shown even with `--quiet`).
    pub fn warn(&self, msg: impl AsRef<str>) {
        let style = self.style(
            anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Yellow.into())),
        );
        self.sink
            .line(&format!("{style}warning{style:#}: {}", msg.as_ref()));
    }

    /// A style when colour is on, no style otherwise.
    fn style(&self, s: anstyle::Style) -> anstyle::Style {
        if self.color { s } else { anstyle::Style::new() }
    }

    /// A rendered diagnostic on stderr (shown even with `--quiet`).
    pub fn diag(&self, d: &crate::diag::SourceDiag) {
        let text = crate::diag::render(d, self.color);
        suspended(|| self.sink.write(&text));
    }

    /// Data on stdout.
    pub fn data(&self, s: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", s.as_ref());
        let _ = out.flush();
    }

    /// The `--json` summary of a command on stdout: one JSON object per command, with a `schema`
    /// name (`<command>/v1` unless the value names its own); an array is wrapped as `items`. A
    /// second summary of the same run is not printed (stdout stays one object).
    pub fn json_summary(&self, v: &serde_json::Value) {
        if !self.json || self.json_printed.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut obj = match v {
            serde_json::Value::Object(m) => m.clone(),
            serde_json::Value::Array(_) => {
                let mut m = serde_json::Map::new();
                m.insert("items".into(), v.clone());
                m
            }
            other => {
                let mut m = serde_json::Map::new();
                m.insert("value".into(), other.clone());
                m
            }
        };
        if !obj.contains_key("schema") {
            obj.insert(
                "schema".into(),
                serde_json::Value::String(format!("{}/v1", self.command)),
            );
        }
        let v = serde_json::Value::Object(obj);
        self.data(serde_json::to_string_pretty(&v).expect("json summary serializes"));
    }

    /// Whether this run printed its `--json` object.
    pub fn json_done(&self) -> bool {
        self.json_printed.load(Ordering::SeqCst)
    }

    /// The `--json` form of an error that ended a command:
    /// `{"schema": "error/v1", "error": {code, message, help, file, line}, "exit_code": n}`.
    pub fn json_error(&self, err: &crate::error::Error, exit: crate::exit::Exit) {
        if !self.json || self.json_printed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.data(
            serde_json::to_string_pretty(&error_json(err, exit, self.command))
                .expect("json error serializes"),
        );
    }

    /// A progress display for a step of `total` units (`None`: unknown): an indicatif bar on a
    /// terminal, a plain line every [`PLAIN_EVERY`] otherwise, nothing with `--quiet`.
    pub fn progress_bar(&self, what: &str, unit: &str, total: Option<u64>) -> Progress {
        Progress::new(self, what, unit, total)
    }
}

impl Ui {
    /// A spinner for a step whose amount of work is not known in advance: what it does and the
    /// time elapsed, no count and no ETA (nothing to base one on). Not on a terminal: a plain line
    /// every [`PLAIN_EVERY`] while it runs.
    pub fn spinner(&self, what: &str, doing: &str) -> Progress {
        let p = Progress::new(self, what, "", None);
        p.detail(doing);
        if let Some(b) = &p.bar {
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                    .expect("spinner template"),
            );
            b.set_message(doing.to_string());
        }
        p
    }
}

/// How often a plain progress line is printed when stderr is not a terminal.
pub const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The progress bar on screen, if any: every line written to stderr goes above it, never glued
/// onto it.
static ACTIVE: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Run `f` (which writes to stderr) with the live progress bar, if any, taken off the screen.
fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE.lock().ok().and_then(|a| a.clone());
    match bar {
        Some(b) => b.suspend(f),
        None => f(),
    }
}

/// The estimated seconds left of a step: the work left over the pace measured in this run
/// (`done - done_at_start` units in `elapsed` seconds), and never less than the work left at
/// `max_rate` units per second when a rate limit bounds it. `None` until the pace is known (no
/// unit done in this run yet, or under a second of it).
pub fn eta(
    done: u64,
    done_at_start: u64,
    total: u64,
    elapsed: f64,
    max_rate: Option<f64>,
) -> Option<f64> {
    if done >= total {
        return Some(0.0);
    }
    let did = done.saturating_sub(done_at_start);
    if did == 0 || elapsed < 1.0 {
        return None;
    }
    let left = (total - done) as f64;
    let by_pace = left / (did as f64 / elapsed);
    let by_limit = max_rate.filter(|r| *r > 0.0).map_or(0.0, |r| left / r);
    Some(by_pace.max(by_limit))
}

/// `1m05s`, `42s`, `1h02m`.
pub fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// A step's progress (see [`Ui::progress_bar`]). Counts, rate and an ETA when it can be known;
/// extra text (`409: 3`) through [`Progress::detail`]. On a terminal an indicatif bar (or spinner);
/// otherwise, unless `--quiet`, a plain line every [`PLAIN_EVERY`] from a thread of its own, so a
/// step that reports seldom (or a spinner, never) still shows it is alive.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    state: Arc<State>,
    /// The plain-line thread: dropping the sender stops it.
    plain: Mutex<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

/// What the display shows, shared with the plain-line thread.
struct State {
    what: String,
    unit: Mutex<String>,
    total: Mutex<Option<u64>>,
    started: Instant,
    /// Seconds from `started` to the start of the current phase (see [`Counter::phase`]): the
    /// pace and the ETA are of the phase, the time elapsed is the step's.
    phase_at: Mutex<f64>,
    done: AtomicU64,
    done_at_start: Mutex<Option<u64>>,
    max_rate: Mutex<Option<f64>>,
    min_sample: AtomicU64,
    detail: Mutex<String>,
}

impl Progress {
    fn new(ui: &Ui, what: &str, unit: &str, total: Option<u64>) -> Progress {
        let target = indicatif::ProgressDrawTarget::stderr_with_hz(4);
        Progress::with_target(ui, what, unit, total, target, PLAIN_EVERY)
    }

    fn with_target(
        ui: &Ui,
        what: &str,
        unit: &str,
        total: Option<u64>,
        target: indicatif::ProgressDrawTarget,
        every: Duration,
    ) -> Progress {
        let bar = ui.progress.then(|| {
            let b = match total {
                Some(t) => indicatif::ProgressBar::new(t),
                None => indicatif::ProgressBar::new_spinner(),
            };
            b.set_draw_target(target);
            b.set_style(bar_style(total.is_some()));
            b.set_prefix(what.to_string());
            b.enable_steady_tick(Duration::from_millis(250));
            if let Ok(mut a) = ACTIVE.lock() {
                *a = Some(b.clone());
            }
            b
        });
        let state = Arc::new(State {
            what: what.to_string(),
            unit: Mutex::new(unit.to_string()),
            total: Mutex::new(total),
            started: Instant::now(),
            phase_at: Mutex::new(0.0),
            done: AtomicU64::new(0),
            done_at_start: Mutex::new(None),
            max_rate: Mutex::new(None),
            min_sample: AtomicU64::new(1),
            detail: Mutex::new(String::new()),
        });
        let plain = ui.plain_progress.then(|| {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let (st, sink) = (state.clone(), ui.sink.clone());
            let h = std::thread::spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                    let elapsed = st.started.elapsed().as_secs_f64();
                    let t = st.text_at(st.done.load(Ordering::Relaxed), elapsed);
                    sink.line(&format!("{}: {t}", st.what));
                }
            });
            (tx, h)
        });
        Progress {
            bar,
            state,
            plain: Mutex::new(plain),
        }
    }

    /// The total, once known.
    pub fn set_total(&self, total: u64) {
        if let Ok(mut t) = self.state.total.lock() {
            *t = Some(total);
        }
        if let Some(b) = &self.bar {
            b.set_length(total);
        }
    }

    /// Units that were done before this run started (a resume): they do not count in the pace.
    pub fn set_done_at_start(&self, n: u64) {
        if let Ok(mut d) = self.state.done_at_start.lock() {
            *d = Some(n);
        }
    }

    /// The most units per second the step can do (a rate limit): the ETA is never below it.
    pub fn set_max_rate(&self, units_per_sec: f64) {
        if let Ok(mut r) = self.state.max_rate.lock() {
            *r = Some(units_per_sec);
        }
    }

    /// Units this run must finish before its pace is trusted for an ETA (1 unless set): with `n`
    /// units in flight at once, the first finish together once the pipeline fills.
    pub fn set_min_sample(&self, n: u64) {
        self.state.min_sample.store(n.max(1), Ordering::Relaxed);
    }

    /// The units done so far, and the total when known (of the current phase).
    pub fn done(&self) -> (u64, Option<u64>) {
        (
            self.state.done.load(Ordering::Relaxed),
            self.state.total.lock().ok().and_then(|t| *t),
        )
    }

    /// The stage's side of this display (see [`Counter`]).
    pub fn counter(&self) -> Counter {
        Counter {
            state: Some(self.state.clone()),
            bar: self.bar.clone(),
        }
    }

    /// Extra text after the counts (`409: 3, 429: 0`).
    pub fn detail(&self, s: impl Into<String>) {
        if let Ok(mut d) = self.state.detail.lock() {
            *d = s.into();
        }
    }

    /// The text of the display for `done` units: counts, rate, ETA when known, detail.
    pub fn text(&self, done: u64) -> String {
        self.state
            .text_at(done, self.state.started.elapsed().as_secs_f64())
    }

    /// `done` units so far.
    pub fn set(&self, done: u64) {
        self.state.done.store(done, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_message(self.text(done));
            b.set_position(done);
        }
    }

    /// Take the display off the screen and stop its plain lines.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
            if let Ok(mut a) = ACTIVE.lock() {
                *a = None;
            }
        }
        let plain = self.plain.lock().ok().and_then(|mut p| p.take());
        if let Some((tx, h)) = plain {
            drop(tx);
            let _ = h.join();
        }
    }
}

impl State {
    /// The display's text for `done` units after `elapsed` seconds of this run.
    fn text_at(&self, done: u64, elapsed: f64) -> String {
        let total = self.total.lock().ok().and_then(|t| *t);
        let at_start = self.done_at_start.lock().ok().and_then(|d| *d).unwrap_or(0);
        let did = done.saturating_sub(at_start);
        let in_phase = elapsed - self.phase_at.lock().map_or(0.0, |p| *p);
        let unit = self.unit.lock().map(|u| u.clone()).unwrap_or_default();
        let mut parts: Vec<String> = Vec::new();
        if !unit.is_empty() {
            parts.push(match total {
                Some(t) => format!("{done}/{t} {unit}"),
                None => format!("{done} {unit}"),
            });
            if in_phase >= 1.0 && did > 0 {
                let rate = did as f64 / in_phase;
                parts.push(if rate >= 10.0 {
                    format!("{rate:.0}/s")
                } else {
                    format!("{:.1}/min", rate * 60.0)
                });
            }
        }
        if let Some(t) = total
            && did >= self.min_sample.load(Ordering::Relaxed)
        {
            let max_rate = self.max_rate.lock().ok().and_then(|r| *r);
            if let Some(e) = eta(done, at_start, t, in_phase, max_rate) {
                parts.push(format!("ETA {}", duration(e)));
            }
        }
        parts.push(format!("{} elapsed", duration(elapsed)));
        if let Ok(d) = self.detail.lock()
            && !d.is_empty()
        {
            parts.push(d.clone());
        }
        parts.join(", ")
    }
}

/// A stage's side of a progress display (from [`Progress::counter`]): the stage says what it is
/// doing and counts, the display shows it (bar on a terminal, plain lines otherwise). Cloned
/// into the stage's threads; the default one shows nothing (tests, in-process runs).
#[derive(Clone, Default)]
pub struct Counter {
    state: Option<Arc<State>>,
    bar: Option<indicatif::ProgressBar>,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.state.is_some() {
            "Counter(shown)"
        } else {
            "Counter(none)"
        })
    }
}

impl Counter {
    /// A new phase: what it does (`mapping shifts`), what it counts (`shifts`) and how many there
    /// are (`None`: not known, so no ETA). The count, pace and ETA start again from it.
    pub fn phase(&self, doing: &str, unit: &str, total: Option<u64>) {
        let Some(st) = &self.state else { return };
        if let Ok(mut d) = st.detail.lock() {
            *d = doing.to_string();
        }
        if let Ok(mut u) = st.unit.lock() {
            *u = unit.to_string();
        }
        if let Ok(mut t) = st.total.lock() {
            *t = total;
        }
        if let Ok(mut p) = st.phase_at.lock() {
            *p = st.started.elapsed().as_secs_f64();
        }
        st.done.store(0, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_style(bar_style(total.is_some()));
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_position(0);
        }
        self.show(0);
    }

    /// `done` units of the phase done so far.
    pub fn set(&self, done: u64) {
        let Some(st) = &self.state else { return };
        st.done.store(done, Ordering::Relaxed);
        self.show(done);
    }

    /// `n` more units done.
    pub fn add(&self, n: u64) {
        let Some(st) = &self.state else { return };
        let done = st.done.fetch_add(n, Ordering::Relaxed) + n;
        self.show(done);
    }

    fn show(&self, done: u64) {
        if let (Some(st), Some(b)) = (&self.state, &self.bar) {
            b.set_message(st.text_at(done, st.started.elapsed().as_secs_f64()));
            b.set_position(done);
        }
    }
}

/// The bar's look: with a bar when the total is known, a spinner otherwise.
fn bar_style(known_total: bool) -> indicatif::ProgressStyle {
    let template = if known_total {
        "{spinner} {prefix} [{bar:24}] {msg}"
    } else {
        "{spinner} {prefix} {msg}"
    };
    indicatif::ProgressStyle::with_template(template)
        .expect("progress template")
        .progress_chars("=> ")
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A stage's phase timings on stderr when `ZD2GC_TIMINGS` is set (for profiling the benchmark;
/// map and validate report theirs). Not through a [`Ui`]: the stages run in-process in the
/// benchmark, where there is none.
pub fn timing(what: &str) {
    if std::env::var_os("ZD2GC_TIMINGS").is_some() {
        eprintln!("{what}");
    }
}

/// The JSON form of an error (see [`Ui::json_error`]).
pub fn error_json(
    err: &crate::error::Error,
    exit: crate::exit::Exit,
    command: &str,
) -> serde_json::Value {
    use miette::Diagnostic;
    let (code, message, help, file, line) = match err {
        crate::error::Error::Source(d) => (
            d.code.clone(),
            d.message.clone(),
            d.help.clone(),
            Some(d.file.clone()),
            Some(d.line),
        ),
        e => (
            e.code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "zd2gc::error".into()),
            e.to_string(),
            e.help().map(|h| h.to_string()),
            match e {
                crate::error::Error::Io { path, .. } => Some(path.display().to_string()),
                _ => None,
            },
            None,
        ),
    };
    serde_json::json!({
        "schema": "error/v1",
        "command": command,
        "exit_code": exit.code(),
        "error": {"code": code, "message": message, "help": help, "file": file, "line": line},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terminal's screen, enough of one to see where text lands: rows of characters and a
    /// cursor; `\n` and `\r` move it, text overwrites.
    #[derive(Debug, Default)]
    pub struct Screen {
        pub rows: Vec<Vec<char>>,
        row: usize,
        col: usize,
    }

    impl Screen {
        fn at_row(&mut self) -> &mut Vec<char> {
            while self.rows.len() <= self.row {
                self.rows.push(Vec::new());
            }
            &mut self.rows[self.row]
        }

        pub fn write(&mut self, s: &str) {
            for c in s.chars() {
                match c {
                    '\n' => {
                        self.row += 1;
                        self.col = 0;
                        self.at_row();
                    }
                    '\r' => self.col = 0,
                    c => {
                        let col = self.col;
                        let r = self.at_row();
                        if r.len() <= col {
                            r.resize(col + 1, ' ');
                        }
                        r[col] = c;
                        self.col += 1;
                    }
                }
            }
        }

        pub fn lines(&self) -> Vec<String> {
            self.rows
                .iter()
                .map(|r| r.iter().collect::<String>().trim_end().to_string())
                .collect()
        }
    }

    /// indicatif's draw target onto a [`Screen`].
    #[derive(Debug)]
    struct ScreenTerm(Arc<Mutex<Screen>>);

    impl indicatif::TermLike for ScreenTerm {
        fn width(&self) -> u16 {
            160
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            let mut s = self.0.lock().unwrap();
            s.row = s.row.saturating_sub(n);
            Ok(())
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            let mut s = self.0.lock().unwrap();
            s.row += n;
            s.at_row();
            Ok(())
        }
        fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
            self.0.lock().unwrap().col += n;
            Ok(())
        }
        fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
            let mut s = self.0.lock().unwrap();
            s.col = s.col.saturating_sub(n);
            Ok(())
        }
        fn write_line(&self, l: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().write(&format!("{l}\n"));
            Ok(())
        }
        fn write_str(&self, l: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().write(l);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            let mut s = self.0.lock().unwrap();
            s.at_row().clear();
            s.col = 0;
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn screen_ui(progress: bool) -> (Ui, Arc<Mutex<Screen>>) {
        let screen = Arc::new(Mutex::new(Screen::default()));
        let ui = Ui {
            quiet: false,
            progress,
            plain_progress: !progress,
            color: false,
            json: false,
            command: "zd2gc",
            json_printed: Arc::default(),
            sink: Sink::Screen(screen.clone()),
        };
        (ui, screen)
    }

    /// A warning printed while a bar is on the screen starts its own line (the bar is taken off,
    /// the warning written, the bar drawn again below it), and the bar is still there after it.
    #[test]
    fn a_warning_while_a_bar_is_live_starts_its_own_line() {
        let (ui, screen) = screen_ui(true);
        let target = indicatif::ProgressDrawTarget::term_like(Box::new(ScreenTerm(screen.clone())));
        let p = Progress::with_target(&ui, "load", "weeks", Some(10), target, PLAIN_EVERY);
        p.set(3);
        let before = screen.lock().unwrap().lines();
        assert!(
            before
                .iter()
                .any(|l| l.contains("load [") && l.contains("3/10 weeks")),
            "the bar is drawn: {before:?}"
        );
        ui.warn("week 2026-W43 of Paris failed: 503");
        ui.info("an info line");
        p.set(4);
        let after = screen.lock().unwrap().lines();
        let w: Vec<&String> = after.iter().filter(|l| l.contains("warning")).collect();
        assert_eq!(w.len(), 1, "{after:?}");
        assert_eq!(
            w[0], "warning: week 2026-W43 of Paris failed: 503",
            "{after:?}"
        );
        assert!(after.iter().any(|l| l == "an info line"), "{after:?}");
        assert!(
            after
                .iter()
                .any(|l| l.contains("load [") && l.contains("4/10 weeks")),
            "the bar is back: {after:?}"
        );
        drop(p);
    }

    /// Not a terminal: a spinner (which is never told a count) and a bar both print plain lines
    /// while they run, and none after they finish.
    #[test]
    fn without_a_terminal_spinners_and_bars_print_plain_periodic_lines() {
        let (ui, screen) = screen_ui(false);
        let hidden = indicatif::ProgressDrawTarget::hidden();
        let every = Duration::from_millis(20);
        let spin = Progress::with_target(&ui, "validate", "", None, hidden, every);
        spin.detail("running the rules");
        let bar = Progress::with_target(
            &ui,
            "map",
            "shifts",
            Some(100),
            indicatif::ProgressDrawTarget::hidden(),
            every,
        );
        bar.set(40);
        // Wait (bounded) until both have printed a line: the lines come from their own threads.
        let t = Instant::now();
        let has = |w: &str| {
            screen
                .lock()
                .unwrap()
                .lines()
                .iter()
                .any(|l| l.starts_with(w))
        };
        while !(has("validate: ") && has("map: 40/100 shifts")) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{:?}",
                screen.lock().unwrap().lines()
            );
            std::thread::yield_now();
        }
        spin.finish();
        bar.finish();
        let n = screen.lock().unwrap().lines().len();
        let lines = screen.lock().unwrap().lines();
        let v = lines.iter().find(|l| l.starts_with("validate: ")).unwrap();
        assert!(v.contains("elapsed, running the rules"), "{v}");
        // Finished: the threads are joined (finish waits for them), nothing more is printed.
        assert_eq!(screen.lock().unwrap().lines().len(), n);
    }

    /// After a resume, the ETA is the work left over the pace of this run: 40 of 80 weeks were done
    /// before it, 4 more in 20 s → 36 left at 0.2/s = 3 minutes, not the seconds the weeks
    /// done before would suggest; and none until `min_sample` weeks of this run are done.
    #[test]
    fn the_eta_after_a_resume_is_this_runs_pace() {
        let (ui, _screen) = screen_ui(false);
        let p = Progress::with_target(
            &ui,
            "load",
            "weeks",
            Some(80),
            indicatif::ProgressDrawTarget::hidden(),
            Duration::from_secs(3600),
        );
        p.set_done_at_start(40);
        p.set_min_sample(4);
        let t = p.state.text_at(43, 20.0);
        assert!(
            !t.contains("ETA"),
            "3 weeks of this run, under the sample of 4: {t}"
        );
        let t = p.state.text_at(44, 20.0);
        assert!(
            t.starts_with("44/80 weeks, 12.0/min, ETA 3m00s, 20s elapsed"),
            "{t}"
        );
        // A rate limit of 0.1 week/s bounds it: 36 weeks take at least 6 minutes.
        p.set_max_rate(0.1);
        assert!(p.state.text_at(44, 20.0).contains("ETA 6m00s"));
    }

    #[test]
    fn eta_is_work_left_over_this_runs_pace_bounded_by_the_rate_limit() {
        // Nothing done in this run yet: unknown.
        assert_eq!(eta(40, 40, 100, 30.0, None), None);
        // Under a second: unknown.
        assert_eq!(eta(5, 0, 100, 0.5, None), None);
        // 10 units in 20 s, 50 left: 100 s.
        assert_eq!(eta(50, 40, 100, 20.0, None), Some(100.0));
        // A resume: the 40 done before do not make it faster.
        assert_eq!(eta(50, 40, 100, 20.0, None), eta(10, 0, 60, 20.0, None));
        // A rate limit of 0.25/s: 50 left take at least 200 s.
        assert_eq!(eta(50, 40, 100, 20.0, Some(0.25)), Some(200.0));
        assert_eq!(eta(100, 0, 100, 5.0, None), Some(0.0));
    }

    /// A stage's phases each count, pace and estimate on their own; the default counter shows
    /// nothing and costs nothing.
    #[test]
    fn a_counter_shows_each_phase_with_its_own_count_and_eta() {
        let (ui, _screen) = screen_ui(false);
        let p = Progress::with_target(
            &ui,
            "map",
            "",
            None,
            indicatif::ProgressDrawTarget::hidden(),
            Duration::from_secs(3600),
        );
        let c = p.counter();
        c.phase("mapping shifts and tasks", "shifts", Some(100));
        c.add(30);
        c.add(20);
        assert_eq!(p.done(), (50, Some(100)));
        let t = p.state.text_at(50, 10.0);
        assert!(t.starts_with("50/100 shifts, "), "{t}");
        // 50 in (about) 10 s, 50 left: about 10 s.
        assert!(t.contains("ETA 10s") || t.contains("ETA 11s"), "{t}");
        assert!(t.ends_with("elapsed, mapping shifts and tasks"), "{t}");
        // The next phase starts from nothing, with no ETA until it has done one.
        c.phase("matching the export's agents", "agents", Some(10));
        assert_eq!(p.done(), (0, Some(10)));
        let t = p.state.text_at(0, 12.0);
        assert!(t.starts_with("0/10 agents, 12s elapsed"), "{t}");
        assert!(!t.contains("ETA"), "{t}");
        // A phase of unknown size: a count and no ETA.
        c.phase("listing", "units", None);
        c.set(7);
        assert!(!p.state.text_at(7, 20.0).contains("ETA"));
        Counter::default().phase("nothing", "x", Some(1));
        Counter::default().add(1);
    }

    /// `--no-progress` and `--quiet` turn off the plain lines too, not only the bars.
    #[test]
    fn no_progress_and_quiet_turn_off_plain_lines() {
        for (quiet, no_progress) in [(false, true), (true, false), (true, true)] {
            let ui = Ui::new(quiet, no_progress, ColorChoice::Never, false);
            assert!(!ui.progress && !ui.plain_progress, "{quiet} {no_progress}");
        }
    }

    #[test]
    fn durations_read_as_time() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(65.0), "1m05s");
        assert_eq!(duration(3720.0), "1h02m");
    }
}
