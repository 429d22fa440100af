//! A mapping table as written, for `mappings pull` to fill without rewriting what the engineer
//! wrote: every byte outside the rows it changes (a BOM, comment lines, quoting, line ends, column
//! order, rows it does not touch) is written back as it was.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One data row.
#[derive(Debug, Clone)]
pub struct Row {
    /// Physical line of the row's start (header = line 1).
    pub line: u64,
    /// Column name → value as written (trimmed).
    pub cells: HashMap<String, String>,
    /// The row's text with its line end, as written.
    raw: String,
    /// What follows it up to the next row (comment and blank lines), as written.
    tail: String,
    /// Replacement cells (set by [`Table::fill`]).
    changed: bool,
}

impl Row {
    /// The value of a column, `None` when blank.
    pub fn get(&self, col: &str) -> Option<&str> {
        self.cells
            .get(col)
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }
}

/// One table.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    /// Relative name for messages (`mappings/agents.csv`).
    pub name: String,
    /// The columns in file order.
    pub columns: Vec<String>,
    /// Everything before the first row: BOM, header, comment lines.
    head: String,
    pub rows: Vec<Row>,
    /// Rows to append (cells in `columns` order).
    added: Vec<Vec<String>>,
    eol: &'static str,
    existed: bool,
}

/// Whether a line is a comment (`#` first, after blanks).
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

