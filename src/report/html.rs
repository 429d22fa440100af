//! The HTML form of the report: one self-contained page (inline CSS and SVG, no external asset,
//! readable without JavaScript and on paper), laid out as a fix list: a header (migration, org,
//! snapshot, who ran it), the verdict, the findings grouped by cause (rule + value + business unit,
//! with a count and the first location; errors first), the impact of the errors (what `load
//! --allow-errors` would hold back per business unit and week, in shifts, agents and hours), a
//! chart by rule, each unit's shifts per week in its own weeks, and the flat findings table
//! (filterable and sortable by a few lines of inline script, with a "N shown" counter).
//!
//! Rendered by minijinja with auto-escaping (the template's name ends in `.html`): every value
//! from the export is escaped unless the code marks it safe, and only two things are: our own CSS
//! and script, and the `md` filter's output (which escapes first, then turns `` `x` `` into
//! `<code>x</code>`).

use super::Report;
use super::context::Context;
use crate::config::Severity;
use minijinja::{Environment, Value, context};
use std::collections::BTreeMap;

/// At most this many findings are listed in the flat table (the JSON form has them all).
pub const MAX_ROWS: usize = 20_000;

const TEMPLATE: &str = include_str!("templates/validation.html");

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

/// A message as HTML: escaped, then each `` `span` `` (the messages' Markdown code spans) as
/// `<code>span</code>`; an unpaired backtick stays as written.
pub fn md(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let mut o = String::with_capacity(s.len() + 16);
    let pairs = (parts.len() - 1) / 2 * 2; // backticks that have a partner
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            if i <= pairs {
                o.push_str(if i % 2 == 1 { "<code>" } else { "</code>" });
            } else {
                o.push('`');
            }
        }
        o.push_str(&esc(p));
    }
    o
}

pub const CSS: &str = r#"
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
table.meta th{background:none;position:static;width:1%;color:var(--mut);font-weight:normal}h3{font-size:14px;margin:14px 0 4px}tfoot th{position:static}
@media print{.controls{display:none}th{position:static}body{max-width:none;padding:0}.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr{break-inside:avoid}}
"#;

