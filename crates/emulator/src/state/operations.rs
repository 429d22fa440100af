//! Asynchronous processing: an accepted write is an operation that stays `Processing` until its
//! due time, then applies (or fails late, applying nothing) when the state is next settled.

use super::{Accepted, AgentSchedule, Operation, Payload, Schedule, ShiftPatch, State};
use crate::fixture::OperationRecord;
use chrono::NaiveDate;
use genesys::model as m;
use std::time::Instant;

impl State {
    pub(super) fn submit(
        &mut self,
        record: OperationRecord,
        payload: Payload,
        now: Instant,
    ) -> Accepted {
        // Draws only for the knobs that are on, so a seeded run without them repeats as before.
        let (lo, hi) = (self.faults.processing_ms, self.faults.processing_max_ms);
        let ms = if hi > lo {
            lo + self.fault_rng.next_u64() % (hi - lo + 1)
        } else {
            lo
        };
        let fail_late = record.kind != "delete"
            && self.faults.late_error_rate > 0.0
            && self.fault_rng.chance(self.faults.late_error_rate);
        let due = now + std::time::Duration::from_millis(ms);
        self.operations.push(Operation {
            record,
            due,
            payload: Some(payload),
            fail_late,
        });
        let idx = self.operations.len() - 1;
        if ms == 0 {
            self.finish(idx);
            let op = &self.operations[idx].record;
            let result = op
                .schedule_id
                .as_ref()
                .and_then(|id| self.schedules.get(id))
                .map(|s| self.schedule_meta(s, false));
            // A late failure at once is still an answer, `200` with `status: Error` and no reason;
            // a version refused when processing ends is `409`.
            let status = if op.status == "Complete" || fail_late {
                200
            } else {
                409
            };
            return Accepted {
                status,
                body: m::AsyncScheduleResponse {
                    status: op.status.clone(),
                    operation_id: Some(op.operation_id.clone()),
                    result: if fail_late { None } else { result },
                },
            };
        }
        self.pending += 1;
        let op = &self.operations[idx].record;
        Accepted {
            status: 202,
            body: m::AsyncScheduleResponse {
                status: "Processing".into(),
                operation_id: Some(op.operation_id.clone()),
                result: None,
            },
        }
    }

    /// Finish every operation whose processing time has passed, in the order they were submitted.
    pub(crate) fn settle(&mut self, now: Instant) {
        if self.pending == 0 {
            return;
        }
        for idx in 0..self.operations.len() {
            if self.operations[idx].payload.is_some() && self.operations[idx].due <= now {
                self.finish(idx);
                self.pending -= 1;
            }
        }
    }

    fn finish(&mut self, idx: usize) {
        let Some(payload) = self.operations[idx].payload.take() else {
            return;
        };
        if self.operations[idx].fail_late {
            // Nothing applied; Genesys tells no reason (the dump says why, for tests).
            let rec = &mut self.operations[idx].record;
            rec.status = "Error".into();
            rec.error = Some("late failure injected (lateErrorRate): nothing applied".into());
            return;
        }
        let now = self.clock.wall();
        let outcome: Result<Option<String>, String> = match payload {
            Payload::Import {
                description,
                week_count,
                published,
                agents,
            } => {
                let rec = &self.operations[idx].record;
                let id = self.id_rng.uuid();
                let week =
                    NaiveDate::parse_from_str(&rec.week_id, "%Y-%m-%d").expect("checked at submit");
                let agents = agents
                    .into_iter()
                    .map(|(u, shifts)| {
                        (
                            u,
                            AgentSchedule {
                                version: 1,
                                modified: now,
                                shifts,
                            },
                        )
                    })
                    .collect();
                let s = Schedule {
                    id: id.clone(),
                    bu: rec.business_unit_id.clone(),
                    week,
                    week_count,
                    description,
                    published,
                    version: 1,
                    modified: now,
                    agents,
                };
                self.schedules.insert(id.clone(), s);
                Ok(Some(id))
            }
            patch @ Payload::Update { .. } => {
                let id = self.operations[idx]
                    .record
                    .schedule_id
                    .clone()
                    .expect("update has a schedule");
                match self.check_versions(&id, &patch) {
                    Err(e) => Err(e.message),
                    Ok(()) => {
                        let Payload::Update {
                            description,
                            published,
                            agents,
                            ..
                        } = patch
                        else {
                            unreachable!("matched as an update")
                        };
                        let s = self.schedules.get_mut(&id).expect("checked");
                        for a in agents {
                            if a.delete {
                                s.agents.remove(&a.user);
                                continue;
                            }
                            let entry = s.agents.entry(a.user.clone()).or_insert(AgentSchedule {
                                version: 0,
                                modified: now,
                                shifts: vec![],
                            });
                            for p in a.shifts {
                                match p {
                                    ShiftPatch::Replace(sh) => {
                                        if let Some(x) =
                                            entry.shifts.iter_mut().find(|x| x.id == sh.id)
                                        {
                                            *x = sh;
                                        }
                                    }
                                    ShiftPatch::Delete(sid) => entry.shifts.retain(|x| x.id != sid),
                                    ShiftPatch::Add(sh) => entry.shifts.push(sh),
                                }
                            }
                            entry
                                .shifts
                                .sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
                            entry.version += 1;
                            entry.modified = now;
                        }
                        if let Some(d) = description {
                            s.description = d;
                        }
                        if let Some(p) = published {
                            s.published = p;
                        }
                        s.version += 1;
                        s.modified = now;
                        Ok(Some(id))
                    }
                }
            }
            Payload::Delete => {
                let id = self.operations[idx]
                    .record
                    .schedule_id
                    .clone()
                    .expect("delete has a schedule");
                match self.schedules.remove(&id) {
                    Some(_) => Ok(Some(id)),
                    None => Err(format!("schedule {id} no longer exists")),
                }
            }
        };
        let rec = &mut self.operations[idx].record;
        match outcome {
            Ok(id) => {
                rec.status = "Complete".into();
                if rec.schedule_id.is_none() {
                    rec.schedule_id = id;
                }
            }
            Err(e) => {
                rec.status = "Error".into();
                rec.error = Some(e);
            }
        }
    }
}
