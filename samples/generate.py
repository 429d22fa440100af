#!/usr/bin/env python3
"""Deterministic generator for the zd2gc sample data.

Writes, from a fixed seed and fixed tables (no network, no clock):
  samples/paris-cutover/{agents,shifts,shift_tasks,shift_trades,time_off}.csv
  samples/clean/{agents,shifts,shift_trades}.jsonl
  samples/org.json
  mappings/{agents,business_units,locations,activities,time_off}.csv

Run from anywhere:  python3 samples/generate.py
Running it twice gives byte-identical files. The planted problems are documented in samples/README.md;
`--planted` prints where each one landed (file:line, physical lines, CSV header = line 1).
"""
import csv
import datetime as dt
import hashlib
import io
import json
import random
import sys
import unicodedata
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
PARIS_DIR = SAMPLES / "paris-cutover"
CLEAN_DIR = SAMPLES / "clean"
MAPPINGS = ROOT / "mappings"

SEED = 20261025
rng = random.Random(SEED)

UTC = dt.timezone.utc
PARIS = "Europe/Paris"
CHICAGO = "America/Chicago"
NEW_YORK = "America/New_York"
EMAIL_DOMAIN = "acme-support.example"


def guid(label):
    """A deterministic, valid-looking v4 UUID derived from a label."""
    h = hashlib.sha256(("zd2gc-samples:" + label).encode()).digest()[:16]
    return str(uuid.UUID(bytes=h, version=4))


def ascii_slug(s):
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return s.lower().replace(" ", "").replace("'", "")


def email_of(first, last):
    return f"{ascii_slug(first)}.{ascii_slug(last)}@{EMAIL_DOMAIN}"


# ---------------------------------------------------------------------------------------------
# Genesys side: business units, management units, activity codes
# ---------------------------------------------------------------------------------------------
BU_PARIS = {"key": "paris", "id": guid("bu:paris"), "name": "Paris Contact Centre",
            "tz": PARIS, "start": "Monday"}
BU_AMER = {"key": "americas", "id": guid("bu:americas"), "name": "Americas Support",
           "tz": CHICAGO, "start": "Sunday"}
BUS = [BU_PARIS, BU_AMER]

MU_T1 = {"key": "paris-tier1", "id": guid("mu:paris-tier1"), "name": "Paris Tier 1", "bu": BU_PARIS}
MU_T2 = {"key": "paris-tier2", "id": guid("mu:paris-tier2"), "name": "Paris Tier 2", "bu": BU_PARIS}
MU_AM = {"key": "americas", "id": guid("mu:americas"), "name": "Americas", "bu": BU_AMER}
MUS = [MU_T1, MU_T2, MU_AM]

# (name, category, defaultCode) -- the built-in codes of each category are defaultCode=true
ACTIVITY_CODES = [
    ("On Queue Work", "OnQueueWork", True),
    ("Email", "OnQueueWork", False),
    ("Chat", "OnQueueWork", False),
    ("Off Queue Work", "OffQueueWork", True),
    ("Break", "Break", True),
    ("Meal", "Meal", True),
    ("Training", "Training", True),
    ("Meeting", "Meeting", True),
    ("Time Off", "TimeOff", True),
    ("Unavailable", "Unavailable", True),
]


# TimeOff codes of each unit, named as the Zendesk reasons they stand for (so `mappings pull` finds
# them by name); "Congé sabbatique" is deliberately absent (planted unmapped-time-off-reason).
TIME_OFF_CODES = {
    "paris": ["Congés payés", "RTT", "Rendez-vous médical", "Formation externe"],
    "americas": ["Vacation"],
}


def code_id(bu, name):
    return guid(f"activitycode:{bu['key']}:{name}")


# Zendesk task name -> Genesys activity code name ("Coaching 1:1" is deliberately absent)
TASK_TO_CODE = {
    "Phone": "On Queue Work",
    "Email": "Email",
    "Chat": "Chat",
    "Back Office": "Off Queue Work",
    "Break": "Break",
    "Lunch": "Meal",
    "Training": "Training",
    "Team Meeting": "Meeting",
}
DEFAULT_ACTIVITY = "On Queue Work"
UNMAPPED_TASK = "Coaching 1:1"
# taskableId/taskableType as the WFM API would give them (JSON Lines sample only)
TASKABLE = {"Phone": 5101, "Email": 5102, "Chat": 5103, "Back Office": 5104, "Break": 5201,
            "Lunch": 5202, "Training": 5301, "Team Meeting": 5302}

# ---------------------------------------------------------------------------------------------
# Agents
# ---------------------------------------------------------------------------------------------
TEAM_T1 = "Tier 1"
TEAM_T1_BI = "Tier 1\nBilingual"      # a quoted field with a newline: exercises line tracking
TEAM_T2 = "Tier 2"
TEAM_T2_ESC = "Tier 2, Escalations"  # a quoted field with a comma
TEAM_NIGHT = "Nights"
TEAM_AM = "Americas"
TEAM_MU = {TEAM_T1: MU_T1, TEAM_T1_BI: MU_T1, TEAM_NIGHT: MU_T1, TEAM_T2: MU_T2,
           TEAM_T2_ESC: MU_T2, TEAM_AM: MU_AM}

