//! The HTML form of the report: one self-contained page (inline CSS and SVG, no external asset,
//! readable without JavaScript and on paper). A verdict banner, counts by severity, a chart of
//! findings by rule, a per-week strip of shifts with DST and overlap findings marked, and the
//! findings table (sortable and filterable by a few lines of inline script when it runs).

use super::{Report, date_of};
use crate::config::Severity;
use std::collections::BTreeMap;
use std::fmt::Write;

/// At most this many findings are listed in the table (the JSON form has them all).
pub const MAX_ROWS: usize = 20_000;

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root{--err:#b3261e;--warn:#a15c00;--info:#1d5fa8;--ok:#1b6e2f;--fg:#1c1c1c;--mut:#5f6368;--bd:#d9d9d9}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0 auto;max-width:1240px;padding:16px 24px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}.mut{color:var(--mut)}
.verdict{padding:14px 18px;border-radius:6px;color:#fff;font-size:18px;font-weight:600;margin:12px 0}
.verdict.ready{background:var(--ok)}.verdict.blocked{background:var(--err)}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid var(--bd);border-radius:6px;padding:8px 14px;min-width:130px}
.card b{font-size:22px;display:block}.card.error b{color:var(--err)}.card.warning b{color:var(--warn)}.card.info b{color:var(--info)}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--bd);padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3;position:sticky;top:0;cursor:pointer;white-space:nowrap}td.num{text-align:right}
td code,.loc{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
.sev{font-weight:600;text-transform:uppercase;font-size:11.5px}.sev.error{color:var(--err)}.sev.warning{color:var(--warn)}.sev.info{color:var(--info)}
.help{color:var(--mut);font-size:12.5px}.controls{margin:8px 0;display:flex;gap:8px;flex-wrap:wrap}
.controls input,.controls select{font:inherit;padding:3px 6px}svg text{font:11px system-ui,sans-serif;fill:#333}
.legend span{margin-right:14px}.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
@media print{.controls{display:none}th{position:static}body{max-width:none;padding:0}.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr{break-inside:avoid}}
"#;

const JS: &str = r#"
(function(){var t=document.getElementById('findings');if(!t)return;var tb=t.tBodies[0];
var q=document.getElementById('q'),s=document.getElementById('sev'),n=document.getElementById('shown');
function f(){var v=(q.value||'').toLowerCase(),sv=s.value,c=0;for(var r of tb.rows){var ok=(!sv||r.dataset.sev===sv)&&(!v||r.textContent.toLowerCase().indexOf(v)>=0);r.style.display=ok?'':'none';if(ok)c++;}n.textContent=c;}
q.addEventListener('input',f);s.addEventListener('change',f);document.querySelector('.controls').hidden=false;
var dir={};Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){th.addEventListener('click',function(){
var d=dir[i]=-(dir[i]||-1);var rows=Array.prototype.slice.call(tb.rows);rows.sort(function(a,b){var x=a.cells[i].dataset.k||a.cells[i].textContent,y=b.cells[i].dataset.k||b.cells[i].textContent;
var nx=parseFloat(x),ny=parseFloat(y);if(!isNaN(nx)&&!isNaN(ny)&&/^[\d.]+$/.test(x)&&/^[\d.]+$/.test(y))return d*(nx-ny);return d*x.localeCompare(y);});
rows.forEach(function(r){tb.appendChild(r);});});});})();
"#;

fn sev_rank(s: Severity) -> u8 {
    match s {
        Severity::Error => 3,
        Severity::Warning => 2,
        Severity::Info => 1,
    }
}

fn color(s: Severity) -> &'static str {
    match s {
        Severity::Error => "#b3261e",
        Severity::Warning => "#a15c00",
        Severity::Info => "#1d5fa8",
    }
}

