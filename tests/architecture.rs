//! The architecture invariants of ARCHITECTURE.md ("Architecture invariants"), checked over the
//! source text of the zd2gc crate (`src/**/*.rs`).
//!
//! How the module graph is computed: each file belongs to the top-level module of its first path
//! component (`src/load/worker.rs` → `load`, `src/db.rs` → `db`; `lib.rs` and `main.rs` belong to
//! none). Comment lines are dropped (a doc link is not a dependency); every `crate::NAME` path and
//! every name of a `crate::{A, B::c}` group in the remaining text is an edge from the file's module
//! to module NAME (or the module NAME aliases in lib.rs: `pub use store as db`), when NAME is a
//! top-level module and not the file's own. `#[cfg(test)] mod … { … }` blocks are left out: a unit
//! test may compare with another module (the frozen row hash of a migration with the live one)
//! without making the built crate depend on it. (The code reaches other
//! top-level modules only through `crate::` paths; `super::` stays inside a module.) A cycle is a
//! module that reaches itself through these edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, with its path relative to `src/`.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("src is readable")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(base).expect("under src").to_string_lossy();
                let text = std::fs::read_to_string(&p).expect("source is UTF-8");
                out.push((rel.replace('\\', "/"), text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&src_dir(), &src_dir(), &mut out);
    assert!(out.len() > 20, "found the sources ({} files)", out.len());
    out
}

/// The top-level module a file belongs to (`None`: the crate root, lib.rs or main.rs).
fn top_module(rel: &str) -> Option<String> {
    let first = rel.split('/').next().expect("a path");
    match first {
        "lib.rs" | "main.rs" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// The text with comment lines and `#[cfg(test)] mod … { … }` blocks blanked (line numbers kept).
fn code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    // Inside a test block: its brace depth so far and the literal a line ended in.
    let mut block: Option<(i64, Lit)> = None;
    for (k, l) in lines.iter().enumerate() {
        let t = l.trim();
        if block.is_none()
            && t == "#[cfg(test)]"
            && lines
                .get(k + 1)
                .is_some_and(|n| n.trim_start().starts_with("mod ") && n.trim_end().ends_with('{'))
        {
            block = Some((0, Lit::Code));
        }
        if let Some((d, lit)) = block.as_mut() {
            *d += braces(l, lit);
            if *d <= 0 && *lit == Lit::Code && t.ends_with('}') {
                block = None;
            }
            out.push("");
        } else if t.starts_with("//") {
            out.push("");
        } else {
            out.push(l);
        }
    }
    out.join("\n")
}

/// Where a line of code ends: in code, or inside a string literal that goes on to the next line.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Lit {
    Code,
    /// `"…` (escapes apply).
    Str,
    /// `r#"…` with this many `#`s (no escapes; ends at `"` and as many `#`s).
    Raw(usize),
}

