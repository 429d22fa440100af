#!/usr/bin/env python3
"""A deliberately simple reference pipeline, standard library only (csv, json, zoneinfo, sqlite3).

It does what a migration engineer would write by hand in an afternoon: stage the export in SQLite
(extract), then run the time checks that matter most, the same rule families `zd2gc validate` runs
(docs/validation-report.md) with the same semantics, written naively:
- DST: `dst-ambiguous` and `dst-nonexistent` on every local time of shifts, tasks, trades (their four
  `*_local` columns, in the row's zone or the requester's) and partial-day time-off requests (never on
  a repeated row, full-day dates or a request that does not load), and
  `dst-length-change` on a shift whose real length differs from its wall-clock length;
- duplicates: `duplicate-`/`conflicting-` `shift-id`, `trade-id` and `time-off-id` (each occurrence
  after the first, identical content or not);
- overlaps: `shift-overlap` (per agent, on the later-starting shift of each overlapping pair),
  `time-off-overlap` (a loadable request overlapping an earlier-starting one of the agent) and
  `time-off-overlaps-shift` (a loadable request overlapping one of the agent's shifts).
A time-off request loads when its status is `approved` or `requested` (`pending`), its agent is in the
agents file and has a row of mappings/agents.csv with a user and a management unit, its reason has a
row of mappings/time_off.csv (for the agent's business unit or all), its times resolve and its id is
not repeated with different content. zd2gc's own `time_off_statuses`, `time_off_from` and DST policy
are left at their defaults; the shifts a request is compared with are the ones whose times resolve.
`--rules` lists the rule ids it checks; its summary counts findings per rule (`by_rule`).
It is here for two reasons:
- a yardstick: `zd2gc` extract + map + validate is timed against it on the same export in the same
  run, so the ratio can be reproduced by anyone (`python3 benches/reference_pipeline.py EXPORT_DIR`);
- an independent oracle: it shares no code with zd2gc, so where the two agree on a finding's rule,
  file, line and record id, neither merely agrees with itself (`--findings` prints them as JSON lines).

Line numbers are physical lines as docs/export-format.md defines them: the file is read in text mode
with `newline=''`, which splits on CRLF, LF and a lone CR alike and leaves the line ends in place, and
the csv module counts the lines it was given (`line_num`), quoted line ends included.

Usage: reference_pipeline.py EXPORT_DIR [--mappings DIR] [--default-timezone ZONE] [--db PATH]
                             [--findings]
"""

import argparse
import csv
import datetime as dt
import json
import os
import sqlite3
import sys
import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.timezone.utc


def rows(path):
    """(line, dict) for each record of a CSV (physical line of its first byte) or JSON Lines file."""
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            for n, text in enumerate(f, 1):
                if text.strip():
                    yield n, json.loads(text)
        return
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        start = reader.line_num + 1
        for rec in reader:
            if rec:
                yield start, dict(zip(header, rec))
            start = reader.line_num + 1


def find(export, stem):
    for ext in (".csv", ".jsonl"):
        p = os.path.join(export, stem + ext)
        if os.path.exists(p):
            return p
    return None


_zones = {}


def zone(name):
    if name not in _zones:
        try:
            _zones[name] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            _zones[name] = None
    return _zones[name]


def parse_local(text):
    text = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            pass
    return None


def resolve(local, z):
    """('single', utc) | ('ambiguous', (earlier, later)) | ('nonexistent', None)."""
    a = local.replace(tzinfo=z, fold=0)
    b = local.replace(tzinfo=z, fold=1)
    if a.utcoffset() == b.utcoffset():
        return "single", a.astimezone(UTC)
    back = a.astimezone(UTC).astimezone(z).replace(tzinfo=None)
    if back != local:
        return "nonexistent", None
    return "ambiguous", (a.astimezone(UTC), b.astimezone(UTC))


def instant(rec, local_key, abs_key, unix_key, z):
    """(kind, utc or None, text as written) for one time of a record."""
    if rec.get(unix_key) not in (None, ""):
        return "single", dt.datetime.fromtimestamp(int(rec[unix_key]), UTC), str(rec[unix_key])
    if rec.get(abs_key):
        return "single", dt.datetime.fromisoformat(rec[abs_key].replace("Z", "+00:00")), rec[abs_key]
    text = rec.get(local_key) or ""
    local = parse_local(text)
    if local is None or z is None:
        return "unreadable", None, text
    kind, value = resolve(local, z)
    return kind, value, text


