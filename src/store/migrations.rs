//! The numbered migrations of the state database; index + 1 is the `user_version` after applying
//! one. FROZEN: a released migration is never edited, only followed by a new one, and it never calls
//! live code (a function a migration needs is copied here as it was when the migration was released).

use crate::error::{Error, Result};
use rusqlite::Connection;

/// Numbered migrations; index + 1 is the `user_version` after applying it.
const MIGRATIONS: &[&str] = &[
    // 1: runs (audit) and key/value metadata (org binding, last validation, …).
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        args TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        inputs_sha256 TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT,
        exit_code INTEGER,
        counts TEXT
    );
    "#,
    // 2: map: the desired Genesys state, map's findings, the crosswalk, and the Genesys read cache.
    // Instants are UTC seconds; a shift's activities are a JSON array (one row per shift keeps
    // `map` fast); the view `desired_activities` unfolds them.
    r#"
    CREATE TABLE desired_shifts (
        legacy_shift_id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        exported_agent_id TEXT NOT NULL,
        user_id TEXT,
        business_unit_id TEXT,
        management_unit_id TEXT,
        week_id TEXT,
        start_utc INTEGER,
        length_minutes INTEGER,
        activities TEXT NOT NULL,
        file TEXT NOT NULL,
        line INTEGER NOT NULL,
        snapshot_id TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        content_hash INTEGER NOT NULL,
        held_back_reason TEXT
    ) WITHOUT ROWID;
    CREATE INDEX desired_shifts_by_week ON desired_shifts(business_unit_id, week_id, user_id);
    CREATE VIEW desired_activities AS
        SELECT s.legacy_shift_id AS legacy_shift_id, CAST(j.key AS INTEGER) AS seq,
               json_extract(j.value, '$.code') AS activity_code_id,
               json_extract(j.value, '$.start') AS start_utc,
               json_extract(j.value, '$.len') AS length_minutes,
               json_extract(j.value, '$.desc') AS description,
               json_extract(j.value, '$.task') AS legacy_task_id
        FROM desired_shifts s, json_each(s.activities) j;
    CREATE TABLE map_findings (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        file TEXT,
        line INTEGER,
        record_id TEXT,
        field TEXT,
        value TEXT,
        timezone TEXT,
        candidates TEXT,
        message TEXT NOT NULL,
        help TEXT
    );
    CREATE TABLE xw_agents (
        agent_id TEXT PRIMARY KEY,
        email TEXT,
        user_id TEXT,
        management_unit_id TEXT,
        business_unit_id TEXT,
        resolved_by TEXT NOT NULL,
        candidates TEXT,
        run_id INTEGER NOT NULL
    );
    CREATE INDEX xw_agents_by_user ON xw_agents(user_id);
    -- Written by `load`: where each legacy shift went. The view `crosswalk_shifts` joins it with
    -- the desired state, so a shift map knows and load has not written yet still shows.
    CREATE TABLE xw_shifts (
        legacy_shift_id TEXT PRIMARY KEY,
        user_id TEXT,
        business_unit_id TEXT,
        week_id TEXT,
        schedule_id TEXT,
        genesys_shift_id TEXT,
        run_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX xw_shifts_by_genesys ON xw_shifts(genesys_shift_id);
    CREATE VIEW crosswalk_shifts AS
        SELECT d.legacy_shift_id, d.agent_id, d.exported_agent_id,
               COALESCE(x.user_id, d.user_id) AS user_id,
               COALESCE(x.business_unit_id, d.business_unit_id) AS business_unit_id,
               COALESCE(x.week_id, d.week_id) AS week_id,
               x.schedule_id, x.genesys_shift_id, d.held_back_reason,
               MAX(d.run_id, COALESCE(x.run_id, 0)) AS run_id
        FROM desired_shifts d LEFT JOIN xw_shifts x USING (legacy_shift_id)
        UNION ALL
        SELECT x.legacy_shift_id, NULL, NULL, x.user_id, x.business_unit_id, x.week_id,
               x.schedule_id, x.genesys_shift_id, 'removed-from-export', x.run_id
        FROM xw_shifts x WHERE x.legacy_shift_id NOT IN (SELECT legacy_shift_id FROM desired_shifts);
    CREATE INDEX desired_shifts_by_agent ON desired_shifts(agent_id);
    CREATE TABLE xw_trades (
        trade_id TEXT PRIMARY KEY,
        swap_request_id TEXT NOT NULL,
        legacy_status TEXT NOT NULL,
        requester_agent_id TEXT NOT NULL,
        requester_user_id TEXT,
        requester_shift_id TEXT NOT NULL,
        recipient_agent_id TEXT NOT NULL,
        recipient_user_id TEXT,
        recipient_shift_id TEXT,
        genesys_trade_id TEXT,
        action TEXT NOT NULL,
        note TEXT,
        run_id INTEGER NOT NULL
    );
    CREATE INDEX xw_trades_by_swap ON xw_trades(swap_request_id);
    CREATE TABLE genesys_cache (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    );
    "#,
    // 3: validate: one row per validation run, so `load` can refuse to start while the last
    // validation of the current snapshot has errors.
    r#"
    CREATE TABLE validations (
        id INTEGER PRIMARY KEY,
        snapshot_id TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        validated_at TEXT NOT NULL,
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        infos INTEGER NOT NULL,
        ready_to_load INTEGER NOT NULL,
        report_path TEXT NOT NULL,
        report_sha256 TEXT NOT NULL,
        config_sha256 TEXT NOT NULL
    );
    CREATE INDEX validations_by_snapshot ON validations(snapshot_id, id);
    "#,
    // 4: load: the base of each owned shift (what zd2gc last wrote or adopted), the per-week journal,
    // its append-only event log, and the conflicts with both sides.
    r#"
    ALTER TABLE xw_shifts ADD COLUMN base TEXT;
    ALTER TABLE xw_shifts ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE load_weeks (
        business_unit_id TEXT NOT NULL,
        week_id TEXT NOT NULL,
        state TEXT NOT NULL,
        schedule_id TEXT,
        step TEXT,
        upload_key TEXT,
        operation_id TEXT,
        sent_version INTEGER,
        sent_at INTEGER,
        refusals INTEGER NOT NULL DEFAULT 0,
        lock_waits INTEGER NOT NULL DEFAULT 0,
        writes INTEGER NOT NULL DEFAULT 0,
        desired_hash INTEGER,
        shifts_desired INTEGER NOT NULL DEFAULT 0,
        shifts_done INTEGER NOT NULL DEFAULT 0,
        conflicts INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        context_id TEXT,
        run_id INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (business_unit_id, week_id)
    ) WITHOUT ROWID;
    CREATE TABLE load_events (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        business_unit_id TEXT NOT NULL,
        week_id TEXT NOT NULL,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT
    );
    CREATE TABLE load_conflicts (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        business_unit_id TEXT NOT NULL,
        week_id TEXT NOT NULL,
        schedule_id TEXT,
        user_id TEXT NOT NULL,
        legacy_shift_id TEXT,
        genesys_shift_id TEXT,
        kind TEXT NOT NULL,
        resolution TEXT NOT NULL,
        base TEXT,
        ours TEXT,
        theirs TEXT,
        at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX load_conflicts_by_week ON load_conflicts(business_unit_id, week_id, active);
    "#,
    // 5: compact activities. `desired_shifts.activities` becomes `[[kind, start offset (s), length
    // (min), task id], …]` over the dictionary `activity_kinds` (code, description), instead of
    // objects spelling out both on every activity (a fifth of the size: map writes and re-reads
    // every row). The snapshot id moves from every row to `meta.mapped_snapshot_id`. Existing rows
    // are converted, and their content hash recomputed (`zd2gc_row_hash`, registered by `migrate`),
    // so the next `map` sees them unchanged.
    r#"
    CREATE TABLE activity_kinds (
        kind INTEGER PRIMARY KEY,
        activity_code_id TEXT NOT NULL,
        description TEXT NOT NULL,
        UNIQUE (activity_code_id, description)
    );
    INSERT INTO activity_kinds (activity_code_id, description)
        SELECT DISTINCT json_extract(j.value, '$.code'), json_extract(j.value, '$.desc')
        FROM desired_shifts s, json_each(s.activities) j
        ORDER BY 1, 2;
    INSERT OR REPLACE INTO meta (key, value)
        SELECT 'mapped_snapshot_id', snapshot_id FROM desired_shifts LIMIT 1;
    DROP VIEW desired_activities;
    UPDATE desired_shifts SET activities = (
        SELECT json_group_array(json_array(
                   k.kind,
                   json_extract(j.value, '$.start') - desired_shifts.start_utc,
                   json_extract(j.value, '$.len'),
                   json_extract(j.value, '$.task')) ORDER BY CAST(j.key AS INTEGER))
        FROM json_each(desired_shifts.activities) j
        JOIN activity_kinds k ON k.activity_code_id = json_extract(j.value, '$.code')
                             AND k.description = json_extract(j.value, '$.desc'))
    WHERE activities != '[]';
    UPDATE desired_shifts SET content_hash = zd2gc_row_hash(agent_id, exported_agent_id, user_id,
        business_unit_id, management_unit_id, week_id, start_utc, length_minutes, activities,
        held_back_reason);
    ALTER TABLE desired_shifts DROP COLUMN snapshot_id;
    CREATE VIEW desired_activities AS
        SELECT s.legacy_shift_id AS legacy_shift_id, CAST(j.key AS INTEGER) AS seq,
               k.activity_code_id AS activity_code_id,
               s.start_utc + json_extract(j.value, '$[1]') AS start_utc,
               json_extract(j.value, '$[2]') AS length_minutes,
               k.description AS description,
               json_extract(j.value, '$[3]') AS legacy_task_id
        FROM desired_shifts s, json_each(s.activities) j
        JOIN activity_kinds k ON k.kind = json_extract(j.value, '$[0]');
    "#,
    // 6: time off (docs/genesys-contract.md, "Time off"). `desired_time_off` is map's Genesys form
    // of every loadable or held-back request (not those left out by policy): `status` is `APPROVED`
    // or `PENDING`; `full_day_dates` a JSON array of `yyyy-MM-dd` in the management unit's zone, or
    // `partial_starts` a JSON array of UTC instants `yyyy-MM-ddTHH:mm:00Z` (one per day);
    // `notes` starts with the marker `zd2gc:<migration id>:<time_off_request_id>`; `held_back` is
    // NULL when the request loads, else the reason (then an id map could not resolve is '').
    // `xw_time_off` is the crosswalk of every exported request, history included: map writes the
    // legacy side, load fills `genesys_time_off_request_id`.
    r#"
    CREATE TABLE desired_time_off (
        time_off_request_id TEXT PRIMARY KEY,
        file TEXT,
        line INTEGER,
        agent_id TEXT,
        user_id TEXT NOT NULL,
        management_unit_id TEXT NOT NULL,
        business_unit_id TEXT NOT NULL,
        activity_code_id TEXT NOT NULL,
        status TEXT NOT NULL,
        full_day_dates TEXT,
        partial_starts TEXT,
        daily_minutes INTEGER NOT NULL,
        paid INTEGER NOT NULL,
        notes TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        held_back TEXT,
        run_id INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX desired_time_off_by_user ON desired_time_off(management_unit_id, user_id);
    CREATE TABLE xw_time_off (
        time_off_request_id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        user_id TEXT,
        management_unit_id TEXT,
        business_unit_id TEXT,
        status TEXT NOT NULL,
        action TEXT NOT NULL,
        genesys_time_off_request_id TEXT,
        run_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX xw_time_off_by_genesys ON xw_time_off(genesys_time_off_request_id);
    "#,
    // 7: load's journal of time-off creates (there is no idempotency key): one row per legacy
    // request, written before each create is sent (`sending`) and after its outcome is known
    // (`created`, `found` after a doubt, `failed` when refused); `content_hash` is what was sent,
    // `attempts` the creates sent (bounded), `reason` and `context_id` the last refusal.
    r#"
    CREATE TABLE load_time_off (
        time_off_request_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        genesys_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        context_id TEXT,
        run_id INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 8: the audit's snapshot id gets its own column. `inputs_sha256` hashes the configuration and
    // the mapping tables (README, "Audit"), but extract, map and validate stored the id of the
    // snapshot they read there: those values move over (extract's only when it succeeded: a failed
    // extract recorded nothing and got the configuration's hash); the configuration's hash of those
    // runs is unknown and stays NULL.
    r#"
    ALTER TABLE runs ADD COLUMN snapshot_id TEXT;
    UPDATE runs SET snapshot_id = inputs_sha256, inputs_sha256 = NULL
        WHERE inputs_sha256 IS NOT NULL
          AND (command IN ('map', 'validate')
               OR (command = 'extract' AND outcome IS NOT 'error'));
    "#,
    // 9: a compact desired state (issue 17). A `desired_shifts` row spelled out the same few texts
    // on every shift (user, business unit and management unit ids, the week, the file name, the
    // exported agent, which is nearly always the owner): about 390 bytes a shift, plus 115 bytes
    // of indexes on those texts. The rows move to `desired_shift_rows`, which refers to each text
    // by its number in the dictionary `desired_names` (append-only: a name keeps its number), keeps
    // the exported agent only when it is not the owner (`exported_agent_ref` NULL otherwise), and
    // has two indexes on integers: by business unit and week (load reads a week at a time) and by
    // owner (map's time-off rules, the crosswalk). `desired_shifts` becomes a view with the old
    // columns in the old order, so the views over it and anyone querying it read the same rows.
    // Content hashes cover the texts, not their numbers: they are copied as they are.
    r#"
    CREATE TABLE desired_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    INSERT OR IGNORE INTO desired_names (name)
        SELECT DISTINCT business_unit_id FROM desired_shifts WHERE business_unit_id IS NOT NULL;
    INSERT OR IGNORE INTO desired_names (name)
        SELECT DISTINCT week_id FROM desired_shifts WHERE week_id IS NOT NULL;
    INSERT OR IGNORE INTO desired_names (name) SELECT DISTINCT file FROM desired_shifts;
    INSERT OR IGNORE INTO desired_names (name)
        SELECT DISTINCT management_unit_id FROM desired_shifts WHERE management_unit_id IS NOT NULL;
    INSERT OR IGNORE INTO desired_names (name)
        SELECT DISTINCT user_id FROM desired_shifts WHERE user_id IS NOT NULL;
    INSERT OR IGNORE INTO desired_names (name) SELECT DISTINCT agent_id FROM desired_shifts;
    INSERT OR IGNORE INTO desired_names (name) SELECT DISTINCT exported_agent_id FROM desired_shifts;
    CREATE TABLE desired_shift_rows (
        legacy_shift_id TEXT PRIMARY KEY,
        agent_ref INTEGER NOT NULL,
        exported_agent_ref INTEGER,
        user_ref INTEGER,
        business_unit_ref INTEGER,
        management_unit_ref INTEGER,
        week_ref INTEGER,
        start_utc INTEGER,
        length_minutes INTEGER,
        activities TEXT NOT NULL,
        file_ref INTEGER NOT NULL,
        line INTEGER NOT NULL,
        run_id INTEGER NOT NULL,
        content_hash INTEGER NOT NULL,
        held_back_reason TEXT
    ) WITHOUT ROWID;
    INSERT INTO desired_shift_rows
        SELECT s.legacy_shift_id, a.id,
               CASE WHEN s.exported_agent_id = s.agent_id THEN NULL ELSE e.id END,
               u.id, b.id, m.id, w.id, s.start_utc, s.length_minutes, s.activities, f.id, s.line,
               s.run_id, s.content_hash, s.held_back_reason
        FROM desired_shifts s
        JOIN desired_names a ON a.name = s.agent_id
        JOIN desired_names e ON e.name = s.exported_agent_id
        LEFT JOIN desired_names u ON u.name = s.user_id
        LEFT JOIN desired_names b ON b.name = s.business_unit_id
        LEFT JOIN desired_names m ON m.name = s.management_unit_id
        LEFT JOIN desired_names w ON w.name = s.week_id
        JOIN desired_names f ON f.name = s.file
        ORDER BY s.legacy_shift_id;
    DROP TABLE desired_shifts;
    CREATE INDEX desired_shift_rows_by_week ON desired_shift_rows (business_unit_ref, week_ref);
    CREATE INDEX desired_shift_rows_by_agent ON desired_shift_rows (agent_ref);
    CREATE VIEW desired_shifts AS
        SELECT s.legacy_shift_id AS legacy_shift_id, a.name AS agent_id,
               COALESCE(e.name, a.name) AS exported_agent_id, u.name AS user_id,
               b.name AS business_unit_id, m.name AS management_unit_id, w.name AS week_id,
               s.start_utc AS start_utc, s.length_minutes AS length_minutes,
               s.activities AS activities, f.name AS file, s.line AS line, s.run_id AS run_id,
               s.content_hash AS content_hash, s.held_back_reason AS held_back_reason
        FROM desired_shift_rows s
        LEFT JOIN desired_names a ON a.id = s.agent_ref
        LEFT JOIN desired_names e ON e.id = s.exported_agent_ref
        LEFT JOIN desired_names u ON u.id = s.user_ref
        LEFT JOIN desired_names b ON b.id = s.business_unit_ref
        LEFT JOIN desired_names m ON m.id = s.management_unit_ref
        LEFT JOIN desired_names w ON w.id = s.week_ref
        LEFT JOIN desired_names f ON f.id = s.file_ref;
    "#,
    // 10: terse activities (issue 17). `desired_shift_rows.activities` was the JSON array
    // `[[kind, offset (s), length (min), task or null], …]`, about 157 of a row's 211 bytes. It
    // becomes `KIND[@OFFSET],LENGTH[,TASK]` joined by `;`, the offset left out when the activity
    // starts where the one before it ends (0 for the first; the previous offset within ±2^50 and
    // length within 0..2^32), the task id's `%`, `;` and NUL written `%25`, `%3B`, `%00`
    // (`store::desired::activities_compact`; `zd2gc_task_v10`, registered by `migrate`, escapes
    // them: SQLite's `replace` cannot find a NUL): about 40 % of the JSON. Content hashes still cover
    // the JSON (`map` computes it in memory), so they are kept as they are. The rows are copied
    // out and written back in key order (dense pages; the freed ones go to the free list), the
    // indexes built again, and the view `desired_shifts` spells out the same JSON as before with
    // a recursive CTE, so `desired_activities` and `crosswalk_shifts`, which read it, and anyone
    // querying it see the same rows.
    r#"
    CREATE TEMP TABLE desired_shift_rows_10 AS
        SELECT s.legacy_shift_id, s.agent_ref, s.exported_agent_ref, s.user_ref,
               s.business_unit_ref, s.management_unit_ref, s.week_ref, s.start_utc,
               s.length_minutes,
               COALESCE((
                   SELECT group_concat(
                       json_extract(j.value, '$[0]')
                       || CASE WHEN json_extract(j.value, '$[1]') = (
                                   CASE WHEN j.key = 0 THEN 0
                                        ELSE (SELECT json_extract(p.value, '$[1]')
                                                     + 60 * json_extract(p.value, '$[2]')
                                              FROM json_each(s.activities) p
                                              WHERE p.key = j.key - 1
                                                AND json_extract(p.value, '$[1]')
                                                    BETWEEN -1125899906842624 AND 1125899906842624
                                                AND json_extract(p.value, '$[2]')
                                                    BETWEEN 0 AND 4294967295) END)
                               THEN '' ELSE '@' || json_extract(j.value, '$[1]') END
                       || ',' || json_extract(j.value, '$[2]')
                       || CASE WHEN json_type(j.value, '$[3]') = 'null' THEN ''
                               ELSE ',' || zd2gc_task_v10(json_extract(j.value, '$[3]')) END,
                       ';' ORDER BY j.key)
                   FROM json_each(s.activities) j), '') AS activities,
               s.file_ref, s.line, s.run_id, s.content_hash, s.held_back_reason
        FROM desired_shift_rows s;
    DROP INDEX IF EXISTS desired_shift_rows_by_week;
    DROP INDEX IF EXISTS desired_shift_rows_by_agent;
    DELETE FROM desired_shift_rows;
    INSERT INTO desired_shift_rows
        SELECT * FROM temp.desired_shift_rows_10 ORDER BY legacy_shift_id;
    DROP TABLE temp.desired_shift_rows_10;
    CREATE INDEX desired_shift_rows_by_week ON desired_shift_rows (business_unit_ref, week_ref);
    CREATE INDEX desired_shift_rows_by_agent ON desired_shift_rows (agent_ref);
    DROP VIEW desired_shifts;
    CREATE VIEW desired_shifts AS
        SELECT s.legacy_shift_id AS legacy_shift_id, a.name AS agent_id,
               COALESCE(e.name, a.name) AS exported_agent_id, u.name AS user_id,
               b.name AS business_unit_id, m.name AS management_unit_id, w.name AS week_id,
               s.start_utc AS start_utc, s.length_minutes AS length_minutes,
               CASE WHEN s.activities = '' THEN '[]' ELSE (
                   WITH RECURSIVE r(seq, rest, item, off, len) AS (
                       SELECT -1, s.activities || ';', NULL, 0, 0
                       UNION ALL
                       SELECT seq + 1, substr(rest, instr(rest, ';') + 1),
                              substr(rest, 1, instr(rest, ';') - 1),
                              CASE WHEN instr(substr(rest, 1, instr(rest, ',')), '@')
                                   THEN CAST(substr(rest, instr(rest, '@') + 1) AS INTEGER)
                                   ELSE off + 60 * len END,
                              CAST(substr(rest, instr(rest, ',') + 1) AS INTEGER)
                       FROM r WHERE rest != '')
                   SELECT json_group_array(json_array(CAST(item AS INTEGER), off, len,
                       CASE WHEN instr(substr(item, instr(item, ',') + 1), ',')
                            THEN replace(replace(replace(
                                     substr(item, instr(item, ',') + 1
                                                  + instr(substr(item, instr(item, ',') + 1), ',')),
                                     '%3B', ';'), '%00', char(0)), '%25', '%') END))
                   FROM r WHERE seq >= 0) END AS activities,
               f.name AS file, s.line AS line, s.run_id AS run_id,
               s.content_hash AS content_hash, s.held_back_reason AS held_back_reason
        FROM desired_shift_rows s
        LEFT JOIN desired_names a ON a.id = s.agent_ref
        LEFT JOIN desired_names e ON e.id = s.exported_agent_ref
        LEFT JOIN desired_names u ON u.id = s.user_ref
        LEFT JOIN desired_names b ON b.id = s.business_unit_ref
        LEFT JOIN desired_names m ON m.id = s.management_unit_ref
        LEFT JOIN desired_names w ON w.id = s.week_ref
        LEFT JOIN desired_names f ON f.id = s.file_ref;
    "#,
    // 11: task ids that follow the one before (issue 17). In the terse activities of migration
    // 10, a task id that is the previous task id of the shift with its trailing decimal number
    // (1 to 18 ASCII digits, no NUL in the id) plus one, written with at least as many digits, is
    // written `+` in place of `,TASK` (`T2` after `T1`, `T010` after `T009`, `T100` after `T99`;
    // `store::desired::next_task_id`); any other id stays as it was. `zd2gc_activities_v11`,
    // registered by `migrate`, rewrites the texts in place (copying the rows out and back, as
    // migration 10 does, needed a statement journal as large as the table, which SQLite refused
    // with "database or disk is full" at 1.3 M shifts). Content hashes still cover the JSON,
    // which is unchanged, so they are kept; no index covers the activities. The view
    // `desired_shifts` spells out the same JSON as before (its CTE carries the task id of the
    // activity before), so `desired_activities`, `crosswalk_shifts` and anyone querying them see
    // the same rows.
    r#"
    UPDATE desired_shift_rows SET activities = zd2gc_activities_v11(activities)
        WHERE activities != '';
    DROP VIEW desired_shifts;
    CREATE VIEW desired_shifts AS
        SELECT s.legacy_shift_id AS legacy_shift_id, a.name AS agent_id,
               COALESCE(e.name, a.name) AS exported_agent_id, u.name AS user_id,
               b.name AS business_unit_id, m.name AS management_unit_id, w.name AS week_id,
               s.start_utc AS start_utc, s.length_minutes AS length_minutes,
               CASE WHEN s.activities = '' THEN '[]' ELSE (
                   WITH RECURSIVE r(seq, rest, item, off, len, task) AS (
                       SELECT -1, s.activities || ';', NULL, 0, 0, NULL
                       UNION ALL
                       SELECT seq + 1, substr(rest, instr(rest, ';') + 1),
                              substr(rest, 1, instr(rest, ';') - 1),
                              CASE WHEN instr(substr(rest, 1, instr(rest, ',')), '@')
                                   THEN CAST(substr(rest, instr(rest, '@') + 1) AS INTEGER)
                                   ELSE off + 60 * len END,
                              CAST(substr(rest, instr(rest, ',') + 1) AS INTEGER),
                              CASE WHEN instr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), ',')
                                   THEN replace(replace(replace(
                                            substr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), instr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), ',') + 1),
                                            '%3B', ';'), '%00', char(0)), '%25', '%')
                                   WHEN substr(substr(rest, 1, instr(rest, ';') - 1), -1) = '+'
                                   THEN rtrim(task, '0123456789') || printf('%0'
                                        || (length(task) - length(rtrim(task, '0123456789')))
                                        || 'd', CAST(substr(task,
                                            length(rtrim(task, '0123456789')) + 1) AS INTEGER) + 1)
                                   ELSE task END
                       FROM r WHERE rest != '')
                   SELECT json_group_array(json_array(CAST(item AS INTEGER), off, len,
                       CASE WHEN instr(substr(item, instr(item, ',') + 1), ',')
                                 OR substr(item, -1) = '+'
                            THEN task END))
                   FROM r WHERE seq >= 0) END AS activities,
               f.name AS file, s.line AS line, s.run_id AS run_id,
               s.content_hash AS content_hash, s.held_back_reason AS held_back_reason
        FROM desired_shift_rows s
        LEFT JOIN desired_names a ON a.id = s.agent_ref
        LEFT JOIN desired_names e ON e.id = s.exported_agent_ref
        LEFT JOIN desired_names u ON u.id = s.user_ref
        LEFT JOIN desired_names b ON b.id = s.business_unit_ref
        LEFT JOIN desired_names m ON m.id = s.management_unit_ref
        LEFT JOIN desired_names w ON w.id = s.week_ref
        LEFT JOIN desired_names f ON f.id = s.file_ref;
    "#,
    // 12: no index by agent (issue 17: 19.7 MB of 205 at 1.3 M shifts). Its two readers read the
    // rows instead: map's time-off pass in one sorted pass over the agents with requests
    // (`store::desired::AgentShifts`), `crosswalk lookup`'s shift count per agent by a scan. The
    // freed pages stay in the file (its free list, reused by the next writes) until `VACUUM`.
    r#"
    DROP INDEX IF EXISTS desired_shift_rows_by_agent;
    "#,
    // 13: canonical UUID task ids kept as 16 bytes (issue 17). On an export whose task ids are
    // UUIDs, their text was about half of `desired_shift_rows` (37 bytes each with its comma). A
    // task id that is a canonical lowercase UUID (`store::uuid16::pack`) and not written `+` is
    // now written `#` in the terse activities, its 16 bytes appended to the row's new BLOB
    // `task_uuids` (NULL when no `#`): the n-th `#` of a row reads bytes 16(n-1) to 16n
    // (`store::desired::activities_compact`). Rows written before keep their text, which stays
    // valid (a row without `#` needs no bytes), and their content hashes (still over the JSON).
    // The view `desired_shifts` spells the JSON out as before (its CTE counts the `#` read so
    // far; `store::uuid16::sql_text` turns 16 bytes back into the id's text), so
    // `desired_activities`, `crosswalk_shifts` and anyone querying them see the same rows.
    r#"
    ALTER TABLE desired_shift_rows ADD COLUMN task_uuids BLOB;
    DROP VIEW desired_shifts;
    CREATE VIEW desired_shifts AS
        SELECT s.legacy_shift_id AS legacy_shift_id, a.name AS agent_id,
               COALESCE(e.name, a.name) AS exported_agent_id, u.name AS user_id,
               b.name AS business_unit_id, m.name AS management_unit_id, w.name AS week_id,
               s.start_utc AS start_utc, s.length_minutes AS length_minutes,
               CASE WHEN s.activities = '' THEN '[]' ELSE (
                   WITH RECURSIVE r(seq, rest, item, off, len, task, k) AS (
                       SELECT -1, s.activities || ';', NULL, 0, 0, NULL, 0
                       UNION ALL
                       SELECT seq + 1, substr(rest, instr(rest, ';') + 1),
                              substr(rest, 1, instr(rest, ';') - 1),
                              CASE WHEN instr(substr(rest, 1, instr(rest, ',')), '@')
                                   THEN CAST(substr(rest, instr(rest, '@') + 1) AS INTEGER)
                                   ELSE off + 60 * len END,
                              CAST(substr(rest, instr(rest, ',') + 1) AS INTEGER),
                              CASE WHEN instr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), ',')
                                   THEN replace(replace(replace(
                                            substr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), instr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), ',') + 1),
                                            '%3B', ';'), '%00', char(0)), '%25', '%')
                                   WHEN substr(substr(rest, 1, instr(rest, ';') - 1), -1) = '+'
                                   THEN rtrim(task, '0123456789') || printf('%0'
                                        || (length(task) - length(rtrim(task, '0123456789')))
                                        || 'd', CAST(substr(task,
                                            length(rtrim(task, '0123456789')) + 1) AS INTEGER) + 1)
                                   WHEN substr(substr(rest, 1, instr(rest, ';') - 1), -1) = '#'
                                   THEN lower(substr(hex(substr(s.task_uuids, 16 * k + 1, 16)), 1, 8) || '-' || substr(hex(substr(s.task_uuids, 16 * k + 1, 16)), 9, 4) || '-' || substr(hex(substr(s.task_uuids, 16 * k + 1, 16)), 13, 4) || '-' || substr(hex(substr(s.task_uuids, 16 * k + 1, 16)), 17, 4) || '-' || substr(hex(substr(s.task_uuids, 16 * k + 1, 16)), 21, 12))
                                   ELSE task END,
                              k + CASE WHEN instr(substr(substr(rest, 1, instr(rest, ';') - 1), instr(rest, ',') + 1), ',') THEN 0
                                       WHEN substr(substr(rest, 1, instr(rest, ';') - 1), -1) = '#' THEN 1
                                       ELSE 0 END
                       FROM r WHERE rest != '')
                   SELECT json_group_array(json_array(CAST(item AS INTEGER), off, len,
                       CASE WHEN instr(substr(item, instr(item, ',') + 1), ',')
                                 OR substr(item, -1) IN ('+', '#')
                            THEN task END))
                   FROM r WHERE seq >= 0) END AS activities,
               f.name AS file, s.line AS line, s.run_id AS run_id,
               s.content_hash AS content_hash, s.held_back_reason AS held_back_reason
        FROM desired_shift_rows s
        LEFT JOIN desired_names a ON a.id = s.agent_ref
        LEFT JOIN desired_names e ON e.id = s.exported_agent_ref
        LEFT JOIN desired_names u ON u.id = s.user_ref
        LEFT JOIN desired_names b ON b.id = s.business_unit_ref
        LEFT JOIN desired_names m ON m.id = s.management_unit_ref
        LEFT JOIN desired_names w ON w.id = s.week_ref
        LEFT JOIN desired_names f ON f.id = s.file_ref;
    "#,
    // 14: load's crosswalk links read by week (issue 17). `load::journal::links` reads the links
    // of one business unit's week on every round of every week; with no index but the key and
    // `xw_shifts_by_genesys` each read scanned the whole table (1.26 M rows once the whole
    // export is loaded: 25-31 % of a tenth load's CPU). The index by business unit and week
    // holds the key too (`xw_shifts` is WITHOUT ROWID), so a read visits its week's rows only.
    r#"
    CREATE INDEX IF NOT EXISTS xw_shifts_by_week ON xw_shifts(business_unit_id, week_id);
    "#,
    // 15: the crosswalk's base in a compact exact form (issue 17). `xw_shifts.base` held the
    // content zd2gc last wrote or adopted as JSON text (~857 bytes a link, 83 % of a loaded
    // zd2gc.db); it is now a BLOB (`load::model::Content::to_stored`: varints, packed UUIDs, a
    // row's activity codes and descriptions once each, the user left out when it is the row's
    // `user_id`). Every base JSON text that schema 14 could read is rewritten; any other value
    // (NULL, a text it read as no base) is kept, and reads as before.
    r#"
    UPDATE xw_shifts SET base = COALESCE(zd2gc_base_v15(base, user_id), base)
        WHERE typeof(base) = 'text';
    "#,
    // 16: a db-wide dictionary of the bases' (activity code, description) pairs (issue 17). A
    // schema-15 base repeats its row's pairs (99 of its ~135 bytes) though a whole db holds a
    // handful; a base now names each activity's pair by its id here (`load::model::stored`,
    // tags 3 and 4). Pairs are only added. After this table is made, `migrate` rewrites every
    // schema-15 BLOB it can read ([`frozen_pairs_v16::rewrite`]: a scalar function cannot
    // insert); any other value is kept and reads as before.
    r#"
    CREATE TABLE IF NOT EXISTS xw_shift_pairs (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL,
        description TEXT NOT NULL,
        UNIQUE (code, description)
    );
    "#,
    // 17: the crosswalk's Genesys ids packed (issue 17). `xw_shifts` spelled four Genesys ids
    // out (user, business unit, schedule, shift: 144 bytes a link when they are UUIDs, and 36
    // more in each index). Its rows move to `xw_shift_rows`, where an id that is a canonical
    // lowercase UUID (`store::uuid16::pack`) is its 16 bytes and any other id its text as
    // before; the legacy id, week, run, base and adoption are kept as they were. The view
    // `xw_shifts` spells the ids out again (`store::uuid16::sql_text`), so `crosswalk_shifts`,
    // the trades' crosswalk and anyone querying the view see the same rows. The index by week
    // keeps its name; load reads and writes the table (`load::journal`), packing its parameters.
    // `xw_shifts_by_genesys` is not made again: no zd2gc query looks a link up by its Genesys id
    // (`crosswalk lookup` scans `crosswalk_shifts` at every schema), and through the view no
    // query could use it (42 of the 480 MB of a loaded short whole).
    // The work is [`XW_ROWS_V17`], which `migrate` runs only while `xw_shifts` is a table.
    "",
    // 18: the crosswalk's business-unit weeks once each (issue 17). Every link of a business
    // unit's week repeated its business unit, week and schedule (45 of a link's ~152 bytes, and
    // the index by week repeated the first two). They move to the add-only dictionary
    // `xw_shift_weeks` (the values as schema 17 kept them: packed, text or NULL); a link names
    // its triple by `week_ref`, and `xw_shifts_by_week` indexes that. The view `xw_shifts` joins
    // them back, so it shows the same rows and columns. Pairs and triples are only added:
    // triggers refuse any change or removal of either dictionary's rows, and an insert that
    // would replace one (`INSERT OR REPLACE` deletes without firing delete triggers) or add a
    // triple twice (NULLs are distinct to UNIQUE). After this, `migrate`
    // moves the links a chunk at a time ([`xw_weeks_v18`]) while `xw_shift_rows` is in schema
    // 17's form.
    r#"
    CREATE TABLE IF NOT EXISTS xw_shift_weeks (
        id INTEGER PRIMARY KEY,
        business_unit_id,
        week_id TEXT,
        schedule_id,
        UNIQUE (business_unit_id, week_id, schedule_id)
    );
    CREATE TRIGGER IF NOT EXISTS xw_shift_pairs_no_update BEFORE UPDATE ON xw_shift_pairs
        BEGIN SELECT RAISE(ABORT, 'xw_shift_pairs is add-only: a pair is never changed'); END;
    CREATE TRIGGER IF NOT EXISTS xw_shift_pairs_no_delete BEFORE DELETE ON xw_shift_pairs
        BEGIN SELECT RAISE(ABORT, 'xw_shift_pairs is add-only: a pair is never removed'); END;
    CREATE TRIGGER IF NOT EXISTS xw_shift_weeks_no_update BEFORE UPDATE ON xw_shift_weeks
        BEGIN SELECT RAISE(ABORT, 'xw_shift_weeks is add-only: a week is never changed'); END;
    CREATE TRIGGER IF NOT EXISTS xw_shift_weeks_no_delete BEFORE DELETE ON xw_shift_weeks
        BEGIN SELECT RAISE(ABORT, 'xw_shift_weeks is add-only: a week is never removed'); END;
    CREATE TRIGGER IF NOT EXISTS xw_shift_pairs_no_replace BEFORE INSERT ON xw_shift_pairs
        WHEN EXISTS (SELECT 1 FROM xw_shift_pairs WHERE id = NEW.id
                         OR (code = NEW.code AND description = NEW.description))
        BEGIN SELECT RAISE(ABORT, 'xw_shift_pairs is add-only: a pair is never replaced'); END;
    CREATE TRIGGER IF NOT EXISTS xw_shift_weeks_no_replace BEFORE INSERT ON xw_shift_weeks
        WHEN EXISTS (SELECT 1 FROM xw_shift_weeks WHERE id = NEW.id
                         OR (business_unit_id IS NEW.business_unit_id AND week_id IS NEW.week_id
                             AND schedule_id IS NEW.schedule_id))
        BEGIN SELECT RAISE(ABORT, 'xw_shift_weeks is add-only: a week is never replaced'); END;
    "#,
];