/// Render the page.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024 + r.findings.len().min(MAX_ROWS) * 400);
    let s = &r.summary;
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>zd2gc validation report</title><style>{CSS}</style></head><body>"
    );
    let _ = writeln!(
        o,
        "<h1>Pre-flight validation report</h1><div class=\"mut\">snapshot <code>{}</code> · generated {} · zd2gc {} · policy: dst_ambiguous = <code>{}</code>, pending_trades = <code>{}</code>, include_drafts = <code>{}</code>, max_shift_hours = <code>{}</code></div>",
        esc(&r.snapshot_id),
        esc(&r.generated_at),
        esc(&r.tool_version),
        esc(&r.policy.dst_ambiguous),
        esc(&r.policy.pending_trades),
        r.policy.include_drafts,
        r.policy.max_shift_hours
    );
    if r.ready_to_load {
        let _ = writeln!(
            o,
            "<div id=\"verdict\" class=\"verdict ready\" data-ready=\"true\">Ready to load — no error findings</div>"
        );
    } else {
        let _ = writeln!(
            o,
            "<div id=\"verdict\" class=\"verdict blocked\" data-ready=\"false\">Not ready to load — {} error finding{} block <code>zd2gc load</code></div>",
            s.errors,
            if s.errors == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(
        o,
        "<div class=\"cards\" id=\"counts\"><div class=\"card error\"><b>{}</b>errors</div><div class=\"card warning\"><b>{}</b>warnings</div><div class=\"card info\"><b>{}</b>infos</div></div>",
        s.errors, s.warnings, s.infos
    );

    // Inputs.
    o.push_str("<h2>Inputs</h2><table><thead><tr><th>file</th><th>rows</th><th>sha256</th></tr></thead><tbody>");
    for i in &r.inputs {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
            esc(&i.path),
            i.rows,
            esc(&i.sha256)
        );
    }
    o.push_str("</tbody></table>\n");

    rule_chart(&mut o, r);
    week_strip(&mut o, r);
    table(&mut o, r);
    let _ = writeln!(o, "<script>{JS}</script>\n</body></html>");
    o
}

fn rule_chart(o: &mut String, r: &Report) {
    let counts = r.rule_counts();
    o.push_str("<h2>Findings by rule</h2>\n");
    if counts.is_empty() {
        o.push_str("<p>No findings.</p>\n");
        return;
    }
    let max = counts.iter().map(|c| c.2).max().unwrap_or(1).max(1) as f64;
    let (lw, bw, rh) = (230.0, 760.0, 22.0);
    let h = rh * counts.len() as f64 + 8.0;
    let _ = write!(
        o,
        "<svg id=\"rule-chart\" role=\"img\" aria-label=\"findings by rule\" width=\"{}\" height=\"{h}\" viewBox=\"0 0 {} {h}\">",
        lw + bw + 60.0,
        lw + bw + 60.0
    );
    for (k, (rule, sev, n)) in counts.iter().enumerate() {
        let y = 4.0 + k as f64 * rh;
        let w = (*n as f64 / max * bw).max(2.0);
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{lw}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"><title>{}: {n} ({})</title></rect><text x=\"{:.1}\" y=\"{}\">{n}</text>",
            lw - 8.0,
            y + 14.0,
            esc(rule),
            y + 2.0,
            rh - 6.0,
            color(*sev),
            esc(rule),
            sev.as_str(),
            lw + w + 6.0,
            y + 14.0
        );
    }
    o.push_str("</svg>\n");
}

