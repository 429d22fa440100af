//! Pass 3: every task checked against its shift, the snapshot's task runs read in shift-id order
//! (their table's own order) in step with the shift ids pass 1 hands on in the same order
//! ([`GroupCursor`]); the tasks of a repeated shift id checked again ([`recheck_repeated`]).

use super::{At, Env, GroupBatch, Repeated, Resolved2, ShiftGroup, Txt, base, check_time};
use crate::error::Result;
use crate::report::week_of;
use crate::timeval::zone::ZoneSel;
use crate::timeval::{self, Resolved, TimeVal};
use rusqlite::Connection;

/// A task row held while the merge advances (buffers reused: no allocation per task).
#[derive(Default)]
struct TaskBuf {
    file_id: i64,
    line: i64,
    shift_id: String,
    task_id: String,
    start: i64,
    end: i64,
    fmt: i64,
}

/// What a task is checked against.
enum TaskShift {
    /// Its shift (`None`: every occurrence is an excluded draft).
    Found(Option<Resolved2>),
    /// No shift has its id.
    Missing,
}

/// Which task findings belong to which shift id (to take back those of a repeated id).
#[derive(Default)]
pub struct TaskFindings {
    /// (first finding index, end index, shift id), for tasks that had findings.
    spans: Vec<(usize, usize, String)>,
}

/// Whether [`check_time`] would report nothing for this value; its instant then.
fn quiet_instant(env: &mut Env<'_>, zone: ZoneSel, v: TimeVal) -> Result<Option<i64>, ()> {
    if !v.is_local() {
        return Ok(Some(v.secs));
    }
    let ZoneSel::Zone(z) = zone else {
        return Ok(None);
    };
    match env.zones.resolve(z, v.secs) {
        Resolved::Single(u) => Ok(Some(u)),
        Resolved::Ambiguous(..) | Resolved::Nonexistent => Err(()),
    }
}

/// Whether [`task_rules`] would report nothing for a task (the hot path: most tasks are clean,
/// and only the others are read whole).
fn task_is_clean(env: &mut Env<'_>, start: i64, end: i64, fmt: i64, sh: &Resolved2) -> bool {
    let (fa, fb) = crate::timeval::split_fmt(fmt);
    let tv = TimeVal {
        secs: start,
        fmt: fa,
    };
    let uv = TimeVal { secs: end, fmt: fb };
    if tv.has_sub_minute() || uv.has_sub_minute() {
        return false;
    }
    let (Ok(a), Ok(b)) = (
        quiet_instant(env, sh.zone, tv),
        quiet_instant(env, sh.zone, uv),
    ) else {
        return false;
    };
    !matches!((a, b, sh.start, sh.end), (Some(a), Some(b), Some(s), Some(e)) if a < s || b > e)
}

