//! The HTML report as a fix list: hostile export text stays text, and the page at 1,000+ findings
//! in headless Chromium (grouped causes first, the "N shown" counter counts what the filter shows).

use crate::common::{root, zd2gc};
use std::path::Path;

/// Hostile task names: markup, an attribute break-out and a Markdown code span holding markup.
const HOSTILE: [&str; 3] = [
    "<img src=x onerror=alert(1)>",
    "\"><script>alert(2)</script>",
    "Lunch `<b>bold</b>`",
];

/// The paris sample with every `Break`, `Lunch` and `Chat` task renamed to an unmapped (hostile)
/// name: 1,139 unmapped-activity findings of 3 names in 2 business units. Returns the directory
/// and, per new name, the number of task rows that carry it (counted here from the CSV text).
fn hostile_dir() -> (tempfile::TempDir, Vec<(String, usize)>) {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let export = d.join("export");
    std::fs::create_dir_all(&export).unwrap();
    for f in std::fs::read_dir(root().join("samples/paris-cutover"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(f.path(), export.join(f.file_name())).unwrap();
    }
    let tasks = std::fs::read_to_string(export.join("shift_tasks.csv")).unwrap();
    let mut counts = vec![0usize; 3];
    let mut out = String::new();
    for (n, line) in tasks.lines().enumerate() {
        let mut cols: Vec<String> = line.split(',').map(str::to_string).collect();
        if n > 0 {
            let k = ["Break", "Lunch", "Chat"]
                .iter()
                .position(|x| cols[2] == *x);
            if let Some(k) = k {
                counts[k] += 1;
                // CSV-quoted: the names hold quotes.
                cols[2] = format!("\"{}\"", HOSTILE[k].replace('"', "\"\""));
            }
        }
        out.push_str(&cols.join(","));
        out.push('\n');
    }
    std::fs::write(export.join("shift_tasks.csv"), out).unwrap();
    let dir = d.to_str().unwrap();
    zd2gc().args(["--dir", dir, "init", dir]).assert().success();
    for f in std::fs::read_dir(root().join("mappings"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(f.path(), d.join("mappings").join(f.file_name())).unwrap();
    }
    zd2gc()
        .args(["--dir", dir, "--no-progress", "extract"])
        .arg(&export)
        .assert()
        .success();
    let named = HOSTILE.iter().map(|s| s.to_string()).zip(counts).collect();
    (work, named)
}

fn write_html(d: &Path) -> String {
    let html = d.join("report.html");
    let out = zd2gc()
        .args([
            "--dir",
            d.to_str().unwrap(),
            "--no-progress",
            "validate",
            "--html",
        ])
        .arg(&html)
        .arg("--report-json")
        .arg(d.join("report.json"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&html).unwrap()
}

#[test]
fn hostile_export_text_cannot_inject_markup() {
    let (work, named) = hostile_dir();
    let page = write_html(work.path());
    // The only script element is the page's own; no element came from the export.
    assert_eq!(page.matches("<script").count(), 1, "one script element");
    assert!(!page.contains("<img"), "an <img> from a task name");
    assert!(!page.contains("<b>bold"), "markup inside a code span");
    assert!(!page.contains("\"><script"), "an attribute break-out");
    // The names are there, as text.
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        page.contains("&lt;script&gt;alert(2)&lt;&#x2f;script&gt;")
            || page.contains("&lt;script&gt;alert(2)&lt;/script&gt;")
    );
    // Markdown code spans are <code>, never a raw backtick pair around a name.
    assert!(!page.contains("`Lunch"), "raw Markdown backticks");
    assert!(named.iter().all(|(_, n)| *n > 0));
}

#[test]
fn fix_list_groups_causes_and_counts_in_chromium() {
    let (work, named) = hostile_dir();
    let d = work.path();
    let page = write_html(d);
    let total: usize = named.iter().map(|(_, n)| n).sum();
    assert!(total >= 1000, "{total} hostile tasks");
    // Grouped first, flat table after; a group per name and business unit, errors first.
    let fix = page.find("id=\"fix-list\"").expect("fix list");
    let flat = page.find("id=\"findings\"").expect("findings table");
    assert!(fix < flat);
    let groups: Vec<&str> = page[fix..flat]
        .split("<tr class=\"group\"")
        .skip(1)
        .collect();
    assert!(groups.len() < 30, "{} groups for 3 names", groups.len());
    assert!(groups[0].contains("data-sev=\"error\""));
    // The largest group, tasks with an unmapped name, is placed in its business unit: each task's
    // shift found through the snapshot's task runs.
    assert!(
        groups[0].contains("shift_tasks") && groups[0].contains("<td>Paris Contact Centre</td>"),
        "{}",
        groups[0]
    );
    let impact = page.find("id=\"impact\"").expect("impact section");
    assert!(impact < flat);
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!("chromium not installed: HTML checked statically only");
        return;
    }
    let dump = |fragment: &str| {
        let profile = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!(
                "file://{}{fragment}",
                d.join("report.html").display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = |dom: &str| -> usize {
        let i = dom.find("id=\"shown\">").expect("counter") + "id=\"shown\">".len();
        dom[i..dom[i..].find('<').unwrap() + i]
            .parse()
            .expect("a number")
    };
    let dom = dump("");
    let rows = dom.matches("<tr class=\"finding\"").count();
    assert!(rows > 1000, "{rows} rows");
    assert_eq!(shown(&dom), rows, "the counter counts every row unfiltered");
    assert!(dom.find("id=\"fix-list\"").unwrap() < dom.find("id=\"findings\"").unwrap());
    // Filtered by one name (the page reads `#q=` into its filter): the counter is the number of
    // findings the JSON form has with that value (the tasks of an unmapped agent have none).
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
    let with_name = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["value"] == named[0].0.as_str())
        .count();
    assert!(with_name > 600 && with_name <= named[0].1, "{with_name}");
    let dom = dump("#q=onerror%3Dalert");
    assert_eq!(shown(&dom), with_name);
    assert_eq!(
        dom.matches("style=\"display: none;\"").count(),
        rows - with_name
    );
    if std::env::var_os("ZD2GC_UPDATE_SCREENSHOT").is_some() {
        let profile = tempfile::tempdir().unwrap();
        let png = root().join("docs/validate-report.png");
        std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1280,1800",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", d.join("report.html").display()))
            .output()
            .unwrap();
    }
}