/// How many links migration 18 moves in one chunk.
const XW_WEEKS_CHUNK: i64 = 4096;

/// Migration 18's move of the links (see its comment in [`MIGRATIONS`]), run by [`migrate`] while
/// `xw_shift_rows` has schema 17's columns: every (business unit, week, schedule) of a link into
/// `xw_shift_weeks`, then the links into the new table a chunk at a time (by legacy id, which is
/// never NULL: each chunk starts after the last one moved), then the new table takes the old
/// one's name, its index and the view. `chunk_done` is called after each chunk (a test's
/// interruption point).
fn xw_weeks_v18(
    tx: &Connection,
    chunk_done: &mut dyn FnMut() -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    tx.execute_batch(
        "INSERT INTO xw_shift_weeks (business_unit_id, week_id, schedule_id)
             SELECT DISTINCT business_unit_id, week_id, schedule_id FROM xw_shift_rows;
         CREATE TABLE xw_shift_rows_v18 (
             legacy_shift_id TEXT PRIMARY KEY,
             user_id,
             week_ref INTEGER NOT NULL,
             genesys_shift_id,
             run_id INTEGER NOT NULL,
             base TEXT,
             adopted INTEGER NOT NULL DEFAULT 0
         ) WITHOUT ROWID;",
    )?;
    // The last key moved is read by SQL, not carried in Rust: a legacy id may be any value
    // (even text that is not UTF-8), and SQLite orders and compares every value alike.
    let mut first = true;
    loop {
        let n = tx.execute(
            &format!(
                "{XW_MOVE_V18} {} ORDER BY r.legacy_shift_id LIMIT {XW_WEEKS_CHUNK}",
                if first {
                    ""
                } else {
                    "WHERE r.legacy_shift_id > (SELECT max(legacy_shift_id) FROM xw_shift_rows_v18)"
                }
            ),
            [],
        )?;
        if n == 0 {
            break;
        }
        first = false;
        chunk_done()?;
    }
    // `legacy_alter_table`: the rename changes the new table's name only, not the views' text
    // (`xw_shifts` is made again below; `crosswalk_shifts` names the view, not the table).
    tx.execute_batch(
        "DROP VIEW xw_shifts;
         DROP TABLE xw_shift_rows;
         PRAGMA legacy_alter_table = ON;
         ALTER TABLE xw_shift_rows_v18 RENAME TO xw_shift_rows;
         PRAGMA legacy_alter_table = OFF;",
    )?;
    tx.execute_batch(XW_VIEW_V18)
}