/// Pass 3: every task checked against its shift. The runs of tasks are read in shift-id order
/// (`task_runs` is stored in that order) and their shifts found among the shift ids pass 1 reads
/// in shift-id order and hands on through `groups` ([`GroupCursor`]): no look-up per task, and no
/// second read of the shifts. Only what the check needs is used for every task; a task with a
/// finding gets its id written too. A task of a repeated shift id is checked against pass 1's
/// occurrence.
pub fn check_tasks(
    env: &mut Env<'_>,
    snap: &Connection,
    groups: std::sync::mpsc::Receiver<GroupBatch>,
) -> Result<TaskFindings> {
    use crate::extract::stage::{RunTasks, TASKS_BY_SHIFT_ID, TaskIds};
    let ids = TaskIds::load(snap)?;
    let progress = env.progress.clone();
    let mut tally = super::super::Tally::new(&progress);
    let mut tst = snap.prepare(TASKS_BY_SHIFT_ID)?;
    let mut cursor = GroupCursor {
        rx: groups,
        batch: Vec::new().into_iter(),
        next: None,
    };
    let mut rows = tst.query([])?;
    let mut sid = String::new();
    let mut task = TaskBuf::default();
    let mut out = TaskFindings::default();
    let mut current: Option<TaskShift> = None;
    let mut current_id = String::new();
    while let Some(r) = rows.next()? {
        sid.clear();
        crate::extract::stage::push_shift_id(r.get_ref(0)?, &mut sid)?;
        let mut run = RunTasks::read(r, 0, &sid)?;
        if current.is_none() || current_id != sid {
            current_id.clear();
            current_id.push_str(&sid);
            current = Some(cursor.find(env, &current_id));
        }
        let shift = current.as_ref().expect("set above");
        while let Some(t) = run.next_task()? {
            env.records += 1;
            tally.tick();
            let clean = match shift {
                TaskShift::Missing => false,
                TaskShift::Found(None) => true,
                TaskShift::Found(Some(res)) => task_is_clean(env, t.start, t.end, t.fmt, res),
            };
            if clean {
                continue;
            }
            fill_task(&mut task, &run, &ids, &t)?;
            let before = env.sink.findings.len();
            match shift {
                TaskShift::Missing => {
                    env.records -= 1; // counted by `orphan`
                    orphan(env, &task);
                }
                TaskShift::Found(res) => {
                    if let Some(res) = res {
                        task_rules(env, &task, &current_id, res);
                    }
                }
            }
            let after = env.sink.findings.len();
            if after > before {
                out.spans.push((before, after, current_id.clone()));
            }
        }
    }
    Ok(out)
}

/// Task `t` of `run`, whole.
fn fill_task(
    task: &mut TaskBuf,
    run: &crate::extract::stage::RunTasks<'_>,
    ids: &crate::extract::stage::TaskIds,
    t: &crate::extract::stage::RunTask,
) -> Result<()> {
    task.file_id = run.file_id;
    task.line = t.line;
    run.write_id(ids, t, &mut task.task_id)?;
    task.shift_id.clear();
    task.shift_id.push_str(run.shift_id);
    task.start = t.start;
    task.end = t.end;
    task.fmt = t.fmt;
    Ok(())
}

/// The shift ids in ascending order, each with its first included occurrence, as pass 1 hands
/// them on (for tasks read in shift-id order).
struct GroupCursor {
    rx: std::sync::mpsc::Receiver<GroupBatch>,
    batch: std::vec::IntoIter<ShiftGroup>,
    /// The first group not yet consumed.
    next: Option<ShiftGroup>,
}

impl GroupCursor {
    fn peek(&mut self) -> Option<&ShiftGroup> {
        while self.next.is_none() {
            if let Some(g) = self.batch.next() {
                self.next = Some(g);
            } else {
                // Pass 1 hung up: no more shift ids (or it failed, and reports why).
                self.batch = self.rx.recv().ok()?.into_iter();
            }
        }
        self.next.as_ref()
    }

    /// The shift of `id` (ids asked in ascending order): pass 1's occurrence, the first included.
    fn find(&mut self, env: &mut Env<'_>, id: &str) -> TaskShift {
        while self.peek().is_some_and(|g| g.id.as_str() < id) {
            self.next = None;
        }
        if self.peek().is_some_and(|g| g.id == id) {
            let g = self.next.take().expect("peeked");
            TaskShift::Found(g.first.and_then(|r| r.resolve(env)))
        } else {
            TaskShift::Missing
        }
    }
}

