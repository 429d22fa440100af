//! Synthetic exports for benchmarks and scale tests: `agents` agents × `weeks` weeks of shifts (five a
//! week), three or four tasks per shift, and a trade for about one shift in fifty. Deterministic for a
//! seed; written streaming, so generating millions of rows takes little memory.

use std::io::{BufWriter, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Generated {
    pub agents: u64,
    pub shifts: u64,
    pub tasks: u64,
    pub trades: u64,
    pub bytes: u64,
}

impl Generated {
    pub fn records(&self) -> u64 {
        self.agents + self.shifts + self.tasks + self.trades
    }
}

const TASKS: &[&str] = &["Phone", "Email", "Chat", "Training", "Team Meeting"];

/// Write `agents.csv`, `shifts.csv`, `shift_tasks.csv` and `shift_trades.csv` into `dir`. Weeks start
/// on Monday 2026-08-31 (so 26 weeks cover both DST nights of the Paris autumn and the next spring).
pub fn generate_export(
    dir: &Path,
    agents: u64,
    weeks: u64,
    seed: u64,
) -> std::io::Result<Generated> {
    std::fs::create_dir_all(dir)?;
    // The emulator's seeded generator (splitmix64), so the data does not depend on a crate's version.
    let mut rng = crate::emulator::Rng::new(seed);
    let mut g = Generated::default();
    let mut a = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("agents.csv"))?);
    writeln!(a, "agent_id,name,email,timezone,location,team,deactivated")?;
    for i in 0..agents {
        let (loc, tz) = if i % 10 == 9 {
            ("Chicago", "")
        } else {
            ("Paris", "")
        };
        writeln!(
            a,
            "{},Agent {i},agent{i}@bench.example,{tz},{loc},Team {},false",
            100_000 + i,
            i % 37
        )?;
        g.agents += 1;
    }
    a.flush()?;
    let mut s = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("shifts.csv"))?);
    let mut t =
        BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("shift_tasks.csv"))?);
    let mut tr = BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(dir.join("shift_trades.csv"))?,
    );
    writeln!(s, "shift_id,agent_id,start_local,end_local,published")?;
    writeln!(t, "task_id,shift_id,name,start_local,end_local,paid")?;
    writeln!(
        tr,
        "trade_id,swap_request_id,status,requester_agent_id,requester_shift_id,recipient_agent_id,recipient_shift_id"
    )?;
    // 2026-08-31 00:00 as naive seconds.
    let base = crate::timeval::days_from_civil(2026, 8, 31) * 86400;
    let mut shift_no = 0u64;
    let mut task_no = 0u64;
    for w in 0..weeks {
        for i in 0..agents {
            let agent = 100_000 + i;
            let start_hour = 6 + (i % 4) as i64 * 2 + rng.below(2) as i64; // 6..=13
            for d in 0..5i64 {
                let day = base + (w as i64 * 7 + d) * 86400;
                let start = day + start_hour * 3600 + (rng.below(4) as i64) * 900;
                let len = 8 * 3600 + (rng.below(3) as i64) * 1800;
                let end = start + len;
                shift_no += 1;
                let sid = format!("S{shift_no}");
                writeln!(
                    s,
                    "{sid},{agent},{},{},true",
                    fmt_local(start),
                    fmt_local(end)
                )?;
                g.shifts += 1;
                let ntasks = 3 + rng.below(2);
                let step = len / (ntasks as i64 + 1);
                for k in 0..ntasks {
                    task_no += 1;
                    let ts = start + step * (k as i64 + 1) - 1800;
                    let te = ts + 1800 + 900 * rng.below(2) as i64;
                    let name = TASKS[rng.below(TASKS.len())];
                    writeln!(
                        t,
                        "T{task_no},{sid},{name},{},{},true",
                        fmt_local(ts),
                        fmt_local(te.min(end))
                    )?;
                    g.tasks += 1;
                }
                if rng.below(50) == 0 {
                    g.trades += 1;
                    let other = 100_000 + (i + 1) % agents.max(1);
                    let status = ["approved", "requested", "denied", "offered"][rng.below(4)];
                    writeln!(
                        tr,
                        "TR{},SR{},{status},{agent},{sid},{other},",
                        g.trades, g.trades
                    )?;
                }
            }
        }
    }
    s.flush()?;
    t.flush()?;
    tr.flush()?;
    for f in [
        "agents.csv",
        "shifts.csv",
        "shift_tasks.csv",
        "shift_trades.csv",
    ] {
        g.bytes += std::fs::metadata(dir.join(f))?.len();
    }
    Ok(g)
}

