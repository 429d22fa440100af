//! One mapping table read as written: its header checked (free column order, unknown and
//! repeated columns refused), its rows with their physical lines, and the cell checks the readers
//! share.

use super::is_uuid;
use crate::diag::SourceDiag;
use crate::error::{Error, Result};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::Path;

/// A `mapping-invalid-value` finding for one cell.
pub(super) fn invalid(
    file: &str,
    line: u64,
    text: &str,
    col: &str,
    v: &str,
    what: &str,
    fix: &str,
) -> SourceDiag {
    SourceDiag::new(
        "mapping-invalid-value",
        file,
        line,
        format!("`{col}` is `{v}`, which is not {what}"),
    )
    .help(fix.to_string())
    .text(text)
    .label_text(v, col)
}

const UUID_FIX: &str = "Genesys ids are UUIDs such as `8a5f5c0e-1d2b-4c3a-9e8f-0123456789ab`: copy it from Genesys Cloud (or run `zd2gc mappings pull`), or leave the cell blank (docs/mappings.md)";

/// Check the id columns of a row; returns whether all are UUIDs (a finding for each that is not).
pub(super) fn check_ids(
    file: &str,
    line: u64,
    text: &str,
    v: &HashMap<&'static str, String>,
    cols: &[&str],
    out: &mut Vec<SourceDiag>,
) -> bool {
    let mut ok = true;
    for c in cols {
        if let Some(id) = v.get(c)
            && !is_uuid(id)
        {
            out.push(invalid(
                file,
                line,
                text,
                c,
                id,
                "a Genesys id (a UUID)",
                UUID_FIX,
            ));
            ok = false;
        }
    }
    ok
}

/// One table's rows as (line, raw line text, column → value), with header checks done.
pub(super) struct Csv {
    pub file: String,
    pub rows: Vec<(u64, String, HashMap<&'static str, String>)>,
}

pub(super) fn read_csv(
    path: &Path,
    file: &str,
    columns: &[&'static str],
    required: &[&'static str],
    diags: &mut Vec<SourceDiag>,
) -> Result<Option<(Csv, String)>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let sha = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(&bytes))
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = crate::lines::line_of(e.as_bytes(), e.utf8_error().valid_up_to());
            diags.push(
                SourceDiag::new("malformed-row", file, line, "the table is not valid UTF-8")
                    .help("save the spreadsheet as CSV UTF-8"),
            );
            return Ok(None);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    // Physical lines (docs/mappings.md): CRLF, LF and a lone CR each end one.
    let lines = crate::lines::split(&text);
    let line_text = |l: u64| {
        lines
            .get((l as usize).saturating_sub(1))
            .copied()
            .unwrap_or("")
            .to_string()
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(crate::lines::Counting::new(text.as_bytes()));
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            diags.push(SourceDiag::new(
                "malformed-row",
                file,
                1,
                format!("bad header: {e}"),
            ));
            return Ok(None);
        }
    };
    let mut map: Vec<Option<&'static str>> = Vec::with_capacity(headers.len());
    let mut header_ok = true;
    for h in headers.iter() {
        let h = h.trim();
        match columns.iter().find(|c| **c == h) {
            Some(c) => {
                if map.contains(&Some(*c)) {
                    diags.push(
                        SourceDiag::new(
                            "bad-mapping",
                            file,
                            1,
                            format!("column `{h}` appears twice"),
                        )
                        .help("remove one of the two columns")
                        .text(line_text(1))
                        .label_text(h, "again"),
                    );
                    header_ok = false;
                }
                map.push(Some(*c));
            }
            None => {
                diags.push(
                    SourceDiag::new("bad-mapping", file, 1, format!("unknown column `{h}`"))
                        .help(format!("the columns of {file} are: {}", columns.join(", ")))
                        .text(line_text(1))
                        .label_text(h, "unknown"),
                );
                header_ok = false;
                map.push(None);
            }
        }
    }
    for r in required {
        if !map.contains(&Some(*r)) {
            diags.push(
                SourceDiag::new(
                    "bad-mapping",
                    file,
                    1,
                    format!("required column `{r}` is missing"),
                )
                .help(format!("the columns of {file} are: {}", columns.join(", ")))
                .text(line_text(1)),
            );
            header_ok = false;
        }
    }
    if !header_ok {
        return Ok(None);
    }
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = match e.position() {
                    Some(p) => rdr.get_mut().index.line_at(p.byte()),
                    None => 0,
                };
                diags.push(SourceDiag::new("malformed-row", file, line, e.to_string()));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = match rec.position() {
            Some(p) => rdr.get_mut().index.line_at(p.byte()),
            None => 0,
        };
        // Blank rows, and comment lines (`#` first, as `zd2gc init` writes one per table).
        if rec.iter().all(|v| v.trim().is_empty())
            || rec.get(0).is_some_and(|v| v.trim_start().starts_with('#'))
        {
            continue;
        }
        if rec.len() != map.len() {
            diags.push(
                SourceDiag::new(
                    "malformed-row",
                    file,
                    line,
                    format!("{} values for {} columns", rec.len(), map.len()),
                )
                .help("check the row's quoting: a comma inside a value must be quoted")
                .text(line_text(line)),
            );
            continue;
        }
        let mut vals = HashMap::new();
        for (i, v) in rec.iter().enumerate() {
            if let Some(c) = map[i] {
                let v = v.trim();
                if !v.is_empty() {
                    vals.insert(c, v.to_string());
                }
            }
        }
        rows.push((line, line_text(line), vals));
    }
    Ok(Some((
        Csv {
            file: file.to_string(),
            rows,
        },
        sha,
    )))
}

pub(super) fn missing(file: &str, line: u64, text: &str, col: &str) -> SourceDiag {
    SourceDiag::new("missing-field", file, line, format!("`{col}` is empty"))
        .help(format!("fill `{col}` or remove the row"))
        .text(text)
}

pub(super) fn parse_tz(
    csv: &Csv,
    line: u64,
    text: &str,
    v: &str,
    out: &mut Vec<SourceDiag>,
) -> Option<Tz> {
    match v.parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            out.push(invalid(
                &csv.file,
                line,
                text,
                "time_zone",
                v,
                "a zone of the tz database",
                "use an IANA name such as `Europe/Paris` (docs/mappings.md)",
            ));
            None
        }
    }
}