/// The tasks of repeated shift ids again, against the occurrence pass 1 chose: the task pass's
/// findings for them (in `tasks_env`) are dropped and made again in `env` (pass 1's environment,
/// whose zones the resolved shifts refer to). Records were counted by the task pass.
pub fn recheck_repeated(
    env: &mut Env<'_>,
    tasks_env: &mut Env<'_>,
    spans: TaskFindings,
    repeated: &Repeated,
    snap: &Connection,
) -> Result<()> {
    if repeated.is_empty() {
        return Ok(());
    }
    for (a, b, id) in &spans.spans {
        if repeated.contains_key(id) {
            tasks_env.sink.findings.drop_range(*a, *b);
        }
    }
    let ids = crate::extract::stage::TaskIds::load(snap)?;
    let mut st = snap.prepare(crate::extract::stage::RUNS_OF_SHIFT)?;
    let mut sid = String::new();
    let mut task = TaskBuf::default();
    for (id, res) in repeated {
        let Some(res) = res else { continue };
        let mut rows = st.query(<[_; 2]>::from(crate::extract::stage::shift_key(id)))?;
        while let Some(r) = rows.next()? {
            sid.clear();
            crate::extract::stage::push_shift_id(r.get_ref(0)?, &mut sid)?;
            let mut run = crate::extract::stage::RunTasks::read(r, 0, &sid)?;
            while let Some(t) = run.next_task()? {
                fill_task(&mut task, &run, &ids, &t)?;
                task_rules(env, &task, id, res);
            }
        }
    }
    Ok(())
}

fn task_rules(env: &mut Env<'_>, t: &TaskBuf, shift_id: &str, sh: &Resolved2) {
    let (fa, fb) = crate::timeval::split_fmt(t.fmt);
    let (tv, uv) = (
        TimeVal {
            secs: t.start,
            fmt: fa,
        },
        TimeVal {
            secs: t.end,
            fmt: fb,
        },
    );
    let record = if t.task_id.is_empty() {
        shift_id
    } else {
        t.task_id.as_str()
    };
    let week = tv.is_local().then(|| week_of(tv.secs));
    let a = check_time(
        env,
        sh.zone,
        tv,
        &At {
            file_id: t.file_id,
            line: t.line,
            record,
            field: tv.column(true),
            week,
        },
    );
    let b = check_time(
        env,
        sh.zone,
        uv,
        &At {
            file_id: t.file_id,
            line: t.line,
            record,
            field: uv.column(false),
            week,
        },
    );
    if tv.has_sub_minute() || uv.has_sub_minute() {
        let (v, start) = if tv.has_sub_minute() {
            (tv, true)
        } else {
            (uv, false)
        };
        let mut f = base(
            env,
            "sub-minute-time",
            t.file_id,
            t.line,
            record,
            format!(
                "`{}` has seconds: Genesys schedules in whole minutes",
                timeval::render(v)
            ),
        );
        f.field = Some(v.column(start).into());
        f.value = Some(timeval::render(v));
        f.help = "round the time to the minute in the export".into();
        env.sink.push(f);
    }
    if let (Some(a), Some(b), Some(s), Some(e)) = (a, b, sh.start, sh.end)
        && (a < s || b > e)
    {
        let (v, start) = if a < s { (tv, true) } else { (uv, false) };
        let mut f = base(
            env,
            "task-outside-shift",
            t.file_id,
            t.line,
            record,
            format!(
                "task `{record}` ({} → {}) does not lie inside its shift `{shift_id}` ({} → {})",
                timeval::render(tv),
                timeval::render(uv),
                Txt(sh.sv, sh.start_raw.as_deref()),
                Txt(sh.ev, sh.end_raw.as_deref())
            ),
        );
        f.field = Some(v.column(start).into());
        f.value = Some(timeval::render(v));
        f.timezone = env.zone_name(sh.zone);
        f.help = "correct the task's or the shift's times in the export".into();
        f.week = week;
        env.sink.push(f);
    }
}

fn orphan(env: &mut Env<'_>, t: &TaskBuf) {
    env.records += 1;
    let record = if t.task_id.is_empty() {
        t.shift_id.as_str()
    } else {
        t.task_id.as_str()
    };
    let mut f = base(
        env,
        "task-outside-shift",
        t.file_id,
        t.line,
        record,
        format!(
            "task `{record}` names shift `{}`, which is not in the export",
            t.shift_id
        ),
    );
    f.field = Some("shift_id".into());
    f.value = Some(t.shift_id.clone());
    f.help = "export the shift too, or remove the task".into();
    env.sink.push(f);
}
