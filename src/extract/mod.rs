//! `zd2gc extract EXPORT_DIR`: read a Zendesk WFM export (CSV or JSON Lines, see
//! `docs/export-format.md`) and stage every record with its file and physical line in
//! `snapshot.db`. Bad rows go to the `rejects` table and are reported; the good rows beside them are
//! staged. The new snapshot replaces the previous one atomically.
//!
//! Threads: one reader per file parses and sends batches; the calling thread is the only writer.

pub mod by_id;
pub mod columns;
pub mod records;
pub mod runsort;
pub mod source;
pub mod stage;

use crate::config::Config;
use crate::context::Context;
use crate::diag::SourceDiag;
use crate::error::{Error, Result};
use crate::exit::Exit;
use columns::Kind;
use sha2::{Digest, Sha256};
use source::{FileSpec, FileStats, Format};
use std::path::{Path, PathBuf};

/// How an extract treats what it finds.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// Files the export directory holds that zd2gc does not read are named, not an error.
    pub ignore_unknown_files: bool,
}

/// What an extract did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    #[serde(skip)]
    pub exit: Exit,
    pub snapshot_id: String,
    pub export_dir: String,
    pub files: Vec<FileStats>,
    pub records_staged: u64,
    pub rejected: u64,
    pub seconds: f64,
    /// Files of the export directory that were not read (with `--ignore-unknown-files`).
    pub ignored_files: Vec<String>,
}

impl Outcome {
    pub fn describe(&self) -> String {
        format!(
            "{} records staged from {} files, {} rejected ({:.2}s)",
            self.records_staged,
            self.files.len(),
            self.rejected,
            self.seconds
        )
    }
}

const EXTENSIONS: [(&str, Format); 3] = [
    ("csv", Format::Csv),
    ("jsonl", Format::Jsonl),
    ("ndjson", Format::Jsonl),
];

/// A file name as compared for a suggestion: lower case, `-` and spaces as `_`, no copy suffix.
fn name_key(name: &str) -> String {
    let lower = name.to_lowercase();
    let (stem, ext) = lower.rsplit_once('.').unwrap_or((&lower, ""));
    let stem = stem.trim_end_matches(|c: char| c == ')' || c.is_ascii_digit() || c == '(');
    let stem: String = stem
        .trim()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .collect();
    format!("{stem}.{ext}")
}

/// The known file name closest to an unknown one, when it is close enough to be a near miss.
pub fn closest_known(name: &str) -> Option<String> {
    let key = name_key(name);
    let ext = key.rsplit_once('.').map_or("", |(_, e)| e);
    let ext = if EXTENSIONS.iter().any(|(e, _)| *e == ext) {
        ext
    } else {
        "csv"
    };
    Kind::ALL
        .iter()
        .map(|k| format!("{}.{ext}", k.name()))
        .map(|known| (strsim::normalized_levenshtein(&key, &known), known))
        .filter(|(sim, _)| *sim >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| known)
}