const JS: &str = r#"
(function(){var t=document.getElementById('findings');if(!t)return;var tb=t.tBodies[0];
var q=document.getElementById('q'),s=document.getElementById('sev'),n=document.getElementById('shown');
function f(){var v=(q.value||'').toLowerCase(),sv=s.value,c=0;for(var r of tb.rows){var ok=(!sv||r.dataset.sev===sv)&&(!v||r.textContent.toLowerCase().indexOf(v)>=0);r.style.display=ok?'':'none';if(ok)c++;}n.textContent=c;}
if(location.hash.indexOf('#q=')===0)q.value=decodeURIComponent(location.hash.slice(3));f();q.addEventListener('input',f);s.addEventListener('change',f);document.querySelector('.controls').hidden=false;
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

/// One cause: findings of one rule, one value and one business unit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Group {
    pub severity: &'static str,
    pub rule: String,
    pub value: Option<String>,
    pub business_unit: String,
    pub count: u64,
    pub first: String,
    pub more: String,
    pub message: String,
    pub help: String,
    #[serde(skip)]
    rank: u8,
}

/// Rules whose value is the cause itself (a name to map, a status, a zone): grouped by value.
/// Other rules' values are per record (a time, an id), so they group by rule and unit only.
fn value_is_cause(rule: &str) -> bool {
    matches!(
        rule,
        "unmapped-activity"
            | "unmapped-time-off-reason"
            | "unknown-timezone"
            | "trade-pending"
            | "mapping-invalid-value"
            | "mapping-unknown-reference"
            | "dst-ambiguous"
            | "dst-nonexistent"
            | "missing-field"
            | "malformed-row"
    )
}

/// The findings grouped by cause, errors first, then the largest groups.
pub fn groups(r: &Report, cx: &Context) -> Vec<Group> {
    let mut m: BTreeMap<(String, Option<String>, Option<String>), Group> = BTreeMap::new();
    for (i, f) in r.findings.iter().enumerate() {
        let bu = cx.finding_bu.get(i).cloned().flatten();
        let value = f.value.clone().filter(|_| value_is_cause(&f.rule));
        let key = (f.rule.clone(), value.clone(), bu.clone());
        let g = m.entry(key).or_insert_with(|| Group {
            severity: f.severity.as_str(),
            rule: f.rule.clone(),
            value,
            business_unit: cx.bu_name(bu.as_deref()),
            count: 0,
            first: f.location(),
            more: String::new(),
            message: cx.name_ids(&f.message),
            help: cx.name_ids(&f.help),
            rank: sev_rank(f.severity),
        });
        if sev_rank(f.severity) > g.rank {
            g.rank = sev_rank(f.severity);
            g.severity = f.severity.as_str();
        }
        g.count += 1;
    }
    let mut v: Vec<Group> = m.into_values().collect();
    for g in &mut v {
        if g.count > 1 {
            g.more = format!("and {} more", g.count - 1);
        }
    }
    v.sort_by(|a, b| {
        b.rank
            .cmp(&a.rank)
            .then(b.count.cmp(&a.count))
            .then(a.rule.cmp(&b.rule))
    });
    v
}

/// Render the page without a context (no business units, no impact).
pub fn render(r: &Report) -> String {
    render_with(r, &Context::bare())
}

/// Render the page.
pub fn render_with(r: &Report, cx: &Context) -> String {
    let mut env = Environment::new();
    env.add_filter("md", |s: Option<String>| {
        Value::from_safe_string(md(s.as_deref().unwrap_or("")))
    });
    env.add_template("validation.html", TEMPLATE)
        .expect("the report template parses");
    let tmpl = env.get_template("validation.html").expect("template added");
    let groups = groups(r, cx);
    let error_groups = groups.iter().filter(|g| g.rank == 3).count();
    // The rule chart.
    let counts = r.rule_counts();
    let max = counts.iter().map(|c| c.2).max().unwrap_or(1).max(1) as f64;
    let rule_bars: Vec<Value> = counts
        .iter()
        .enumerate()
        .map(|(k, (rule, sev, n))| {
            let w = ((*n as f64 / max * 760.0).max(2.0) * 10.0).round() / 10.0;
            context! { rule => rule, severity => sev.as_str(), n => n, y => 4 + k * 22, w => w, color => color(*sev) }
        })
        .collect();
    let units: Vec<Value> = cx.unit_weeks.iter().map(unit_chart).collect();
    let total = cx
        .impact
        .iter()
        .fold((0u64, 0f64), |a, i| (a.0 + i.shifts, a.1 + i.hours));
    let agents: u64 = cx.impact.iter().map(|i| i.agents).sum();
    let rows: Vec<Value> = r
        .findings
        .iter()
        .enumerate()
        .take(MAX_ROWS)
        .map(|(i, f)| {
            context! {
                severity => f.severity.as_str(),
                rank => sev_rank(f.severity),
                rule => f.rule,
                lockey => format!("{}:{:09}", f.file.as_deref().unwrap_or(""), f.line.unwrap_or(0)),
                location => f.location(),
                business_unit => cx.finding_bu.get(i).cloned().flatten().map(|b| cx.bu_name(Some(&b))).unwrap_or_default(),
                record_id => f.record_id,
                field => f.field,
                value => f.value,
                timezone => f.timezone,
                candidates => f.candidates.as_ref().filter(|c| !c.is_empty()).map(|c| c.join(", ")),
                message => cx.name_ids(&f.message),
                help => cx.name_ids(&f.help),
            }
        })
        .collect();
    let s = &r.summary;
    tmpl.render(context! {
        css => Value::from_safe_string(CSS.to_string()),
        js => Value::from_safe_string(JS.to_string()),
        migration => cx.migration,
        org => cx.org,
        run_by => cx.run_by,
        snapshot_id => r.snapshot_id,
        generated_at => r.generated_at,
        tool_version => r.tool_version,
        policy => r.policy,
        ready => r.ready_to_load,
        errors => s.errors,
        warnings => s.warnings,
        infos => s.infos,
        error_groups => error_groups,
        groups => groups,
        impact => cx.impact,
        impact_total => context! { shifts => total.0, agents => agents, hours => (total.1 * 100.0).round() / 100.0 },
        inputs => r.inputs,
        rule_bars => rule_bars,
        rule_w => 1050,
        rule_h => 22 * counts.len() + 8,
        units => units,
        total => r.findings.len(),
        truncated => r.findings.len() > MAX_ROWS,
        rows => rows,
    })
    .expect("the report template renders")
}

/// One unit's week chart: a bar per week of the unit (its own week start), held back in red.
fn unit_chart(u: &super::context::UnitWeeks) -> Value {
    let n = u.weeks.len().max(1);
    let colw = (1000.0 / n as f64).clamp(4.0, 48.0);
    let max = u.weeks.iter().map(|w| w.1).max().unwrap_or(1).max(1) as f64;
    let (top, bh) = (30.0, 110.0);
    let label_every = ((80.0 / colw).ceil() as usize).max(1);
    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    let cols: Vec<Value> = u
        .weeks
        .iter()
        .enumerate()
        .map(|(c, (label, shifts, held))| {
            let x = 30.0 + c as f64 * colw;
            let h = *shifts as f64 / max * bh;
            let hh = *held as f64 / max * bh;
            context! {
                x => r1(x), w => r1((colw - 2.0).max(1.0)), y => r1(top + bh - h), h => r1(h),
                hy => r1(top + bh - hh), hh => r1(hh.max(2.0)),
                label => label, shifts => shifts, held => held, show_label => c % label_every == 0,
            }
        })
        .collect();
    context! {
        name => u.business_unit,
        start_day => u.start_day,
        width => (colw * n as f64 + 120.0).round(),
        max => max as u64,
        cols => cols,
    }
}

#[cfg(test)]
mod tests {
    use super::md;

    #[test]
    fn code_spans_become_code_after_escaping() {
        assert_eq!(md("add `a<b>` now"), "add <code>a&lt;b&gt;</code> now");
        // An unpaired backtick stays as written.
        assert_eq!(md("`x` and `y"), "<code>x</code> and `y");
        assert_eq!(md("plain"), "plain");
    }
}