fn week_strip(o: &mut String, r: &Report) {
    o.push_str("<h2>Shifts per week</h2>\n");
    if r.weeks.is_empty() {
        o.push_str("<p>No shifts.</p>\n");
        return;
    }
    // Weeks from the first to the last, gaps included (at most a few years; wider spans are bucketed).
    let first = r.weeks.first().map_or(0, |w| w.monday);
    let last = r.weeks.last().map_or(0, |w| w.monday);
    let n = ((last - first) / 7 + 1) as usize;
    let per = n.div_ceil(160).max(1); // weeks per column
    let cols = n.div_ceil(per);
    let mut shifts = vec![0u64; cols];
    for w in &r.weeks {
        shifts[((w.monday - first) / 7) as usize / per] += w.shifts;
    }
    // Marked findings per column: DST and overlap.
    let mut marks: Vec<BTreeMap<&str, (u64, Severity)>> = vec![BTreeMap::new(); cols];
    for f in &r.findings {
        let kind = match f.rule.as_str() {
            "dst-nonexistent" | "dst-ambiguous" | "dst-length-change" => "DST",
            "shift-overlap" => "overlap",
            _ => continue,
        };
        let Some(wk) = f.week else { continue };
        if wk < first || wk > last {
            continue;
        }
        let c = ((wk - first) / 7) as usize / per;
        let e = marks[c].entry(kind).or_insert((0, f.severity));
        e.0 += 1;
        if sev_rank(f.severity) > sev_rank(e.1) {
            e.1 = f.severity;
        }
    }
    let max = shifts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let colw = (1000.0 / cols as f64).clamp(4.0, 36.0);
    let (top, bh) = (34.0, 110.0);
    let width = colw * cols as f64 + 60.0;
    let height = top + bh + 34.0;
    let _ = write!(
        o,
        "<svg id=\"week-strip\" role=\"img\" aria-label=\"shifts per week\" width=\"{width:.0}\" height=\"{height}\" viewBox=\"0 0 {width:.0} {height}\">"
    );
    let label_every = ((40.0 / colw).ceil() as usize).max(1);
    for c in 0..cols {
        let x = 30.0 + c as f64 * colw;
        let h = shifts[c] as f64 / max * bh;
        let monday = first + (c * per) as i64 * 7;
        let _ = write!(
            o,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#9aa7b8\"><title>week of {}: {} shifts</title></rect>",
            top + bh - h,
            (colw - 1.5).max(1.0),
            date_of(monday),
            shifts[c]
        );
        for (k, (kind, (count, sev))) in marks[c].iter().enumerate() {
            let cy = 8.0 + k as f64 * 12.0;
            let shape = if *kind == "DST" {
                format!(
                    "<circle cx=\"{:.1}\" cy=\"{cy}\" r=\"5\" fill=\"{}\">",
                    x + colw / 2.0,
                    color(*sev)
                )
            } else {
                format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\">",
                    x + colw / 2.0 - 5.0,
                    cy - 5.0,
                    color(*sev)
                )
            };
            let _ = write!(
                o,
                "{shape}<title>week of {}: {count} {kind} finding{} (worst: {})</title></{}>",
                date_of(monday),
                if *count == 1 { "" } else { "s" },
                sev.as_str(),
                if *kind == "DST" { "circle" } else { "rect" }
            );
        }
        if c % label_every == 0 {
            let _ = write!(
                o,
                "<text x=\"{x:.1}\" y=\"{}\">{}</text>",
                top + bh + 14.0,
                &date_of(monday)[2..]
            );
        }
    }
    let _ = writeln!(
        o,
        "<text x=\"0\" y=\"{}\">{}</text></svg>",
        top + 10.0,
        max as u64
    );
    o.push_str("<div class=\"legend mut\"><span>bars: shifts per week (Monday start)</span><span>● DST finding</span><span>■ shift overlap</span><span>colour = worst severity</span></div>\n");
}

fn table(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Findings ({})</h2>", r.findings.len());
    if r.findings.is_empty() {
        o.push_str("<p>No findings.</p>\n");
        return;
    }
    o.push_str(
        "<div class=\"controls\" hidden><input id=\"q\" type=\"search\" placeholder=\"filter: rule, file, id, text…\" size=\"40\">\
         <select id=\"sev\"><option value=\"\">all severities</option><option value=\"error\">error</option><option value=\"warning\">warning</option><option value=\"info\">info</option></select>\
         <span class=\"mut\"><span id=\"shown\"></span> shown · click a column header to sort</span></div>\n",
    );
    if r.findings.len() > MAX_ROWS {
        let _ = write!(
            o,
            "<p class=\"mut\">The first {MAX_ROWS} findings are listed; the JSON report has all {}.</p>",
            r.findings.len()
        );
    }
    o.push_str("<table id=\"findings\"><thead><tr><th>severity</th><th>rule</th><th>file:line</th><th>record</th><th>field</th><th>value</th><th>zone</th><th>message</th></tr></thead><tbody>\n");
    for f in r.findings.iter().take(MAX_ROWS) {
        let sev = f.severity.as_str();
        let cands = f
            .candidates
            .as_ref()
            .filter(|c| !c.is_empty())
            .map(|c| {
                format!(
                    "<br><span class=\"help\">candidates: {}</span>",
                    esc(&c.join(", "))
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr class=\"finding\" data-sev=\"{sev}\"><td class=\"sev {sev}\" data-k=\"{}\">{sev}</td><td><code>{}</code></td><td class=\"loc\" data-k=\"{}\">{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}{cands}<br><span class=\"help\">{}</span></td></tr>",
            sev_rank(f.severity),
            esc(&f.rule),
            esc(&format!(
                "{}:{:09}",
                f.file.as_deref().unwrap_or(""),
                f.line.unwrap_or(0)
            )),
            esc(&f.location()),
            esc(f.record_id.as_deref().unwrap_or("")),
            esc(f.field.as_deref().unwrap_or("")),
            esc(f.value.as_deref().unwrap_or("")),
            esc(f.timezone.as_deref().unwrap_or("")),
            esc(&f.message),
            esc(&f.help)
        );
    }
    o.push_str("</tbody></table>\n");
}