/// Files of the export directory that are not `<kind>.<csv|jsonl|ndjson>` (hidden files aside).
pub fn unknown_files(export_dir: &Path) -> Result<Vec<String>> {
    let rd = std::fs::read_dir(export_dir).map_err(|e| Error::io(export_dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(export_dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let known = Kind::ALL.iter().any(|k| {
            EXTENSIONS
                .iter()
                .any(|(ext, _)| name == format!("{}.{ext}", k.name()))
        });
        if !known {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// The error for files zd2gc does not know: each named, with the nearest known name.
fn unknown_files_error(export_dir: &Path, names: &[String]) -> Error {
    let listed: Vec<String> = names
        .iter()
        .map(|n| match closest_known(n) {
            Some(k) => format!("`{n}` (did you mean `{k}`?)"),
            None => format!("`{n}`"),
        })
        .collect();
    let expected: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("{}.csv", k.name()))
        .collect();
    let renames: Vec<String> = names
        .iter()
        .filter_map(|n| closest_known(n).map(|k| format!("`{n}` to `{k}`")))
        .collect();
    let rename = if renames.is_empty() {
        "move it out of the export directory".to_string()
    } else {
        format!("rename {}", renames.join(", "))
    };
    Error::from(
        SourceDiag::new(
            "unknown-file",
            names[0].clone(),
            1,
            format!(
                "{} holds {} zd2gc does not read: {}; the files it reads are {} (or .jsonl)",
                export_dir.display(),
                if names.len() == 1 {
                    "a file"
                } else {
                    "files"
                },
                listed.join(", "),
                expected.join(", ")
            ),
        )
        .help(format!(
            "{rename}, or run `zd2gc extract --ignore-unknown-files` to go on without {} (docs/export-format.md)",
            if names.len() == 1 { "it" } else { "them" }
        )),
    )
}

/// Find the export's files: `<kind>.csv` or `<kind>.jsonl` (also `.ndjson`), at most one per kind.
pub fn discover(export_dir: &Path) -> Result<Vec<FileSpec>> {
    if !export_dir.is_dir() {
        return Err(Error::usage(
            format!(
                "export directory {} does not exist or is not a directory",
                export_dir.display()
            ),
            Some("name the folder that holds agents.csv and shifts.csv (or .jsonl)".into()),
        ));
    }
    let mut specs = Vec::new();
    for kind in Kind::ALL {
        let mut found: Vec<(PathBuf, Format)> = Vec::new();
        for (ext, fmt) in EXTENSIONS {
            let p = export_dir.join(format!("{}.{ext}", kind.name()));
            if p.is_file() {
                found.push((p, fmt));
            }
        }
        match found.len() {
            0 if kind.required() => {
                return Err(Error::usage(
                    format!(
                        "{} has no {}.csv or {}.jsonl",
                        export_dir.display(),
                        kind.name(),
                        kind.name()
                    ),
                    Some(
                        "agents and shifts are required; tasks, trades and time off are optional"
                            .into(),
                    ),
                ));
            }
            0 => {}
            1 => {
                let (path, format) = found.pop().expect("one");
                specs.push(FileSpec {
                    file_id: specs.len() as i64 + 1,
                    kind,
                    name: path
                        .file_name()
                        .expect("file")
                        .to_string_lossy()
                        .into_owned(),
                    path,
                    format,
                });
            }
            _ => {
                return Err(Error::usage(
                    format!(
                        "{} has {} files for {}: {}",
                        export_dir.display(),
                        found.len(),
                        kind.name(),
                        found
                            .iter()
                            .map(|(p, _)| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Some("keep one format per file kind".into()),
                ));
            }
        }
    }
    Ok(specs)
}

/// Batches queued for each staging writer (see [`extract_with`]).
const QUEUE: usize = 4;

/// Stage an export into `<dir>/snapshot.db`. Returns the outcome (rejects included); whole-file
/// problems (missing required column, unreadable file) are errors and leave the old snapshot.
pub fn extract(
    dir: &Path,
    export_dir: &Path,
    cfg: &Config,
    progress: impl FnMut(u64) + Send,
) -> Result<Outcome> {
    extract_with(dir, export_dir, cfg, &ExtractOptions::default(), progress)
}

/// [`extract`] with options.
pub fn extract_with(
    dir: &Path,
    export_dir: &Path,
    cfg: &Config,
    opts: &ExtractOptions,
    mut progress: impl FnMut(u64) + Send,
) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let unknown = columns::unknown_alias_targets(cfg);
    if !unknown.is_empty() {
        return Err(Error::usage(
            format!(
                "zd2gc.toml: header aliases for unknown columns: {}",
                unknown.join(", ")
            ),
            Some("the columns of each file are listed in docs/export-format.md".into()),
        ));
    }
    let specs = discover(export_dir)?;
    // A file zd2gc does not know is never skipped silently (docs/export-format.md).
    let ignored_files = unknown_files(export_dir)?;
    if !ignored_files.is_empty() && !opts.ignore_unknown_files {
        return Err(unknown_files_error(export_dir, &ignored_files));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut staging = stage::Staging::create(&crate::store::snapshot_path(dir))?;
    let tasks_writer = staging.take_tasks();
    // Four batches in flight per writer (a batch of 4,096 shifts is about 1 MB, of tasks about
    // 0.7 MB): the readers outrun the writers on a large export, so its queues stay full. With 16,
    // extract's peak RSS at 1.3 M shifts was 55-57 MB, with 4 it is 40-43 MB (a tenth of that
    // export: 37-38 MB either way), at the same CPU.
    let (tx_main, rx_main) = std::sync::mpsc::sync_channel::<stage::Batch>(QUEUE);
    let (tx_tasks, rx_tasks) = std::sync::mpsc::sync_channel::<stage::Batch>(QUEUE);
    let senders = source::Senders {
        main: tx_main,
        tasks: tx_tasks,
    };
    let written = std::sync::atomic::AtomicU64::new(0);
    let next_report = std::sync::atomic::AtomicU64::new(100_000);
    let report = std::sync::Mutex::new(&mut progress);
    let on_batch = |n: u64| {
        use std::sync::atomic::Ordering::Relaxed;
        let total = written.fetch_add(n, Relaxed) + n;
        if total >= next_report.load(Relaxed) {
            next_report.store(total + 200_000, Relaxed);
            if let Ok(mut p) = report.try_lock() {
                (**p)(total);
            }
        }
    };
    let on_batch = &on_batch;
    let (results, tasks_file) = std::thread::scope(|s| {
        let handles: Vec<_> = specs
            .iter()
            .map(|spec| {
                let tx = senders.clone();
                s.spawn(move || source::read(cfg, spec, &tx))
            })
            .collect();
        drop(senders);
        // The tasks file is written to its end (runs sorted, inserted, packed) on its own thread
        // as soon as its last batch is in: its commit phase overlaps the main file's index builds.
        let tasks_writer = s.spawn(move || tasks_writer.stage_tasks(rx_tasks, on_batch));
        let main_written = staging.main.consume(rx_main, on_batch);
        let (tasks_file, tasks_written) = match tasks_writer.join().expect("tasks writer panicked")
        {
            Ok(t) => (Some(t), Ok(())),
            Err(e) => (None, Err(e)),
        };
        // A writer's own error explains the readers' "writer stopped early": report it first.
        let mut out: Vec<Result<FileStats>> = [main_written, tasks_written]
            .into_iter()
            .filter_map(|r| r.err())
            .map(Err)
            .collect();
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("reader thread panicked")),
        );
        (out, tasks_file)
    });
    let mut files = Vec::new();
    for r in results {
        match r {
            Ok(f) => files.push(f),
            Err(e) => {
                staging.abandon(tasks_file);
                return Err(e);
            }
        }
    }
    let tasks_file = tasks_file.expect("the tasks file is sealed when no writer failed");
    let mut h = Sha256::new();
    for f in &files {
        h.update(format!("{}\t{}\t{}\n", f.kind, f.file, f.sha256));
    }
    let snapshot_id = format!("{:x}", h.finalize());
    let export_abs = std::fs::canonicalize(export_dir).unwrap_or_else(|_| export_dir.to_path_buf());
    staging.commit(
        &files,
        &[
            ("snapshot_id", snapshot_id.clone()),
            ("export_dir", export_abs.display().to_string()),
            ("extracted_at", crate::store::now_rfc3339()),
            ("tool_version", env!("CARGO_PKG_VERSION").to_string()),
            (
                "default_timezone",
                cfg.default_timezone.clone().unwrap_or_default(),
            ),
        ],
        tasks_file,
    )?;
    let rejected: u64 = files.iter().map(|f| f.rejected).sum();
    let staged: u64 = files.iter().map(|f| f.staged + f.nested_tasks).sum();
    Ok(Outcome {
        exit: if rejected > 0 {
            Exit::Findings
        } else {
            Exit::Ok
        },
        snapshot_id,
        export_dir: export_abs.display().to_string(),
        files,
        records_staged: staged,
        rejected,
        seconds: started.elapsed().as_secs_f64(),
        ignored_files,
    })
}

/// A reject as a diagnostic pointing at its file and line, with the offending value underlined.
pub fn reject_diag(file: &str, r: &records::Reject) -> SourceDiag {
    let help = match r.code {
        "missing-field" => {
            "fill the value in the export, or map the right column with a header alias in zd2gc.toml"
        }
        _ if r.message.contains("UTF-8") => "re-export the file as UTF-8",
        _ if r.message.contains("column count") => {
            "check the row's quoting: a comma inside a value must be quoted"
        }
        _ if r.message.contains("date") => {
            "local times are `YYYY-MM-DD HH:MM`, absolute ones RFC 3339 with an offset"
        }
        _ => "correct the row in the export and run `zd2gc extract` again",
    };
    let mut d = SourceDiag::new(r.code, file, r.line, r.message.clone()).help(help);
    if !r.text.is_empty() {
        let label = r.field.clone().unwrap_or_else(|| "this row".into());
        d = d
            .text(r.text.clone())
            .label_text(r.value.as_deref().unwrap_or(""), label);
    }
    d
}

/// Run extract and record it in the state database's runs table.
pub fn run_quietly(export_dir: &Path, opts: &ExtractOptions, ctx: &Context) -> Result<Outcome> {
    let cfg = Config::load(&ctx.dir)?;
    let state = crate::store::open_state(&ctx.dir)?;
    let run = crate::store::run_start(&state, "extract", &ctx.argv.join(" "))?;
    // Records staged; the total is not known before the files are read (no ETA).
    let bar = ctx.ui.progress_bar("extract", "records staged", None);
    let res = extract_with(&ctx.dir, export_dir, &cfg, opts, |n| bar.set(n));
    bar.finish();
    match &res {
        Ok(o) => crate::store::run_end(
            &state,
            &run,
            if o.rejected > 0 {
                crate::store::Outcome::Rejects
            } else {
                crate::store::Outcome::Ok
            },
            o.exit.code(),
            Some(&crate::store::SnapshotId::new(&o.snapshot_id)),
            &serde_json::json!({"staged": o.records_staged, "rejected": o.rejected}),
        )?,
        Err(e) => crate::store::run_end(
            &state,
            &run,
            crate::store::Outcome::Error,
            e.exit().code(),
            None,
            &serde_json::json!({"error": e.to_string()}),
        )?,
    }
    res
}
