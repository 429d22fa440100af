//! The load's progress line: weeks done, shifts, the observed pace and the refusals, redrawn four
//! times a second while the weeks run.

use super::Shared;
use crate::ui::Ui;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Requests a week takes at the least (read the schedules, query the agents, write): with the
/// pace limit, the bound under the load's ETA.
const MIN_REQUESTS_PER_WEEK: f64 = 3.0;

pub(super) fn progress_ticker(
    sh: Arc<Shared>,
    ui: Ui,
    _started: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let p = &sh.progress;
        let bar = ui.progress_bar("load", "weeks", Some(p.weeks_total.load(Ordering::Relaxed)));
        // The weeks a resume finds done and unchanged take no request, and the weeks an earlier
        // run left part-way take little: they count as done, not in the pace. The first weeks
        // finish together once the pipeline fills: no ETA until as many as run at once are done.
        bar.set_max_rate(sh.opts.max_rpm as f64 / 60.0 / MIN_REQUESTS_PER_WEEK);
        bar.set_min_sample(sh.opts.concurrency.max(1) as u64);
        loop {
            let not_paced =
                p.weeks_skipped.load(Ordering::Relaxed) + p.weeks_carried.load(Ordering::Relaxed);
            bar.set_done_at_start(not_paced);
            let (sd, st) = (
                p.shifts_done.load(Ordering::Relaxed),
                p.shifts_total.load(Ordering::Relaxed),
            );
            let s = sh.pacer.stats();
            bar.detail(format!(
                "shifts {sd}/{st}, {:.0} req/min, 409: {}, 429: {}",
                sh.pacer.observed_rpm(),
                s.status_409,
                s.status_429
            ));
            bar.set(p.weeks_done.load(Ordering::Relaxed));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
}
