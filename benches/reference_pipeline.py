#!/usr/bin/env python3
"""A deliberately simple reference pipeline, standard library only (csv, json, zoneinfo, sqlite3).

It does what a migration engineer would write by hand in an afternoon: stage the export in SQLite
(extract), then run the time checks that matter most — DST gaps and overlaps on every local time,
duplicate and conflicting shift and trade ids, overlapping shifts per agent. It is here for two
reasons:
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--mappings", default=None)
    ap.add_argument("--default-timezone", default="Europe/Paris")
    ap.add_argument("--db", default=":memory:")
    ap.add_argument("--findings", action="store_true")
    a = ap.parse_args()
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
    p = find(a.export, "agents")
    batch = []
    for line, r in rows(p):
        aid = str(r.get("agent_id", r.get("id", "")))
        tz = r.get("timezone") or locations.get(r.get("location") or "", "") or ""
        agent_zone[aid] = tz
        batch.append((aid, line, tz, r.get("location")))
    db.executemany("INSERT INTO agents VALUES (?,?,?,?)", batch)

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
    seen_shift = {}
    p = find(a.export, "shifts")
    fname = os.path.basename(p)
    batch, tbatch = [], []
    for line, r in rows(p):
        sid = str(r.get("shift_id", r.get("id", "")))
        aid = str(r.get("agent_id", r.get("agentId", "")))
        tasks = r.pop("tasks", None) or []
        body = json.dumps(r, sort_keys=True)
        if seen_shift.get(sid) == body:  # an identical repeat is collapsed into the first: no time checks
            start = end = None
        else:
            start, end = check_times(r, fname, line, sid, aid, times)
        if sid in seen_shift:
            rule = "duplicate-shift-id" if seen_shift[sid] == body else "conflicting-shift-id"
            finding(rule, fname, line, sid)
            start = end = None  # a repeated id is one shift (or held back): it overlaps nothing again
        else:
            seen_shift[sid] = body
        draft = str(r.get("published", "true")).strip().lower() in ("false", "0")
        if draft:  # drafts are not loaded (include_drafts = false), so they overlap nothing
            start = end = None
        batch.append((sid, line, aid, start and start.isoformat(), end and end.isoformat(), body))
        for t in tasks:
            tbatch.append((str(t.get("id")), line, sid, t.get("name")))
    db.executemany("INSERT INTO shifts VALUES (?,?,?,?,?,?)", batch)
    db.executemany("INSERT INTO tasks VALUES (?,?,?,?)", tbatch)

    p = find(a.export, "shift_tasks")
    if p:
        fname_t = os.path.basename(p)
        shift_agent = {}
        for sid, aid in db.execute("SELECT shift_id, agent_id FROM shifts"):
            shift_agent[sid] = aid
        shift_tz = {}
        batch = []
        for line, r in rows(p):
            sid = r.get("shift_id", "")
            check_times(r, fname_t, line, r.get("task_id", ""), shift_agent.get(sid, ""), times)
            batch.append((r.get("task_id"), line, sid, r.get("name")))
            if len(batch) >= 50_000:
                db.executemany("INSERT INTO tasks VALUES (?,?,?,?)", batch)
                batch.clear()
        db.executemany("INSERT INTO tasks VALUES (?,?,?,?)", batch)
        del shift_tz

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
            batch.append((tid, line, body))
        db.executemany("INSERT INTO trades VALUES (?,?,?)", batch)
    db.commit()

    # Overlaps: per agent, shifts by start; the later-starting one of each overlapping pair.
    db.execute("CREATE INDEX shifts_by_agent ON shifts (agent_id, start_utc)")
    last_agent, ends = None, []
    for sid, line, aid, start, end in db.execute(
        "SELECT shift_id, line, agent_id, start_utc, end_utc FROM shifts "
        "WHERE start_utc IS NOT NULL AND end_utc IS NOT NULL ORDER BY agent_id, start_utc"
    ):
        if aid != last_agent:
            last_agent, ends = aid, []
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
        json.dumps({"schema": "reference-pipeline/v1", "seconds": round(elapsed, 3), "records": n, "by_rule": counts}),
        file=sys.stderr if a.findings else sys.stdout,
    )


if __name__ == "__main__":
    main()
