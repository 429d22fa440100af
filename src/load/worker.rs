//! The week worker: the state machine that makes one business-unit week in Genesys hold its desired
//! shifts. Each round reads the week (schedule list, agent schedules of the management units that
//! matter), merges three-way ([`super::merge`]), applies the local crosswalk changes, and, when the
//! plan has writes, sends exactly one upload (upload URL → gzip PUT → import or update) and follows
//! it to its end by re-reading. A round with nothing to write ends the week.
//!
//! Refusals (`409`/`412`, an update ending in a version error) re-read and merge again, never resend
//! unchanged; a lock waits and resends; a write whose answer was lost is settled by reading (an
//! import by its description marker, which is polled for until the settle timeout, an update by the
//! versions it carried, which make a second attempt harmless). Every state change is journalled
//! before the step it announces.

use super::changes::{LinkChanges, SlotIndex, Written};
use super::desired::WeekOutline;
use super::journal::{self, State, WeekRow};
use super::merge::WeekPlan;
use super::merge::{self, Conflict};
use super::model::WeekView;
use super::partition::{Gathered, Partition};
use super::week_read::{marker, now_ms, read_agents, read_header};
use super::week_write::{
    BodyWriter, create, describe, follow, plan_adds, settle_create, settle_import, upload_body,
    upload_of, write,
};
use super::{Counters, Shared};
use crate::client::ApiError;
use crate::error::{Error, Result};
use crate::genesys::model as m;
use std::sync::atomic::Ordering;

pub use super::week_read::read_week;

/// How a week ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Skipped,
    Conflict(usize),
    Failed(String),
}

pub(super) enum Step {
    /// Written: `Complete` (the answer's schedule, when it says) or still processing.
    Sent(Option<m::BuScheduleMetadata>, bool),
    /// The process call answered `Error` (or `Canceled`) at once: nothing changed, no reason.
    Error(String),
    /// Refused for a stale version: merge again.
    Stale(String),
    /// The answer was lost: settle by reading.
    Unknown,
}

pub(super) enum Failed {
    /// The week failed (why, and the correlation id of the last request); the load goes on.
    Week(String, Option<String>),
    /// The state database could not be read or written (a full disk, a read-only file, …): the
    /// load stops, as going on could not keep the journal ahead of the requests.
    Store(Error),
}

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        let cid = (!e.context_id.is_empty()).then(|| e.context_id.clone());
        Failed::Week(e.to_string(), cid)
    }
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Store(e)
    }
}

/// Run one week to its end. `Err` when the state database could not be read or written: the
/// load must stop (the journal keeps what was done; a re-run resumes).
pub async fn run_week(sh: &Shared, bu: &str, week: &str, input: &WeekOutline) -> Result<Outcome> {
    let mut counters = Counters::default();
    let out = run_week_inner(sh, bu, week, input, &mut counters).await;
    sh.add(&counters);
    match out {
        Ok(o) => Ok(o),
        Err(Failed::Store(e)) => Err(e),
        Err(Failed::Week(reason, cid)) => {
            let mut row = sh.row(bu, week)?;
            row.state = State::Failed;
            row.reason = Some(reason.clone());
            row.context_id = cid;
            sh.save(&row, "failed", &reason)?;
            Ok(Outcome::Failed(reason))
        }
    }
}