/// `{` minus `}` on a line, outside string and character literals and comments; `lit` is where the
/// previous line ended and becomes where this one ends (a string may span lines).
fn braces(l: &str, lit: &mut Lit) -> i64 {
    let c: Vec<char> = l.chars().collect();
    let (mut n, mut i) = (0, 0);
    while i < c.len() {
        match *lit {
            Lit::Str => match c[i] {
                '\\' => i += 1,
                '"' => *lit = Lit::Code,
                _ => {}
            },
            Lit::Raw(h) => {
                if c[i] == '"' && c[i + 1..].iter().take(h).filter(|&&x| x == '#').count() == h {
                    *lit = Lit::Code;
                    i += h;
                }
            }
            Lit::Code => match c[i] {
                '/' if c.get(i + 1) == Some(&'/') => break,
                '"' => *lit = Lit::Str,
                // `r"…"`, `r#"…"#`, `br"…"` (an identifier is never followed by `"` or `#"`).
                'r' => {
                    let h = c[i + 1..].iter().take_while(|&&x| x == '#').count();
                    if c.get(i + 1 + h) == Some(&'"') {
                        *lit = Lit::Raw(h);
                        i += 1 + h;
                    }
                }
                // A character literal: `'{'`, `'"'`, `'\''`, `'\u{7b}'` (a lifetime has no closing quote).
                '\'' => {
                    if c.get(i + 1) == Some(&'\\') {
                        if let Some(e) = c.iter().skip(i + 3).position(|&x| x == '\'') {
                            i += 3 + e;
                        }
                    } else if c.get(i + 2) == Some(&'\'') {
                        i += 2;
                    }
                }
                '{' => n += 1,
                '}' => n -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    n
}

/// Every module named after `crate::` in `code`, with its line.
fn crate_refs(code: &str) -> Vec<(String, usize)> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i;
        from = at + "crate::".len();
        // `$crate::` in a macro, or a longer name ending in `crate` (`zd2gc_crate::`): not ours.
        if code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}, e}`: the first name of each item at depth 0.
            let mut depth = 0;
            let mut item_start = 0;
            for (k, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push((ident(&group[item_start..k]), line));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push((ident(&group[item_start..k]), line));
                        item_start = k + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push((ident(rest), line));
        }
    }
    out
}

/// The edges between top-level modules: (from, to) → the places that make the edge.
type Edges = BTreeMap<(String, String), Vec<String>>;

/// The top-level modules and the edges between them.
fn graph() -> (BTreeSet<String>, Edges) {
    let files = sources();
    let modules: BTreeSet<String> = files.iter().filter_map(|(r, _)| top_module(r)).collect();
    // `pub use store as db;` in lib.rs: `crate::db::…` is module `store`.
    let lib = &files.iter().find(|(r, _)| r == "lib.rs").expect("lib.rs").1;
    let aliases: BTreeMap<String, String> = code(lib)
        .lines()
        .filter_map(|l| {
            let (name, alias) = l.trim().strip_prefix("pub use ")?.split_once(" as ")?;
            Some((alias.trim_end_matches(';').to_string(), name.to_string()))
        })
        .collect();
    let mut edges = Edges::new();
    for (rel, text) in &files {
        let Some(from) = top_module(rel) else {
            continue;
        };
        for (to, line) in crate_refs(&code(text)) {
            let to = aliases.get(&to).cloned().unwrap_or(to);
            if to != from && modules.contains(&to) {
                edges
                    .entry((from.clone(), to))
                    .or_default()
                    .push(format!("src/{rel}:{line}"));
            }
        }
    }
    (modules, edges)
}

/// A path from `to` back to `from` over `edges`, if there is one.
fn path_back(from: &str, to: &str, edges: &Edges) -> Option<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![to.to_string()]];
    while let Some(path) = stack.pop() {
        let last = path.last().expect("non-empty").clone();
        if last == from {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for (a, b) in edges.keys() {
            if *a == last {
                let mut p = path.clone();
                p.push(b.clone());
                stack.push(p);
            }
        }
    }
    None
}

#[test]
fn the_module_graph_is_read_from_the_sources() {
    // The reader itself: groups, nested groups, comments and `$crate` are read as meant.
    let refs = crate_refs(&code(
        "use crate::{a::X, b::{c, d}, e};\n// crate::f::g\nlet x = crate::h::i();\n$crate::j\n\
         #[cfg(test)]\nmod tests {\n    fn t() { let _ = \"}\"; crate::k::l(); }\n}\ncrate::m::n();\n",
    ));
    let names: Vec<(&str, usize)> = refs.iter().map(|(n, l)| (n.as_str(), *l)).collect();
    assert_eq!(names, [("a", 1), ("b", 1), ("e", 1), ("h", 3), ("m", 9)]);
    // A test block whose raw SQL string opens a brace it closes nowhere, and whose code quotes `"`
    // and braces as characters: the block still ends at its own closing brace.
    let refs = crate_refs(&code(
        r##"#[cfg(test)]
mod tests {
    const Q: &str = r#"
        SELECT '{' || x || "}}" FROM t {
    "#;
    fn q() { let _ = ('"', '}', '\'', b'{', '\u{7b}'); crate::k::l(); }
}
crate::m::n();
"##,
    ));
    assert_eq!(refs, [("m".to_string(), 8)]);
    // And the real graph has the edges everyone knows of.
    let (modules, edges) = graph();
    for m in ["commands", "load", "map", "store", "extract", "validate"] {
        assert!(modules.contains(m), "module {m} found: {modules:?}");
    }
    assert!(edges.contains_key(&("load".into(), "map".into())));
    assert!(edges.contains_key(&("commands".into(), "load".into())));
    // `crate::db::…` (the alias) is an edge to `store`.
    assert!(edges.contains_key(&("extract".into(), "store".into())));
}

/// Invariant: no import cycle between the top-level modules of the zd2gc crate; data flows one
/// way (commands → stages → db, config, ui and the other leaves).
#[test]
fn no_import_cycle_between_top_level_modules() {
    let (_, edges) = graph();
    let mut cycles = Vec::new();
    for ((a, b), at) in &edges {
        if let Some(back) = path_back(a, b, &edges) {
            let mut hops = vec![format!("{a} → {b} ({})", at[0])];
            for w in back.windows(2) {
                let e = &edges[&(w[0].clone(), w[1].clone())];
                hops.push(format!("{} → {} ({})", w[0], w[1], e[0]));
            }
            cycles.push(hops.join(", "));
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules (each edge with one place that makes it):\n{}",
        cycles.join("\n")
    );
}

/// Invariant: the command layer is on top. No module but `commands` (and the crate root) refers to
/// `commands`, and none but `commands` uses clap.
#[test]
fn only_the_command_layer_knows_the_command_layer_and_clap() {
    let mut wrong = Vec::new();
    for (rel, text) in sources() {
        let module = top_module(&rel);
        if module.is_none() || module.as_deref() == Some("commands") {
            continue;
        }
        let code = code(&text);
        for (to, line) in crate_refs(&code) {
            if to == "commands" {
                wrong.push(format!("src/{rel}:{line}: refers to crate::commands"));
            }
        }
        for (k, l) in code.lines().enumerate() {
            let uses_clap = l.match_indices("clap").any(|(i, _)| {
                let before = l[..i].chars().next_back();
                let after = l[i + 4..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if uses_clap {
                wrong.push(format!("src/{rel}:{}: uses clap: {}", k + 1, l.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the command layer's business below it:\n{}",
        wrong.join("\n")
    );
}

/// Invariant: below the command layer, nothing writes to the terminal except `ui::Ui`.
#[test]
fn stages_reach_the_terminal_only_through_ui() {
    let mut wrong = Vec::new();
    for (rel, text) in sources() {
        if matches!(top_module(&rel).as_deref(), None | Some("commands" | "ui")) {
            continue;
        }
        for (k, l) in code(&text).lines().enumerate() {
            if [
                "println!",
                "eprintln!",
                "print!(",
                "eprint!(",
                "io::stdout",
                "io::stderr",
            ]
            .iter()
            .any(|p| l.contains(p))
            {
                wrong.push(format!("src/{rel}:{}: {}", k + 1, l.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "terminal output outside ui.rs and commands/:\n{}",
        wrong.join("\n")
    );
}