/// Migration 18's move of links into the new table (a chunk's condition and order follow). The
/// join is LEFT so that the links are read in key order; every triple is in the dictionary
/// (filled from the same rows first), so `w.id` is never NULL.
const XW_MOVE_V18: &str = "INSERT INTO xw_shift_rows_v18
    SELECT r.legacy_shift_id, r.user_id, w.id, r.genesys_shift_id, r.run_id, r.base, r.adopted
    FROM xw_shift_rows r LEFT JOIN xw_shift_weeks w
        ON w.business_unit_id IS r.business_unit_id AND w.week_id IS r.week_id
           AND w.schedule_id IS r.schedule_id";

/// Migration 18's index and view over the new `xw_shift_rows` (see its comment in
/// [`MIGRATIONS`]): the same columns, names and declared types as schema 17's view. It reads
/// `xw_shift_rows` in key order as schema 17's did: the join is LEFT (the links first), and `+`
/// keeps SQLite from scanning them through the index by week to look their triples up in order.
const XW_VIEW_V18: &str = r#"
    CREATE INDEX xw_shifts_by_week ON xw_shift_rows(week_ref);
    CREATE VIEW xw_shifts AS
        SELECT r.legacy_shift_id AS legacy_shift_id,
               CASE WHEN typeof(r.user_id) = 'blob' AND length(r.user_id) = 16
                    THEN lower(substr(hex(r.user_id), 1, 8) || '-' || substr(hex(r.user_id), 9, 4) || '-' || substr(hex(r.user_id), 13, 4) || '-' || substr(hex(r.user_id), 17, 4) || '-' || substr(hex(r.user_id), 21, 12))
                    ELSE r.user_id END AS user_id,
               CASE WHEN typeof(w.business_unit_id) = 'blob' AND length(w.business_unit_id) = 16
                    THEN lower(substr(hex(w.business_unit_id), 1, 8) || '-' || substr(hex(w.business_unit_id), 9, 4) || '-' || substr(hex(w.business_unit_id), 13, 4) || '-' || substr(hex(w.business_unit_id), 17, 4) || '-' || substr(hex(w.business_unit_id), 21, 12))
                    ELSE w.business_unit_id END AS business_unit_id,
               w.week_id AS week_id,
               CASE WHEN typeof(w.schedule_id) = 'blob' AND length(w.schedule_id) = 16
                    THEN lower(substr(hex(w.schedule_id), 1, 8) || '-' || substr(hex(w.schedule_id), 9, 4) || '-' || substr(hex(w.schedule_id), 13, 4) || '-' || substr(hex(w.schedule_id), 17, 4) || '-' || substr(hex(w.schedule_id), 21, 12))
                    ELSE w.schedule_id END AS schedule_id,
               CASE WHEN typeof(r.genesys_shift_id) = 'blob' AND length(r.genesys_shift_id) = 16
                    THEN lower(substr(hex(r.genesys_shift_id), 1, 8) || '-' || substr(hex(r.genesys_shift_id), 9, 4) || '-' || substr(hex(r.genesys_shift_id), 13, 4) || '-' || substr(hex(r.genesys_shift_id), 17, 4) || '-' || substr(hex(r.genesys_shift_id), 21, 12))
                    ELSE r.genesys_shift_id END AS genesys_shift_id,
               r.run_id AS run_id, r.base AS base, r.adopted AS adopted
        FROM xw_shift_rows r LEFT JOIN xw_shift_weeks w ON w.id = +r.week_ref;
"#;

/// Migration 17's statements (see its comment in [`MIGRATIONS`]), run by [`migrate`] when
/// `xw_shifts` is still a table.
const XW_ROWS_V17: &str = r#"
    CREATE TABLE xw_shift_rows (
        legacy_shift_id TEXT PRIMARY KEY,
        user_id,
        business_unit_id,
        week_id TEXT,
        schedule_id,
        genesys_shift_id,
        run_id INTEGER NOT NULL,
        base TEXT,
        adopted INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    INSERT INTO xw_shift_rows
        SELECT legacy_shift_id, COALESCE(zd2gc_id_v17(user_id), user_id),
               COALESCE(zd2gc_id_v17(business_unit_id), business_unit_id), week_id,
               COALESCE(zd2gc_id_v17(schedule_id), schedule_id),
               COALESCE(zd2gc_id_v17(genesys_shift_id), genesys_shift_id), run_id, base, adopted
        FROM xw_shifts ORDER BY legacy_shift_id;
    DROP TABLE xw_shifts;
    CREATE INDEX xw_shifts_by_week ON xw_shift_rows(business_unit_id, week_id);
    CREATE VIEW xw_shifts AS
        SELECT legacy_shift_id,
               CASE WHEN typeof(user_id) = 'blob' AND length(user_id) = 16
                    THEN lower(substr(hex(user_id), 1, 8) || '-' || substr(hex(user_id), 9, 4) || '-' || substr(hex(user_id), 13, 4) || '-' || substr(hex(user_id), 17, 4) || '-' || substr(hex(user_id), 21, 12))
                    ELSE user_id END AS user_id,
               CASE WHEN typeof(business_unit_id) = 'blob' AND length(business_unit_id) = 16
                    THEN lower(substr(hex(business_unit_id), 1, 8) || '-' || substr(hex(business_unit_id), 9, 4) || '-' || substr(hex(business_unit_id), 13, 4) || '-' || substr(hex(business_unit_id), 17, 4) || '-' || substr(hex(business_unit_id), 21, 12))
                    ELSE business_unit_id END AS business_unit_id,
               week_id,
               CASE WHEN typeof(schedule_id) = 'blob' AND length(schedule_id) = 16
                    THEN lower(substr(hex(schedule_id), 1, 8) || '-' || substr(hex(schedule_id), 9, 4) || '-' || substr(hex(schedule_id), 13, 4) || '-' || substr(hex(schedule_id), 17, 4) || '-' || substr(hex(schedule_id), 21, 12))
                    ELSE schedule_id END AS schedule_id,
               CASE WHEN typeof(genesys_shift_id) = 'blob' AND length(genesys_shift_id) = 16
                    THEN lower(substr(hex(genesys_shift_id), 1, 8) || '-' || substr(hex(genesys_shift_id), 9, 4) || '-' || substr(hex(genesys_shift_id), 13, 4) || '-' || substr(hex(genesys_shift_id), 17, 4) || '-' || substr(hex(genesys_shift_id), 21, 12))
                    ELSE genesys_shift_id END AS genesys_shift_id,
               run_id, base, adopted
        FROM xw_shift_rows;
"#;

/// Apply every migration above the database's `user_version`, each in its own transaction.
pub fn migrate(conn: &Connection) -> Result<()> {
    let mut abort = abort_hook();
    migrate_to(conn, MIGRATIONS.len(), &mut abort)
}

/// TEST-ONLY: `ZD2GC_TEST_ABORT_MIGRATION=STEP:K` aborts the process (as a kill would: no
/// rollback, no close) at the K-th point (from 0) of migration STEP's transaction: its start,
/// after each chunk of a chunked rewrite (16, 18), and just before its commit. Never set it for real
/// use.
fn abort_hook() -> impl FnMut(usize) -> rusqlite::Result<()> {
    let at = super::test_hook("ZD2GC_TEST_ABORT_MIGRATION").and_then(|v| {
        let (s, k) = v.split_once(':')?;
        Some((s.parse::<usize>().ok()?, k.parse::<usize>().ok()?))
    });
    let mut seen = (0, 0);
    move |step| {
        if seen.0 != step {
            seen = (step, 0);
        }
        if at == Some(seen) {
            std::process::abort();
        }
        seen.1 += 1;
        Ok(())
    }
}

/// Apply the migrations above the database's `user_version` up to schema `upto`, each in its
/// own transaction, calling `at(step)` at the points [`abort_hook`] names (tests build older
/// schemas with it, and interrupt an upgrade).
#[doc(hidden)]
pub fn migrate_to(
    conn: &Connection,
    upto: usize,
    at: &mut dyn FnMut(usize) -> rusqlite::Result<()>,
) -> Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(Error::failure(
            format!(
                "the state database has schema version {current}, newer than this zd2gc knows ({})",
                MIGRATIONS.len()
            ),
            Some(
                "use the zd2gc version that last wrote this migration directory, or a newer one"
                    .into(),
            ),
        ));
    }
    if current < MIGRATIONS.len() {
        register_row_hash(conn)?;
        register_task_escape(conn)?;
        register_activities_v11(conn)?;
        register_base_v15(conn)?;
        register_id_v17(conn)?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().take(upto).skip(current) {
        step(conn, i + 1, sql, at).map_err(|e| step_error(conn, i + 1, e))?;
    }
    Ok(())
}

/// Migration `n` (its statements `sql`) in one transaction with its `user_version`.
fn step(
    conn: &Connection,
    n: usize,
    sql: &str,
    at: &mut dyn FnMut(usize) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    at(n)?;
    // `xw_shifts` is a view since schema 17. A database whose `user_version` was set back
    // by hand (the tests' fixtures do) may already have it: the migrations of the table
    // (14, 15, the steps of 16 and 17) have nothing to do there.
    let xw_table = || -> rusqlite::Result<bool> {
        tx.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'xw_shifts' AND type = 'table'",
            [],
            |r| r.get(0),
        )
    };
    if !matches!(n, 14 | 15) || xw_table()? {
        tx.execute_batch(sql)?;
    }
    if n == 16 && xw_table()? {
        frozen_pairs_v16::rewrite(&tx, &mut || at(16))?;
    }
    if n == 17 && xw_table()? {
        tx.execute_batch(XW_ROWS_V17)?;
    }
    // Schema 17's `xw_shift_rows` still has the week's columns (not so on a fixture set back).
    if n == 18 {
        let v17: bool = tx.query_row(
            "SELECT count(*) FROM pragma_table_info('xw_shift_rows') WHERE name = 'schedule_id'",
            [],
            |r| r.get(0),
        )?;
        if v17 {
            xw_weeks_v18(&tx, &mut || at(18))?;
        }
    }
    at(n)?;
    tx.pragma_update(None, "user_version", n as i64)?;
    tx.commit()
}

/// An error of migration `n` as the operator needs it: a storage error (disk full, read-only,
/// busy: `store::explain` says what to do) as it is; any other means the database holds what
/// the migration does not expect (a value of a type zd2gc never wrote there, a converter
/// refusing a row): said as such, with the table the step rewrites.
fn step_error(conn: &Connection, n: usize, e: rusqlite::Error) -> Error {
    if crate::error::is_storage_error(&e) {
        return Error::Db(e);
    }
    let tables: Vec<&str> = REWRITES.iter().filter(|r| r.0 == n).map(|r| r.1).collect();
    let path = conn.path().unwrap_or("zd2gc.db");
    Error::failure(
        format!(
            "the state database {path} holds a row that the upgrade to schema {n} cannot convert{}: {e}",
            if tables.is_empty() {
                String::new()
            } else {
                format!(" (table {})", tables.join(", "))
            }
        ),
        Some(format!(
            "nothing of this step was written: the database is still at schema {}, which the zd2gc that wrote it still reads. zd2gc never writes such a row (edited by hand, or damaged): restore the migration directory from a backup, or keep it as it is and report this message",
            n - 1
        )),
    )
}