impl Table {
    /// Read `path`; a missing or empty file is a table with `default_columns` and no rows.
    pub fn read(path: &Path, name: &str, default_columns: &[&str]) -> Result<Table> {
        let text = match std::fs::read(path) {
            Ok(b) => String::from_utf8(b).map_err(|_| {
                Error::usage(
                    format!("{name} is not valid UTF-8"),
                    Some("save the spreadsheet as CSV UTF-8".into()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(path, e)),
        };
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut t = Table {
            path: path.to_path_buf(),
            name: name.to_string(),
            columns: vec![],
            head: String::new(),
            rows: vec![],
            added: vec![],
            eol,
            existed: !text.is_empty(),
        };
        // Records (header included) with their byte spans; comment lines skipped by the reader
        // stay in the spans between records.
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let bom = text.len() - body.len();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(body.as_bytes());
        let mut recs: Vec<(usize, usize, u64, csv::StringRecord)> = Vec::new();
        let mut rec = csv::StringRecord::new();
        loop {
            let start = rdr.position().byte() as usize;
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return Err(Error::usage(
                        format!("{name}: {e}"),
                        Some("fix the table's quoting, then pull again".into()),
                    ));
                }
            }
            // The reader skipped comment and empty lines before the record.
            let mut rec_start = start;
            while let Some(l) = body[rec_start..].split_inclusive('\n').next()
                && (l.starts_with('#') || l.trim_end_matches(['\r', '\n']).is_empty())
                && rec_start + l.len() < body.len()
            {
                rec_start += l.len();
            }
            let line = body[..rec_start].matches('\n').count() as u64 + 1;
            let mut end = rdr.position().byte() as usize;
            // The reader stops after the `\r` of a `\r\n`: the line end belongs to the row.
            if body[..end].ends_with('\r') && body[end..].starts_with('\n') {
                end += 1;
            }
            recs.push((rec_start + bom, end + bom, line, rec.clone()));
        }
        let Some(((_, hend, _, header), rows)) = recs.split_first() else {
            t.columns = default_columns.iter().map(|s| s.to_string()).collect();
            // Only comments or blanks: keep them after the header we add.
            t.head = format!("{}{eol}{text}", t.columns.join(","));
            if !text.is_empty() && !text.ends_with('\n') {
                t.head.push_str(eol);
            }
            return Ok(t);
        };
        t.columns = header.iter().map(|h| h.trim().to_string()).collect();
        let first_row = rows.first().map_or(text.len(), |r| r.0);
        t.head = text[..first_row.max(*hend)].to_string();
        if rows.is_empty() {
            t.head = text.clone();
        }
        for (i, (s, e, line, r)) in rows.iter().enumerate() {
            let next = rows.get(i + 1).map_or(text.len(), |n| n.0);
            // A comment after blanks (the reader skips only `#` first): kept as text, not a row.
            if is_comment(&text[*s..*e]) {
                match t.rows.last_mut() {
                    Some(prev) => prev.tail.push_str(&text[*s..next]),
                    None => t.head.push_str(&text[*s..next]),
                }
                continue;
            }
            let cells = t
                .columns
                .iter()
                .cloned()
                .zip(r.iter().map(|v| v.trim().to_string()))
                .collect();
            t.rows.push(Row {
                line: *line,
                cells,
                raw: text[*s..*e].to_string(),
                tail: text[*e..next].to_string(),
                changed: false,
            });
        }
        // A row of blank cells only is not a row (kept as text in the one before).
        let mut kept: Vec<Row> = Vec::with_capacity(t.rows.len());
        for r in std::mem::take(&mut t.rows) {
            if r.cells.values().any(|v| !v.is_empty()) {
                kept.push(r);
            } else {
                let text = format!("{}{}", r.raw, r.tail);
                match kept.last_mut() {
                    Some(prev) => prev.tail.push_str(&text),
                    None => t.head.push_str(&text),
                }
            }
        }
        t.rows = kept;
        Ok(t)
    }

    pub fn has(&self, col: &str) -> bool {
        self.columns.iter().any(|c| c == col)
    }

    /// Fill the blank cells `values` names in row `i` (columns the table lacks are skipped).
    /// Returns the columns filled.
    pub fn fill(&mut self, i: usize, values: &[(&str, &str)]) -> Vec<String> {
        let mut done = vec![];
        for (col, v) in values {
            if v.is_empty() || !self.has(col) {
                continue;
            }
            let row = &mut self.rows[i];
            if row.get(col).is_none() {
                row.cells.insert(col.to_string(), v.to_string());
                row.changed = true;
                done.push(col.to_string());
            }
        }
        done
    }

    /// Append a row (columns the table lacks are left out).
    pub fn append(&mut self, values: &[(&str, &str)]) {
        let row = self
            .columns
            .iter()
            .map(|c| {
                values
                    .iter()
                    .find(|(k, _)| k == c)
                    .map_or(String::new(), |(_, v)| v.to_string())
            })
            .collect();
        self.added.push(row);
    }

    /// Rows changed and appended.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.rows.iter().filter(|r| r.changed).count(),
            self.added.len(),
        )
    }

    fn row_text(&self, cells: &[String]) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(vec![]);
        w.write_record(cells).expect("in memory");
        let s = String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8 in, utf-8 out");
        format!("{}{}", s.trim_end_matches('\n'), self.eol)
    }

    /// The table's text with the changes.
    pub fn render(&self) -> String {
        let mut s = self.head.clone();
        let more = !self.rows.is_empty() || !self.added.is_empty();
        if more && !s.is_empty() && !s.ends_with('\n') {
            s.push_str(self.eol);
        }
        for r in &self.rows {
            if r.changed {
                let cells: Vec<String> = self
                    .columns
                    .iter()
                    .map(|c| r.cells.get(c).cloned().unwrap_or_default())
                    .collect();
                s.push_str(&self.row_text(&cells));
            } else {
                s.push_str(&r.raw);
                if !r.raw.ends_with('\n') && !self.added.is_empty() {
                    s.push_str(self.eol);
                }
            }
            s.push_str(&r.tail);
        }
        for a in &self.added {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push_str(self.eol);
            }
            s.push_str(&self.row_text(a));
        }
        s
    }

    /// A line diff for `--dry-run`: `-` rows replaced, `+` rows written.
    pub fn diff(&self) -> Vec<String> {
        let mut out = vec![];
        for r in self.rows.iter().filter(|r| r.changed) {
            let cells: Vec<String> = self
                .columns
                .iter()
                .map(|c| r.cells.get(c).cloned().unwrap_or_default())
                .collect();
            out.push(format!("{}:{}", self.name, r.line));
            out.push(format!("- {}", r.raw.trim_end_matches(['\r', '\n'])));
            out.push(format!("+ {}", self.row_text(&cells).trim_end()));
        }
        if !self.added.is_empty() {
            out.push(format!(
                "{}: {} row(s) added{}",
                self.name,
                self.added.len(),
                if self.existed { "" } else { " (new file)" }
            ));
            for a in &self.added {
                out.push(format!("+ {}", self.row_text(a).trim_end()));
            }
        }
        out
    }

    /// Write the table if it changed: a temporary file renamed over it, owner-only (the tables
    /// name real people). Returns whether it wrote.
    pub fn write(&self) -> Result<bool> {
        let (c, a) = self.counts();
        if c + a == 0 && self.existed {
            return Ok(false);
        }
        let text = self.render();
        let tmp = self.path.with_extension("csv.pull-tmp");
        std::fs::write(&tmp, text.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
        crate::store::restrict_permissions(&tmp);
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> (tempfile::TempDir, Table) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        let t = Table::read(&p, "mappings/t.csv", &["a", "b"]).unwrap();
        (d, t)
    }

    #[test]
    fn untouched_tables_render_byte_for_byte() {
        for text in [
            "a,b\n",
            "a,b",
            "\u{feff}b,a\r\n# what goes here\r\n1,\"x, y\"\r\n\r\n2,z\r\n",
            "a,b\n# comment\n1,2\n# trailing\n",
            "a,b\n1,\"two\nlines\"\n3,4",
            "a,b\n  # indented comment, a\n1,2\n,\n  # another\n",
            "# only a comment\n",
            "",
        ] {
            let (_d, t) = table(text);
            let want = if text.is_empty() || text.starts_with('#') {
                format!("a,b\n{text}")
            } else {
                text.to_string()
            };
            assert_eq!(t.render(), want, "{text:?}");
        }
    }

    #[test]
    fn fill_keeps_other_rows_and_comments_and_appends_in_column_order() {
        let (_d, mut t) = table("b,a\r\n# say what\r\n,1\r\nkept,2\r\n");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].line, 3);
        assert_eq!(t.fill(0, &[("b", "x"), ("a", "9"), ("c", "?")]), vec!["b"]);
        assert!(t.fill(1, &[("b", "other")]).is_empty());
        t.append(&[("a", "3"), ("b", "has,comma")]);
        assert_eq!(
            t.render(),
            "b,a\r\n# say what\r\nx,1\r\nkept,2\r\n\"has,comma\",3\r\n"
        );
        assert_eq!(t.counts(), (1, 1));
    }

    #[test]
    fn indented_comments_and_blank_rows_are_not_rows() {
        let (_d, mut t) = table("a,b\n  # say, what\n,\n1,\n");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].line, 4);
        t.fill(0, &[("b", "x")]);
        assert_eq!(t.render(), "a,b\n  # say, what\n,\n1,x\n");
    }
}