async fn run_week_inner(
    sh: &Shared,
    bu: &str,
    week: &str,
    input: &WeekOutline,
    counters: &mut Counters,
) -> Result<Outcome, Failed> {
    let mut row = sh.row(bu, week)?;
    if !sh.opts.recheck && matches!(row.state, State::Done) && row.desired_hash == Some(input.hash)
    {
        return Ok(Outcome::Skipped);
    }
    let mark = marker(&sh.migration, bu, week);
    // A week an earlier run of this migration left with its write sent and not yet confirmed:
    // the shifts the first round finds identical and unlinked are that write landing, not shifts
    // that were in Genesys before, so they are linked as written (`adopted = 0`), not adopted.
    let resumed_write = matches!(
        row.state,
        State::Uploading | State::Processing | State::Verifying
    );
    // A step in doubt from an earlier run. A blank create (killed mid-send, or its answer lost) is
    // settled by finding its marker, never by creating again blindly; an update needs nothing: it
    // carried its versions, so sending it again refuses itself if the first one landed. An import
    // sent by an earlier version of zd2gc is waited for by its marker.
    let mut known: Option<m::BuScheduleMetadata> = None;
    match (row.state, row.step.as_deref()) {
        (State::Processing, Some("create")) => {
            let since = row.sent_at.unwrap_or_else(now_ms);
            known = settle_create(sh, bu, week, &mark, since, counters).await?;
            sh.save(
                &row,
                "reconciled",
                if known.is_some() {
                    "create found"
                } else {
                    "create not found"
                },
            )?;
        }
        (State::Processing, Some("import")) => {
            let since = row.sent_at.unwrap_or_else(now_ms);
            known =
                settle_import(sh, bu, week, &mark, since, sh.opts.settle_timeout, counters).await?;
            sh.save(
                &row,
                "reconciled",
                if known.is_some() {
                    "import found"
                } else {
                    "import not found"
                },
            )?;
        }
        _ => {}
    }
    row.desired_hash = Some(input.hash);
    row.shifts_desired = input.len() as i64;
    // The week's desired shifts by legacy id, for the sets of ids written (a bit a shift).
    let index = SlotIndex::new(&input.slots);
    let mut written = Written::new(&index);
    let mut overwritten: Vec<Conflict> = Vec::new();
    let mut refusals = 0u32;
    let mut lock_waits = 0u32;
    // Writes of this run that ended `Error` or stayed invisible, with what is known of each.
    let mut failures: Vec<String> = Vec::new();
    // The view of a schedule just created blank (nothing to read in it yet).
    let mut next_view: Option<WeekView> = None;
    // The last refused write: the versions of the view it was built on, why it was refused, and
    // the users whose agent schedules it carried without a version (none was read for them).
    let mut refused: Option<Refused> = None;
    // What each round's write came to, for a week that reaches the round cap.
    let mut rounds = Rounds::default();
    // Every round reads and either ends the week or writes once; a write is refused (bounded by
    // `max_refusals`), fails (bounded by `max_failed_writes`) or lands. Writes that never
    // converge (the week still differs after each one, for a reason not seen here) are bounded by
    // the round cap.
    let max_rounds = 4 + 2 * (sh.opts.max_refusals + sh.opts.max_failed_writes);
    for round in 0..max_rounds {
        let first = round == 0;
        row.state = State::Reading;
        let links = sh.with_db(|c| journal::link_store(c, bu, week))?;
        let reads = if round == 0 {
            &mut counters.state_reads
        } else {
            &mut counters.confirm_reads
        };
        let (header, fresh) = match next_view.take() {
            Some(v) => (Some(v), true),
            None => (read_header(sh, bu, week, known.take(), reads).await?, false),
        };
        let round = plan_round(
            sh,
            bu,
            input,
            &index,
            &links,
            header,
            fresh,
            reads,
            &mut counters.polls,
        )
        .await?;
        // A refusal says the week changed since it was read. When reading it again shows the
        // same versions, it did not: the write is refused for another reason, and sending it
        // again would be refused again. The week fails now, with that reason (never counted as
        // "the week keeps changing").
        if let Some(r) = refused.take()
            && round.writes
            && r.versions == round.versions
        {
            return Err(Failed::Week(r.unchanged(&input.mus), None));
        }
        // What a refusal of this round's write is compared with: the versions the write is built
        // on, and the users it carries without a version (none was read for them).
        let (built_on, unread): (Versions, Vec<String>) = if round.writes {
            (round.versions, round.unread)
        } else {
            (None, Vec::new())
        };
        let view = round.view;
        let writes = round.writes;
        let plan = round.plan;
        let link_changes = round.links;
        // What the merge read is not needed any more: the links (the round kept only the
        // schedule's header).
        drop(links);
        let sid = view.as_ref().map(|v| v.schedule_id.clone());
        if first && resumed_write {
            written.insert_all();
        }
        sh.with_db(|c| {
            journal::apply_links(
                c,
                sh.run_id,
                bu,
                week,
                sid.as_deref(),
                link_changes
                    .iter(index.slots())
                    .map(|c| c.map_err(|e| Error::io(&sh.dir, e))),
                &written,
            )
        })?;
        drop(link_changes);
        sh.with_db(|c| journal::record_relabelled(c, sh.run_id, bu, week, &plan.relabelled))?;
        overwritten.extend(plan.conflicts.iter().filter(|c| c.overwritten).cloned());
        if !writes {
            let mut conflicts: Vec<Conflict> = plan.conflicts.clone();
            for c in &overwritten {
                if !conflicts
                    .iter()
                    .any(|x| x.legacy == c.legacy && x.kind == c.kind)
                {
                    conflicts.push(c.clone());
                }
            }
            sh.with_db(|c| {
                journal::record_conflicts(c, sh.run_id, bu, week, sid.as_deref(), &conflicts)
            })?;
            let parked = conflicts.iter().filter(|c| !c.overwritten).count();
            row.state = if parked > 0 {
                State::Conflict
            } else {
                State::Done
            };
            row.schedule_id = sid;
            row.step = None;
            row.upload_key = None;
            row.operation_id = None;
            row.conflicts = conflicts.len() as i64;
            row.shifts_done = (input.len() as u64).saturating_sub(plan.counts.conflicts) as i64;
            row.reason = None;
            row.context_id = None;
            sh.save(&row, row.state.as_str(), &format!("{:?}", plan.counts))?;
            sh.progress
                .shifts_done
                .fetch_add(row.shifts_done as u64, Ordering::Relaxed);
            sh.progress
                .conflicts
                .fetch_add(parked as u64, Ordering::Relaxed);
            return Ok(if parked > 0 {
                Outcome::Conflict(parked)
            } else {
                Outcome::Done
            });
        }
        if refusals > sh.opts.max_refusals {
            return Err(Failed::Week(
                format!(
                    "gave up after {refusals} refused writes (each time, reading the week again showed it had changed: it keeps changing under the load)"
                ),
                None,
            ));
        }
        counters
            .weeks_written
            .insert((bu.to_string(), week.to_string()));
        let Some(view) = view else {
            // No schedule for this week: create ours blank, synchronously, with the marker; the
            // shifts follow as an update in the next round. Never an import: an import's key
            // processed twice imports twice, and a resumed load could not tell an import still
            // processing from one never sent.
            rounds.creates += 1;
            next_view = create(sh, bu, week, &mark, &mut row, counters).await?;
            if next_view.is_none() {
                // Its answer was lost and it is not in the week's list: nothing was created.
                failures.push("a blank create got no answer and was not found".into());
                if failures.len() as u32 >= sh.opts.max_failed_writes {
                    return Err(gave_up(&failures, &row));
                }
            }
            continue;
        };
        let view = Some(view);
        // One write at a time per schedule.
        let lock_key = sid.clone().unwrap_or_else(|| format!("{bu}/{week}"));
        let guard = sh.schedule_lock(&lock_key);
        let _held = guard.lock().await;
        written.union(&round.adds);
        let sent = round.sent;
        // The body is all the write needs of the plan: the plan goes before the requests.
        let upload = upload_body(
            bu,
            view.as_ref().expect("a schedule"),
            round
                .body
                .expect("a round that writes to a schedule has its body"),
        );
        drop(plan);
        let step = write(
            sh,
            view.as_ref(),
            upload,
            &mut row,
            &mut lock_waits,
            counters,
        )
        .await?;
        match step {
            Step::Sent(meta, processing) => {
                row.state = State::Verifying;
                sh.save(&row, "verifying", "")?;
                let (meta, landed) = if processing {
                    follow(sh, bu, view.as_ref(), counters).await?
                } else {
                    (meta, true)
                };
                if landed {
                    rounds.landed += 1;
                } else {
                    // Nothing changed through the settle timeout: an `Error` (which tells no
                    // reason) or a write still processing. Sending it again is harmless (its
                    // versions refuse a second landing) but bounded.
                    let what = format!(
                        "stayed invisible for {} s ({})",
                        sh.opts.settle_timeout.as_secs(),
                        attempt(&row, &sent)
                    );
                    sh.save(&row, "write-invisible", &what)?;
                    failures.push(what);
                    if failures.len() as u32 >= sh.opts.max_failed_writes {
                        return Err(gave_up(&failures, &row));
                    }
                }
                known = meta;
            }
            Step::Error(status) => {
                let what = format!("ended in {status} ({})", attempt(&row, &sent));
                sh.save(&row, "write-error", &what)?;
                failures.push(what);
                if failures.len() as u32 >= sh.opts.max_failed_writes {
                    return Err(gave_up(&failures, &row));
                }
                row.state = State::Planned;
                row.step = None;
            }
            Step::Stale(why) => {
                refused = Some(Refused {
                    versions: built_on,
                    why: why.clone(),
                    unread,
                });
                refusals += 1;
                row.refusals += 1;
                row.state = State::Planned;
                row.step = None;
                sh.save(&row, "refused", &why)?;
            }
            Step::Unknown => {
                rounds.unknown += 1;
                // An update carried its versions: read at once (sending it again cannot apply
                // it twice).
                row.state = State::Verifying;
                sh.save(&row, "outcome-unknown", "")?;
            }
        }
    }
    rounds.refused = refusals;
    Err(Failed::Week(
        rounds.not_converged(max_rounds, &failures),
        row.context_id.clone(),
    ))
}