PARIS_PEOPLE = [  # (first, last, team)
    ("Camille", "Martin", TEAM_T1), ("Lucas", "Bernard", TEAM_T1), ("Léa", "Dubois", TEAM_T1),
    ("Hugo", "Thomas", TEAM_T1), ("Chloé", "Robert", TEAM_T1), ("Louis", "Richard", TEAM_T1_BI),
    ("Gabriel", "Durand", TEAM_T1), ("Manon", "Petit", TEAM_T1), ("Emma", "Leroy", TEAM_T1),
    ("Arthur", "Moreau", TEAM_T1), ("Jules", "Laurent", TEAM_T1), ("Sarah", "Lefebvre", TEAM_T1_BI),
    ("Nathan", "Michel", TEAM_T1), ("Zoé", "Garcia", TEAM_T1), ("Théo", "David", TEAM_T1),
    ("Juliette", "Bertrand", TEAM_T1), ("Raphaël", "Roux", TEAM_T1), ("Louise", "Vincent", TEAM_T1),
    ("Mathis", "Fournier", TEAM_T1), ("Alice", "Morel", TEAM_T1_BI), ("Antoine", "Girard", TEAM_T1),
    ("Clara", "André", TEAM_T1), ("Maxime", "Lefèvre", TEAM_T1), ("Lucie", "Mercier", TEAM_T1),
    ("Thomas", "Dupont", TEAM_T1),
    ("Anaïs", "Lambert", TEAM_T2), ("Benjamin", "Bonnet", TEAM_T2), ("Élodie", "François", TEAM_T2),
    ("Paul", "Martinez", TEAM_T2), ("Margaux", "Legrand", TEAM_T2), ("Quentin", "Garnier", TEAM_T2),
    ("Pauline", "Faure", TEAM_T2_ESC), ("Romain", "Rousseau", TEAM_T2),
    ("Océane", "Blanc", TEAM_T2_ESC), ("Nicolas", "Guérin", TEAM_T2),
    ("Jean-Baptiste", "Perrin", TEAM_T2), ("Noémie", "D'Almeida", TEAM_T2),
    ("Mathilde", "Muller", TEAM_NIGHT), ("Alexandre", "Henry", TEAM_NIGHT),
    ("Charlotte", "Roussel", TEAM_NIGHT),
]
DEACTIVATED_PERSON = ("Vincent", "Caron", TEAM_T2)        # left in September; owns nothing
UNMAPPED_PERSON = ("Inès", "Fontaine", TEAM_T1)          # new hire, no Genesys user yet (planted)
CHICAGO_PEOPLE = [
    ("Emily", "Carter", None), ("Marcus", "Johnson", None), ("Rachel", "Nguyen", None),
    ("Daniel", "Brooks", None), ("Olivia", "Martinez", NEW_YORK),  # remote, explicit timezone
]
OTHER_ORG_USERS = [  # Genesys users not in the export
    ("Sophie Lemoine", "sophie.lemoine", None),   # WFM planner
    ("Marc Girault", "marc.girault", MU_T1),       # team leader, scheduled in Tier 1
    ("Julie Perrin", "julie.perrin", None),       # quality analyst
    ("Jennifer Walsh", "jennifer.walsh", None),   # Americas supervisor
]


class Agent:
    def __init__(self, zid, first, last, team, location, tz_override=None, deactivated=False,
                 mapped=True, email=None):
        self.id = zid
        self.first, self.last = first, last
        self.name = f"{first} {last}"
        self.email = email_of(first, last)
        self.export_email = email or self.email
        self.team = team
        self.location = location
        self.tz_override = tz_override
        self.deactivated = deactivated
        self.mapped = mapped
        self.mu = TEAM_MU[team]
        self.bu = self.mu["bu"]
        self.zone = tz_override or (PARIS if location == "Paris" else CHICAGO)
        self.user_id = guid(f"user:{self.email}") if mapped else None
        self.night = team == TEAM_NIGHT


AGENTS = []
for i, (f, l, t) in enumerate(PARIS_PEOPLE):
    AGENTS.append(Agent(381447001 + i, f, l, t, "Paris"))
DEACT = Agent(381447041, *DEACTIVATED_PERSON, "Paris", deactivated=True)
UNMAPPED = Agent(381447042, *UNMAPPED_PERSON, "Paris", mapped=False)
AGENTS += [DEACT, UNMAPPED]
for i, (f, l, tz) in enumerate(CHICAGO_PEOPLE):
    AGENTS.append(Agent(381447101 + i, f, l, TEAM_AM, "Chicago", tz_override=tz))
BY_ID = {a.id: a for a in AGENTS}
PARIS_ACTIVE = [a for a in AGENTS if a.location == "Paris" and not a.deactivated and a.mapped]
PARIS_DAY = [a for a in PARIS_ACTIVE if not a.night]
PARIS_NIGHT = [a for a in PARIS_ACTIVE if a.night]
AMER = [a for a in AGENTS if a.location == "Chicago"]

# mapping-table variations (both still map): export e-mail in mixed case; id-only / e-mail-only rows
MIXED_CASE_EMAIL_AGENT = BY_ID[381447007]   # Gabriel Durand
MIXED_CASE_EMAIL_AGENT.export_email = "Gabriel.Durand@Acme-Support.example"
ID_ONLY_ROW_AGENT = BY_ID[381447015]        # Théo David: mapping row without e-mail
EMAIL_ONLY_ROW_AGENT = BY_ID[381447028]     # Élodie François: mapping row without zendesk id


# ---------------------------------------------------------------------------------------------
# Time helpers: shifts are kept as naive local wall-clock datetimes plus a zone
# ---------------------------------------------------------------------------------------------
def d(s):
    return dt.datetime.strptime(s, "%Y-%m-%d %H:%M")


def fmt(x):
    return x.strftime("%Y-%m-%d %H:%M")


def to_utc(naive, zone, fold=0):
    return naive.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def is_valid_local(naive, zone):
    """False for a nonexistent or ambiguous local time."""
    z = ZoneInfo(zone)
    a = naive.replace(tzinfo=z, fold=0)
    b = naive.replace(tzinfo=z, fold=1)
    if a.utcoffset() != b.utcoffset():
        return False  # ambiguous, or in a gap (fold changes the offset in both cases)
    return a.astimezone(UTC).astimezone(z).replace(tzinfo=None) == naive


class Shift:
    def __init__(self, agent, start, end, zone=None, published=True, parent=None, kind="day",
                 explicit_tz=False):
        self.agent = agent            # current owner (after approved trades)
        self.start, self.end = start, end
        self.zone = zone or agent.zone
        self.published = published
        self.parent = parent
        self.kind = kind
        self.explicit_tz = explicit_tz
        self.tasks = []              # (name, start, end)
        self.id = None
        self.plant = None

    def utc(self):
        return to_utc(self.start, self.zone), to_utc(self.end, self.zone)


SHIFTS = []

# Paris day shift types and Americas shift types (start, end) as wall clock
PARIS_TYPES = [("08:00", "16:00"), ("09:00", "17:30"), ("10:30", "19:00"), ("13:00", "21:00")]
AMER_TYPES = [("07:00", "15:30"), ("08:00", "16:30"), ("10:00", "18:30"), ("12:00", "20:30")]
WEEK1 = dt.date(2026, 10, 19)   # Monday; the Paris DST night is Sat 24 -> Sun 25 October
DAYS = [WEEK1 + dt.timedelta(days=i) for i in range(14)]  # 2026-10-19 .. 2026-11-01
DAYS_OFF_PATTERNS = [(5, 6), (5, 6), (5, 6), (6, 0), (2, 6), (0, 1), (3, 6), (4, 5)]


def at(day, hhmm):
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, h, m)


def span(day, s, e):
    st, en = at(day, s), at(day, e)
    if en <= st:
        en += dt.timedelta(days=1)
    return st, en


