//! Streaming readers of the export's files (CSV and JSON Lines). Each reads one file start to end,
//! hashing it as it goes, builds typed records with their physical line, and sends them in batches
//! to the staging writer. Memory does not grow with the file: one record and one batch at a time.

use super::columns::{self, Kind, MAX_COLS};
use super::records::{self, Fields, Reject};
use super::stage::Batch;
use crate::config::Config;
use crate::diag::SourceDiag;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::io::Read;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::SyncSender;

mod jsonl;
use jsonl::read_jsonl;

pub const BATCH: usize = 4096;

/// Where readers send their batches: tasks to the tasks writer, everything else to the main one.
#[derive(Clone)]
pub struct Senders {
    pub main: SyncSender<Batch>,
    pub tasks: SyncSender<Batch>,
}
/// Longest JSON Lines record accepted (a longer one is rejected, and skipped to its end).
pub const MAX_LINE: usize = 1 << 20;
/// Longest single value accepted.
pub const MAX_FIELD: usize = 64 * 1024;
/// How many rejects per file are kept for the terminal (all go to the database).
pub const SAMPLE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FileSpec {
    pub file_id: i64,
    pub kind: Kind,
    /// Name relative to the export directory.
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FileStats {
    pub file_id: i64,
    pub kind: String,
    pub file: String,
    pub format: String,
    pub bytes: u64,
    pub sha256: String,
    pub rows_read: u64,
    pub staged: u64,
    pub rejected: u64,
    /// Nested tasks staged from a JSON Lines shifts file.
    pub nested_tasks: u64,
    /// The first rejects of the file (all of them are in the `rejects` table).
    #[serde(rename = "rejects")]
    pub sample: Vec<Reject>,
}

/// The SHA-256 and length of what a [`Hashing`] reader passed on.
#[derive(Default)]
struct HashState {
    hasher: Sha256,
    bytes: u64,
}

/// A reader that hashes and counts what passes through it (the file's raw bytes, before any
/// decoding). The state is shared, so it can be read after a decoder that owns the reader.
struct Hashing<R> {
    inner: R,
    state: Rc<RefCell<HashState>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        st.hasher.update(&buf[..n]);
        st.bytes += n as u64;
        Ok(n)
    }
}

/// Typed rows of one kind, accumulated into a batch and sent when full.
struct Sink<'a> {
    file_id: i64,
    tx: &'a SyncSender<Batch>,
    /// Tasks go to their own writer.
    tx_tasks: &'a SyncSender<Batch>,
    agents: Vec<records::AgentRow>,
    shifts: Vec<records::ShiftRow>,
    tasks: records::TaskBatch,
    /// The text capacity the next batch of tasks starts with (the last batch's: one allocation a
    /// batch, not one a task).
    task_text: usize,
    trades: Vec<records::TradeRow>,
    time_off: Vec<records::TimeOffRow>,
    rejects: Vec<Reject>,
    stats: FileStats,
}

impl<'a> Sink<'a> {
    fn new(spec: &FileSpec, tx: &'a Senders) -> Self {
        Sink {
            file_id: spec.file_id,
            tx: &tx.main,
            tx_tasks: &tx.tasks,
            agents: Vec::new(),
            shifts: Vec::with_capacity(BATCH),
            tasks: records::TaskBatch::with_capacity(BATCH, 0),
            task_text: 0,
            trades: Vec::new(),
            time_off: Vec::new(),
            rejects: Vec::new(),
            stats: FileStats {
                file_id: spec.file_id,
                kind: spec.kind.name().into(),
                file: spec.name.clone(),
                format: spec.format.as_str().into(),
                ..Default::default()
            },
        }
    }

    fn send(tx: &SyncSender<Batch>, b: Batch) -> Result<()> {
        tx.send(b)
            .map_err(|_| Error::failure("the staging writer stopped early", None))
    }