/// What a round's merge gives the worker: the plan without its writes (conflicts, counts,
/// relabelled ids) and its link changes, whether it writes, the write's body and what it sends,
/// and what a refusal of it is compared with.
struct Round<'a> {
    /// The week's schedule (its header: no agent schedule), if it has one.
    view: Option<WeekView>,
    writes: bool,
    /// `update`, `import` and `links` are empty: the writes are in `body`, the link changes in
    /// `links`.
    plan: WeekPlan,
    /// The plan's link changes, in its order (compact: [`LinkChanges`]).
    links: LinkChanges,
    versions: Versions,
    /// Users whose agent schedules the write carries without a version (none was read).
    unread: Vec<String>,
    /// Legacy ids the write adds or replaces.
    adds: Written<'a>,
    /// What the write sends, in words.
    sent: String,
    /// The update's gzip body (a round that writes to an existing schedule).
    body: Option<crate::client::UploadBody>,
}

/// Read and merge a round, component by component ([`super::partition`]): each component's agent
/// schedules are read and checked, its desired shifts read from the desired state, and both
/// merged and serialized into the one update body before the next is read, so the round holds
/// one component's agent schedules, desired shifts and writes at a time. When an answer crosses
/// components, the round falls back to reading every management unit and desired shift of the
/// week again and merging the whole week (nothing was sent or recorded before). `header` is the week's schedule
/// without agent schedules; `fresh` when it was just created blank (nothing to read in it).
#[allow(clippy::too_many_arguments)]
async fn plan_round<'a>(
    sh: &Shared,
    bu: &str,
    input: &WeekOutline,
    index: &'a SlotIndex<'a>,
    links: &super::links::LinkStore,
    header: Option<WeekView>,
    fresh: bool,
    reads: &mut u64,
    polls: &mut u64,
) -> Result<Round<'a>, Failed> {
    let mut part = Partition::new(&input.slots, links, &input.mus, &sh.user_mu);
    let mut gathered = Gathered::new(input.len(), links.len());
    gathered.spill_to(&sh.dir);
    // Begun by the first component that writes (a round that only reads makes no encoder).
    let mut body: Option<BodyWriter> = None;
    let mut versions: std::collections::BTreeMap<String, i64> = Default::default();
    let (mut unread, mut adds) = (Vec::new(), Written::new(index));
    let mut writes = false;
    let mut crossed = false;
    for c in 0..part.len() {
        let view = match &header {
            None => None,
            Some(h) => {
                let mut v = h.clone();
                if !fresh {
                    v.agents = read_agents(sh, bu, h, part.mus(c), reads, polls).await?;
                }
                Some(v)
            }
        };
        if let Some(v) = &view
            && !part.admit(c, &v.agents)
        {
            crossed = true;
            break;
        }
        // The component's desired shifts are read now, and dropped with its merge.
        let desired = input.read(part.desired(c))?;
        let (mut plan, tags) =
            part.merge(c, &desired, &sh.held, view.as_ref(), sh.opts.on_conflict);
        drop(desired);
        writes |= plan.writes();
        if let Some(v) = &view {
            versions.extend(v.agents.iter().map(|(u, a)| (u.clone(), a.version)));
            unread.extend(
                plan.update
                    .iter()
                    .filter(|(u, p)| p.version.is_none() && !v.agents.contains_key(*u))
                    .map(|(u, _)| u.clone()),
            );
        }
        for (l, ()) in plan_adds(&plan) {
            adds.insert(&l);
        }
        if let Some(h) = &header
            && !plan.update.is_empty()
        {
            body.get_or_insert_with(|| BodyWriter::new(h, Some(&sh.dir)))
                .push(&plan);
        }
        gathered.add(&mut plan, tags, &input.slots);
    }
    if crossed {
        tracing::debug!(bu, "an answer crossed components: the whole week is merged");
        drop((body, gathered, versions, unread, adds));
        let mut v = header.expect("answers come from a schedule");
        v.agents = read_agents(sh, bu, &v, &input.mus, reads, polls).await?;
        let desired = input.read_all()?;
        let links = links.to_vec();
        let mut plan = merge::merge(&desired, &links, &sh.held, Some(&v), sh.opts.on_conflict);
        drop(desired);
        let writes = plan.writes();
        let mut link_changes = LinkChanges::default();
        link_changes.spill_to(&sh.dir);
        link_changes.reserve_exact(plan.links.len());
        for c in std::mem::take(&mut plan.links) {
            let legacy = match &c {
                merge::LinkChange::Set { legacy, .. } | merge::LinkChange::Forget { legacy } => {
                    legacy
                }
            };
            link_changes.push(&c, index.find(legacy), &input.slots);
        }
        let mut fallback_adds = Written::new(index);
        for (l, ()) in plan_adds(&plan) {
            fallback_adds.insert(&l);
        }
        let unread = plan
            .update
            .iter()
            .filter(|(u, p)| p.version.is_none() && !v.agents.contains_key(*u))
            .map(|(u, _)| u.clone())
            .collect();
        let round = Round {
            writes,
            versions: versions_of(Some(&v)),
            unread,
            adds: fallback_adds,
            links: link_changes,
            sent: describe(Some(&v), &plan),
            body: writes.then(|| upload_of(bu, Some(&v), &plan).0.into()),
            plan: WeekPlan::default(),
            view: None,
        };
        plan.update.clear();
        plan.import = None;
        return Ok(Round {
            plan,
            view: Some(v.header()),
            ..round
        });
    }
    unread.sort();
    let (counts, conflicts, link_changes, relabelled) = gathered.finish();
    let sent = body.as_ref().map(BodyWriter::describe).unwrap_or_default();
    Ok(Round {
        versions: header.as_ref().map(|h| {
            (
                h.schedule_id.clone(),
                h.version,
                versions.into_iter().collect(),
            )
        }),
        view: header,
        writes,
        links: link_changes,
        plan: WeekPlan {
            conflicts,
            counts,
            relabelled,
            ..WeekPlan::default()
        },
        unread,
        adds,
        sent,
        body: match body {
            Some(b) if writes => Some(b.finish().map_err(|e| Error::io(&sh.dir, e))?),
            _ => None,
        },
    })
}