TIME_OFF_STATUSES = ("requested", "approved", "denied", "cancelled")

RULES = [
    "dst-ambiguous",
    "dst-nonexistent",
    "dst-length-change",
    "duplicate-shift-id",
    "conflicting-shift-id",
    "duplicate-trade-id",
    "conflicting-trade-id",
    "duplicate-time-off-id",
    "conflicting-time-off-id",
    "shift-overlap",
    "time-off-overlap",
    "time-off-overlaps-shift",
]


def local_of(rec, local_key, abs_key, unix_key, z):
    """The wall-clock value of one time of a record in zone `z` (naive), or None."""
    if rec.get(unix_key) not in (None, "") or rec.get(abs_key):
        kind, value, _ = instant(rec, local_key, abs_key, unix_key, z)
        if value is None or z is None:
            return None
        return value.astimezone(z).replace(tzinfo=None)
    return parse_local(rec.get(local_key) or "")


def midnight_utc(day, z):
    """The instant a calendar day starts in zone `z`."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=z).astimezone(UTC)


def table(mappings, name):
    p = os.path.join(mappings, name) if mappings else None
    if not p or not os.path.exists(p):
        return []
    return [r for _, r in rows(p) if not (next(iter(r.values()), "") or "").startswith("#")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--mappings", default=None)
    ap.add_argument("--default-timezone", default="Europe/Paris")
    ap.add_argument("--db", default=":memory:")
    ap.add_argument("--findings", action="store_true")
    ap.add_argument("--rules", action="store_true", help="print the rule ids checked, one a line, and stop")
    a = ap.parse_args()
    if a.rules:
        print("\n".join(RULES))
        return
    t0 = time.perf_counter()

    db = sqlite3.connect(a.db)
    db.executescript(
        """
        PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
        CREATE TABLE agents (agent_id TEXT, line INTEGER, tz TEXT, location TEXT);
        CREATE TABLE shifts (shift_id TEXT, line INTEGER, agent_id TEXT, start_utc TEXT, end_utc TEXT, body TEXT);
        CREATE TABLE tasks (task_id TEXT, line INTEGER, shift_id TEXT, name TEXT);
        CREATE TABLE trades (trade_id TEXT, line INTEGER, body TEXT);
        """
    )
    findings = []

    def finding(rule, f, line, rid, field=None):
        findings.append({"rule": rule, "file": f, "line": line, "record_id": rid, "field": field})

    locations = {}
    if a.mappings and os.path.exists(os.path.join(a.mappings, "locations.csv")):
        for _, r in rows(os.path.join(a.mappings, "locations.csv")):
            locations[r.get("location", "")] = r.get("time_zone", "")

    agent_zone = {}
    agent_info = {}  # agent id -> (e-mail, location), the first row of an id
    p = find(a.export, "agents")
    batch = []
    for line, r in rows(p):
        aid = str(r.get("agent_id", r.get("id", "")))
        tz = r.get("timezone") or locations.get(r.get("location") or "", "") or ""
        agent_zone.setdefault(aid, tz)
        agent_info.setdefault(aid, ((r.get("email") or "").strip().lower(), r.get("location") or ""))
        batch.append((aid, line, tz, r.get("location")))
    db.executemany("INSERT INTO agents VALUES (?,?,?,?)", batch)

    # The mapping tables: an agent's row (by id, else by e-mail), its business unit (the row's, else
    # its location's), and whether it has what load needs (a user, a management unit, a known unit).
    users = table(a.mappings, "agents.csv")
    bu_zone = {r.get("business_unit_id", ""): r.get("time_zone", "") for r in table(a.mappings, "business_units.csv")}
    loc_bu = {r.get("location", ""): r.get("business_unit_id", "") for r in table(a.mappings, "locations.csv")}

    users_by_id, users_by_email = {}, {}
    for r in users:
        users_by_id.setdefault(r.get("zendesk_agent_id") or "", r)
        users_by_email.setdefault((r.get("email") or "").strip().lower(), r)

    def agent_row(aid):
        email, _ = agent_info.get(aid, ("", ""))
        return users_by_id.get(aid) or (users_by_email.get(email) if email else None)

    _bu = {}

    def agent_bu(aid):
        if aid not in _bu:
            row = agent_row(aid) if aid in agent_info else None
            _bu[aid] = (row and row.get("business_unit_id")) or loc_bu.get(agent_info.get(aid, ("", ""))[1], "")
        return _bu[aid]

    def agent_mapped(aid):
        row = agent_row(aid) if aid in agent_info else None
        return bool(row and row.get("genesys_user_id") and row.get("management_unit_id") and agent_bu(aid) in bu_zone)

    def zone_for(rec, aid):
        name = rec.get("timezone") or agent_zone.get(aid) or a.default_timezone
        return zone(name)

    def check_times(rec, fname, line, rid, aid, pairs):
        z = zone_for(rec, aid)
        out = []
        for local_key, abs_key, unix_key in pairs:
            kind, value, _ = instant(rec, local_key, abs_key, unix_key, z)
            if kind == "ambiguous":
                finding("dst-ambiguous", fname, line, rid, local_key)
            elif kind == "nonexistent":
                finding("dst-nonexistent", fname, line, rid, local_key)
            out.append(value if kind == "single" else None)
        return out

    times = [("start_local", "start", "startTime"), ("end_local", "end", "endTime")]
    # Drafts are not loaded (include_drafts = false): no rule looks at them. Of the other rows of an
    # id, the first is the shift (its times checked); each later one is a duplicate or a conflict
    # (not checked again), and for overlaps an id counts once, at its earliest-starting row.
    seen_shift = {}  # shift id -> content of its first row
    shift_row = {}  # shift id -> (zone, start, end, agent, row timezone) of its first row
    conflicting_ids = set()
    p = find(a.export, "shifts")
    fname = os.path.basename(p)
    batch, tbatch = [], []
    for line, r in rows(p):
        sid = str(r.get("shift_id", r.get("id", "")))
        aid = str(r.get("agent_id", r.get("agentId", "")))
        tasks = r.pop("tasks", None) or []
        body = json.dumps(r, sort_keys=True)
        draft = str(r.get("published", "true")).strip().lower() in ("false", "0")
        if draft:
            start = end = None
        elif sid in seen_shift:
            if seen_shift[sid] == body:
                finding("duplicate-shift-id", fname, line, sid)
            else:
                finding("conflicting-shift-id", fname, line, sid)
                conflicting_ids.add(sid)
            z = zone_for(r, aid)
            start, end = (instant(r, *t, z) for t in times)
            start = start[1] if start[0] == "single" else None
            end = end[1] if end[0] == "single" else None
        else:
            seen_shift[sid] = body
            start, end = check_times(r, fname, line, sid, aid, times)
            z = zone_for(r, aid)
            shift_row[sid] = (z, start, end, aid, r.get("timezone") or "")
            if start is not None and end is not None and end > start:
                # The real length against the wall-clock one in the row's zone.
                la, lb = local_of(r, *times[0], z), local_of(r, *times[1], z)
                if la is not None and lb is not None and (end - start) != (lb - la):
                    finding("dst-length-change", fname, line, sid, "end_local")
        if start is not None and end is not None and end <= start:
            start = end = None
        batch.append((sid, line, aid, start and start.isoformat(), end and end.isoformat(), body))
        for t in tasks:
            tbatch.append((str(t.get("id")), line, sid, t.get("name")))
    db.executemany("INSERT INTO shifts VALUES (?,?,?,?,?,?)", batch)
    db.executemany("INSERT INTO tasks VALUES (?,?,?,?)", tbatch)

    # Tasks: their times in their shift's zone (the shift row's, else its agent's), only when the
    # shift has a row that is not a draft; a task the map cannot place holds its shift back.
    activity = {}
    for r in table(a.mappings, "activities.csv"):
        activity.setdefault(r.get("zendesk_task_name", ""), set()).add(r.get("business_unit_id", ""))
    held_shifts = set(conflicting_ids)
    p = find(a.export, "shift_tasks")
    if p:
        fname_t = os.path.basename(p)
        batch = []
        for line, r in rows(p):
            sid = r.get("shift_id", "")
            tid = r.get("task_id", "") or sid
            if sid in shift_row:
                z, s0, e0, aid, shift_tz = shift_row[sid]
                rr = dict(r, timezone=shift_tz)
                ts, te = check_times(rr, fname_t, line, tid, aid, times)
                if ts is None or te is None or s0 is None or e0 is None or ts < s0 or te > e0 or ts.second or te.second:
                    held_shifts.add(sid)
                elif not (activity.get(r.get("name", ""), set()) & {"", agent_bu(aid)}):
                    held_shifts.add(sid)  # unmapped-activity
            batch.append((r.get("task_id"), line, sid, r.get("name")))
            if len(batch) >= 50_000:
                db.executemany("INSERT INTO tasks VALUES (?,?,?,?)", batch)
                batch.clear()
        db.executemany("INSERT INTO tasks VALUES (?,?,?,?)", batch)

    trade_times = [
        (c, None, None)
        for c in ("requester_shift_start_local", "recipient_shift_start_local", "created_at_local", "resolved_at_local")
    ]
    p = find(a.export, "shift_trades")
    if p:
        fname_tr = os.path.basename(p)
        seen = {}
        batch = []
        for line, r in rows(p):
            tid = str(r.get("trade_id", r.get("id", "")))
            body = json.dumps(r, sort_keys=True)
            if tid in seen:
                finding("duplicate-trade-id" if seen[tid] == body else "conflicting-trade-id", fname_tr, line, tid)
            else:
                seen[tid] = body
                # The trade's own local times, in its zone (the row's, else its requester's).
                check_times(r, fname_tr, line, tid, str(r.get("requester_agent_id", "")), trade_times)
            batch.append((tid, line, body))
        db.executemany("INSERT INTO trades VALUES (?,?,?)", batch)
    db.commit()

    # Time off: repeated ids, DST on the times of partial-day requests, and the spans of the
    # requests that load (for the overlap rules below).
    loadable = {}  # agent id -> [(spans, request id, line)]
    p = find(a.export, "time_off")
    if p:
        fname_to = os.path.basename(p)
        reasons = {}
        for r in table(a.mappings, "time_off.csv"):
            reasons.setdefault(r.get("zendesk_reason", ""), set()).add(r.get("business_unit_id", ""))

        groups = {}
        for line, r in rows(p):
            status = (r.get("status") or "").strip().lower()
            status = "requested" if status == "pending" else status
            tid = str(r.get("time_off_request_id", r.get("id", "")))
            aid = str(r.get("agent_id", r.get("agentId", "")))
            if status not in TIME_OFF_STATUSES or not tid or not aid:
                continue  # extract rejects the row (malformed-row / missing-field)
            r = dict(r, status=status)
            groups.setdefault(tid, []).append((line, r))
        for tid, group in groups.items():
            line, r = group[0]
            body = json.dumps(r, sort_keys=True)
            conflicting = any(json.dumps(g, sort_keys=True) != body for _, g in group[1:])
            for gline, _ in group[1:]:
                finding("conflicting-time-off-id" if conflicting else "duplicate-time-off-id", fname_to, gline, tid)
            if r["status"] not in ("approved", "requested"):
                continue  # time-off-not-loaded: history, no time checks
            aid = str(r.get("agent_id", r.get("agentId", "")))
            held = conflicting or aid not in agent_info or not agent_mapped(aid)
            bu = agent_bu(aid)
            z = zone_for(r, aid)
            dates = not r.get("start_local") and not r.get("end_local") and (r.get("start_date") or r.get("end_date"))
            full = dates or str(r.get("full_day", "")).strip().lower() in ("true", "1", "yes")
            spans = []
            if full:
                if dates:
                    first = dt.date.fromisoformat((r.get("start_date") or r.get("end_date")).strip())
                    last = dt.date.fromisoformat((r.get("end_date") or r.get("start_date")).strip())
                else:
                    la, lb = local_of(r, *times[0], z), local_of(r, *times[1], z)
                    if la is None or lb is None or lb <= la:
                        held = True
                        first, last = None, None
                    else:
                        first, last = la.date(), (lb - dt.timedelta(seconds=1)).date()
                    if (la and la.second) or (lb and lb.second):
                        held = True
                dz = zone(bu_zone.get(bu, "")) if bu_zone.get(bu) else z
                d = first
                while d is not None and dz is not None and d <= last:
                    spans.append((midnight_utc(d, dz), midnight_utc(d + dt.timedelta(days=1), dz)))
                    d += dt.timedelta(days=1)
            else:
                start, end = check_times(r, fname_to, line, tid, aid, times)
                if start is None or end is None or end <= start:
                    held = True
                elif start.second or end.second:
                    held = True  # sub-minute-time
                elif end - start <= dt.timedelta(days=1):
                    spans.append((start, end))
                else:
                    # Several days: one start a local day at the start's wall-clock time.
                    la, lb = local_of(r, *times[0], z), local_of(r, *times[1], z)
                    ta = la - la.replace(hour=0, minute=0, second=0)
                    tb = lb - lb.replace(hour=0, minute=0, second=0)
                    daily = (tb - ta) % dt.timedelta(days=1) or dt.timedelta(days=1)
                    day = la.replace(hour=0, minute=0, second=0)
                    while day + ta < lb:
                        kind, value = resolve(day + ta, z)
                        if kind == "single":
                            spans.append((value, value + daily))
                        else:
                            finding("dst-ambiguous" if kind == "ambiguous" else "dst-nonexistent", fname_to, line, tid, "start_local")
                            held = True
                        day += dt.timedelta(days=1)
            reason = (r.get("reason") or "").strip()
            if not (reasons.get(reason, set()) & {"", bu}):
                held = True  # unmapped-time-off-reason
            if not held and spans:
                loadable.setdefault(aid, []).append((spans, tid, line))

    def overlap(xs, ys):
        return any(a < d and c < b for a, b in xs for c, d in ys)

    for aid in sorted(loadable):
        reqs = sorted(loadable[aid], key=lambda q: (q[0][0][0], q[1]))
        for i, (spans, tid, line) in enumerate(reqs):
            if any(overlap(o[0], spans) for o in reqs[:i]):
                finding("time-off-overlap", fname_to, line, tid)
        # The agent's shifts that load: first rows that resolve, whole minutes, nothing held back.
        shifts = [
            (s0, e0)
            for sid, (_, s0, e0, owner, _) in shift_row.items()
            if owner == aid and s0 is not None and e0 is not None and e0 > s0
            and not (s0.second or e0.second) and sid not in held_shifts
        ]
        for spans, tid, line in reqs:
            if overlap(shifts, spans):
                finding("time-off-overlaps-shift", fname_to, line, tid)

    # Overlaps: per agent, shifts by start (an id once, its earliest-starting row); the
    # later-starting one of each overlapping pair.
    db.execute("CREATE INDEX shifts_by_agent ON shifts (agent_id, start_utc)")
    last_agent, ends, ids = None, [], set()
    for sid, line, aid, start, end in db.execute(
        "SELECT shift_id, line, agent_id, start_utc, end_utc FROM shifts "
        "WHERE start_utc IS NOT NULL AND end_utc IS NOT NULL ORDER BY agent_id, start_utc, line"
    ):
        if aid != last_agent:
            last_agent, ends, ids = aid, [], set()
        if sid in ids:
            continue
        ids.add(sid)
        for other_end in ends:  # one finding per overlapping pair, on the later-starting shift
            if other_end > start:
                finding("shift-overlap", fname, line, sid)
        ends = [e for e in ends if e > start] + [end]

    elapsed = time.perf_counter() - t0
    counts = {}
    for f in findings:
        counts[f["rule"]] = counts.get(f["rule"], 0) + 1
    n = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("agents", "shifts", "tasks", "trades")}
    if a.findings:
        for f in sorted(findings, key=lambda f: (f["file"], f["line"], f["rule"], f["field"] or "")):
            print(json.dumps(f))
    print(
        json.dumps({"schema": "reference-pipeline/v1", "seconds": round(elapsed, 3), "records": n, "rules": RULES, "by_rule": counts}),
        file=sys.stderr if a.findings else sys.stdout,
    )


if __name__ == "__main__":
    main()