    fn reject(&mut self, r: Reject) -> Result<()> {
        self.stats.rejected += 1;
        if self.stats.sample.len() < SAMPLE {
            self.stats.sample.push(r.clone());
        }
        self.rejects.push(r);
        if self.rejects.len() >= 256 {
            Self::send(
                self.tx,
                Batch::Rejects(self.file_id, std::mem::take(&mut self.rejects)),
            )?;
        }
        Ok(())
    }

    /// Build and keep one record (or its reject) from its fields.
    fn record(
        &mut self,
        kind: Kind,
        f: &Fields,
        line: u64,
        text: impl FnOnce() -> String,
    ) -> Result<()> {
        let res = match kind {
            Kind::Agents => records::agent(f, line).map(|r| self.agents.push(r)),
            Kind::Shifts => records::shift(f, line).map(|r| self.shifts.push(r)),
            Kind::Tasks => records::task(f, line, &mut self.tasks),
            Kind::Trades => records::trade(f, line).map(|r| self.trades.push(r)),
            Kind::TimeOff => records::time_off(f, line).map(|r| self.time_off.push(r)),
        };
        match res {
            Ok(()) => {
                if kind == Kind::Tasks && self.stats.kind == Kind::Shifts.name() {
                    self.stats.nested_tasks += 1;
                } else {
                    self.stats.staged += 1;
                }
                self.flush(false)
            }
            Err(mut r) => {
                r.text = text();
                self.reject(*r)
            }
        }
    }

    fn flush(&mut self, all: bool) -> Result<()> {
        let full = |n: usize| (all && n > 0) || n >= BATCH;
        let id = self.file_id;
        if full(self.agents.len()) {
            Self::send(self.tx, Batch::Agents(id, std::mem::take(&mut self.agents)))?;
        }
        if full(self.shifts.len()) {
            Self::send(
                self.tx,
                Batch::Shifts(
                    id,
                    std::mem::replace(&mut self.shifts, Vec::with_capacity(BATCH)),
                ),
            )?;
        }
        if full(self.tasks.len()) {
            self.task_text = self.task_text.max(self.tasks.text.len());
            let next = records::TaskBatch::with_capacity(BATCH, self.task_text);
            Self::send(
                self.tx_tasks,
                Batch::Tasks(id, std::mem::replace(&mut self.tasks, next)),
            )?;
        }
        if full(self.trades.len()) {
            Self::send(self.tx, Batch::Trades(id, std::mem::take(&mut self.trades)))?;
        }
        if full(self.time_off.len()) {
            Self::send(
                self.tx,
                Batch::TimeOff(id, std::mem::take(&mut self.time_off)),
            )?;
        }
        if all && !self.rejects.is_empty() {
            Self::send(
                self.tx,
                Batch::Rejects(id, std::mem::take(&mut self.rejects)),
            )?;
        }
        Ok(())
    }
}

fn open(spec: &FileSpec) -> Result<(Hashing<std::fs::File>, Rc<RefCell<HashState>>)> {
    let f = std::fs::File::open(&spec.path).map_err(|e| Error::io(&spec.path, e))?;
    let state = Rc::new(RefCell::new(HashState::default()));
    Ok((
        Hashing {
            inner: f,
            state: state.clone(),
        },
        state,
    ))
}

fn finish(mut sink: Sink, hashed: Rc<RefCell<HashState>>, kind: Kind) -> Result<FileStats> {
    sink.flush(true)?;
    Sink::send(sink.tx, Batch::Staged(kind))?;
    let mut stats = std::mem::take(&mut sink.stats);
    let st = std::mem::take(&mut *hashed.borrow_mut());
    stats.bytes = st.bytes;
    stats.sha256 = format!("{:x}", st.hasher.finalize());
    Ok(stats)
}

fn delimiter_name(d: u8) -> String {
    match d {
        b',' => "comma-separated".into(),
        b'\t' => "tab-separated".into(),
        d => format!("`{}`-separated", d as char),
    }
}