/// `zd2gc_task_v10(task_id)`, for migration 10: [`frozen::task_v10`].
fn register_task_escape(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "zd2gc_task_v10",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(frozen::task_v10(&ctx.get::<String>(0)?)),
    )?;
    Ok(())
}

/// `zd2gc_activities_v11(activities)`, for migration 11: [`frozen::activities_v11`].
fn register_activities_v11(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "zd2gc_activities_v11",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(frozen::activities_v11(&ctx.get::<String>(0)?)),
    )?;
    Ok(())
}

/// `zd2gc_base_v15(base, user_id)`, for migration 15: [`frozen_base_v15::base_v15`] of a base
/// JSON text, NULL when schema 14 read it as no base (the migration then keeps it as it is).
fn register_base_v15(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        "zd2gc_base_v15",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let user = ctx.get_raw(1).as_str().ok();
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(|t| frozen_base_v15::base_v15(t, user)),
                _ => None,
            })
        },
    )?;
    Ok(())
}

/// `zd2gc_id_v17(id)`, for migration 17: the 16 bytes of a text that is a canonical lowercase
/// UUID ([`frozen_id_v17::id_v17`]), else NULL (the migration then keeps the value as it is).
fn register_id_v17(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        "zd2gc_id_v17",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Text(t) => frozen_id_v17::id_v17(t).map(|b| b.to_vec()),
                _ => None,
            })
        },
    )?;
    Ok(())
}

/// Migration 17's id packing, as released with it (never edit it): written apart from
/// `store::uuid16::pack`, a character at a time.
mod frozen_id_v17 {
    /// The 16 bytes of `t` when it is a canonical lowercase UUID (36 bytes, `-` at 8, 13, 18 and
    /// 23, every other byte `0-9` or `a-f`), else `None`.
    pub(super) fn id_v17(t: &[u8]) -> Option<[u8; 16]> {
        if t.len() != 36 {
            return None;
        }
        let mut digits = Vec::with_capacity(32);
        for (i, &c) in t.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            digits.push(match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            });
        }
        let mut out = [0u8; 16];
        for (k, pair) in digits.chunks(2).enumerate() {
            out[k] = pair[0] * 16 + pair[1];
        }
        Some(out)
    }
}

/// `zd2gc_row_hash(agent_id, exported_agent_id, user_id, business_unit_id, management_unit_id,
/// week_id, start_utc, length_minutes, activities, held_back_reason)`, for migration 5, which
/// rewrites every `desired_shifts` row: [`frozen::row_hash_v5`], never the live hash of `map`.
fn register_row_hash(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "zd2gc_row_hash",
        10,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let s = |i: usize| ctx.get::<Option<String>>(i);
            let i = |i: usize| ctx.get::<Option<i64>>(i);
            let (agent, exported) = (s(0)?.unwrap_or_default(), s(1)?.unwrap_or_default());
            let (user, bu, mu, week) = (s(2)?, s(3)?, s(4)?, s(5)?);
            let activities = s(8)?.unwrap_or_default();
            let held = s(9)?;
            Ok(frozen::row_hash_v5(
                &agent,
                &exported,
                [
                    user.as_deref(),
                    bu.as_deref(),
                    mu.as_deref(),
                    week.as_deref(),
                ],
                i(6)?,
                i(7)?,
                &activities,
                held.as_deref(),
            ))
        },
    )?;
    Ok(())
}

/// Copies of code as it was when a migration using it was released. Never edit them: a released
/// migration must do on a user's old database exactly what it did when it was released.
mod frozen {
    /// A legacy task id in the terse activities of migration 10 (as released with it,
    /// `store::desired::push_task`): `%`, `;` and NUL written `%25`, `%3B` and `%00`.
    pub(super) fn task_v10(t: &str) -> String {
        let mut s = String::with_capacity(t.len());
        for c in t.chars() {
            match c {
                '%' => s.push_str("%25"),
                ';' => s.push_str("%3B"),
                '\0' => s.push_str("%00"),
                c => s.push(c),
            }
        }
        s
    }

    /// Terse activities of migration 10 rewritten for migration 11 (as released with it): in an
    /// activity `KIND[@OFFSET],LENGTH,TASK` whose task id (`%25`, `%3B`, `%00` unescaped) is
    /// the previous task id of the text with its trailing ASCII number (1 to 18 digits; no NUL in
    /// the previous id) plus one, written with at least as many digits, `,TASK` becomes `+`.
    /// Every other byte stays as it was; an activity that cannot be read is kept as it is and no
    /// task id after it is shortened.
    pub(super) fn activities_v11(text: &str) -> String {
        fn unescape(t: &str) -> Option<String> {
            let mut out = String::new();
            let mut rest = t;
            while let Some(p) = rest.find('%') {
                out.push_str(&rest[..p]);
                out.push(match rest.get(p + 1..p + 3)? {
                    "25" => '%',
                    "3B" => ';',
                    "00" => '\0',
                    _ => return None,
                });
                rest = &rest[p + 3..];
            }
            out.push_str(rest);
            Some(out)
        }
        fn follows(prev: &str) -> Option<String> {
            let digits = prev.len() - prev.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 || digits > 18 || prev.contains('\0') {
                return None;
            }
            let (prefix, number) = prev.split_at(prev.len() - digits);
            let n: u64 = number.parse().ok()?;
            Some(format!("{prefix}{:0digits$}", n + 1))
        }
        let mut prev: Option<String> = None;
        let mut out = Vec::new();
        for item in text.split(';') {
            let task = item
                .split_once(',')
                .and_then(|(_, tail)| tail.split_once(','))
                .map(|(len, task)| (len, unescape(task)));
            match task {
                Some((len, Some(task))) => {
                    let head = &item[..item.find(',').expect("a comma")];
                    if prev.as_deref().and_then(follows).as_deref() == Some(task.as_str()) {
                        out.push(format!("{head},{len}+"));
                    } else {
                        out.push(item.to_string());
                    }
                    prev = Some(task);
                }
                Some((_, None)) => {
                    out.push(item.to_string());
                    prev = None;
                }
                None => out.push(item.to_string()),
            }
        }
        out.join(";")
    }

    /// `desired_shifts.content_hash` as released with migration 5 (commit 0af70a1,
    /// `map::core::row_hash` over `RowHasher`): the fields in column order, each string followed
    /// by its length, `None` as a marker word, a missing integer as `i64::MIN`.
    pub(super) fn row_hash_v5(
        agent_id: &str,
        exported_agent_id: &str,
        [user, bu, mu, week]: [Option<&str>; 4],
        start_utc: Option<i64>,
        length_minutes: Option<i64>,
        activities: &str,
        held_back_reason: Option<&str>,
    ) -> i64 {
        let mut h = Hasher(0xcbf2_9ce4_8422_2325);
        h.str(Some(agent_id));
        h.str(Some(exported_agent_id));
        for s in [user, bu, mu, week] {
            h.str(s);
        }
        h.word(start_utc.unwrap_or(i64::MIN) as u64);
        h.word(length_minutes.unwrap_or(i64::MIN) as u64);
        h.str(Some(activities));
        h.str(held_back_reason);
        h.finish()
    }

    struct Hasher(u64);

    impl Hasher {
        fn word(&mut self, w: u64) {
            self.0 = (self.0 ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            self.0 ^= self.0 >> 29;
        }
        fn str(&mut self, s: Option<&str>) {
            let Some(s) = s else {
                self.word(0xfe00_0000_0000_0000);
                return;
            };
            let b = s.as_bytes();
            let mut chunks = b.chunks_exact(8);
            for c in &mut chunks {
                self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                let mut last = [0u8; 8];
                last[..rest.len()].copy_from_slice(rest);
                self.word(u64::from_le_bytes(last));
            }
            self.word(b.len() as u64 ^ 0xff00_0000_0000_0000);
        }
        fn finish(&self) -> i64 {
            let mut h = self.0;
            h ^= h >> 33;
            h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 33;
            h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            h ^= h >> 33;
            h as i64
        }
    }
}

/// Migration 15's encoder, as released with it (`load::model::Content::to_stored` of schema 15):
/// the base JSON text of schemas 4 to 14 (`{"user","start","len","acts":[{"start","len","code",
/// "desc"}]}`, read as `load::model::Content::from_json` read it) in the compact form, `None`
/// when it is not such a text. Activities sorted by start, length, code, description; the layout
/// is described at `load::model::stored`.
mod frozen_base_v15 {
    #[derive(serde::Deserialize)]
    struct Content {
        user: String,
        start: i64,
        len: i64,
        acts: Vec<Act>,
    }

    #[derive(serde::Deserialize)]
    struct Act {
        start: i64,
        len: i64,
        code: String,
        desc: String,
    }

    fn varint(out: &mut Vec<u8>, mut v: u128) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn zigzag(v: i128) -> u128 {
        ((v << 1) ^ (v >> 127)) as u128
    }

    /// The 16 bytes of a canonical lowercase UUID (36 characters, hyphens at 8, 13, 18, 23,
    /// every other character `0-9a-f`).
    fn pack(s: &str) -> Option<[u8; 16]> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut digits = Vec::with_capacity(32);
        for (i, &c) in b.iter().enumerate() {
            match (i, c) {
                (8 | 13 | 18 | 23, b'-') => {}
                (8 | 13 | 18 | 23, _) => return None,
                (_, b'0'..=b'9') => digits.push(c - b'0'),
                (_, b'a'..=b'f') => digits.push(c - b'a' + 10),
                _ => return None,
            }
        }
        let mut out = [0u8; 16];
        for (k, o) in out.iter_mut().enumerate() {
            *o = (digits[2 * k] << 4) | digits[2 * k + 1];
        }
        Some(out)
    }