/// What the writes of a week's rounds came to, counted for a week that reaches the round cap.
#[derive(Debug, Default)]
struct Rounds {
    /// Blank schedules created (a week with none).
    creates: u32,
    /// Updates seen applied (the next round read the week again).
    landed: u32,
    /// Updates whose answer was lost, read again at once.
    unknown: u32,
    /// Updates refused (409/412), each re-read showing a change.
    refused: u32,
}

impl Rounds {
    /// Why a week fails at the round cap. Only what was seen: every round read the week, found it
    /// still differing from the desired state, and wrote. Whether someone else keeps changing it
    /// or a write did not apply as sent is not known here (a refusal bound, not a landing one,
    /// would have shown a change), so the message does not say.
    fn not_converged(&self, max_rounds: u32, failures: &[String]) -> String {
        format!(
            "did not converge in {max_rounds} rounds: each round read the week, found it still \
             different from the desired state and wrote again ({} update(s) applied, {} with no \
             answer, {} refused, {} ended in Error or stayed invisible, {} blank schedule(s) \
             created){}. Why it still differs is not known: someone may be editing the week in \
             Genesys, or a write may not have applied as sent. Run `zd2gc verify` to see what \
             differs, then `zd2gc load` again (nothing already written is written twice)",
            self.landed,
            self.unknown,
            self.refused,
            failures.len(),
            self.creates,
            if failures.is_empty() {
                String::new()
            } else {
                format!(": {}", failures.join("; "))
            }
        )
    }
}

