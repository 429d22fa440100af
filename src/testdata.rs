//! Synthetic exports for benchmarks and scale tests: `agents` agents × `weeks` weeks of shifts (five a
//! week), three or four tasks per shift, and a trade for about one shift in fifty. Deterministic for a
//! seed; written streaming, so generating millions of rows takes little memory. The ids come in two
//! styles ([`IdStyle`]): short counters (`S1`, `T1`, agent `100000`), or the long ids of a real export
//! (UUIDs for shifts, tasks, trades and swap requests; 12-digit Zendesk user ids for agents), with the
//! same records otherwise.

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

/// How a generated export spells its ids. Both styles draw the same random numbers, so an export of
/// one style has the same records (times, task names, trades, findings) as the other; only the ids
/// and so the bytes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdStyle {
    /// Counters: shifts `S1`…, tasks `T1`…, trades `TR1`…, swap requests `SR1`…, agents `100000`….
    #[default]
    Short,
    /// The ids of a real export (docs/export-format.md: the WFM API's shift and task `id` is a
    /// string, `agentId` an integer, "usually the Zendesk user id"): shifts, tasks, trades and swap
    /// requests as random-looking lower-case version-4 UUIDs (36 characters, in no order the file's
    /// order follows), agents as increasing 12-digit integers with gaps (`360000000000` + …).
    Uuid,
}

impl IdStyle {
    /// The name the benchmarks take (`--ids short|uuid`) and put in the export's directory name.
    pub fn name(self) -> &'static str {
        match self {
            IdStyle::Short => "short",
            IdStyle::Uuid => "uuid",
        }
    }

    /// The suffix of a cached export's directory: empty for `short` (the exports generated before
    /// the styles existed keep their names), `-uuid` otherwise.
    pub fn dir_suffix(self) -> &'static str {
        match self {
            IdStyle::Short => "",
            IdStyle::Uuid => "-uuid",
        }
    }

    /// The `i`-th agent's Zendesk id.
    pub fn agent_id(self, i: u64) -> u64 {
        match self {
            IdStyle::Short => 100_000 + i,
            // Increasing with gaps (an account's users are not all agents): 104,729 apart plus up
            // to 99,999, so 12 digits up to ~9.5 M agents.
            IdStyle::Uuid => 360_000_000_000 + i * 104_729 + mix64(i ^ 0xA9E7) % 100_000,
        }
    }

    /// The id of the `n`-th (from 1) record of `kind`: shift `S`, task `T`, trade `TR`, swap
    /// request `SR`.
    pub fn record_id(self, kind: &str, n: u64) -> String {
        match self {
            IdStyle::Short => format!("{kind}{n}"),
            IdStyle::Uuid => uuid(kind, n),
        }
    }
}

impl std::str::FromStr for IdStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "short" => Ok(IdStyle::Short),
            "uuid" => Ok(IdStyle::Uuid),
            other => Err(format!("unknown id style `{other}` (short, uuid)")),
        }
    }
}

/// splitmix64's finalizer (a bijection on u64).
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A bijection on 48-bit numbers (xor-shifts and odd multipliers modulo 2^48), so that the last
/// group of [`uuid`] differs for every `n` below 2^48 and the ids of one kind never collide.
fn perm48(n: u64) -> u64 {
    const M: u64 = (1 << 48) - 1;
    let mut x = n & M;
    x ^= x >> 24;
    x = x.wrapping_mul(0x9E37_79B9_7F4B) & M;
    x ^= x >> 20;
    x = x.wrapping_mul(0xBF58_476D_1CE5) & M;
    x ^ (x >> 24)
}

/// A deterministic random-looking version-4 UUID for the `n`-th record of `kind`.
fn uuid(kind: &str, n: u64) -> String {
    let tag = kind
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31) ^ b as u64);
    let r = mix64(n ^ tag.rotate_right(8));
    let r2 = mix64(r ^ tag);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        r >> 32,
        (r >> 16) & 0xffff,
        r & 0xfff,
        0x8000 | (r2 & 0x3fff),
        perm48(n ^ (tag << 40))
    )
}