# --- October, Paris day agents
for i, a in enumerate(PARIS_DAY):
    off = DAYS_OFF_PATTERNS[rng.randrange(len(DAYS_OFF_PATTERNS))]
    base = rng.randrange(4)
    for w in range(2):
        s, e = PARIS_TYPES[(base + w) % 4]
        for k in range(7):
            if k in off:
                continue
            day = DAYS[w * 7 + k]
            st, en = span(day, s, e)
            SHIFTS.append(Shift(a, st, en))

# --- October, Paris night team: nights 22:00 -> 06:00 (the 24 Oct night crosses the DST change)
NIGHT_OFF = [(0, 1), (2, 3), (4, 6)]
for i, a in enumerate(PARIS_NIGHT):
    for w in range(2):
        for k in range(7):
            if k in NIGHT_OFF[(i + w) % 3] and not (w == 0 and k == 5):  # all work Sat 24 Oct
                continue
            day = DAYS[w * 7 + k]
            if w == 0 and k == 5 and i == 2:
                st, en = span(day, "23:00", "07:00")
            else:
                st, en = span(day, "22:00", "06:00")
            SHIFTS.append(Shift(a, st, en, kind="night"))

# --- October, Americas (Chicago wall clock; the remote agent's in New York wall clock)
AMER_OFF = [(5, 6), (6, 0), (5, 6), (0, 1), (5, 6)]
AMER_NIGHT_AGENT = AMER[3]   # Daniel Brooks covers the night of Sat 31 Oct -> Sun 1 Nov
for i, a in enumerate(AMER):
    for w in range(2):
        s, e = AMER_TYPES[(i + w) % 4] if a.tz_override is None else ("09:00", "17:30")
        for k in range(7):
            day = DAYS[w * 7 + k]
            if a is AMER_NIGHT_AGENT and day == dt.date(2026, 10, 31):
                st, en = span(day, "22:00", "06:00")
                SHIFTS.append(Shift(a, st, en, kind="night-us"))
                continue
            if a is AMER_NIGHT_AGENT and day == dt.date(2026, 11, 1):
                continue
            if k in AMER_OFF[i]:
                continue
            st, en = span(day, s, e)
            SHIFTS.append(Shift(a, st, en, explicit_tz=(i == 1)))  # rows carry timezone

# --- the unmapped new hire starts on Monday 26 October
for k in range(5):
    st, en = span(DAYS[7 + k], "09:00", "17:30")
    SHIFTS.append(Shift(UNMAPPED, st, en))

# --- March 2026: a handful around the spring-forward night (Sun 29 March, 02:00 -> 03:00)
MARCH = []
for a in PARIS_DAY[:3]:
    MARCH.append(Shift(a, *span(dt.date(2026, 3, 27), "09:00", "17:30")))
    MARCH.append(Shift(a, *span(dt.date(2026, 3, 30), "09:00", "17:30")))
for a in PARIS_NIGHT[:2]:
    MARCH.append(Shift(a, *span(dt.date(2026, 3, 28), "22:00", "06:00"), kind="night"))
MARCH.append(Shift(PARIS_NIGHT[0], *span(dt.date(2026, 3, 30), "22:00", "06:00"), kind="night"))
PLANT_NONEXISTENT = Shift(PARIS_NIGHT[2], d("2026-03-29 02:15"), d("2026-03-29 10:15"), kind="plain")
PLANT_NONEXISTENT.plant = "dst-nonexistent"
MARCH.append(PLANT_NONEXISTENT)
SHIFTS += MARCH


def shifts_of(agent):
    return [s for s in SHIFTS if s.agent is agent]


def on_day(agent, day):
    return [s for s in SHIFTS if s.agent is agent and s.start.date() == day]


# --- planted: a shift starting at the ambiguous 2026-10-25 02:30 (Paris); agent free that weekend
def free_weekend(a):
    return not on_day(a, dt.date(2026, 10, 24)) and not on_day(a, dt.date(2026, 10, 25))


amb_agent = [a for a in PARIS_DAY if free_weekend(a)][4]
PLANT_AMBIGUOUS = Shift(amb_agent, d("2026-10-25 02:30"), d("2026-10-25 10:30"), kind="plain")
PLANT_AMBIGUOUS.plant = "dst-ambiguous"
SHIFTS.append(PLANT_AMBIGUOUS)

# --- planted: an overtime shift overlapping the agent's own day shift (Thu 29 October)
ov_agent = [a for a in PARIS_DAY if any(s.start.hour == 9 for s in on_day(a, dt.date(2026, 10, 29)))][2]
PLANT_OVERLAP = Shift(ov_agent, d("2026-10-29 16:30"), d("2026-10-29 20:30"), kind="plain")
PLANT_OVERLAP.plant = "shift-overlap"
SHIFTS.append(PLANT_OVERLAP)

# --- drafts (published=false): new Saturday cover shifts, and one draft edit of a published shift
draft_agents = [a for a in PARIS_DAY if not on_day(a, dt.date(2026, 10, 31))
                and all(s.end <= d("2026-10-31 00:00") or s.start >= d("2026-11-01 00:00")
                        for s in shifts_of(a))][:3]
DRAFTS = []
for a in draft_agents:
    DRAFTS.append(Shift(a, *span(dt.date(2026, 10, 31), "10:00", "18:00"), published=False))
edit_parent = [s for s in SHIFTS if s.agent in PARIS_DAY and s.start == d("2026-10-28 09:00")][0]
DRAFT_EDIT = Shift(edit_parent.agent, d("2026-10-28 10:00"), d("2026-10-28 18:30"), published=False,
                   parent=edit_parent)
DRAFTS.append(DRAFT_EDIT)
SHIFTS += DRAFTS


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------
def add_min(x, m):
    return x + dt.timedelta(minutes=m)


def free(tasks, st, en):
    return all(en <= t[1] or st >= t[2] for t in tasks)