/// The versions a write is built on: the schedule's and each agent schedule's read.
type Versions = Option<(String, i64, Vec<(String, i64)>)>;

fn versions_of(view: Option<&WeekView>) -> Versions {
    view.map(|v| {
        (
            v.schedule_id.clone(),
            v.version,
            v.agents
                .iter()
                .map(|(u, a)| (u.clone(), a.version))
                .collect(),
        )
    })
}

/// A refused write, to tell a week that changed from a write refused for another reason.
struct Refused {
    versions: Versions,
    why: String,
    /// Users whose agent schedules the write carried without a version: none was read for them.
    unread: Vec<String>,
}

impl Refused {
    /// Why the week fails when reading it again after the refusal showed nothing had changed.
    fn unchanged(&self, mus: &std::collections::BTreeSet<String>) -> String {
        let mut out = format!(
            "a write was refused and reading the week again showed nothing had changed since, so sending it again would be refused again: {}",
            self.why
        );
        if !self.unread.is_empty() {
            let shown: Vec<&str> = self.unread.iter().take(5).map(String::as_str).collect();
            out.push_str(&format!(
                ". The write carried no version for the agent schedule(s) of {} user(s) ({}{}): none was among the agent schedules read for the week's management unit(s) ({}). Check those users' management_unit_id in mappings/agents.csv (`zd2gc mappings pull` lists each user's unit, `zd2gc map --online` looks it up)",
                self.unread.len(),
                shown.join(", "),
                if self.unread.len() > shown.len() { ", …" } else { "" },
                if mus.is_empty() {
                    "none".to_string()
                } else {
                    mus.iter().cloned().collect::<Vec<_>>().join(", ")
                }
            ));
        }
        out
    }
}