/// Write `agents.csv`, `shifts.csv`, `shift_tasks.csv` and `shift_trades.csv` into `dir`. Weeks start
/// on Monday 2026-08-31 (so 26 weeks cover both DST nights of the Paris autumn and the next spring).
pub fn generate_export(
    dir: &Path,
    agents: u64,
    weeks: u64,
    seed: u64,
) -> std::io::Result<Generated> {
    generate_export_with(dir, agents, weeks, seed, IdStyle::Short)
}

/// [`generate_export`] with the ids spelled in `ids`' style.
pub fn generate_export_with(
    dir: &Path,
    agents: u64,
    weeks: u64,
    seed: u64,
    ids: IdStyle,
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
            ids.agent_id(i),
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
            let agent = ids.agent_id(i);
            let start_hour = 6 + (i % 4) as i64 * 2 + rng.below(2) as i64; // 6..=13
            for d in 0..5i64 {
                let day = base + (w as i64 * 7 + d) * 86400;
                let start = day + start_hour * 3600 + (rng.below(4) as i64) * 900;
                let len = 8 * 3600 + (rng.below(3) as i64) * 1800;
                let end = start + len;
                shift_no += 1;
                let sid = ids.record_id("S", shift_no);
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
                        "{},{sid},{name},{},{},true",
                        ids.record_id("T", task_no),
                        fmt_local(ts),
                        fmt_local(te.min(end))
                    )?;
                    g.tasks += 1;
                }
                if rng.below(50) == 0 {
                    g.trades += 1;
                    let other = ids.agent_id((i + 1) % agents.max(1));
                    let status = ["approved", "requested", "denied", "offered"][rng.below(4)];
                    writeln!(
                        tr,
                        "{},{},{status},{agent},{sid},{other},",
                        ids.record_id("TR", g.trades),
                        ids.record_id("SR", g.trades)
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
    cached_export_with(dir, agents, weeks, IdStyle::Short)
}

/// [`cached_export`] with the ids in `ids`' style. The marker does not say the style: name the
/// directory by it ([`IdStyle::dir_suffix`]) so that exports of two styles never share one.
pub fn cached_export_with(
    dir: &Path,
    agents: u64,
    weeks: u64,
    ids: IdStyle,
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
    let g = generate_export_with(dir, agents, weeks, 42, ids)?;
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
    generate_mappings_with(dir, agents, IdStyle::Short)
}

/// [`generate_mappings`] for an export of [`generate_export_with`] in `ids`' style (the agents'
/// Zendesk ids differ; the Genesys side is the same).
pub fn generate_mappings_with(dir: &Path, agents: u64, ids: IdStyle) -> std::io::Result<()> {
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
            ids.agent_id(i)
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

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::collections::{HashMap, HashSet};

    fn read(dir: &Path, f: &str) -> String {
        std::fs::read_to_string(dir.join(f)).unwrap()
    }

    fn sha(s: &str) -> String {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The default (short) style writes byte for byte what the generator wrote before the styles
    /// existed, so the cached benchmark exports stay valid. The digests were computed by Python over
    /// the cached 1,000 × 26 export written by that generator (agents.csv whole; the first week:
    /// shifts S1–S5000, their tasks and trades).
    #[test]
    fn short_ids_write_what_the_cached_exports_hold() {
        let d = tempfile::tempdir().unwrap();
        let g = generate_export(d.path(), 1000, 1, 42).unwrap();
        assert_eq!((g.shifts, g.tasks, g.trades), (5000, 17523, 104));
        for (f, want) in [
            (
                "agents.csv",
                "a15aa26898aa2d51372df0447e0d6d4e4dc51b1f1a02d2c73b8357b5ea152d13",
            ),
            (
                "shifts.csv",
                "8458453237d19c54807996ddf1bec13925a79fd4032cc215f4d0180388676af6",
            ),
            (
                "shift_tasks.csv",
                "630301aa2d94b7f755e673f1e393106c01666c3a2b23d90916b74734b536db1e",
            ),
            (
                "shift_trades.csv",
                "8c89bfde5c085cb76a21fd9cd125ab6c2e753bd9fdb903310fab8780fe6527b7",
            ),
        ] {
            assert_eq!(sha(&read(d.path(), f)), want, "{f}");
        }
    }

    fn is_uuid_v4(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 36
            && b.iter().enumerate().all(|(i, &c)| match i {
                8 | 13 | 18 | 23 => c == b'-',
                _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
            })
            && b[14] == b'4'
            && matches!(b[19], b'8' | b'9' | b'a' | b'b')
    }

    /// A consistent one-to-one renaming, built as it is met.
    #[derive(Default)]
    struct Renaming(HashMap<String, String>, HashSet<String>);

    impl Renaming {
        fn check(&mut self, short: &str, long: &str) {
            match self.0.get(short) {
                Some(l) => assert_eq!(l, long, "{short} renamed twice"),
                None => {
                    assert!(self.1.insert(long.to_string()), "{long} given twice");
                    self.0.insert(short.to_string(), long.to_string());
                }
            }
        }
    }

    /// The UUID style writes the same records as the short one with only the ids renamed, one to
    /// one and consistently across files (a shift's id in its tasks and trades, an agent's id in
    /// its shifts, trades and mapping row): UUIDs of version 4 for shifts, tasks, trades and swap
    /// requests, 12-digit increasing integers for agents.
    #[test]
    fn uuid_ids_rename_the_short_exports_records_one_to_one() {
        let (s, u) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        // 300 agents × 3 weeks: 4,500 shifts, ~90 trades.
        let gs = generate_export(s.path(), 300, 3, 7).unwrap();
        let gu = generate_export_with(u.path(), 300, 3, 7, IdStyle::Uuid).unwrap();
        assert_eq!(
            (gs.agents, gs.shifts, gs.tasks, gs.trades),
            (gu.agents, gu.shifts, gu.tasks, gu.trades)
        );
        assert!(gs.trades > 0 && gu.bytes > gs.bytes);
        generate_mappings(&s.path().join("m"), 300).unwrap();
        generate_mappings_with(&u.path().join("m"), 300, IdStyle::Uuid).unwrap();
        let (mut agents, mut shifts, mut tasks, mut trades, mut swaps) = Default::default();
        let mut last_agent = 0u64;
        // (file, which columns are ids of what)
        type Cols = &'static [(usize, u8)];
        let files: [(&str, Cols); 5] = [
            ("agents.csv", &[(0, b'a')]),
            ("shifts.csv", &[(0, b's'), (1, b'a')]),
            ("shift_tasks.csv", &[(0, b't'), (1, b's')]),
            (
                "shift_trades.csv",
                &[(0, b'r'), (1, b'q'), (3, b'a'), (4, b's'), (5, b'a')],
            ),
            ("m/agents.csv", &[(0, b'a')]),
        ];
        for (f, cols) in files {
            let (a, b) = (read(s.path(), f), read(u.path(), f));
            assert_eq!(a.lines().count(), b.lines().count(), "{f}");
            for (n, (x, y)) in a.lines().zip(b.lines()).enumerate() {
                let (x, y): (Vec<&str>, Vec<&str>) =
                    (x.split(',').collect(), y.split(',').collect());
                assert_eq!(x.len(), y.len(), "{f}:{}", n + 1);
                if n == 0 {
                    assert_eq!(x, y, "{f}: header");
                    continue;
                }
                for (i, (p, q)) in x.iter().zip(&y).enumerate() {
                    let Some(&(_, kind)) = cols.iter().find(|c| c.0 == i) else {
                        assert_eq!(p, q, "{f}:{} column {i}", n + 1);
                        continue;
                    };
                    if kind == b'a' {
                        assert!(
                            q.len() == 12 && q.bytes().all(|c| c.is_ascii_digit()),
                            "{q}"
                        );
                        if f == "agents.csv" {
                            let v: u64 = q.parse().unwrap();
                            assert!(v > last_agent, "agents increase: {q}");
                            last_agent = v;
                        }
                    } else {
                        assert!(is_uuid_v4(q), "{f}:{}: {q}", n + 1);
                    }
                    let r: &mut Renaming = match kind {
                        b'a' => &mut agents,
                        b's' => &mut shifts,
                        b't' => &mut tasks,
                        b'r' => &mut trades,
                        _ => &mut swaps,
                    };
                    r.check(p, q);
                }
            }
        }
        assert_eq!(
            (
                shifts.0.len(),
                tasks.0.len(),
                trades.0.len(),
                agents.0.len()
            ),
            (
                gs.shifts as usize,
                gs.tasks as usize,
                gs.trades as usize,
                300
            )
        );
    }
}