def make_day_tasks(s, r):
    if r.random() < 0.08:
        return []
    st, en = s.start, s.end
    mins = int((en - st).total_seconds() // 60)
    tasks = []
    lunch_len = 60 if s.zone == PARIS else 30
    mid = add_min(st, (mins // 2 // 30) * 30 - 30)
    tasks.append(["Lunch", mid, add_min(mid, lunch_len)])
    if r.random() < 0.85:
        b = add_min(st, 120)
        tasks.append(["Break", b, add_min(b, 15)])
    if r.random() < 0.7:
        b = add_min(en, -120)
        tasks.append(["Break", b, add_min(b, 15)])
    # team meetings: Tier 1 on Tuesdays 14:00, Tier 2 on Thursdays 11:00 (when inside and free)
    wd = st.weekday()
    meet = None
    if s.agent.mu is MU_T1 and wd == 1:
        meet = at(st.date(), "14:00")
    elif s.agent.mu is MU_T2 and wd == 3:
        meet = at(st.date(), "11:00")
    if meet and st <= meet and add_min(meet, 30) <= en and free(tasks, meet, add_min(meet, 30)) \
            and r.random() < 0.9:
        tasks.append(["Team Meeting", meet, add_min(meet, 30)])
    elif r.random() < 0.55:
        name = r.choice(["Email", "Email", "Chat", "Chat", "Phone", "Back Office", "Training"])
        length = {"Training": 60, "Back Office": 45}.get(name, r.choice([60, 90, 120]))
        for _ in range(20):
            off = r.randrange(0, mins - length + 1, 15)
            a, b = add_min(st, off), add_min(st, off + length)
            if free(tasks, a, b):
                tasks.append([name, a, b])
                break
    tasks.sort(key=lambda t: t[1])
    return tasks


def make_night_tasks(s):
    st = s.start
    if s.zone == PARIS:
        lunch = at(st.date() + dt.timedelta(days=1), "03:30")   # never inside 02:00-02:59
        b2 = add_min(s.end, -60)
    else:
        lunch = at(st.date() + dt.timedelta(days=1), "02:30")   # never inside 01:00-01:59
        b2 = add_min(s.end, -90)
    b1 = add_min(st, 120)
    return [["Break", b1, add_min(b1, 15)], ["Lunch", lunch, add_min(lunch, 30)],
            ["Break", b2, add_min(b2, 15)]]


trng = random.Random(SEED + 1)
for s in sorted(SHIFTS, key=lambda s: (s.start, s.agent.id)):
    if s.plant or not s.published:
        continue
    if s.kind in ("night", "night-us"):
        s.tasks = make_night_tasks(s)
    else:
        s.tasks = make_day_tasks(s, trng)

# --- planted: two task rows with a name that has no mapping
coach = [s for s in SHIFTS if s.agent.mu is MU_T1 and s.kind == "day" and s.published and not s.plant
         and s.start.date() in (dt.date(2026, 10, 21), dt.date(2026, 10, 28)) and s.start.hour == 9
         and s is not edit_parent]
PLANT_COACHING = []
for s in (coach[1], coach[-2]):
    a = at(s.start.date(), "15:00")
    if not free(s.tasks, a, add_min(a, 30)):
        s.tasks = [t for t in s.tasks if t[2] <= a or t[1] >= add_min(a, 30)]
    t = [UNMAPPED_TASK, a, add_min(a, 30)]
    s.tasks.append(t)
    s.tasks.sort(key=lambda t: t[1])
    PLANT_COACHING.append((s, t))

# --- planted: one break that runs past the end of its shift
tos = [s for s in SHIFTS if s.agent.mu is MU_T2 and s.kind == "day" and s.published and not s.plant
       and s.start.date() == dt.date(2026, 10, 27) and s.end.hour == 17][0]
tos.tasks = [t for t in tos.tasks if t[2] <= add_min(tos.end, -10)]
PLANT_TASK_OUTSIDE = ["Break", add_min(tos.end, -10), add_min(tos.end, 5)]
tos.tasks.append(PLANT_TASK_OUTSIDE)


# ---------------------------------------------------------------------------------------------
# Trades (chosen on the pre-trade schedule; approved ones are then applied to the shift owners)
# ---------------------------------------------------------------------------------------------
def day_shift(a, day):
    x = [s for s in SHIFTS if s.agent is a and s.start.date() == day and s.published and not s.plant
         and s.kind == "day"]
    return x[0] if len(x) == 1 and len(on_day(a, day)) == 1 else None


USED = set()   # shifts already used by a trade that must not be reused


def pick_swap(day, mu, r):
    """Two agents of one MU with day shifts of different types on `day` (no shift reused)."""
    cands = [a for a in (PARIS_DAY if mu is not MU_AM else AMER) if a.mu is mu and a.tz_override is None]
    r.shuffle(cands)
    for a in cands:
        sa = day_shift(a, day)
        if not sa or sa in USED:
            continue
        for b in cands:
            if b is a:
                continue
            sb = day_shift(b, day)
            if sb and sb not in USED and sb.start != sa.start:
                return sa, sb
    raise SystemExit(f"no swap found on {day} in {mu['name']}")


def pick_giveaway(day, mu, r):
    """A day shift on `day` and a colleague of the same MU who has no shift that day."""
    cands = [a for a in (PARIS_DAY if mu is not MU_AM else AMER) if a.mu is mu and a.tz_override is None]
    r.shuffle(cands)
    for a in cands:
        sa = day_shift(a, day)
        if not sa or sa in USED:
            continue
        for b in cands:
            if b is not a and not on_day(b, day):
                return sa, b
    raise SystemExit(f"no give-away found on {day}")


TRADES = []  # dicts; written sorted by trade_id
trr = random.Random(SEED + 2)


def trade(tid, sr, status, req_shift, rec_agent, rec_shift, created, resolved=None, tz=None):
    t = {"trade_id": tid, "swap_request_id": sr, "status": status,
         "req_agent": req_shift.agent, "req_shift": req_shift,
         "rec_agent": rec_agent, "rec_shift": rec_shift,
         "created": created, "resolved": resolved, "tz": tz}
    TRADES.append(t)
    return t


# approved ---------------------------------------------------------------------------------
sa, sb = pick_swap(dt.date(2026, 10, 22), MU_T1, trr)
USED |= {sa, sb}
T_GEN1 = trade("TR-5001", "SR-7001", "approved", sa, sb.agent, sb, d("2026-10-15 10:12"), d("2026-10-16 09:40"))
sa, sb = pick_swap(dt.date(2026, 10, 23), MU_T2, trr)
sc = None
for c in PARIS_DAY:
    x = day_shift(c, dt.date(2026, 10, 23))
    if c.mu is MU_T2 and x and x not in (sa, sb) and x.start != sa.start and c is not sa.agent:
        sc = x
        break
USED |= {sa, sb, sc}
trade("TR-5002", "SR-7002", "denied", sa, sc.agent, sc, d("2026-10-13 14:05"), d("2026-10-14 11:30"))
T_GEN2 = trade("TR-5003", "SR-7002", "approved", sa, sb.agent, sb, d("2026-10-13 16:48"), d("2026-10-15 08:55"))
sa, b = pick_giveaway(dt.date(2026, 10, 28), MU_T1, trr)
USED.add(sa)
trade("TR-5004", "SR-7003", "approved", sa, b, None, d("2026-10-19 09:30"), d("2026-10-20 10:05"))
sa, sb = pick_swap(dt.date(2026, 10, 27), MU_T1, trr)
USED |= {sa, sb}
T_DUP = trade("TR-5005", "SR-7004", "approved", sa, sb.agent, sb, d("2026-10-16 11:20"), d("2026-10-19 15:02"))
sa, sb = pick_swap(dt.date(2026, 10, 28), MU_AM, trr)
USED |= {sa, sb}
trade("TR-5006", "SR-7005", "approved", sa, sb.agent, sb, d("2026-10-14 08:40"), d("2026-10-15 13:10"), tz=CHICAGO)
sa, sb = pick_swap(dt.date(2026, 10, 30), MU_T2, trr)
USED |= {sa, sb}
trade("TR-5020", "SR-7015", "approved", sa, sb.agent, sb, d("2026-10-20 10:00"), d("2026-10-21 09:15"))

APPROVED = [t for t in TRADES if t["status"] == "approved"]
# apply approved trades: the exported shifts show the new owners
for t in APPROVED:
    rs, cs = t["req_shift"], t["rec_shift"]
    rs.agent = t["rec_agent"]
    if cs is not None:
        cs.agent = t["req_agent"]

# non-approved trades (picked on the final ownership) ---------------------------------------
sa, sb = pick_swap(dt.date(2026, 10, 29), MU_T1, trr)
USED |= {sa, sb}
trade("TR-5007", "SR-7006", "denied", sa, sb.agent, sb, d("2026-10-16 15:30"), d("2026-10-19 10:20"))
sa, sb = pick_swap(dt.date(2026, 10, 26), MU_T2, trr)
USED |= {sa, sb}
trade("TR-5008", "SR-7007", "cancelled", sa, sb.agent, sb, d("2026-10-14 09:05"), d("2026-10-14 17:45"))
sa, b = pick_giveaway(dt.date(2026, 10, 30), MU_T1, trr)
USED.add(sa)
trade("TR-5009", "SR-7008", "cancelled", sa, b, None, d("2026-10-15 12:00"), d("2026-10-17 10:30"))
sa, sb = pick_swap(dt.date(2026, 10, 20), MU_T1, trr)
sc = [x for c in PARIS_DAY if c.mu is MU_T1 for x in [day_shift(c, dt.date(2026, 10, 20))]
      if x and x not in (sa, sb) and x not in USED and x.start != sa.start and c is not sa.agent][0]
USED |= {sa, sb, sc}
T_CONFLICT = trade("TR-5010", "SR-7009", "expired", sa, sb.agent, sb, d("2026-10-12 10:00"), sa.start)
trade("TR-5011", "SR-7009", "expired", sa, sc.agent, sc, d("2026-10-12 13:25"), sa.start)
sa, sb = pick_swap(dt.date(2026, 10, 30), MU_T1, trr)
USED |= {sa, sb}
trade("TR-5012", "SR-7010", "requested", sa, sb.agent, sb, d("2026-10-21 09:10"))
sa, sb = pick_swap(dt.date(2026, 10, 29), MU_T2, trr)
offers = [sb]
for c in PARIS_DAY:
    x = day_shift(c, dt.date(2026, 10, 29))
    if c.mu is MU_T2 and x and x not in USED and x not in (sa, sb) and x.start != sa.start \
            and c is not sa.agent and len(offers) < 3:
        offers.append(x)
USED |= {sa, *offers}
for n, (o, when) in enumerate(zip(offers, ["2026-10-19 11:02", "2026-10-19 16:40", "2026-10-20 08:15"])):
    trade(f"TR-{5013 + n}", "SR-7011", "offered", sa, o.agent, o, d(when))
sa, sb = pick_swap(dt.date(2026, 10, 31), MU_T1, trr)
sc = [x for c in PARIS_DAY if c.mu is MU_T1 for x in [day_shift(c, dt.date(2026, 10, 31))]
      if x and x not in (sa, sb) and x not in USED and x.start != sa.start and c is not sa.agent][0]
USED |= {sa, sb, sc}
trade("TR-5016", "SR-7012", "accepted", sa, sb.agent, sb, d("2026-10-20 14:22"))
trade("TR-5017", "SR-7012", "cancelled", sa, sc.agent, sc, d("2026-10-20 15:03"), d("2026-10-21 08:47"))
sa, sb = pick_swap(dt.date(2026, 10, 29), MU_AM, trr)
USED |= {sa, sb}
trade("TR-5018", "SR-7013", "accepted", sa, sb.agent, sb, d("2026-10-20 09:45"), tz=CHICAGO)
sa, b = pick_giveaway(dt.date(2026, 10, 27), MU_T2, trr)
USED.add(sa)
trade("TR-5019", "SR-7014", "requested", sa, b, None, d("2026-10-21 11:30"))
sa, sb = pick_swap(dt.date(2026, 10, 21), MU_T2, trr)
USED |= {sa, sb}
trade("TR-5021", "SR-7016", "expired", sa, sb.agent, sb, d("2026-10-15 10:40"), sa.start)
sa, sb = pick_swap(dt.date(2026, 10, 26), MU_T1, trr)
USED |= {sa, sb}
trade("TR-5022", "SR-7017", "denied", sa, sb.agent, sb, d("2026-10-19 13:00"), d("2026-10-20 16:35"))


# ---------------------------------------------------------------------------------------------
# Ids, ordering
# ---------------------------------------------------------------------------------------------
def sort_key(s):
    return (to_utc(s.start, s.zone), s.agent.id, s.end)


SHIFTS.sort(key=sort_key)
for n, s in enumerate(SHIFTS):
    s.id = f"S-{10001 + n}"
task_no = 20001
for s in SHIFTS:
    named = []
    for t in s.tasks:
        named.append((f"T-{task_no}", *t))
        task_no += 1
    s.tasks = named


# ---------------------------------------------------------------------------------------------
# Writers (CSV with '\n' line ends, RFC 4180 quoting where needed)
# ---------------------------------------------------------------------------------------------
class Lines:
    """Collects CSV rows and knows each record's first physical line."""

    def __init__(self, header, bom=False):
        self.buf = io.StringIO()
        self.w = csv.writer(self.buf, lineterminator="\n")
        self.w.writerow(header)
        self.bom = bom
        self.line = 2
        self.where = {}

    def row(self, key, values):
        self.where.setdefault(key, []).append(self.line)
        start = self.buf.tell()
        self.w.writerow(values)
        self.line += self.buf.getvalue()[start:].count("\n")

    def write(self, path):
        path.write_text(("\ufeff" if self.bom else "") + self.buf.getvalue(), encoding="utf-8")


def b(x):
    return "true" if x else "false"


def write_paris():
    PARIS_DIR.mkdir(parents=True, exist_ok=True)
    ag = Lines(["agent_id", "name", "email", "timezone", "location", "team", "deactivated"])
    for a in sorted(AGENTS, key=lambda a: a.id):
        ag.row(a.id, [a.id, a.name, a.export_email, a.tz_override or "", a.location, a.team,
                      b(a.deactivated)])
    ag.write(PARIS_DIR / "agents.csv")

    sh = Lines(["shift_id", "agent_id", "start_local", "end_local", "timezone", "published", "parent_id"])
    for s in SHIFTS:
        sh.row(s.id, [s.id, s.agent.id, fmt(s.start), fmt(s.end), s.zone if s.explicit_tz else "",
                      b(s.published), s.parent.id if s.parent else ""])
    sh.write(PARIS_DIR / "shifts.csv")

    tk = Lines(["task_id", "shift_id", "name", "start_local", "end_local", "paid"])
    for s in SHIFTS:
        for tid, name, st, en in s.tasks:
            tk.row(tid, [tid, s.id, name, fmt(st), fmt(en), b(name != "Lunch")])
    tk.write(PARIS_DIR / "shift_tasks.csv")

    tr = Lines(["trade_id", "swap_request_id", "status", "requester_agent_id", "requester_shift_id",
                "recipient_agent_id", "recipient_shift_id", "requester_shift_start_local",
                "recipient_shift_start_local", "created_at_local", "resolved_at_local", "timezone"],
               bom=True)

    def trow(t, status=None, resolved=None):
        rs, cs = t["req_shift"], t["rec_shift"]
        res = resolved if resolved is not None else t["resolved"]
        return [t["trade_id"], t["swap_request_id"], status or t["status"], t["req_agent"].id, rs.id,
                t["rec_agent"].id, cs.id if cs else "", fmt(rs.start), fmt(cs.start) if cs else "",
                fmt(t["created"]), fmt(res) if res else "", t["tz"] or ""]

    ordered = sorted(TRADES, key=lambda t: t["trade_id"])
    for t in ordered:
        tr.row(t["trade_id"], trow(t))
    # planted, as legacy exports do: an identical repeat and a repeat with different content
    tr.row(T_DUP["trade_id"], trow(T_DUP))
    tr.row(T_CONFLICT["trade_id"], trow(T_CONFLICT, status="cancelled",
                                        resolved=d("2026-10-19 18:02")))
    tr.write(PARIS_DIR / "shift_trades.csv")

    to = Lines(["time_off_request_id", "agent_id", "start_local", "end_local", "start_date", "end_date",
                "status", "reason", "full_day", "notes"])
    tor = random.Random(SEED + 3)
    picks = []
    for a in PARIS_DAY + AMER:
        for day in DAYS:
            if not on_day(a, day) and not on_day(a, day - dt.timedelta(days=1)) and day.weekday() < 5:
                picks.append((a, day))
    tor.shuffle(picks)
    rows = []
    seen = set()
    statuses = ["approved", "approved", "approved", "pending", "denied", "approved", "cancelled", "approved"]
    reasons = ["Congés payés", "RTT", "Congés payés", "Rendez-vous médical", "Congés payés",
               "Formation externe", "RTT", "Congés payés"]
    for a, day in picks:
        if a.id in seen or len(rows) >= 8:
            continue
        seen.add(a.id)
        n = len(rows)
        full = n not in (3,)
        if full:
            st, en = at(day, "00:00"), at(day + dt.timedelta(days=1), "00:00")
        else:
            st, en = at(day, "14:00"), at(day, "16:00")
        rows.append((a, st, en, statuses[n], reasons[n] if a.location == "Paris" else "Vacation", full))
    rows.sort(key=lambda r: (r[1], r[0].id))
    for n, (a, st, en, status, reason, full) in enumerate(rows):
        to.row(f"TO-{301 + n}", [f"TO-{301 + n}", a.id, fmt(st), fmt(en), "", "", status, reason, b(full), ""])
    # Three more, each for an agent free on those days (no shift, so no time-off-overlaps-shift):
    # full days as dates over the October DST weekend (Sunday 25 is one day like any other), a
    # partial day with notes, and a reason mappings/time_off.csv does not know (planted:
    # unmapped-time-off-reason, held back).
    def free(a, days):
        return a.id not in seen and all(not on_day(a, x) for x in days)
    dst_days = [dt.date(2026, 10, 24), dt.date(2026, 10, 25)]
    a = [x for x in PARIS_DAY if free(x, dst_days)][0]
    seen.add(a.id)
    to.row("TO-309", ["TO-309", a.id, "", "", "2026-10-24", "2026-10-25", "approved", "Congés payés", "true",
                      "Pont de la Toussaint"])
    day = dt.date(2026, 10, 28)
    a = [x for x in PARIS_DAY if free(x, [day])][0]
    seen.add(a.id)
    to.row("TO-310", ["TO-310", a.id, fmt(at(day, "09:00")), fmt(at(day, "11:30")), "", "", "approved",
                      "Rendez-vous médical", "false", "Dentiste, retour vers 11h30"])
    day = dt.date(2026, 10, 29)
    a = [x for x in PARIS_DAY if free(x, [day])][0]
    seen.add(a.id)
    to.row("TO-311", ["TO-311", a.id, "", "", "2026-10-29", "2026-10-29", "approved", "Congé sabbatique",
                      "true", ""])
    to.write(PARIS_DIR / "time_off.csv")
    return {"agents": ag, "shifts": sh, "tasks": tk, "trades": tr, "time_off": to}


# ---------------------------------------------------------------------------------------------
# Clean sample (JSON Lines, Unix seconds UTC): 8 Paris + 2 Americas agents, weeks of 5 and 12 Oct
# ---------------------------------------------------------------------------------------------
CLEAN_AGENTS = [a for a in PARIS_DAY if a.mu is MU_T1 and a.team == TEAM_T1
                and a not in (MIXED_CASE_EMAIL_AGENT, ID_ONLY_ROW_AGENT)][:5] + \
               [a for a in PARIS_DAY if a.mu is MU_T2 and a is not EMAIL_ONLY_ROW_AGENT][:2] + \
               [PARIS_NIGHT[0]] + [a for a in AMER if a.tz_override is None][:2]
CLEAN_WEEK1 = dt.date(2026, 10, 5)


def write_clean(paris_night_dst_shift):
    CLEAN_DIR.mkdir(parents=True, exist_ok=True)
    cr = random.Random(SEED + 4)
    shifts = []
    for i, a in enumerate(CLEAN_AGENTS):
        for w in range(2):
            for k in range(5):
                day = CLEAN_WEEK1 + dt.timedelta(days=7 * w + k)
                if a.night:
                    st, en = span(day, "22:00", "06:00")
                    s = Shift(a, st, en, kind="night")
                    s.tasks = make_night_tasks(s)
                else:
                    types = PARIS_TYPES if a.location == "Paris" else AMER_TYPES
                    st, en = span(day, *types[(i + w) % 4])
                    s = Shift(a, st, en)
                    s.tasks = make_day_tasks(s, cr)
                shifts.append(s)
    shifts.sort(key=sort_key)
    task_no = 40001
    for n, s in enumerate(shifts):
        s.id = f"S-{30001 + n}"
        named = []
        for t in s.tasks:
            named.append((f"T-{task_no}", *t))
            task_no += 1
        s.tasks = named
    # trades: consistent, resolved (approved / denied only); approved ones applied to the owners
    trades = []

    def dshift(a, day):
        return [s for s in shifts if s.agent is a and s.start.date() == day][0]

    p = [a for a in CLEAN_AGENTS if a.location == "Paris" and not a.night]
    am = [a for a in CLEAN_AGENTS if a.location == "Chicago"]
    pairs = [("TR-6001", "SR-8001", "approved", dshift(p[0], dt.date(2026, 10, 7)), dshift(p[1], dt.date(2026, 10, 7)), "2026-10-01 10:20", "2026-10-02 09:05"),
             ("TR-6002", "SR-8002", "denied", dshift(p[2], dt.date(2026, 10, 15)), dshift(p[3], dt.date(2026, 10, 15)), "2026-10-06 11:00", "2026-10-07 14:30"),
             ("TR-6003", "SR-8002", "approved", dshift(p[2], dt.date(2026, 10, 15)), dshift(p[4], dt.date(2026, 10, 15)), "2026-10-06 15:45", "2026-10-08 09:10"),
             ("TR-6004", "SR-8003", "denied", dshift(am[0], dt.date(2026, 10, 13)), dshift(am[1], dt.date(2026, 10, 13)), "2026-10-05 09:30", "2026-10-06 10:00")]
    for tid, sr, status, rs, cs, c, r in pairs:
        assert rs.start != cs.start and rs.agent.mu is cs.agent.mu
        trades.append((tid, sr, status, rs, rs.agent, cs, cs.agent, c, r))
    for tid, sr, status, rs, ra, cs, ca, c, r in trades:
        if status == "approved":
            rs.agent, cs.agent = ca, ra
    # the DST-night overnight of the night agent, absolute: the same Zendesk shift as in paris-cutover
    shifts.append(paris_night_dst_shift)
    shifts.sort(key=sort_key)

    with open(CLEAN_DIR / "agents.jsonl", "w", encoding="utf-8") as f:
        for a in sorted(CLEAN_AGENTS, key=lambda a: a.id):
            f.write(json.dumps({"id": a.id, "name": a.name, "email": a.email, "timezone": a.tz_override,
                                "location": a.location, "team": a.team, "deactivated": False},
                               ensure_ascii=False) + "\n")
    with open(CLEAN_DIR / "shifts.jsonl", "w", encoding="utf-8") as f:
        for s in shifts:
            st, en = s.utc()
            tasks = []
            for tid, name, ts, te in s.tasks:
                tasks.append({"id": tid, "startTime": int(to_utc(ts, s.zone).timestamp()),
                              "endTime": int(to_utc(te, s.zone).timestamp()), "name": name,
                              "taskableId": TASKABLE[name], "taskableType": "task"})
            f.write(json.dumps({"id": s.id, "agentId": s.agent.id, "startTime": int(st.timestamp()),
                                "endTime": int(en.timestamp()), "published": True, "parentId": None,
                                "tasks": tasks}, ensure_ascii=False) + "\n")
    with open(CLEAN_DIR / "shift_trades.jsonl", "w", encoding="utf-8") as f:
        for tid, sr, status, rs, ra, cs, ca, c, r in trades:
            f.write(json.dumps({"id": tid, "swapRequestId": sr, "status": status,
                                "requesterAgentId": ra.id, "requesterShiftId": rs.id,
                                "recipientAgentId": ca.id, "recipientShiftId": cs.id,
                                "requesterShiftStartLocal": fmt(rs.start),
                                "recipientShiftStartLocal": fmt(cs.start),
                                "createdAtLocal": c, "resolvedAtLocal": r}, ensure_ascii=False) + "\n")
    return shifts, trades


# ---------------------------------------------------------------------------------------------
# Mappings and org fixture
# ---------------------------------------------------------------------------------------------
def write_mappings():
    rows = []
    for a in sorted(AGENTS, key=lambda a: a.id):
        if not a.mapped:
            continue
        zid = "" if a is EMAIL_ONLY_ROW_AGENT else a.id
        email = "" if a is ID_ONLY_ROW_AGENT else a.email
        rows.append([zid, email, a.user_id, a.mu["id"], a.bu["id"]])
    with open(MAPPINGS / "agents.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["zendesk_agent_id", "email", "genesys_user_id", "management_unit_id", "business_unit_id"])
        w.writerows(rows)
    with open(MAPPINGS / "business_units.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["business_unit_id", "name", "time_zone", "start_day_of_week"])
        for bu in BUS:
            w.writerow([bu["id"], bu["name"], bu["tz"], bu["start"]])
    with open(MAPPINGS / "locations.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["location", "time_zone", "business_unit_id"])
        w.writerow(["Paris", PARIS, BU_PARIS["id"]])
        w.writerow(["Chicago", CHICAGO, BU_AMER["id"]])
    with open(MAPPINGS / "activities.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["zendesk_task_name", "genesys_activity_code_id", "business_unit_id"])
        for bu in BUS:
            for task, code in TASK_TO_CODE.items():
                w.writerow([task, code_id(bu, code), bu["id"]])
            # The default activity by its Genesys name, so `map` can fill uncovered time offline.
            w.writerow([DEFAULT_ACTIVITY, code_id(bu, DEFAULT_ACTIVITY), bu["id"]])
    with open(MAPPINGS / "time_off.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["zendesk_reason", "genesys_activity_code_id", "business_unit_id"])
        for bu in BUS:
            for reason in TIME_OFF_CODES[bu["key"]]:
                w.writerow([reason, code_id(bu, reason), bu["id"]])


def activities_for(s):
    """Genesys activities of a shift: its tasks, with the default activity filling the gaps."""
    bu = s.agent.bu
    out = []
    cur = s.start
    for t in s.tasks:
        _, name, st, en = t
        if st > cur:
            out.append((DEFAULT_ACTIVITY, cur, st))
        # the planner's draft has no coaching code either: uncovered time is the default activity
        out.append((TASK_TO_CODE.get(name, DEFAULT_ACTIVITY), st, en))
        cur = en
    if cur < s.end:
        out.append((DEFAULT_ACTIVITY, cur, s.end))
    res = []
    for code, st, en in out:
        us, ue = to_utc(st, s.zone), to_utc(en, s.zone)
        res.append({"activityCodeId": code_id(bu, code), "startDate": iso(us),
                    "lengthMinutes": int((ue - us).total_seconds() // 60), "description": code})
    return res


def iso(x):
    return x.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_org():
    users = []
    for a in sorted(AGENTS, key=lambda a: a.id):
        if a.mapped:
            users.append({"id": a.user_id, "name": a.name, "email": a.email,
                          "state": "inactive" if a.deactivated else "active"})
    for name, local, mu in OTHER_ORG_USERS:
        users.append({"id": guid(f"user:{local}@{EMAIL_DOMAIN}"), "name": name,
                      "email": f"{local}@{EMAIL_DOMAIN}", "state": "active"})
    bus = []
    for bu in BUS:
        codes = [{"id": code_id(bu, n), "name": n, "category": c, "active": True, "defaultCode": dflt}
                 for n, c, dflt in ACTIVITY_CODES]
        codes += [{"id": code_id(bu, n), "name": n, "category": "TimeOff", "active": True, "defaultCode": False}
                  for n in TIME_OFF_CODES[bu["key"]]]
        mus = []
        for mu in MUS:
            if mu["bu"] is not bu:
                continue
            ids = [a.user_id for a in sorted(AGENTS, key=lambda a: a.id) if a.mapped and a.mu is mu]
            ids += [guid(f"user:{l}@{EMAIL_DOMAIN}") for _, l, m in OTHER_ORG_USERS if m is mu]
            mus.append({"id": mu["id"], "name": mu["name"], "userIds": ids})
        bus.append({"id": bu["id"], "name": bu["name"], "timeZone": bu["tz"], "startDayOfWeek": bu["start"],
                    "activityCodes": codes, "managementUnits": mus})

    # the planner's week-43 schedule: the agents of the two approved week-43 trades, plus one more
    week_start, week_end = d("2026-10-19 00:00"), d("2026-10-26 00:00")
    agents = []
    for t in (T_GEN1, T_GEN2):
        for a in (t["req_agent"], t["rec_agent"]):
            if a not in agents:
                agents.append(a)
    extra = [a for a in PARIS_DAY if a.mu is MU_T2 and a not in agents and a is not amb_agent][0]
    agents.append(extra)
    gshift_id = {}
    agent_schedules = []
    for a in agents:
        out = []
        for s in SHIFTS:
            if s.agent is a and s.published and not s.plant and week_start <= s.start < week_end:
                gid = guid(f"gshift:{s.id}")
                gshift_id[s.id] = gid
                st, en = s.utc()
                out.append({"id": gid, "startDate": iso(st),
                            "lengthMinutes": int((en - st).total_seconds() // 60),
                            "activities": activities_for(s)})
        agent_schedules.append({"userId": a.user_id, "shifts": out})
    schedules = [{"id": guid("schedule:paris:2026-10-19"), "businessUnitId": BU_PARIS["id"],
                  "weekId": "2026-10-19", "weekCount": 1, "description": "Planner draft – week 43",
                  "published": True, "agentSchedules": agent_schedules}]
    gtrades = []
    for t in (T_GEN1, T_GEN2):
        rs, cs = t["req_shift"], t["rec_shift"]
        gtrades.append({"id": guid(f"gtrade:{t['trade_id']}"), "managementUnitId": t["req_agent"].mu["id"],
                        "weekDate": "2026-10-19", "state": "Approved",
                        "initiatingUserId": t["req_agent"].user_id, "initiatingShiftId": gshift_id[rs.id],
                        "initiatingShiftDate": iso(rs.utc()[0]),
                        "receivingUserId": t["rec_agent"].user_id, "receivingShiftId": gshift_id[cs.id],
                        "receivingShiftDate": iso(cs.utc()[0])})
    org = {"org": {"id": guid("org:acme"), "name": "Acme Support (rehearsal)"},
           "users": users, "businessUnits": bus, "schedules": schedules, "shiftTrades": gtrades}
    (SAMPLES / "org.json").write_text(json.dumps(org, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return org


def main():
    files = write_paris()
    night_dst = [s for s in SHIFTS if s.agent is PARIS_NIGHT[0] and s.start == d("2026-10-24 22:00")][0]
    write_clean(night_dst)
    write_mappings()
    write_org()
    if "--planted" in sys.argv:
        sh, tk, tr, ag = files["shifts"], files["tasks"], files["trades"], files["agents"]
        print("dst-nonexistent   shifts.csv:%d %s" % (sh.where[PLANT_NONEXISTENT.id][0], PLANT_NONEXISTENT.id))
        print("dst-ambiguous     shifts.csv:%d %s" % (sh.where[PLANT_AMBIGUOUS.id][0], PLANT_AMBIGUOUS.id))
        print("shift-overlap     shifts.csv:%d %s" % (sh.where[PLANT_OVERLAP.id][0], PLANT_OVERLAP.id))
        print("unmapped-agent    agents.csv:%d %s" % (ag.where[UNMAPPED.id][0], UNMAPPED.id))
        for s, t in PLANT_COACHING:
            tid = [x[0] for x in s.tasks if x[1] == UNMAPPED_TASK][0]
            print("unmapped-activity shift_tasks.csv:%d %s (%s)" % (tk.where[tid][0], tid, s.id))
        tid = [x[0] for x in tos.tasks if x[2] == PLANT_TASK_OUTSIDE[1]][0]
        print("task-outside-shift shift_tasks.csv:%d %s (%s)" % (tk.where[tid][0], tid, tos.id))
        print("duplicate-trade-id shift_trades.csv:%s" % tr.where[T_DUP["trade_id"]])
        print("conflicting-trade-id shift_trades.csv:%s" % tr.where[T_CONFLICT["trade_id"]])
        print("draft edit %s parent %s; drafts %s" % (DRAFT_EDIT.id, DRAFT_EDIT.parent.id,
                                                     [x.id for x in DRAFTS]))
        for t in sorted(TRADES, key=lambda t: t["trade_id"]):
            print("trade %s %s %s line %s" % (t["trade_id"], t["swap_request_id"], t["status"],
                                              tr.where[t["trade_id"]]))


if __name__ == "__main__":
    main()