/// [`generate_export`] (seed 42) into `dir` once: the counts are kept in a marker beside it
/// (`<dir>.generated.json`; not in it, since extract stops at a file it does not know), and a later
/// call with the marker there reads them instead of generating again. Also the seconds spent
/// generating (`None` when the export was there already). For the benchmarks.
pub fn cached_export(
    dir: &Path,
    agents: u64,
    weeks: u64,
) -> std::io::Result<(Generated, Option<f64>)> {
    let marker = dir.with_extension("generated.json");
    let _ = std::fs::rename(dir.join("generated.json"), &marker);
    if let Ok(s) = std::fs::read_to_string(&marker)
        && let Ok(g) = serde_json::from_str::<serde_json::Value>(&s)
    {
        let get = |k: &str| g[k].as_u64().unwrap_or(0);
        let g = Generated {
            agents: get("agents"),
            shifts: get("shifts"),
            tasks: get("tasks"),
            trades: get("trades"),
            bytes: get("bytes"),
        };
        return Ok((g, None));
    }
    let t = std::time::Instant::now();
    let g = generate_export(dir, agents, weeks, 42)?;
    std::fs::write(&marker, serde_json::to_string(&g)?)?;
    Ok((g, Some(t.elapsed().as_secs_f64())))
}

fn fmt_local(naive: i64) -> String {
    crate::timeval::render(crate::timeval::TimeVal {
        secs: naive,
        fmt: crate::timeval::fmt::LOCAL,
    })
}

/// Peak resident memory of this process so far (VmHWM), in bytes, where the OS tells it.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The id of the `k`-th management unit (of 100 agents) of the Paris or the Chicago business unit
/// of [`generate_mappings`].
pub fn management_unit(chicago: bool, k: u64) -> String {
    format!("00000000-0000-4000-9{}00-{k:012}", chicago as u8)
}

/// Mapping tables that match [`generate_export`]: every agent mapped by id to a user and a
/// management unit of one of two business units (Paris, Monday weeks; Chicago, Sunday weeks),
/// every task name to an activity code, and the default activity `On Queue Work`.
pub fn generate_mappings(dir: &Path, agents: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut a = BufWriter::new(std::fs::File::create(dir.join("agents.csv"))?);
    // Genesys ids are UUIDs (anything else is a `mapping-invalid-value`).
    const BU_PAR: &str = "00000000-0000-4000-8000-0000000000b1";
    const BU_CHI: &str = "00000000-0000-4000-8000-0000000000b2";
    // Each agent's management unit too (load reads and writes a schedule through it): units of
    // 100 agents per business unit, as [`management_unit`] names them.
    writeln!(
        a,
        "zendesk_agent_id,genesys_user_id,management_unit_id,business_unit_id"
    )?;
    let mut seen = [0u64; 2];
    for i in 0..agents {
        let chicago = i % 10 == 9;
        let bu = if chicago { BU_CHI } else { BU_PAR };
        let mu = management_unit(chicago, seen[chicago as usize] / 100);
        seen[chicago as usize] += 1;
        writeln!(
            a,
            "{},00000000-0000-4000-8000-{i:012},{mu},{bu}",
            100_000 + i
        )?;
    }
    a.flush()?;
    std::fs::write(
        dir.join("business_units.csv"),
        format!(
            "business_unit_id,time_zone,start_day_of_week\n{BU_PAR},Europe/Paris,Monday\n{BU_CHI},America/Chicago,Sunday\n"
        ),
    )?;
    std::fs::write(
        dir.join("locations.csv"),
        "location,time_zone\nParis,Europe/Paris\nChicago,America/Chicago\n",
    )?;
    std::fs::write(
        dir.join("activities.csv"),
        "zendesk_task_name,genesys_activity_code_id\nPhone,00000000-0000-4000-8000-0000000000a1\nEmail,00000000-0000-4000-8000-0000000000a2\nChat,00000000-0000-4000-8000-0000000000a3\nTraining,00000000-0000-4000-8000-0000000000a4\nTeam Meeting,00000000-0000-4000-8000-0000000000a5\nOn Queue Work,00000000-0000-4000-8000-0000000000aa\n",
    )?;
    Ok(())
}
