//! The validation rule fixtures, one test per case (a harness of its own, libtest-mimic): each
//! case can be run and filtered alone, e.g. `cargo test --test rule_fixtures dst-ambiguous/`.
//!
//! Fixtures: `tests/fixtures/validate/<rule>/<case>/` holds the export files, optionally a
//! `zd2gc.toml` (default: Paris zone, default activity) and a `mappings/` folder whose files replace
//! the shared `tests/fixtures/validate/mappings/` ones, and `expected.json`: the findings as
//! `{rule, file, line, record_id, field}` (optionally `severity`, `timezone`, `candidates`, `value`,
//! `message`, `help`, compared when given). Every finding of the run must be listed: a near-miss
//! case lists none. Adding a case needs no Rust code.

mod fixture_cases;

use fixture_cases::{fixtures, run_case};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![Trial::test("every_rule_has_a_positive_fixture", || {
        every_rule_has_a_positive_fixture(&cases())
    })];
    for case in cases() {
        let name = case_name(&case);
        trials.push(Trial::test(name, move || check_case(&case)));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Every case directory (one with an `expected.json`), sorted.
fn cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for rule in std::fs::read_dir(fixtures()).unwrap().flatten() {
        if !rule.path().is_dir() || rule.file_name() == "mappings" {
            continue;
        }
        for case in std::fs::read_dir(rule.path()).unwrap().flatten() {
            if case.path().join("expected.json").exists() {
                out.push(case.path());
            }
        }
    }
    out.sort();
    out
}

/// `<rule>/<case>`.
fn case_name(case: &Path) -> String {
    case.strip_prefix(fixtures()).unwrap().display().to_string()
}

fn expected(case: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).unwrap()).unwrap()
}

fn key(v: &Value) -> String {
    format!(
        "{} {}:{} {} {}",
        v["rule"].as_str().unwrap_or("?"),
        v["file"].as_str().unwrap_or("-"),
        v["line"],
        v["record_id"].as_str().unwrap_or("-"),
        v["field"].as_str().unwrap_or("-")
    )
}

/// A positive and a near-miss case per rule, and every rule of `zd2gc::rules::RULES` expected by
/// some case.
fn every_rule_has_a_positive_fixture(cases: &[PathBuf]) -> Result<(), Failed> {
    if cases.len() < 52 {
        return Err(format!(
            "{} cases: a positive and a near-miss case per rule",
            cases.len()
        )
        .into());
    }
    let mut covered = BTreeSet::new();
    for case in cases {
        for e in expected(case)["findings"].as_array().unwrap() {
            covered.insert(e["rule"].as_str().unwrap().to_string());
        }
    }
    let missing: Vec<&str> = zd2gc::rules::RULES
        .iter()
        .map(|r| r.id)
        .filter(|r| !covered.contains(*r))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("rules without a positive fixture: {missing:?}").into())
    }
}

/// Run one case: the findings must be exactly the expected ones (by rule, file, line, record and
/// field), with the optional attributes the expectation gives, and each with a message and help.
fn check_case(case: &Path) -> Result<(), Failed> {
    let name = case_name(case);
    let expected = expected(case);
    let (report, _work) = run_case(case);
    let actual: Vec<Value> = report
        .findings
        .iter()
        .map(|f| serde_json::to_value(f).unwrap())
        .collect();
    let exp: Vec<&Value> = expected["findings"].as_array().unwrap().iter().collect();
    let mut a_keys: Vec<String> = actual.iter().map(key).collect();
    let mut e_keys: Vec<String> = exp.iter().map(|v| key(v)).collect();
    a_keys.sort();
    e_keys.sort();
    if a_keys != e_keys {
        return Err(format!(
            "{name}:\n  expected {e_keys:#?}\n  actual   {a_keys:#?}\n  messages: {:#?}",
            report
                .findings
                .iter()
                .map(|f| format!("{} {}", f.rule, f.message))
                .collect::<Vec<_>>()
        )
        .into());
    }
    let mut failures = Vec::new();
    // Optional attributes, compared when the expectation gives them.
    for e in &exp {
        let k = key(e);
        let a = actual.iter().find(|a| key(a) == k).unwrap();
        for attr in [
            "severity",
            "timezone",
            "candidates",
            "value",
            "message",
            "help",
        ] {
            if let Some(ev) = e.get(attr)
                && a.get(attr) != Some(ev)
            {
                failures.push(format!(
                    "{name}: {k}: {attr} expected {ev}, got {:?}",
                    a.get(attr)
                ));
            }
        }
    }
    // Every finding has a message and a help line.
    for f in &report.findings {
        if f.message.is_empty() || f.help.is_empty() {
            failures.push(format!("{name}: {} has no message or help", f.rule));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}
