//! The JSON Lines reader: one object per line, its keys matched to the canonical columns (the
//! configured aliases, the canonical names, the built-in ones), a shifts file's nested `tasks[]`
//! staged as tasks of that shift. Shares the CSV reader's hashing, sink and limits ([`super`]).

use super::{
    FileSpec, FileStats, MAX_FIELD, MAX_LINE, Senders, Sink, check_columns, finish, open,
    read_line_bounded, too_long,
};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::extract::columns::{self, Kind, MAX_COLS};
use crate::extract::records::{self, Fields, Reject};
use std::io::BufReader;

/// Lower-cased names → canonical column index, for matching JSON keys.
fn json_keys(cfg: &Config, kind: Kind) -> Vec<(String, usize)> {
    let mut v = Vec::new();
    for (i, col) in kind.columns().iter().enumerate() {
        for n in columns::names_for(cfg, kind, col) {
            v.push((n.trim().to_ascii_lowercase(), i));
        }
    }
    v
}

/// A JSON value as the text a CSV cell would hold; objects and arrays are not values.
fn json_text(v: &serde_json::Value) -> Result<Option<String>, &'static str> {
    use serde_json::Value;
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err("a nested object or array where a value belongs"),
    }
}

fn json_fields(
    obj: &serde_json::Map<String, serde_json::Value>,
    keys: &[(String, usize)],
    skip: &str,
) -> Result<[Option<String>; MAX_COLS], (String, String)> {
    let mut out: [Option<String>; MAX_COLS] = Default::default();
    for (k, v) in obj {
        let lk = k.to_ascii_lowercase();
        if lk == skip {
            continue;
        }
        // The first listed name wins (configured alias, canonical name, built-in).
        let Some(&(_, idx)) = keys.iter().find(|(n, _)| *n == lk) else {
            continue;
        };
        if out[idx].is_some() {
            continue;
        }
        match json_text(v) {
            Ok(t) => {
                if t.as_ref().is_some_and(|t| t.len() > MAX_FIELD) {
                    return Err((
                        k.clone(),
                        format!("value of `{k}` is over {MAX_FIELD} bytes"),
                    ));
                }
                out[idx] = t
            }
            Err(why) => return Err((k.clone(), format!("`{k}`: {why}"))),
        }
    }
    Ok(out)
}

fn view(owned: &[Option<String>; MAX_COLS]) -> Fields<'_> {
    let mut f: Fields = [None; MAX_COLS];
    for (i, v) in owned.iter().enumerate() {
        f[i] = v.as_deref();
    }
    f
}

/// Read a JSON Lines file: one object per line, field names as the WFM API's (or as the CSV's).
/// A shifts file may nest its tasks in `tasks[]`; they are staged as tasks of that shift, at its line.
pub(super) fn read_jsonl(cfg: &Config, spec: &FileSpec, tx: &Senders) -> Result<FileStats> {
    let (hashing, hashed) = open(spec)?;
    let mut rdr = BufReader::with_capacity(1 << 16, hashing);
    let keys = json_keys(cfg, spec.kind);
    let task_keys = json_keys(cfg, Kind::Tasks);
    let mut sink = Sink::new(spec, tx);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut seen_keys = false;
    let mut present = vec![false; spec.kind.columns().len()];
    while let Some(over) =
        read_line_bounded(&mut rdr, &mut buf, MAX_LINE).map_err(|e| Error::io(&spec.path, e))?
    {
        line += 1;
        let mut bytes: &[u8] = &buf;
        if line == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes = &bytes[3..];
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        sink.stats.rows_read += 1;
        let text = || {
            let t = String::from_utf8_lossy(bytes);
            if t.len() > 400 {
                format!("{}…", &t[..t.floor_char_boundary(400)])
            } else {
                t.into_owned()
            }
        };
        if over {
            let mut r = too_long(line, "the record", MAX_LINE + 1, MAX_LINE);
            r.message = format!("the record is longer than {MAX_LINE} bytes");
            r.text = text();
            sink.reject(r)?;
            continue;
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            let mut r = Reject::new(
                line,
                "malformed-row",
                format!("bad UTF-8 at byte {}", e.valid_up_to() + 1),
            );
            r.text = text();
            sink.reject(r)?;
            continue;
        }
        let obj = match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => {
                let mut r = Reject::new(
                    line,
                    "malformed-row",
                    "a JSON Lines record must be an object",
                );
                r.text = text();
                sink.reject(r)?;
                continue;
            }
            Err(e) => {
                let mut r = Reject::new(line, "malformed-row", format!("not valid JSON: {e}"));
                r.text = text();
                sink.reject(r)?;
                continue;
            }
        };
        let owned = match json_fields(
            &obj,
            &keys,
            if spec.kind == Kind::Shifts {
                "tasks"
            } else {
                ""
            },
        ) {
            Ok(o) => o,
            Err((field, msg)) => {
                let mut r = Reject::new(line, "malformed-row", msg);
                r.field = Some(field);
                r.text = text();
                sink.reject(r)?;
                continue;
            }
        };
        if !seen_keys {
            // The first record stands for the file's columns: a missing required key is a file error.
            for (i, v) in owned.iter().enumerate().take(present.len()) {
                present[i] = v.is_some();
            }
            let map: Vec<Option<usize>> = present.iter().map(|p| p.then_some(0)).collect();
            check_columns(cfg, spec, &map, &text())?;
            seen_keys = true;
        }
        let fields = view(&owned);
        let shift_ok = spec.kind != Kind::Shifts || records::shift(&fields, line).is_ok();
        sink.record(spec.kind, &fields, line, text)?;
        if spec.kind == Kind::Shifts && shift_ok {
            let sid = owned[columns::shift::ID].clone();
            match obj.get("tasks") {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::Array(tasks)) => {
                    for t in tasks {
                        let res = match t {
                            serde_json::Value::Object(o) => json_fields(o, &task_keys, ""),
                            _ => Err(("tasks".into(), "a task must be an object".into())),
                        };
                        match res {
                            Ok(mut tf) => {
                                if tf[columns::task::SHIFT].is_none() {
                                    tf[columns::task::SHIFT] = sid.clone();
                                }
                                let tv = view(&tf);
                                sink.record(Kind::Tasks, &tv, line, text)?;
                            }
                            Err((field, msg)) => {
                                let mut r =
                                    Reject::new(line, "malformed-row", format!("task: {msg}"));
                                r.field = Some(field);
                                r.shift_id = sid.clone();
                                r.text = text();
                                sink.reject(r)?;
                            }
                        }
                    }
                }
                Some(_) => {
                    let mut r =
                        Reject::new(line, "malformed-row", "`tasks` must be an array of objects");
                    r.field = Some("tasks".into());
                    r.shift_id = sid;
                    r.text = text();
                    sink.reject(r)?;
                }
            }
        }
    }
    drop(rdr);
    finish(sink, hashed, spec.kind)
}