    fn id(out: &mut Vec<u8>, s: &str) {
        match pack(s) {
            Some(b) => {
                out.push(0);
                out.extend_from_slice(&b);
            }
            None => {
                varint(out, s.len() as u128 + 1);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn time(out: &mut Vec<u8>, t: i64, from: i128) {
        let d = i128::from(t) - from;
        if d % 60 == 0 {
            varint(out, zigzag(d / 60) << 1);
        } else {
            varint(out, (zigzag(d) << 1) | 1);
        }
    }

    pub(super) fn base_v15(json: &str, row_user: Option<&str>) -> Option<Vec<u8>> {
        let mut c: Content = serde_json::from_str(json).ok()?;
        c.acts.sort_by(|a, b| {
            (a.start, a.len, &a.code, &a.desc).cmp(&(b.start, b.len, &b.code, &b.desc))
        });
        let mut out = Vec::new();
        if row_user == Some(c.user.as_str()) {
            out.push(1);
        } else {
            out.push(2);
            id(&mut out, &c.user);
        }
        time(&mut out, c.start, 0);
        varint(&mut out, zigzag(i128::from(c.len)));
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut idx = Vec::new();
        for a in &c.acts {
            let p = (a.code.as_str(), a.desc.as_str());
            idx.push(match pairs.iter().position(|q| *q == p) {
                Some(i) => i,
                None => {
                    pairs.push(p);
                    pairs.len() - 1
                }
            });
        }
        varint(&mut out, pairs.len() as u128);
        for (code, desc) in &pairs {
            id(&mut out, code);
            varint(&mut out, desc.len() as u128);
            out.extend_from_slice(desc.as_bytes());
        }
        varint(&mut out, c.acts.len() as u128);
        let mut prev = i128::from(c.start);
        for (a, i) in c.acts.iter().zip(idx) {
            time(&mut out, a.start, prev);
            prev = i128::from(a.start) + 60 * i128::from(a.len);
            varint(&mut out, zigzag(i128::from(a.len)));
            varint(&mut out, i as u128);
        }
        Some(out)
    }
}

/// Migration 16's rewrite, as released with it: each schema-15 base BLOB (`load::model::stored`,
/// tags 1 and 2) transcoded byte for byte to schema 16's form (tags 3 and 4): the same user,
/// start, length and activity times, the row's pair list dropped and each activity's pair index
/// replaced by the pair's id in `xw_shift_pairs` (added in order of first use, by legacy id). A
/// blob schema 15 could not read (short, long, out of range, not UTF-8) is kept as it was.
mod frozen_pairs_v16 {
    use rusqlite::{Connection, OptionalExtension};
    use std::collections::HashMap;

    struct Reader<'a> {
        b: &'a [u8],
    }

    impl<'a> Reader<'a> {
        fn byte(&mut self) -> Option<u8> {
            let (&x, rest) = self.b.split_first()?;
            self.b = rest;
            Some(x)
        }

        fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
            if n > self.b.len() {
                return None;
            }
            let (x, rest) = self.b.split_at(n);
            self.b = rest;
            Some(x)
        }

        /// A varint, as its value and its bytes.
        fn varint(&mut self) -> Option<(u128, &'a [u8])> {
            let all = self.b;
            let mut v: u128 = 0;
            for (k, shift) in (0..128).step_by(7).enumerate() {
                let x = self.byte()?;
                let part = u128::from(x & 0x7f);
                if shift > 0 && part >> (128 - shift) != 0 {
                    return None;
                }
                v |= part << shift;
                if x & 0x80 == 0 {
                    return Some((v, &all[..=k]));
                }
            }
            None
        }

        fn usize(&mut self) -> Option<usize> {
            usize::try_from(self.varint()?.0).ok()
        }

        /// An id as its text.
        fn id(&mut self) -> Option<String> {
            match self.usize()? {
                0 => {
                    let b = self.bytes(16)?;
                    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    Some(format!(
                        "{}-{}-{}-{}-{}",
                        &hex[..8],
                        &hex[8..12],
                        &hex[12..16],
                        &hex[16..20],
                        &hex[20..]
                    ))
                }
                n => Some(std::str::from_utf8(self.bytes(n - 1)?).ok()?.to_owned()),
            }
        }
    }

    fn varint(out: &mut Vec<u8>, mut v: u128) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn unzigzag(v: u128) -> i128 {
        ((v >> 1) as i128) ^ -((v & 1) as i128)
    }

    /// A time's varint read as schema 15 reads it (from `from`); `None` out of range.
    fn time(v: u128, from: i128) -> Option<i128> {
        let d = unzigzag(v >> 1);
        let d = if v & 1 == 0 { d.checked_mul(60)? } else { d };
        let t = from.checked_add(d)?;
        i64::try_from(t).ok()?;
        Some(t)
    }

    fn signed(v: u128) -> Option<i64> {
        i64::try_from(unzigzag(v)).ok()
    }

    /// The schema-16 form of a schema-15 base, `None` when it is not one schema 15 reads (a
    /// row user of NULL with tag 1 is kept to schema 16's tag 3, which reads as None too).
    pub(super) fn transcode(
        b: &[u8],
        pair_id: &mut dyn FnMut(&str, &str) -> rusqlite::Result<u64>,
    ) -> Option<rusqlite::Result<Vec<u8>>> {
        let mut r = Reader { b };
        let mut out = Vec::with_capacity(b.len());
        match r.byte()? {
            1 => out.push(3),
            2 => {
                out.push(4);
                let before = r.b;
                r.id()?;
                out.extend_from_slice(&before[..before.len() - r.b.len()]);
            }
            _ => return None,
        }
        let (v, raw) = r.varint()?;
        let start = time(v, 0)?;
        out.extend_from_slice(raw);
        let (v, raw) = r.varint()?;
        signed(v)?;
        out.extend_from_slice(raw);
        let n = r.usize()?;
        let mut pairs = Vec::with_capacity(n.min(r.b.len()));
        for _ in 0..n {
            let code = r.id()?;
            let m = r.usize()?;
            let desc = std::str::from_utf8(r.bytes(m)?).ok()?;
            pairs.push((code, desc, None));
        }
        let (n, raw) = r.varint()?;
        out.extend_from_slice(raw);
        let mut prev = start;
        for _ in 0..usize::try_from(n).ok()? {
            let (v, raw) = r.varint()?;
            let at = time(v, prev)?;
            out.extend_from_slice(raw);
            let (v, raw) = r.varint()?;
            let minutes = signed(v)?;
            out.extend_from_slice(raw);
            prev = at + 60 * i128::from(minutes);
            let p: &mut (String, &str, Option<u64>) = pairs.get_mut(r.usize()?)?;
            let k = match p.2 {
                Some(k) => k,
                None => match pair_id(&p.0, p.1) {
                    Ok(k) => *p.2.insert(k),
                    Err(e) => return Some(Err(e)),
                },
            };
            varint(&mut out, u128::from(k));
        }
        if !r.b.is_empty() {
            return None;
        }
        Some(Ok(out))
    }

    /// A legacy id as SQLite holds it: text is kept as its bytes (bound back as the same text).
    #[derive(Clone, Debug)]
    pub(super) enum Key {
        Text(Vec<u8>),
        Other(rusqlite::types::Value),
    }

    impl Key {
        fn of(v: rusqlite::types::ValueRef<'_>) -> Key {
            use rusqlite::types::{Value, ValueRef};
            match v {
                ValueRef::Text(t) => Key::Text(t.to_vec()),
                ValueRef::Null => Key::Other(Value::Null),
                ValueRef::Integer(i) => Key::Other(Value::Integer(i)),
                ValueRef::Real(f) => Key::Other(Value::Real(f)),
                ValueRef::Blob(b) => Key::Other(Value::Blob(b.to_vec())),
            }
        }
    }

    impl rusqlite::ToSql for Key {
        fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
            use rusqlite::types::{ToSqlOutput, ValueRef};
            Ok(match self {
                Key::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t)),
                Key::Other(v) => ToSqlOutput::Borrowed(v.into()),
            })
        }
    }

    /// Rewrite every schema-15 base of `xw_shifts`, a few thousand rows at a time (by legacy id).
    /// `chunk_done` is called after each chunk's rows are written (a test's interruption point).
    pub(super) fn rewrite(
        tx: &Connection,
        chunk_done: &mut dyn FnMut() -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        let mut ids: HashMap<(String, String), u64> = HashMap::new();
        let mut intern = |code: &str, desc: &str| -> rusqlite::Result<u64> {
            if let Some(&k) = ids.get(&(code.to_owned(), desc.to_owned())) {
                return Ok(k);
            }
            let have: Option<i64> = tx
                .query_row(
                    "SELECT id FROM xw_shift_pairs WHERE code = ?1 AND description = ?2",
                    [code, desc],
                    |r| r.get(0),
                )
                .optional()?;
            let k = match have {
                Some(k) => k,
                None => {
                    tx.execute(
                        "INSERT INTO xw_shift_pairs (code, description) VALUES (?1, ?2)",
                        [code, desc],
                    )?;
                    tx.last_insert_rowid()
                }
            } as u64;
            ids.insert((code.to_owned(), desc.to_owned()), k);
            Ok(k)
        };
        // A key is carried as the raw value SQLite holds (text of any bytes, even not UTF-8).
        let mut after: Option<Key> = None;
        loop {
            let chunk: Vec<(Key, Vec<u8>)> = {
                // By the key (`xw_shifts` is WITHOUT ROWID): each chunk starts where the last ended.
                let mut st = tx.prepare_cached(if after.is_some() {
                    "SELECT legacy_shift_id, base FROM xw_shifts
                     WHERE legacy_shift_id > ?1 AND typeof(base) = 'blob'
                     ORDER BY legacy_shift_id LIMIT 4096"
                } else {
                    "SELECT legacy_shift_id, base FROM xw_shifts
                     WHERE ?1 IS NULL AND typeof(base) = 'blob'
                     ORDER BY legacy_shift_id LIMIT 4096"
                })?;
                st.query_map([&after], |r| Ok((Key::of(r.get_ref(0)?), r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            let Some(last) = chunk.last() else {
                return Ok(());
            };
            after = Some(last.0.clone());
            let mut up =
                tx.prepare_cached("UPDATE xw_shifts SET base = ?2 WHERE legacy_shift_id = ?1")?;
            for (legacy, base) in &chunk {
                if let Some(new) = transcode(base, &mut intern) {
                    up.execute(rusqlite::params![legacy, new?])?;
                }
            }
            chunk_done()?;
        }
    }
}

/// The tables whose rows the migrations above a schema rewrite or copy (step, table), for the
/// upgrade's free-disk estimate (`store::upgrade`): every other step adds tables, columns or
/// indexes, or changes a few rows.
const REWRITES: &[(usize, &str)] = &[
    (5, "desired_shifts"),
    (9, "desired_shifts"),
    (10, "desired_shift_rows"),
    (11, "desired_shift_rows"),
    (15, "xw_shifts"),
    (16, "xw_shifts"),
    (17, "xw_shifts"),
    // The table that 17 makes of `xw_shifts`: counted when it is already there (from 17).
    (18, "xw_shift_rows"),
];

/// The tables the migrations above schema `from` rewrite, each once.
pub(crate) fn rewritten_tables(from: usize) -> Vec<&'static str> {
    let mut out: Vec<&str> = Vec::new();
    for &(step, t) in REWRITES {
        // From below 17 the links are `xw_shifts` (counted once: 17 and 18 rewrite it in turn,
        // each in its own transaction, reusing the pages the one before freed).
        let moved = t == "xw_shift_rows" && out.contains(&"xw_shifts");
        if step > from && !out.contains(&t) && !moved {
            out.push(t);
        }
    }
    out
}

pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time-off tables carry the columns part B (load, verify) codes against.
    #[test]
    fn time_off_tables_have_the_agreed_columns() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::open_state(dir.path()).unwrap();
        let cols = |t: &str| -> Vec<String> {
            let mut st = c.prepare(&format!("PRAGMA table_info({t})")).unwrap();
            st.query_map([], |r| r.get::<_, String>(1))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        let d = cols("desired_time_off");
        for want in [
            "time_off_request_id",
            "file",
            "line",
            "agent_id",
            "user_id",
            "management_unit_id",
            "business_unit_id",
            "activity_code_id",
            "status",
            "full_day_dates",
            "partial_starts",
            "daily_minutes",
            "paid",
            "notes",
            "content_hash",
            "held_back",
        ] {
            assert!(d.iter().any(|c| c == want), "desired_time_off lacks {want}");
        }
        let x = cols("xw_time_off");
        for want in [
            "time_off_request_id",
            "agent_id",
            "user_id",
            "management_unit_id",
            "status",
            "genesys_time_off_request_id",
            "run_id",
        ] {
            assert!(x.iter().any(|c| c == want), "xw_time_off lacks {want}");
        }
    }

    #[test]
    fn migrations_apply_once_and_reach_latest() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::open_state(dir.path()).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, schema_version());
        drop(c);
        let c = crate::store::open_state(dir.path()).unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// Migration 5's hash is pinned: its output on fixed input never changes, whatever happens to
    /// the live hash of `map` (the values were computed by the hash as released, commit 0af70a1).
    #[test]
    fn migration_5_hash_is_frozen() {
        let h = |user: Option<&str>, start: Option<i64>, acts: &str, held: Option<&str>| {
            frozen::row_hash_v5(
                "A1",
                "A1",
                [user, Some("bu-1"), Some("mu-1"), Some("2026-09-07")],
                start,
                Some(480),
                acts,
                held,
            )
        };
        assert_eq!(
            h(Some("u-1"), Some(1_788_155_100), "[[1,0,480,null]]", None),
            PIN[0]
        );
        assert_eq!(h(None, None, "[]", Some("unmapped-agent")), PIN[1]);
        assert_eq!(
            h(
                Some("u-é"),
                Some(-1),
                "[[1,0,240,\"t-1\"],[2,14400,240,null]]",
                None
            ),
            PIN[2]
        );
    }

    /// Computed independently of the Rust code, by a Python transcription of the released hash.
    const PIN: [i64; 3] = [
        2_054_898_105_886_011_107,
        -4_253_118_217_143_910_121,
        343_947_243_508_201_065,
    ];

    /// Migration 5 run on a version-4 database rehashes rows with its frozen hash, which agrees
    /// with the live hash today (so the next `map` sees them unchanged).
    #[test]
    fn migration_5_rehashes_rows_with_the_frozen_hash() {
        let c = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..4] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            r#"INSERT INTO desired_shifts VALUES ('s1', 'A1', 'A1', 'u-1', 'bu-1', 'mu-1',
                 '2026-09-07', 1788155100, 480,
                 '[{"code":"c-1","start":1788155100,"len":480,"desc":"Work","task":null}]',
                 'f.csv', 2, 'snap', 1, 0, NULL);
               PRAGMA user_version = 4;"#,
        )
        .unwrap();
        migrate(&c).unwrap();
        let (acts, hash): (String, i64) = c
            .query_row(
                "SELECT activities, content_hash FROM desired_shifts",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(acts, "[[1,0,480,null]]");
        assert_eq!(hash, PIN[0]);
        let live = crate::map::core::row_hash(&crate::map::core::RowContent {
            agent_id: "A1",
            exported_agent_id: "A1",
            user_id: Some("u-1"),
            business_unit_id: Some("bu-1"),
            management_unit_id: Some("mu-1"),
            week_id: Some("2026-09-07"),
            start_utc: Some(1_788_155_100),
            length_minutes: Some(480),
            activities: &acts,
            held_back_reason: None,
        });
        assert_eq!(
            hash, live,
            "today the live hash still agrees with migration 5's"
        );
    }

    /// The query plan's details of `sql` run for business unit `bu-1`'s week `2026-09-07`
    /// (`?1`, `?2`).
    fn week_query_plan(c: &Connection, sql: &str) -> Vec<String> {
        c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(["bu-1", "2026-09-07"], |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    /// Every row of a query, as SQLite values.
    fn all(c: &Connection, sql: &str) -> Vec<Vec<rusqlite::types::Value>> {
        let mut st = c.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    /// Migration 10 on a version-9 database whose rows hold the JSON that `map` wrote (made by
    /// `activities_compact` from 400 pseudo-random shifts: empty, tiling, overlapping, sub-minute
    /// and far-apart activities, negative and huge lengths, task ids with `%`, `;`, `,`, `@`,
    /// quotes, backslashes, control characters, NUL and non-ASCII, empty task ids):
    /// - the migration's SQL stores exactly the terse text `activities_compact` writes (two
    ///   encoders written apart);
    /// - the view `desired_shifts`, whose recursive CTE reads the terse text, spells out exactly
    ///   the JSON stored before, and `desired_activities` and `crosswalk_shifts` give the same
    ///   rows (content hashes included: nothing is rehashed);
    /// - the Rust reader (`decode_activities`) gives back the activities mapped.
    #[test]
    fn migration_10_stores_what_map_writes_and_every_view_reads_the_same() {
        use crate::store::desired::{Activity, Kinds, activities_compact};
        let c = Connection::open_in_memory().unwrap();
        register_row_hash(&c).unwrap();
        for sql in &MIGRATIONS[..9] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            "INSERT INTO desired_names VALUES (1, 'A1'), (2, 'shifts.csv'), (3, 'bu-1'), (4, 'w');
             INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                                    schedule_id, genesys_shift_id, run_id)
               VALUES ('s007', 'u-1', 'bu-1', 'w', 'sch-1', 'g-1', 3);
             PRAGMA user_version = 9;",
        )
        .unwrap();
        let tasks = [
            "T1",
            "",
            "a;b",
            "50%",
            "%3B",
            "%25;%",
            "x,y@z,",
            "q\"\\",
            "tab\there\nnl\u{1}\u{1f}\u{7f}",
            "nul\0x",
            "é✓",
            ";;%%",
            "T2",
            "@1,2",
        ];
        let lens = [0i64, 1, 30, 90, -5, (1 << 32) - 1, 1 << 32, 1 << 40];
        let gaps = [0i64, 0, 0, 0, -600, 30, 1 << 51, -(1 << 52)];
        let mut seed = 12345u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % n as u64) as usize
        };
        let mut kinds = Kinds::load(&c).unwrap();
        let mut want = Vec::new();
        for i in 0..400 {
            let start = 1_788_155_100 + 3600 * i as i64;
            let mut at = start + [0, 0, 0, 60, -1][next(5)];
            let acts: Vec<Activity<'_>> = (0..next(7))
                .map(|_| {
                    let len = lens[next(lens.len())];
                    let a = Activity {
                        code: ["c-1", "c-2", "c-;"][next(3)],
                        start: at,
                        length_minutes: len,
                        description: ["Work", "Bréak"][next(2)],
                        task_id: [None, Some(tasks[next(tasks.len())])][next(2)],
                        task_uuid: None,
                    };
                    at = at
                        .saturating_add(len.saturating_mul(60))
                        .saturating_add(gaps[next(gaps.len())]);
                    at = at.clamp(-(1 << 60), 1 << 60);
                    a
                })
                .collect();
            let t = activities_compact(&acts, start, &mut kinds);
            for (k, code, desc) in kinds.take_new() {
                c.execute(
                    "INSERT INTO activity_kinds VALUES (?1, ?2, ?3)",
                    rusqlite::params![k, code, desc],
                )
                .unwrap();
            }
            let id = format!("s{i:03}");
            c.execute(
                "INSERT INTO desired_shift_rows VALUES (?1, 1, NULL, NULL, 3, NULL, 4, ?2, 60, ?3, 2, ?4, 1, ?5, NULL)",
                rusqlite::params![id, start, t.json, i, -(i as i64)],
            )
            .unwrap();
            want.push((id, t.stored, start, acts));
        }
        let shifts = "SELECT * FROM desired_shifts ORDER BY legacy_shift_id";
        let acts = "SELECT * FROM desired_activities ORDER BY legacy_shift_id, seq";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let before = (all(&c, shifts), all(&c, acts), all(&c, xw));
        assert!(before.1.len() > 1000, "{}", before.1.len());
        migrate(&c).unwrap();
        let stored: Vec<(String, String)> = c
            .prepare("SELECT legacy_shift_id, activities FROM desired_shift_rows ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let written: Vec<(String, String)> = want
            .iter()
            .map(|(id, s, _, _)| (id.clone(), s.clone()))
            .collect();
        assert_eq!(stored, written);
        assert!(
            stored.iter().any(|(_, s)| s.contains('@')) && stored.iter().any(|(_, s)| s.is_empty())
        );
        let after = (all(&c, shifts), all(&c, acts), all(&c, xw));
        for (b, a) in before.0.iter().zip(&after.0) {
            assert_eq!(a, b);
        }
        assert_eq!(after, before);
        let kinds = crate::store::desired::activity_kinds(&c).unwrap();
        for (_, text, start, acts) in &want {
            let got = crate::store::desired::decode_activities(text, &[], *start, &kinds).unwrap();
            let acts: Vec<_> = acts
                .iter()
                .map(|a| {
                    (
                        a.code.to_string(),
                        a.start,
                        a.length_minutes,
                        a.description.to_string(),
                        a.task_id.map(str::to_string),
                    )
                })
                .collect();
            let got: Vec<_> = got
                .into_iter()
                .map(|a| (a.code, a.start, a.length_minutes, a.description, a.task_id))
                .collect();
            assert_eq!(got, acts);
        }
        let indexes = all(
            &c,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             AND tbl_name = 'desired_shift_rows' ORDER BY 1",
        );
        // Both built again by migration 10; migration 12 dropped the one by agent.
        assert_eq!(indexes.len(), 1, "{indexes:?}");
    }

    /// Migration 11 on a version-10 database (rows written by migrations 9 and 10 from the JSON
    /// `map` wrote, for 600 pseudo-random shifts whose task ids often follow the one before:
    /// `T9`/`T10`, zeros in front, 18 and 19 digits, digits alone, ids with `%`, `;`, `,`, `+`,
    /// NUL, non-ASCII digits, empty ids, activities without a task in between):
    /// - the frozen converter stores exactly what `activities_compact` writes (two encoders
    ///   written apart), with `+` on many rows;
    /// - the new view spells out the JSON `map` hashes, and `desired_shifts`,
    ///   `desired_activities` and `crosswalk_shifts` give the same rows as before; the index by
    ///   week is there (migration 12 dropped the one by agent).
    #[test]
    fn migration_11_marks_following_task_ids_and_every_view_reads_the_same() {
        use crate::store::desired::{Activity, Kinds, activities_compact};
        let c = Connection::open_in_memory().unwrap();
        register_row_hash(&c).unwrap();
        register_task_escape(&c).unwrap();
        for sql in &MIGRATIONS[..9] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            "INSERT INTO desired_names VALUES (1, 'A1'), (2, 'shifts.csv'), (3, 'bu-1'), (4, 'w');
             INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                                    schedule_id, genesys_shift_id, run_id)
               VALUES ('s0007', 'u-1', 'bu-1', 'w', 'sch-1', 'g-1', 3);
             PRAGMA user_version = 9;",
        )
        .unwrap();
        let firsts = [
            "T9",
            "T0",
            "T009",
            "T099",
            "0",
            "9",
            "",
            "T",
            "x;%,+9",
            "a%3B1",
            "n\u{0}1",
            "T٣",
            "T999999999999999998",
            "T999999999999999999",
            "T1000000000000000000",
            "T-5",
            "é✓7",
        ];
        // The id after `p` from the description: trailing ASCII digits (1 to 18, no NUL in `p`)
        // plus one, zeros in front to the same width.
        let follow = |p: &str| -> Option<String> {
            let d = p.bytes().rev().take_while(u8::is_ascii_digit).count();
            (d > 0 && d <= 18 && !p.contains('\0')).then(|| {
                let n = p[p.len() - d..].parse::<u128>().unwrap() + 1;
                format!("{}{:0d$}", &p[..p.len() - d], n)
            })
        };
        let mut seed = 777u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % n as u64) as usize
        };
        let mut kinds = Kinds::load(&c).unwrap();
        let mut want = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for i in 0..600 {
            let start = 1_788_155_100 + 3600 * i as i64;
            let mut prev: Option<String> = None;
            let tasks: Vec<Option<String>> = (0..next(9))
                .map(|_| match next(5) {
                    0 => None,
                    1 | 2 => {
                        let t = prev
                            .as_deref()
                            .and_then(follow)
                            .unwrap_or_else(|| firsts[next(firsts.len())].to_string());
                        prev = Some(t.clone());
                        Some(t)
                    }
                    _ => {
                        let t = firsts[next(firsts.len())].to_string();
                        prev = Some(t.clone());
                        Some(t)
                    }
                })
                .collect();
            ids.extend(tasks.iter().flatten().cloned());
            let mut at = start;
            let acts: Vec<Activity<'_>> = tasks
                .iter()
                .map(|_| {
                    let len = [0i64, 15, 30, 90][next(4)];
                    let a = Activity {
                        code: ["c-1", "c-2"][next(2)],
                        start: at + [0, 0, 0, 60, -1][next(5)],
                        length_minutes: len,
                        description: "Work",
                        task_id: None,
                        task_uuid: None,
                    };
                    at = a.start + 60 * len;
                    a
                })
                .collect();
            let acts: Vec<Activity<'_>> = acts
                .into_iter()
                .zip(&tasks)
                .map(|(a, t)| Activity {
                    task_id: t.as_deref(),
                    ..a
                })
                .collect();
            let t = activities_compact(&acts, start, &mut kinds);
            for (k, code, desc) in kinds.take_new() {
                c.execute(
                    "INSERT INTO activity_kinds VALUES (?1, ?2, ?3)",
                    rusqlite::params![k, code, desc],
                )
                .unwrap();
            }
            let id = format!("s{i:04}");
            c.execute(
                "INSERT INTO desired_shift_rows VALUES (?1, 1, NULL, NULL, 3, NULL, 4, ?2, 60, ?3, 2, ?4, 1, ?5, NULL)",
                rusqlite::params![id, start, t.json, i, -(i as i64)],
            )
            .unwrap();
            want.push((id, t.stored, t.json));
        }
        assert!(ids.len() > 1000, "{}", ids.len());
        c.execute_batch(MIGRATIONS[9]).unwrap();
        c.pragma_update(None, "user_version", 10).unwrap();
        let v10: Vec<String> = all(&c, "SELECT activities FROM desired_shift_rows ORDER BY 1")
            .into_iter()
            .map(|r| match &r[0] {
                rusqlite::types::Value::Text(t) => t.clone(),
                v => panic!("{v:?}"),
            })
            .collect();
        assert!(v10.iter().all(|t| !t.ends_with('+') && !t.contains("+;")));
        let shifts = "SELECT * FROM desired_shifts ORDER BY legacy_shift_id";
        let acts = "SELECT * FROM desired_activities ORDER BY legacy_shift_id, seq";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let before = (all(&c, shifts), all(&c, acts), all(&c, xw));
        migrate(&c).unwrap();
        let stored: Vec<(String, String, String)> = c
            .prepare(
                "SELECT r.legacy_shift_id, r.activities, d.activities FROM desired_shift_rows r
                 JOIN desired_shifts d USING (legacy_shift_id) ORDER BY 1",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(stored, want);
        let marked = stored.iter().filter(|(_, s, _)| s.contains('+')).count();
        assert!(marked > 150, "{marked}");
        let after = (all(&c, shifts), all(&c, acts), all(&c, xw));
        assert_eq!(after, before);
        let indexes = all(
            &c,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             AND tbl_name = 'desired_shift_rows' ORDER BY 1",
        );
        // Migration 12 then dropped the index by agent.
        assert_eq!(indexes.len(), 1, "{indexes:?}");
    }

    /// A row a migration's converter cannot read (migration 11 rewrites `activities`; zd2gc
    /// never wrote a text that is not UTF-8 there) fails the upgrade as a damaged row of that
    /// table, not as a full disk: the database stays at schema 10, and the help says what to do
    /// without the disk help. A storage error keeps the disk help; a type error does not.
    #[test]
    fn a_row_a_migration_cannot_convert_is_said_as_such_without_the_disk_help() {
        use miette::Diagnostic;
        let c = state_after_migrations(10);
        c.execute_batch(
            "PRAGMA user_version = 10;
             INSERT INTO desired_shift_rows (legacy_shift_id, agent_ref, activities, file_ref,
                 line, run_id, content_hash)
             VALUES ('S-1', 1, CAST(x'31ff' AS TEXT), 1, 2, 1, 0);",
        )
        .unwrap();
        let e = migrate(&c).unwrap_err();
        let (message, help) = (e.to_string(), e.help().unwrap().to_string());
        assert!(matches!(e, Error::Failure { .. }), "{e:?}");
        assert!(
            message.contains("holds a row that the upgrade to schema 11 cannot convert (table desired_shift_rows)"),
            "{message}"
        );
        assert!(
            help.contains("still at schema 10") && !help.contains("disk"),
            "{help}"
        );
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 10);
        let full = Error::Db(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        ));
        assert!(
            full.help()
                .unwrap()
                .to_string()
                .contains("disk is not full")
        );
        let conversion = Error::Db(rusqlite::Error::InvalidColumnType(
            0,
            "base".into(),
            rusqlite::types::Type::Blob,
        ));
        let help = conversion.help().unwrap().to_string();
        assert!(
            !help.contains("disk") && help.contains("a type zd2gc never writes"),
            "{help}"
        );
    }

    /// A state in memory with the first `n` migrations applied and the functions they call.
    fn state_after_migrations(n: usize) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        register_row_hash(&c).unwrap();
        register_task_escape(&c).unwrap();
        register_activities_v11(&c).unwrap();
        register_base_v15(&c).unwrap();
        register_id_v17(&c).unwrap();
        for sql in &MIGRATIONS[..n] {
            c.execute_batch(sql).unwrap();
        }
        if n >= 17 {
            c.execute_batch(XW_ROWS_V17).unwrap();
        }
        c
    }

    /// Migration 15 on a version-14 database whose load linked 300 pseudo-random shifts (odd
    /// texts, UUID and other codes, extreme times), their base JSON as schema 14 wrote it, in rows
    /// of the shift's own user, of another user and of none, next to bases schema 14 read as no
    /// base (NULL, not JSON, JSON of no content):
    /// - every readable base becomes a BLOB equal to what load now writes for that content in
    ///   that row (`Content::to_stored`: two encoders written apart), and `load::journal::links`
    ///   reads back exactly the contents schema 14's reader (`Content::from_json`) read;
    /// - every other column, every other base, and `crosswalk_shifts` are unchanged.
    #[test]
    fn migrations_15_and_16_store_bases_compactly_and_links_read_the_same() {
        use crate::load::model::Content;
        use proptest::strategy::{Strategy, ValueTree};
        use proptest::test_runner::TestRunner;
        let c = state_after_migrations(14);
        let mut runner = TestRunner::deterministic();
        let contents = crate::load::model::tests::any_content();
        let mut oracle = std::collections::BTreeMap::new();
        let mut written = std::collections::BTreeMap::new();
        let insert = |legacy: &str, user: Option<&str>, base: Option<&str>| {
            c.execute(
                "INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                     schedule_id, genesys_shift_id, run_id, base, adopted)
                 VALUES (?1, ?2, 'bu-1', '2026-09-07', 'sch-1', 'g-' || ?1, 3, ?3, 1)",
                rusqlite::params![legacy, user, base],
            )
            .unwrap();
        };
        for i in 0..300 {
            let content = contents.new_tree(&mut runner).unwrap().current();
            let legacy = format!("s{i:03}");
            let user = match i % 3 {
                0 => Some(content.user.to_string()),
                1 => Some(format!("other-{i}")),
                _ => None,
            };
            let json = content.to_json();
            insert(&legacy, user.as_deref(), Some(&json));
            oracle.insert(legacy.clone(), Content::from_json(&json));
            written.insert(legacy, content.to_stored(user.as_deref()));
        }
        // Activities out of order and an unknown field: schema 14 read them.
        let unsorted = "{\"user\":\"u-9\",\"start\":600,\"len\":5,\"x\":1,\"acts\":[{\"start\":660,\"len\":1,\"code\":\"b\",\"desc\":\"\"},{\"start\":600,\"len\":1,\"code\":\"a\",\"desc\":\"d\"}]}";
        insert("t-unsorted", Some("u-9"), Some(unsorted));
        oracle.insert("t-unsorted".into(), Content::from_json(unsorted));
        written.insert(
            "t-unsorted".into(),
            Content::from_json(unsorted).unwrap().to_stored(Some("u-9")),
        );
        for (legacy, base) in [
            ("t-null", None),
            ("t-short", Some("{\"user\":\"u-1\"}")),
            ("t-text", Some("not json")),
            ("t-empty", Some("")),
            (
                "t-float",
                Some("{\"user\":\"u\",\"start\":1.5,\"len\":1,\"acts\":[]}"),
            ),
        ] {
            insert(legacy, Some("u-1"), base);
            oracle.insert(legacy.into(), None);
        }
        c.execute_batch("PRAGMA user_version = 14;").unwrap();
        let others = "SELECT legacy_shift_id, user_id, business_unit_id, week_id, schedule_id,
                             genesys_shift_id, run_id, adopted FROM xw_shifts ORDER BY 1";
        let kept = "SELECT legacy_shift_id, base FROM xw_shifts
                    WHERE legacy_shift_id LIKE 't-%' AND legacy_shift_id != 't-unsorted' ORDER BY 1";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let before = (all(&c, others), all(&c, kept), all(&c, xw));
        // Migration 15 alone (16 is tested on its result below).
        c.execute_batch(MIGRATIONS[14]).unwrap();
        assert_eq!((all(&c, others), all(&c, kept), all(&c, xw)), before);
        let blobs_of = |c: &Connection| -> std::collections::BTreeMap<String, Vec<u8>> {
            c.prepare("SELECT legacy_shift_id, base FROM xw_shifts WHERE typeof(base) = 'blob'")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        let blobs = blobs_of(&c);
        assert_eq!(blobs, written);
        // The links as load read them at schemas 15 and 16 (before `xw_shift_rows`, schema 17).
        let links_16 = |c: &Connection| -> std::collections::BTreeMap<String, Option<Content>> {
            let mut st = c
                .prepare(
                    "SELECT legacy_shift_id, base, user_id FROM xw_shifts
                     WHERE business_unit_id = 'bu-1' AND week_id = '2026-09-07'
                       AND genesys_shift_id IS NOT NULL",
                )
                .unwrap();
            st.query_map([], |r| {
                let pair = |id: u64| -> Option<(String, String)> {
                    c.query_row(
                        "SELECT code, description FROM xw_shift_pairs WHERE id = ?1",
                        [id as i64],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .ok()
                };
                let user: Option<String> = r.get(2)?;
                Ok((
                    r.get(0)?,
                    crate::load::journal::stored_base_pairs(
                        r.get_ref(1)?,
                        user.as_deref(),
                        &mut |id| pair(id),
                    ),
                ))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
        };
        let links = |c: &Connection| -> std::collections::BTreeMap<String, Option<Content>> {
            crate::load::journal::links(c, "bu-1", "2026-09-07")
                .unwrap()
                .into_iter()
                .map(|l| (l.legacy, l.base))
                .collect()
        };
        assert_eq!(links_16(&c), oracle);

        // Migration 16 on that schema-15 state, plus schema-15 blobs it cannot read (kept as
        // they are, and read as before: no base): every readable blob becomes what load now
        // writes (`Content::to_stored_pairs` with the migrated dictionary: two encoders written
        // apart), links read the same contents, and every other value is unchanged.
        let mut bad = std::collections::BTreeMap::new();
        for (legacy, b) in [
            ("t-b-tag", vec![9u8, 0, 0, 0]),
            (
                "t-b-short",
                blobs["s000"][..blobs["s000"].len() - 1].to_vec(),
            ),
            ("t-b-long", [blobs["s001"].clone(), vec![0]].concat()),
            ("t-b-pair", vec![1u8, 0, 0, 1, 2, b'a', 0, 1, 0, 0, 1]),
            ("t-b-utf8", vec![1u8, 0, 0, 1, 2, b'a', 1, 0xff, 0]),
        ] {
            c.execute(
                "INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                     schedule_id, genesys_shift_id, run_id, base, adopted)
                 VALUES (?1, 'u-1', 'bu-1', '2026-09-07', 'sch-1', 'g-' || ?1, 3, ?2, 1)",
                rusqlite::params![legacy, b],
            )
            .unwrap();
            assert_eq!(Content::from_stored(&b, Some("u-1")), None, "{legacy}");
            bad.insert(legacy.to_string(), b);
            oracle.insert(legacy.into(), None);
        }
        c.execute_batch("PRAGMA user_version = 15;").unwrap();
        let before = (all(&c, others), all(&c, kept), all(&c, xw));
        migrate(&c).unwrap();
        assert_eq!(schema_version(), 18);
        assert_eq!((all(&c, others), all(&c, kept), all(&c, xw)), before);
        let users: std::collections::BTreeMap<String, Option<String>> = c
            .prepare("SELECT legacy_shift_id, user_id FROM xw_shifts")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let dict: std::collections::BTreeMap<(String, String), u64> = c
            .prepare("SELECT code, description, id FROM xw_shift_pairs")
            .unwrap()
            .query_map([], |r| {
                Ok(((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)? as u64))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let after = blobs_of(&c);
        for (legacy, b) in &after {
            if let Some(old) = bad.get(legacy) {
                assert_eq!(b, old, "{legacy}");
                continue;
            }
            let content = oracle[legacy].as_ref().unwrap();
            let live = content
                .to_stored_pairs(users[legacy].as_deref(), &mut |code, desc| {
                    Ok::<_, ()>(dict[&(code.to_string(), desc.to_string())])
                })
                .unwrap();
            assert_eq!(b, &live, "{legacy}");
        }
        assert_eq!(after.len(), blobs.len() + bad.len());
        assert_eq!(links(&c), oracle);
        let saved: usize = blobs.values().map(Vec::len).sum::<usize>()
            - after
                .iter()
                .filter(|(l, _)| !bad.contains_key(*l))
                .map(|(_, b)| b.len())
                .sum::<usize>();
        assert!(saved > 0, "{saved}");
    }

    /// Migration 16 on a schema-15 database whose legacy ids are not all UTF-8 (zd2gc never
    /// writes one; a hand edit can): it upgrades, every base is transcoded, every key kept.
    #[test]
    fn migration_16_keeps_legacy_ids_that_are_not_utf8() {
        use proptest::strategy::{Strategy, ValueTree};
        let c = state_after_migrations(15);
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut content = crate::load::model::tests::any_content()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        content.user = crate::load::model::label("u-1");
        let blob = content.to_stored(Some("u-1"));
        for key in ["x'41'", "x'5aff'", "x'ff'", "x'c3'", "x'61ff62'"] {
            c.execute(
                &format!(
                    "INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                         schedule_id, genesys_shift_id, run_id, base, adopted)
                     VALUES (CAST({key} AS TEXT), 'u-1', 'bu-1', '2026-09-07', 'sch-1', 'g', 3, ?1, 0)"
                ),
                [&blob],
            )
            .unwrap();
        }
        c.execute_batch("PRAGMA user_version = 15;").unwrap();
        migrate(&c).unwrap();
        let rows: Vec<(String, String, Vec<u8>)> = c
            .prepare("SELECT hex(legacy_shift_id), typeof(legacy_shift_id), base FROM xw_shifts ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(keys, ["41", "5AFF", "61FF62", "C3", "FF"]);
        for (key, kind, base) in &rows {
            assert_eq!(kind, "text", "{key}");
            assert_eq!(base[0], 3, "{key}: transcoded (tag 3)");
            assert!(base.len() < blob.len(), "{key}");
        }
    }

    /// Migration 17 on a version-16 database with links whose ids are canonical UUIDs, almost
    /// UUIDs (upper case, braces, 35 characters, a `g`, no hyphens) or other texts, and NULL:
    /// - the view `xw_shifts` and `crosswalk_shifts` give exactly the rows schema 16's table gave;
    /// - in `xw_shift_rows` an id is a 16-byte BLOB exactly when it is a canonical UUID (checked a
    ///   character at a time here), its bytes the UUID's;
    /// - `load::journal::links` reads each week's links as schema 16's table held them, through
    ///   the index by week.
    #[test]
    fn migration_17_packs_the_crosswalks_ids_and_every_reader_sees_the_same() {
        let c = state_after_migrations(16);
        let ids = [
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "0f8fad5bd9cb469fa16570867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950e ",
            "0f8fad5b_d9cb-469f-a165-70867728950e",
            "u-1",
            "",
            "é-ü",
        ];
        let canonical = |s: &str| {
            s.len() == 36
                && s.bytes().enumerate().all(|(i, b)| {
                    if [8, 13, 18, 23].contains(&i) {
                        b == b'-'
                    } else {
                        b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                    }
                })
        };
        let pick = |i: usize, k: usize| -> Option<&str> {
            let j = (i * 7 + k * 3) % (ids.len() + 1);
            ids.get(j).copied()
        };
        let content = crate::load::model::tests::any_content();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut pairs = Vec::new();
        for i in 0..120 {
            use proptest::strategy::{Strategy, ValueTree};
            let legacy = format!("s{i:03}");
            let user = pick(i, 1);
            let bu = if i % 2 == 0 { Some(ids[0]) } else { pick(i, 2) };
            let week = if i % 3 == 0 {
                "2026-09-14"
            } else {
                "2026-09-07"
            };
            let base = match i % 3 {
                0 => None,
                _ => {
                    let mut b = content.new_tree(&mut runner).unwrap().current();
                    if let Some(u) = user {
                        b.user = crate::load::model::label(u);
                    }
                    Some(
                        b.to_stored_pairs(user, &mut |code, desc| {
                            let k = pairs
                                .iter()
                                .position(|p| p == &(code.to_string(), desc.to_string()));
                            Ok::<_, ()>(match k {
                                Some(k) => k as u64 + 1,
                                None => {
                                    pairs.push((code.to_string(), desc.to_string()));
                                    pairs.len() as u64
                                }
                            })
                        })
                        .unwrap(),
                    )
                }
            };
            c.execute(
                "INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                     schedule_id, genesys_shift_id, run_id, base, adopted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    legacy,
                    user,
                    bu,
                    week,
                    pick(i, 3),
                    pick(i, 4),
                    i as i64 % 5,
                    base,
                    i as i64 % 3
                ],
            )
            .unwrap();
        }
        for (k, (code, desc)) in pairs.iter().enumerate() {
            c.execute(
                "INSERT INTO xw_shift_pairs (id, code, description) VALUES (?1, ?2, ?3)",
                rusqlite::params![k as i64 + 1, code, desc],
            )
            .unwrap();
        }
        c.execute_batch("PRAGMA user_version = 16;").unwrap();
        let rows = "SELECT * FROM xw_shifts ORDER BY legacy_shift_id";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let before = (all(&c, rows), all(&c, xw));
        // Schema 16's links of each week, as its table held them (bases read with the pairs).
        let links_16 =
            |bu: &str, week: &str| -> Vec<(String, String, Option<crate::load::model::Content>)> {
                c.prepare(
                    "SELECT legacy_shift_id, genesys_shift_id, base, user_id FROM xw_shifts
                 WHERE business_unit_id = ?1 AND week_id = ?2 AND genesys_shift_id IS NOT NULL
                 ORDER BY 1",
                )
                .unwrap()
                .query_map([bu, week], |r| {
                    let user: Option<String> = r.get(3)?;
                    let base = crate::load::journal::stored_base_pairs(
                        r.get_ref(2)?,
                        user.as_deref(),
                        &mut |k| pairs.get(k as usize - 1).cloned(),
                    );
                    Ok((r.get(0)?, r.get(1)?, base))
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
            };
        let weeks: Vec<(String, String)> = c
            .prepare("SELECT DISTINCT business_unit_id, week_id FROM xw_shifts WHERE business_unit_id IS NOT NULL")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(weeks.len() > 10, "{weeks:?}");
        let want: Vec<_> = weeks.iter().map(|(b, w)| links_16(b, w)).collect();
        let bases_16 = all(&c, "SELECT legacy_shift_id, base FROM xw_shifts ORDER BY 1");
        migrate(&c).unwrap();
        assert_eq!(schema_version(), 18);
        assert_eq!((all(&c, rows), all(&c, xw)), before);
        // Only the index by week is made again (no query looks links up by Genesys id).
        let indexes: Vec<String> = c
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'xw_shift_rows'
                 AND sql IS NOT NULL ORDER BY 1",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(indexes, ["xw_shifts_by_week"]);
        for (legacy, col, v) in c
            .prepare(
                // Since schema 18 a link's business unit and schedule are in `xw_shift_weeks`.
                "SELECT legacy_shift_id, 'user', user_id FROM xw_shift_rows
                 UNION ALL SELECT legacy_shift_id, 'bu', w.business_unit_id
                     FROM xw_shift_rows JOIN xw_shift_weeks w ON w.id = week_ref
                 UNION ALL SELECT legacy_shift_id, 'schedule', w.schedule_id
                     FROM xw_shift_rows JOIN xw_shift_weeks w ON w.id = week_ref
                 UNION ALL SELECT legacy_shift_id, 'gid', genesys_shift_id FROM xw_shift_rows",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, rusqlite::types::Value>(2)?,
                ))
            })
            .unwrap()
            .map(|r| r.unwrap())
        {
            use rusqlite::types::Value;
            match v {
                Value::Blob(b) => {
                    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                    assert_eq!(b.len(), 16, "{legacy} {col}");
                    assert!(
                        ids.iter()
                            .any(|i| canonical(i) && i.replace('-', "") == hex),
                        "{legacy} {col}"
                    );
                }
                Value::Text(t) => assert!(!canonical(&t), "{legacy} {col} {t}"),
                Value::Null => {}
                v => panic!("{legacy} {col} {v:?}"),
            }
        }
        let n_blobs: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM xw_shift_rows WHERE typeof(genesys_shift_id) = 'blob'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(n_blobs > 20, "{n_blobs}");
        assert_eq!(
            all(
                &c,
                "SELECT legacy_shift_id, base FROM xw_shift_rows ORDER BY 1"
            ),
            bases_16
        );
        for ((bu, week), want) in weeks.iter().zip(&want) {
            let mut got: Vec<_> = crate::load::journal::links(&c, bu, week)
                .unwrap()
                .into_iter()
                .map(|l| (l.legacy, l.gid, l.base))
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(&got, want, "{bu} {week}");
        }
    }

    /// Migration 18 on a version-17 database of 9,000 links (three chunks) whose business
    /// units, weeks and schedules are packed UUIDs, texts, NULLs and other values, some legacy
    /// ids text that is not UTF-8:
    /// - the view `xw_shifts` (in its own order and by key) and `crosswalk_shifts` give exactly
    ///   the rows and types schema 17 gave;
    /// - `xw_shift_weeks` holds each distinct triple once (NULLs as they were), and the links
    ///   name theirs; `xw_shift_rows` has no column of the triple left;
    /// - the abort hook is called at the start, after each chunk and before the commit.
    #[test]
    fn migration_18_names_each_links_week_once_and_every_reader_sees_the_same() {
        let c = Connection::open_in_memory().unwrap();
        migrate_to(&c, 17, &mut |_| Ok(())).unwrap();
        c.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 8999)
             INSERT INTO xw_shift_rows
             SELECT CASE WHEN i % 1000 = 7 THEN CAST(x'ff' || CAST(i AS BLOB) AS TEXT)
                         ELSE printf('S-%05d', i) END,
                    CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN printf('u-%d', i % 13)
                         ELSE zeroblob(15) || CAST(char(i % 13) AS BLOB) END,
                    CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'BU-1' WHEN 2 THEN 42
                         ELSE x'0f8fad5bd9cb469fa16570867728950e' END,
                    CASE WHEN i % 11 = 0 THEN NULL ELSE printf('2026-%02d-07', 1 + i % 12) END,
                    CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN printf('sch-%d', i % 12)
                         ELSE x'7c9e6679742540de944be07fc1f90ae7' END,
                    CASE WHEN i % 10 = 0 THEN NULL ELSE printf('g-%d', i) END,
                    i % 4, CASE WHEN i % 2 THEN x'0102' END, i % 3
             FROM n;",
        )
        .unwrap();
        // Every value as SQLite holds it (a text that is not UTF-8 as its bytes).
        let all = |c: &Connection, sql: &str| -> Vec<Vec<String>> {
            let mut st = c.prepare(sql).unwrap();
            let n = st.column_count();
            let names = st.column_names().map(|s| s.to_string()).collect();
            let mut out = vec![names];
            let rows = st
                .query_map([], |r| {
                    (0..n).map(|i| Ok(format!("{:?}", r.get_ref(i)?))).collect()
                })
                .unwrap();
            out.extend(rows.map(|r| r.unwrap()));
            out
        };
        let view = "SELECT * FROM xw_shifts";
        let by_key = "SELECT * FROM xw_shifts ORDER BY legacy_shift_id";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let types = "SELECT legacy_shift_id, typeof(user_id), typeof(business_unit_id),
                         typeof(week_id), typeof(schedule_id) FROM xw_shifts ORDER BY 1";
        let triples = "SELECT DISTINCT business_unit_id, week_id, schedule_id FROM xw_shift_rows";
        let n_triples = all(&c, triples).len();
        let before = (all(&c, view), all(&c, by_key), all(&c, xw), all(&c, types));
        assert_eq!(before.0.len(), 1 + 9000);
        let before_declared = all(&c, "SELECT name, type FROM pragma_table_info('xw_shifts')");
        let mut points = 0;
        migrate_to(&c, 18, &mut |step| {
            points += usize::from(step == 18);
            Ok(())
        })
        .unwrap();
        assert_eq!(points, 2 + 3, "start, 3 chunks, before commit");
        let after = (all(&c, view), all(&c, by_key), all(&c, xw), all(&c, types));
        for (k, (a, b)) in [
            (&after.0, &before.0),
            (&after.1, &before.1),
            (&after.2, &before.2),
            (&after.3, &before.3),
        ]
        .iter()
        .enumerate()
        {
            let d = a.iter().zip(b.iter()).position(|(x, y)| x != y);
            assert!(
                d.is_none() && a.len() == b.len(),
                "the views read as at schema 17: {k} {d:?} {:?}",
                d.map(|i| (&a[i], &b[i]))
            );
        }
        let declared = "SELECT name, type FROM pragma_table_info('xw_shifts')";
        assert_eq!(all(&c, declared), before_declared);
        let dict: i64 = c
            .query_row("SELECT count(*) FROM xw_shift_weeks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(dict as usize + 1, n_triples);
        let cols: Vec<String> = c
            .prepare("SELECT name FROM pragma_table_info('xw_shift_rows')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            cols,
            [
                "legacy_shift_id",
                "user_id",
                "week_ref",
                "genesys_shift_id",
                "run_id",
                "base",
                "adopted"
            ]
        );
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 18);
    }

    /// The dictionaries the crosswalk's links name rows of (`xw_shift_pairs`, `xw_shift_weeks`)
    /// are add-only since schema 18: an update, a delete or a replacing insert of any row is
    /// refused (the row kept), as is a triple added twice (NULLs included); a new row is not.
    #[test]
    fn the_crosswalk_dictionaries_refuse_a_change_or_a_removal() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::open_state(dir.path()).unwrap();
        c.execute_batch(
            "INSERT INTO xw_shift_pairs (id, code, description) VALUES (1, 'c', 'd');
             INSERT INTO xw_shift_weeks (id, business_unit_id, week_id, schedule_id)
                 VALUES (1, 'bu', '2026-09-07', NULL);",
        )
        .unwrap();
        let rows = |c: &Connection| {
            (
                all(c, "SELECT * FROM xw_shift_pairs ORDER BY id"),
                all(c, "SELECT * FROM xw_shift_weeks ORDER BY id"),
            )
        };
        let before = rows(&c);
        for sql in [
            "UPDATE xw_shift_pairs SET description = 'e' WHERE id = 1",
            "UPDATE xw_shift_pairs SET id = 2",
            "DELETE FROM xw_shift_pairs WHERE id = 1",
            "DELETE FROM xw_shift_pairs",
            "INSERT OR REPLACE INTO xw_shift_pairs (id, code, description) VALUES (1, 'x', 'y')",
            "UPDATE xw_shift_weeks SET schedule_id = 'sch' WHERE id = 1",
            "DELETE FROM xw_shift_weeks WHERE id = 1",
            "INSERT OR REPLACE INTO xw_shift_weeks (id, business_unit_id, week_id) VALUES (1, 'b', 'w')",
            "INSERT OR REPLACE INTO xw_shift_weeks (business_unit_id, week_id) VALUES ('bu', '2026-09-07')",
            "INSERT OR IGNORE INTO xw_shift_weeks (business_unit_id, week_id) VALUES ('bu', '2026-09-07')",
        ] {
            let e = c.execute(sql, []).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains("is add-only"), "{sql}: {e}");
            assert_eq!(rows(&c), before, "{sql}");
        }
        c.execute_batch(
            "INSERT INTO xw_shift_pairs (code, description) VALUES ('c', 'e');
             INSERT INTO xw_shift_weeks (business_unit_id, week_id) VALUES ('bu', '2026-09-14');",
        )
        .unwrap();
        assert_eq!(rows(&c).0.len() + rows(&c).1.len(), 4);
    }

    /// Migration 18's move reads a chunk of links from the last key moved and finds each link's
    /// triple through the dictionary's unique index (no scan of either table per chunk).
    #[test]
    fn migration_18_moves_a_chunk_without_a_scan() {
        let c = Connection::open_in_memory().unwrap();
        migrate_to(&c, 17, &mut |_| Ok(())).unwrap();
        c.execute_batch(MIGRATIONS[17]).unwrap();
        c.execute_batch(
            "CREATE TABLE xw_shift_rows_v18 (legacy_shift_id TEXT PRIMARY KEY, user_id,
                 week_ref INTEGER NOT NULL, genesys_shift_id, run_id INTEGER NOT NULL, base TEXT,
                 adopted INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;",
        )
        .unwrap();
        let plan: Vec<String> = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {} WHERE r.legacy_shift_id > (SELECT max(legacy_shift_id)
                 FROM xw_shift_rows_v18) ORDER BY r.legacy_shift_id LIMIT {XW_WEEKS_CHUNK}",
                XW_MOVE_V18
            ))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(
            plan.iter()
                .any(|p| p == "SEARCH r USING PRIMARY KEY (legacy_shift_id>?)")
                && plan.iter().any(|p| p.starts_with(
                    "SEARCH w USING COVERING INDEX sqlite_autoindex_xw_shift_weeks_1 (business_unit_id=? AND week_id=? AND schedule_id=?)"
                ))
                && !plan.iter().any(|p| p.starts_with("SCAN") || p.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }

    /// Migration 13 on a version-12 database whose rows spell every task id out (what zd2gc
    /// wrote before), for 500 pseudo-random shifts whose task ids are canonical UUIDs (some
    /// following the one before, some equal to it, the smallest and largest), UUIDs in upper
    /// case, with braces or one character short, and other ids (`%`, `;`, `#`, `+`, digits):
    /// - the migration leaves every row as it was, and `desired_shifts`, `desired_activities` and
    ///   `crosswalk_shifts` read the same as schema 12's view read them;
    /// - the same rows written as `map` now writes them (`activities_compact`: `#` and
    ///   `task_uuids`) read the same again through the new view (schema 12's view reading the
    ///   spelled-out text is the oracle), and the Rust reader gives back the same activities from
    ///   both forms;
    /// - the view unpacks with `uuid16::sql_text`.
    #[test]
    fn migration_13_reads_packed_task_ids_as_schema_12_read_them_spelled_out() {
        use crate::store::desired::{Activity, Kinds, activities_compact, decode_activities};
        assert!(MIGRATIONS[12].contains(&crate::store::uuid16::sql_text(
            "substr(s.task_uuids, 16 * k + 1, 16)"
        )));
        let c = state_after_migrations(12);
        c.execute_batch(
            "INSERT INTO desired_names VALUES (1, 'A1'), (2, 'shifts.csv'), (3, 'bu-1'), (4, 'w');
             INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                                    schedule_id, genesys_shift_id, run_id)
               VALUES ('s0007', 'u-1', 'bu-1', 'w', 'sch-1', 'g-1', 3);
             PRAGMA user_version = 12;",
        )
        .unwrap();
        let mut seed = 4242u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let others = [
            "T9",
            "x;%#+1",
            "{00000000-0000-4000-8000-000000000001}",
            "00000000-0000-4000-8000-00000000001",
            "ABCDEF00-0000-4000-8000-000000000001",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "",
        ];
        let mut kinds = Kinds::load(&c).unwrap();
        let mut want = Vec::new();
        for i in 0..500 {
            let start = 1_788_155_100 + 3600 * i as i64;
            let mut prev: Option<String> = None;
            let tasks: Vec<Option<String>> = (0..next(8))
                .map(|_| {
                    let t = match next(8) {
                        0 => return None,
                        1 => others[next(others.len() as u64) as usize].to_string(),
                        // The id after the previous one (`+` when it ends with digits).
                        2 => match prev
                            .as_deref()
                            .and_then(crate::store::desired::next_task_id)
                        {
                            Some(t) => t,
                            None => format!("{:032x}", next(u64::MAX)),
                        },
                        3 => prev.clone().unwrap_or_default(),
                        _ => {
                            let h = format!("{:016x}{:016x}", next(u64::MAX), next(1 << 40));
                            format!(
                                "{}-{}-{}-{}-{}",
                                &h[..8],
                                &h[8..12],
                                &h[12..16],
                                &h[16..20],
                                &h[20..]
                            )
                        }
                    };
                    prev = Some(t.clone());
                    Some(t)
                })
                .collect();
            let acts: Vec<Activity<'_>> = tasks
                .iter()
                .enumerate()
                .map(|(k, t)| Activity {
                    code: "c-1",
                    start: start + 1800 * k as i64,
                    length_minutes: 30,
                    description: "Work",
                    task_id: t.as_deref(),
                    task_uuid: None,
                })
                .collect();
            let t = activities_compact(&acts, start, &mut kinds);
            for (k, code, desc) in kinds.take_new() {
                c.execute(
                    "INSERT INTO activity_kinds VALUES (?1, ?2, ?3)",
                    rusqlite::params![k, code, desc],
                )
                .unwrap();
            }
            // The text schema 12 stored: each `#` spelled out from its 16 bytes.
            let mut bytes = t.task_uuids.chunks(16);
            let spelled: Vec<String> = t
                .stored
                .split(';')
                .map(|item| match item.strip_suffix('#') {
                    Some(head) if item.matches(',').count() == 1 => {
                        let h: String = bytes
                            .next()
                            .unwrap()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect();
                        let u = [&h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]];
                        format!("{head},{}", u.join("-"))
                    }
                    _ => item.to_string(),
                })
                .collect();
            assert!(bytes.next().is_none());
            let spelled = if t.stored.is_empty() {
                String::new()
            } else {
                spelled.join(";")
            };
            let id = format!("s{i:04}");
            c.execute(
                "INSERT INTO desired_shift_rows VALUES (?1, 1, NULL, NULL, 3, NULL, 4, ?2, 60, ?3, 2, ?4, 1, ?5, NULL)",
                rusqlite::params![id, start, spelled, i, -(i as i64)],
            )
            .unwrap();
            let decoded: Vec<Option<String>> =
                acts.iter().map(|a| a.task_id.map(str::to_string)).collect();
            want.push((id, start, spelled, t.stored, t.task_uuids, decoded));
        }
        let n_packed: usize = want.iter().map(|w| w.4.len() / 16).sum();
        let n_plus = want.iter().filter(|w| w.3.contains('+')).count();
        assert!(n_packed > 800 && n_plus > 20, "{n_packed} {n_plus}");
        let shifts = "SELECT * FROM desired_shifts ORDER BY legacy_shift_id";
        let acts = "SELECT * FROM desired_activities ORDER BY legacy_shift_id, seq";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let rows = "SELECT legacy_shift_id, activities FROM desired_shift_rows ORDER BY 1";
        let before = (all(&c, shifts), all(&c, acts), all(&c, xw));
        let stored_12 = all(&c, rows);
        migrate(&c).unwrap();
        assert_eq!(all(&c, rows), stored_12, "no row rewritten");
        assert_eq!((all(&c, shifts), all(&c, acts), all(&c, xw)), before);
        let kind_names = crate::store::desired::activity_kinds(&c).unwrap();
        let mut up = c
            .prepare("UPDATE desired_shift_rows SET activities = ?2, task_uuids = ?3 WHERE legacy_shift_id = ?1")
            .unwrap();
        for (id, start, spelled, stored, uuids, tasks) in &want {
            for (text, bytes) in [(spelled, &[][..]), (stored, &uuids[..])] {
                let got = decode_activities(text, bytes, *start, &kind_names).unwrap();
                let got: Vec<Option<String>> = got.into_iter().map(|a| a.task_id).collect();
                assert_eq!(&got, tasks, "{id}: {text}");
            }
            let blob = (!uuids.is_empty()).then_some(&uuids[..]);
            up.execute(rusqlite::params![id, stored, blob]).unwrap();
        }
        assert_ne!(all(&c, rows), stored_12);
        let after = (all(&c, shifts), all(&c, acts), all(&c, xw));
        for (b, a) in before.0.iter().zip(&after.0) {
            assert_eq!(a, b);
        }
        assert_eq!(after, before);
    }

    /// Migration 14 on a version-13 database whose load linked shifts: every `xw_shifts` row
    /// stays as it was, and load's links of a week (a business unit's week only, linked shifts
    /// only) are read through the new index, not by a scan of the table.
    #[test]
    fn migration_14_reads_a_weeks_links_through_the_index_by_week() {
        let c = state_after_migrations(13);
        c.execute_batch(
            r#"INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                                      schedule_id, genesys_shift_id, run_id, base, adopted) VALUES
                 ('s1', 'u-1', 'bu-1', '2026-09-07', 'sch-1', 'g-1', 3, '{"user":"u-1"}', 0),
                 ('s2', 'u-2', 'bu-1', '2026-09-07', 'sch-1', 'g-2', 3, NULL, 1),
                 ('s3', 'u-1', 'bu-1', '2026-09-07', 'sch-1', NULL, 3, NULL, 0),
                 ('s4', 'u-1', 'bu-1', '2026-09-14', 'sch-2', 'g-4', 4, NULL, 2),
                 ('s5', 'u-3', 'bu-2', '2026-09-07', 'sch-3', 'g-5', 4, NULL, 0),
                 ('s0', 'u-3', 'bu-1', '2026-09-07', 'sch-1', 'g-0', 4, NULL, 0);
               PRAGMA user_version = 13;"#,
        )
        .unwrap();
        let rows = "SELECT * FROM xw_shifts ORDER BY legacy_shift_id";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let before = (all(&c, rows), all(&c, xw));
        migrate(&c).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, schema_version());
        // Migration 15 rewrites no base here: none is a content's JSON.
        assert_eq!((all(&c, rows), all(&c, xw)), before);
        // Since schema 17 load reads the table under the view `xw_shifts`; since 18 by the
        // week's triples.
        let plan = week_query_plan(&c, crate::load::journal::LINKS);
        assert!(
            plan.iter()
                .any(|p| p == "SEARCH xw_shift_rows USING INDEX xw_shifts_by_week (week_ref=?)")
                && !plan.iter().any(|p| p.starts_with("SCAN")),
            "{plan:?}"
        );
        let mut links: Vec<(String, String)> =
            crate::load::journal::links(&c, "bu-1", "2026-09-07")
                .unwrap()
                .into_iter()
                .map(|l| (l.legacy, l.gid))
                .collect();
        links.sort();
        let own = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            links,
            vec![own("s0", "g-0"), own("s1", "g-1"), own("s2", "g-2")]
        );
    }

    /// Migration 9 on a version-8 database with rows: `desired_shifts` (now a view), the views
    /// over it and the desired-state readers give exactly what the version-8 table gave (content
    /// hashes included, so the next `map` sees the rows unchanged and load's week digests, made of
    /// what `for_each_shift_of_week` reads, stay the same); the texts are numbers in one
    /// dictionary, the exported agent only when it is not the owner; the week is read through the
    /// integer index, in id order, without a sort.
    #[test]
    fn migration_9_keeps_every_row_and_what_every_reader_sees() {
        let c = Connection::open_in_memory().unwrap();
        register_row_hash(&c).unwrap();
        for sql in &MIGRATIONS[..8] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            r#"INSERT INTO activity_kinds VALUES (1, 'c-1', 'Work'), (2, 'c-2', 'Bréak');
               INSERT INTO desired_shifts VALUES
                 ('s1', 'A1', 'A1', 'u-1', 'bu-1', 'mu-1', '2026-09-07', 1788155100, 480,
                  '[[1,0,240,"t-1"],[2,14400,240,null]]', 'shifts.csv', 2, 1, 11, NULL),
                 ('s2', 'A9', 'A2', 'u-9', 'bu-1', 'mu-2', '2026-09-07', 1788241500, 60,
                  '[[1,0,60,null]]', 'more/shifts-é.csv', 7, 2, -22, NULL),
                 ('s0', 'u-1', 'u-1', 'A1', 'bu-1', 'mu-1', '2026-09-07', 1788155200, 30,
                  '[]', 'shifts.csv', 3, 1, 33, NULL),
                 ('s3', 'A3', 'A3', NULL, NULL, NULL, NULL, NULL, NULL, '[]', 'shifts.csv', 4,
                  1, 44, 'unmapped-agent'),
                 ('s4', 'A1', 'A1', 'u-1', 'bu-2', 'mu-1', '2026-09-14', 1788760000, 480,
                  '[[1,0,480,null]]', 'shifts.csv', 5, 1, 55, 'past');
               INSERT INTO xw_shifts (legacy_shift_id, user_id, business_unit_id, week_id,
                                      schedule_id, genesys_shift_id, run_id)
                 VALUES ('s1', 'u-1', 'bu-1', '2026-09-07', 'sch-1', 'g-1', 3),
                        ('gone', 'u-1', 'bu-1', '2026-08-31', 'sch-0', 'g-0', 3);
               PRAGMA user_version = 8;"#,
        )
        .unwrap();
        let shifts = "SELECT * FROM desired_shifts ORDER BY legacy_shift_id";
        let acts = "SELECT * FROM desired_activities ORDER BY legacy_shift_id, seq";
        let xw = "SELECT * FROM crosswalk_shifts ORDER BY legacy_shift_id";
        let before = (all(&c, shifts), all(&c, acts), all(&c, xw));
        assert_eq!(before.0.len(), 5);
        assert_eq!(before.1.len(), 4);
        let week_oracle = all(
            &c,
            "SELECT legacy_shift_id, agent_id, user_id, management_unit_id, start_utc, length_minutes,
                    activities, held_back_reason
             FROM desired_shifts WHERE business_unit_id = 'bu-1' AND week_id = '2026-09-07'
             ORDER BY legacy_shift_id",
        );
        migrate(&c).unwrap();
        assert_eq!((all(&c, shifts), all(&c, acts), all(&c, xw)), before);

        let kind_of = |name: &str| -> String {
            c.query_row(
                "SELECT type FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(kind_of("desired_shifts"), "view");
        let indexes = all(
            &c,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             AND tbl_name LIKE 'desired_shift%' ORDER BY 1",
        );
        let text = |v: &str| vec![rusqlite::types::Value::Text(v.into())];
        assert_eq!(
            indexes,
            vec![text("desired_shift_rows_by_week")],
            "schema 12 has no index by agent"
        );
        let exported: Vec<Option<i64>> = c
            .prepare("SELECT exported_agent_ref FROM desired_shift_rows ORDER BY legacy_shift_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            exported.iter().filter(|e| e.is_some()).count(),
            1,
            "only s2's"
        );
        assert!(exported[2].is_some(), "s2 is the third by id: {exported:?}");
        let names: i64 = c
            .query_row("SELECT COUNT(*) FROM desired_names", [], |r| r.get(0))
            .unwrap();
        // bu-1 bu-2, two weeks, two files, mu-1 mu-2, u-1 u-9 (u-1 also an owner), A1 A2 A3 A9.
        assert_eq!(names, 14);

        // The readers: a week (through the integer index, in id order, no sort) is what the
        // version-8 table held.
        let plan = week_query_plan(
            &c,
            "SELECT s.legacy_shift_id FROM desired_shift_rows s
             WHERE s.business_unit_ref = (SELECT id FROM desired_names WHERE name = ?1)
               AND s.week_ref = (SELECT id FROM desired_names WHERE name = ?2)
             ORDER BY s.legacy_shift_id",
        );
        assert!(
            plan.iter()
                .any(|p| p.contains("desired_shift_rows_by_week"))
                && !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "{plan:?}"
        );
        let kinds = crate::store::desired::activity_kinds(&c).unwrap();
        let mut week = Vec::new();
        crate::store::desired::for_each_shift_of_week(&c, &kinds, "bu-1", "2026-09-07", |s| {
            week.push(s);
            Ok(())
        })
        .unwrap();
        use rusqlite::types::Value as V;
        let t = |s: &Option<String>| s.clone().map_or(V::Null, V::Text);
        let i = |s: Option<i64>| s.map_or(V::Null, V::Integer);
        let got: Vec<Vec<V>> = week
            .iter()
            .map(|s| {
                vec![
                    V::Text(s.legacy_shift_id.clone()),
                    V::Text(s.agent_id.clone()),
                    t(&s.user_id),
                    t(&s.management_unit_id),
                    i(s.start_utc),
                    i(s.length_minutes),
                    V::Text(
                        if s.activities.is_empty() {
                            "[]"
                        } else {
                            "acts"
                        }
                        .into(),
                    ),
                    t(&s.held_back_reason),
                ]
            })
            .collect();
        let want: Vec<Vec<V>> = week_oracle
            .into_iter()
            .map(|mut r| {
                if r[6] != V::Text("[]".into()) {
                    r[6] = V::Text("acts".into());
                }
                r
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(week[1].activities[1].description, "Bréak");
        assert_eq!(week[1].activities[1].start, 1_788_155_100 + 14_400);
        assert!(
            week.iter()
                .all(|s| s.business_unit_id.as_deref() == Some("bu-1")
                    && s.week_id.as_deref() == Some("2026-09-07"))
        );
        let mut every = Vec::new();
        crate::store::desired::for_each_shift_unordered(&c, true, |s| {
            every.push((
                s.legacy_shift_id,
                s.agent_id,
                s.user_id,
                s.business_unit_id,
                s.week_id,
            ));
            Ok(())
        })
        .unwrap();
        every.sort();
        let o = |s: &str| Some(s.to_string());
        assert_eq!(
            every[..2],
            [
                (
                    "s0".into(),
                    "u-1".into(),
                    o("A1"),
                    o("bu-1"),
                    o("2026-09-07")
                ),
                (
                    "s1".into(),
                    "A1".into(),
                    o("u-1"),
                    o("bu-1"),
                    o("2026-09-07")
                ),
            ]
        );
        assert_eq!(every[3], ("s3".into(), "A3".into(), None, None, None));
        assert_eq!(
            crate::store::desired::shift_owner(&c, "s2").unwrap(),
            Some((o("bu-1"), "A9".to_string()))
        );
        assert_eq!(
            crate::store::desired::shift_count_of_agent(&c, "A1").unwrap(),
            2
        );
        assert_eq!(
            crate::store::desired::shift_count_of_agent(&c, "A2").unwrap(),
            0
        );

        // A writer after the migration numbers new names after the old ones and reuses the old.
        crate::store::desired::ShiftWriter::write(&c, |w| {
            w.upsert(&crate::store::desired::ShiftRow {
                legacy_shift_id: "s5",
                agent_id: "A1",
                exported_agent_id: "A1",
                user_id: Some("u-new"),
                business_unit_id: Some("bu-1"),
                management_unit_id: Some("mu-1"),
                week_id: Some("2026-09-07"),
                start_utc: Some(1),
                length_minutes: Some(2),
                activities: "",
                task_uuids: &[],
                file: "shifts.csv",
                line: 9,
                run_id: 4,
                content_hash: 5,
                held_back_reason: None,
            })
        })
        .unwrap();
        let row = all(
            &c,
            "SELECT agent_id, user_id, file FROM desired_shifts WHERE legacy_shift_id = 's5'",
        );
        assert_eq!(
            row,
            vec![[text("A1"), text("u-new"), text("shifts.csv")].concat()]
        );
        let names: i64 = c
            .query_row("SELECT COUNT(*) FROM desired_names", [], |r| r.get(0))
            .unwrap();
        assert_eq!(names, 15);
    }

    /// Migration 8 moves the snapshot id that extract, map and validate stored in
    /// `inputs_sha256` to `snapshot_id`, and leaves every other value where it was.
    #[test]
    fn migration_8_moves_snapshot_ids_out_of_the_inputs_hash() {
        let c = Connection::open_in_memory().unwrap();
        register_row_hash(&c).unwrap();
        for sql in &MIGRATIONS[..7] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            "INSERT INTO runs (id, command, args, tool_version, inputs_sha256, started_at, outcome)
             VALUES (1, 'init', '', '0', 'cfg', 't', 'ok'),
                    (2, 'extract', '', '0', 'snap', 't', 'ok'),
                    (3, 'extract', '', '0', 'cfg', 't', 'error'),
                    (4, 'map', '', '0', 'snap', 't', 'findings'),
                    (5, 'validate', '', '0', 'snap', 't', 'error'),
                    (6, 'load', '', '0', 'cfg', 't', 'ok'),
                    (7, 'map', '', '0', NULL, 't', NULL);
             PRAGMA user_version = 7;",
        )
        .unwrap();
        migrate(&c).unwrap();
        let mut st = c
            .prepare("SELECT inputs_sha256, snapshot_id FROM runs ORDER BY id")
            .unwrap();
        let got: Vec<(Option<String>, Option<String>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let v = |a: Option<&str>, b: Option<&str>| (a.map(String::from), b.map(String::from));
        assert_eq!(
            got,
            vec![
                v(Some("cfg"), None),
                v(None, Some("snap")),
                v(Some("cfg"), None),
                v(None, Some("snap")),
                v(None, Some("snap")),
                v(Some("cfg"), None),
                v(None, None),
            ]
        );
    }
}