fn delimiter_toml(d: u8) -> String {
    match d {
        b'\t' => "\"\\t\"".into(),
        d => format!("\"{}\"", d as char),
    }
}

/// When a CSV file's required columns are not found: whether its first bytes say it is written in
/// another encoding or with another delimiter than the configuration reads. Then the error names
/// what the file is and the `[csv]` setting that reads it (docs/export-format.md), instead of a
/// missing column and a header alias, which would be the wrong fix.
fn sniff(cfg: &Config, spec: &FileSpec) -> Option<Error> {
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(&spec.path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
    let (found, what): (&'static Encoding, &str) = if head.starts_with(b"\xFF\xFE") {
        (
            UTF_16LE,
            "UTF-16 (with a byte-order mark, as Excel's \"Unicode text\" saves it)",
        )
    } else if head.starts_with(b"\xFE\xFF") {
        (UTF_16BE, "UTF-16 (big-endian, with a byte-order mark)")
    } else if head.iter().filter(|&&b| b == 0).count() * 4 > head.len() {
        let odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        if odd * 2 > head.len() / 2 {
            (
                UTF_16LE,
                "UTF-16 (little-endian, without a byte-order mark)",
            )
        } else {
            (UTF_16BE, "UTF-16 (big-endian, without a byte-order mark)")
        }
    } else {
        let first = head
            .split(|&b| b == b'\n' || b == b'\r')
            .next()
            .unwrap_or_default();
        match std::str::from_utf8(first) {
            Ok(_) => (UTF_8, "UTF-8"),
            Err(e) if e.error_len().is_none() && first.len() == head.len() => (UTF_8, "UTF-8"),
            Err(_) => (
                WINDOWS_1252,
                "not UTF-8: its header has bytes UTF-8 does not allow (Windows-1252 / Latin-1, as older Excel saves CSV)",
            ),
        }
    };
    let configured = cfg.csv.encoding().unwrap_or(UTF_8);
    let utf16 = |e: &Encoding| e == UTF_16LE || e == UTF_16BE;
    let enc_differs = if utf16(found) {
        // The byte-order mark decides the byte order of a configured utf-16.
        !utf16(configured)
    } else {
        found != configured && !(found == UTF_8 && configured != UTF_8)
    };
    let (text, _, _) = found.decode(&head);
    let first = text
        .trim_start_matches('\u{feff}')
        .split(['\n', '\r'])
        .next()
        .unwrap_or_default()
        .to_string();
    let count = |d: u8| first.bytes().filter(|&b| b == d).count();
    let want = cfg.csv.delimiter();
    let best = crate::config::DELIMITERS
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .filter(|&d| count(d) > 0)
        .unwrap_or(want);
    let delim_differs = best != want && count(best) > count(want);
    if !enc_differs && !delim_differs {
        return None;
    }
    let label = if utf16(found) {
        "utf-16"
    } else if found == WINDOWS_1252 {
        "windows-1252"
    } else {
        "utf-8"
    };
    let mut settings = String::from("[csv]");
    if enc_differs {
        settings.push_str(&format!("\nencoding = \"{label}\""));
    }
    if delim_differs {
        settings.push_str(&format!("\ndelimiter = {}", delimiter_toml(best)));
    }
    let (code, message) = if enc_differs {
        (
            "wrong-encoding",
            format!(
                "{} is {what}{}; zd2gc reads it as {}",
                spec.name,
                if delim_differs {
                    format!(" and {}", delimiter_name(best))
                } else {
                    String::new()
                },
                configured.name()
            ),
        )
    } else {
        (
            "wrong-delimiter",
            format!(
                "{} is {} (its header has {} `{}` and {} `{}`); zd2gc reads it as {}",
                spec.name,
                delimiter_name(best),
                count(best),
                (best as char).escape_default(),
                count(want),
                (want as char).escape_default(),
                delimiter_name(want)
            ),
        )
    };
    Some(Error::from(
        SourceDiag::new(code, spec.name.clone(), 1, message)
            .help(format!(
                "read it as it is with this in zd2gc.toml:\n{settings}\nor save it from the spreadsheet as \"CSV UTF-8 (comma delimited)\" (docs/export-format.md)"
            ))
            .text(first),
    ))
}

/// The error for a file that lacks a required column: names the column and every alias tried.
fn missing_column(cfg: &Config, spec: &FileSpec, header_text: &str, cols: &[usize]) -> Error {
    let kind = spec.kind;
    let described: Vec<String> = cols
        .iter()
        .map(|&i| {
            let col = &kind.columns()[i];
            let names = columns::names_for(cfg, kind, col);
            format!("`{}` (tried: {})", col.name, names.join(", "))
        })
        .collect();
    let what = if cols.len() == 1 {
        "required column"
    } else {
        "one of the columns"
    };
    let msg = format!("{} has no {what} {}", spec.name, described.join(" or "));
    let kind_name = kind.name();
    let first = &kind.columns()[cols[0]].name;
    Error::from(
        SourceDiag::new("missing-column", spec.name.clone(), 1, msg)
            .help(format!(
                "rename the header, or add an alias in zd2gc.toml:\n[columns.{kind_name}]\n{first} = [\"Your header\"]"
            ))
            .text(header_text.to_string())
            .label_text("", "header row"),
    )
}

fn check_columns(
    cfg: &Config,
    spec: &FileSpec,
    map: &[Option<usize>],
    header_text: &str,
) -> Result<()> {
    for &col in spec.kind.required_columns() {
        if map[col].is_none() {
            return Err(missing_column(cfg, spec, header_text, &[col]));
        }
    }
    let pairs = spec.kind.time_pairs();
    if !pairs.is_empty()
        && !pairs
            .iter()
            .any(|(s, e)| map[*s].is_some() && map[*e].is_some())
    {
        let starts: Vec<usize> = pairs.iter().map(|(s, _)| *s).collect();
        return Err(missing_column(cfg, spec, header_text, &starts));
    }
    Ok(())
}

fn too_long(line: u64, what: &str, n: usize, limit: usize) -> Reject {
    Reject::new(
        line,
        "malformed-row",
        format!("{what} is {n} bytes, over the limit of {limit}"),
    )
}

/// Read a CSV file: header row, RFC 4180 quoting, a BOM tolerated; records keep their physical line.
pub fn read_csv(cfg: &Config, spec: &FileSpec, tx: &Senders) -> Result<FileStats> {
    let (hashing, hashed) = open(spec)?;
    // `[csv] encoding`: decoded on the fly (streaming); line ends are the same in the decoded
    // text, so physical lines are counted on it.
    let src: Box<dyn Read> = match cfg.csv.encoding() {
        None => Box::new(hashing),
        Some(enc) => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .bom_sniffing(true)
                .build(hashing),
        ),
    };
    let mut rdr = csv::ReaderBuilder::new()
        // 64 KiB reads, as the JSON Lines reader's (csv's default 8 KiB: 67,000 read calls
        // for the long-id whole export's tasks file).
        .buffer_capacity(1 << 16)
        .has_headers(true)
        .flexible(true)
        .delimiter(cfg.csv.delimiter())
        .from_reader(crate::lines::Counting::new(src));
    let headers = rdr
        .byte_headers()
        .map_err(|e| {
            Error::from(SourceDiag::new(
                "malformed-row",
                spec.name.clone(),
                1,
                format!("cannot read the header row: {e}"),
            ))
        })?
        .clone();
    let blank = |h: &[u8]| {
        h.strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(h)
            .iter()
            .all(u8::is_ascii_whitespace)
    };
    if headers.iter().all(blank) {
        // An empty file: reported as such (by extract, and as `empty-export` by validate for
        // agents and shifts), never as a missing column.
        let sink = Sink::new(spec, tx);
        drop(rdr);
        return finish(sink, hashed, spec.kind);
    }
    let header_strs: Vec<String> = headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let header_text = header_strs.join(",");
    let map = columns::resolve_headers(cfg, spec.kind, &header_strs);
    if let Err(e) = check_columns(cfg, spec, &map, &header_text) {
        return Err(sniff(cfg, spec).unwrap_or(e));
    }
    let width = headers.len();
    let mut sink = Sink::new(spec, tx);
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // csv only fails on I/O errors here (flexible, byte records); report at its line.
                let line = match e.position() {
                    Some(p) => rdr.get_mut().index.line_at(p.byte()),
                    None => 0,
                };
                sink.stats.rows_read += 1;
                sink.reject(Reject::new(
                    line,
                    "malformed-row",
                    format!("unreadable record: {e}"),
                ))?;
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        // The physical line (docs/export-format.md): csv's own line count misses CRs.
        let line = match rec.position() {
            Some(p) => rdr.get_mut().index.line_at(p.byte()),
            None => 0,
        };
        sink.stats.rows_read += 1;
        let text = || {
            let t = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f))
                .collect::<Vec<_>>()
                .join(",");
            if t.len() > 400 {
                format!("{}…", &t[..t.floor_char_boundary(400)])
            } else {
                t
            }
        };
        if rec.len() != width {
            let mut r = Reject::new(
                line,
                "malformed-row",
                format!(
                    "wrong column count: {} fields where the header has {width}",
                    rec.len()
                ),
            );
            r.text = text();
            sink.reject(r)?;
            continue;
        }
        let bad_utf8 = |col: usize| {
            let mut r = Reject::new(
                line,
                "malformed-row",
                format!(
                    "bad UTF-8 in column `{}`",
                    header_strs.get(col).map_or("?", |s| s.as_str())
                ),
            );
            r.field = header_strs.get(col).cloned();
            r.value = rec
                .get(col)
                .map(|v| String::from_utf8_lossy(v).into_owned());
            r.text = text();
            r
        };
        let whole = match std::str::from_utf8(rec.as_slice()) {
            Ok(whole) => whole,
            Err(e) => {
                let bad = e.valid_up_to();
                let col = (0..rec.len())
                    .find(|&i| rec.range(i).is_some_and(|r| r.end > bad))
                    .unwrap_or(0);
                sink.reject(bad_utf8(col))?;
                continue;
            }
        };
        if let Some(big) = rec.iter().map(<[u8]>::len).max().filter(|&n| n > MAX_FIELD) {
            let mut r = too_long(line, "a value", big, MAX_FIELD);
            r.text = text();
            sink.reject(r)?;
            continue;
        }
        let mut f: Fields = [None; MAX_COLS];
        let mut split = None;
        for (slot, idx) in map.iter().enumerate() {
            if let Some(i) = *idx {
                // The fields back to back are valid UTF-8, so a field is, unless a character
                // straddles one of its ends (its bytes split by a delimiter): no second check.
                let Some(v) = rec.range(i).and_then(|r| whole.get(r)) else {
                    split = Some(i);
                    break;
                };
                let v = v.trim();
                if !v.is_empty() {
                    f[slot] = Some(v);
                }
            }
        }
        if let Some(col) = split {
            sink.reject(bad_utf8(col))?;
            continue;
        }
        sink.record(spec.kind, &f, line, text)?;
    }
    drop(rdr);
    finish(sink, hashed, spec.kind)
}

pub use crate::lines::read_line_bounded;

pub fn read(cfg: &Config, spec: &FileSpec, tx: &Senders) -> Result<FileStats> {
    match spec.format {
        Format::Csv => read_csv(cfg, spec, tx),
        Format::Jsonl => read_jsonl(cfg, spec, tx),
    }
}