/// One attempt's identity: operation id, correlation id, what was sent.
fn attempt(row: &WeekRow, sent: &str) -> String {
    format!(
        "operation {}, correlation id {}, upload key {}; sent {sent}",
        row.operation_id.as_deref().unwrap_or("-"),
        row.context_id.as_deref().unwrap_or("-"),
        row.upload_key.as_deref().unwrap_or("-"),
    )
}

/// The week gives up after `max_failed_writes` writes that ended `Error` or stayed invisible.
fn gave_up(failures: &[String], row: &WeekRow) -> Failed {
    Failed::Week(
        format!(
            "{} write(s) ended in Error or stayed invisible (Genesys gives no reason; if the org is only slow, raise --settle-timeout): {}",
            failures.len(),
            failures
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{}. {f}", i + 1))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        row.context_id.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A week at the round cap is told what its writes came to and what to do, and never that
    /// it "keeps changing" or that every write landed: neither is established there.
    #[test]
    fn a_week_at_the_round_cap_says_only_what_was_seen() {
        let rounds = Rounds {
            creates: 1,
            landed: 3,
            unknown: 2,
            refused: 1,
        };
        let failures = vec!["ended in Error (op-1)".to_string()];
        let m = rounds.not_converged(10, &failures);
        for said in [
            "did not converge in 10 rounds",
            "3 update(s) applied, 2 with no answer, 1 refused, 1 ended in Error or stayed invisible, 1 blank schedule(s) created): ended in Error (op-1).",
            "Why it still differs is not known",
            "`zd2gc verify`",
            "`zd2gc load` again",
        ] {
            assert!(m.contains(said), "{said:?} not in {m}");
        }
        for claim in ["keeps changing", "every write landed"] {
            assert!(!m.contains(claim), "{claim:?} in {m}");
        }
        let m = Rounds::default().not_converged(6, &[]);
        assert!(
            m.contains("0 ended in Error or stayed invisible, 0 blank schedule(s) created). Why"),
            "{m}"
        );
    }
}