/// `zd2gc report` after a rehearsal: one self-contained page and `cutover-report/v1` JSON whose
/// figures agree with the load journal read here straight from SQLite.
#[test]
fn cutover_report_of_a_rehearsal() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path().join("r");
    zd2gc()
        .current_dir(root())
        .args(["--quiet", "rehearse", "--no-faults", "--workdir"])
        .arg(&w)
        .assert()
        .success();
    let out = zd2gc()
        .args(["--dir", w.to_str().unwrap(), "--json", "report"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "cutover-report/v1");
    let conn = rusqlite::Connection::open(w.join("zd2gc.db")).unwrap();
    let (weeks, done): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), SUM(shifts_done) FROM load_weeks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(v["load"]["weeks"].as_array().unwrap().len() as i64, weeks);
    assert_eq!(v["load"]["shifts_done"], done);
    assert!(v["load"]["requests"].as_i64().unwrap() > 0);
    assert_eq!(v["verify"]["exit_code"], 0);
    let held: u64 = v["impact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["shifts"].as_u64().unwrap())
        .sum();
    assert_eq!(held, 11, "the 11 shifts the rehearsal holds back");
    let page = std::fs::read_to_string(w.join("reports/cutover.html")).unwrap();
    assert!(page.contains("Paris Contact Centre") && !page.contains("src=\"http"));
    assert!(
        !page.contains("5eac3200-a43b-4440-a8a1-a35668257610"),
        "names, not ids"
    );
    if std::env::var_os("ZD2GC_UPDATE_SCREENSHOT").is_some()
        && Path::new("/usr/bin/chromium").exists()
    {
        let profile = tempfile::tempdir().unwrap();
        std::process::Command::new("/usr/bin/chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1280,1700",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!(
                "--screenshot={}",
                root().join("docs/cutover-report.png").display()
            ))
            .arg(format!(
                "file://{}",
                w.join("reports/cutover.html").display()
            ))
            .output()
            .unwrap();
    }
}
