//! The loader's own view of a shift: what is compared in a three-way merge and what is written.
//! Instants are UTC seconds; activities are kept sorted, so two equal shifts compare equal however
//! Genesys or the export ordered them.

use crate::genesys::model as m;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Deserializer, Serialize};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

/// A text that many shifts repeat (an activity code id, a description, a user id): one shared
/// copy, given by [`label`].
pub type Label = Arc<str>;

/// The one copy of `s` (interned for the life of the process: the activity codes, descriptions
/// and users of an org are few, their shifts many). A week in flight holds two pointers per
/// activity instead of two strings.
pub fn label(s: &str) -> Label {
    static LABELS: LazyLock<Mutex<FxHashSet<Label>>> = LazyLock::new(Mutex::default);
    let mut set = LABELS.lock().expect("labels");
    if let Some(l) = set.get(s) {
        return l.clone();
    }
    let l: Label = Arc::from(s);
    set.insert(l.clone());
    l
}

fn ser_label<S: serde::Serializer>(l: &Label, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(l)
}

fn de_label<'de, D: Deserializer<'de>>(d: D) -> Result<Label, D::Error> {
    let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
    Ok(label(&s))
}

/// An activity's code and description: one shared copy per pair, given by [`Act::new`] (an org has
/// few, its shifts many).
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    pub code: Label,
    pub desc: Label,
}

/// One entry of the process-wide kinds table: a kind, and the length of the activities that name
/// it when that length does not fit an [`Act`]'s 32 bits (`None` for every other activity).
struct KindEntry {
    kind: Kind,
    long_len: Option<i64>,
}

/// The kinds table's entries are in chunks of this many, allocated as needed and never moved, so
/// an entry is read without a lock.
const KIND_CHUNK: usize = 1024;

/// The kinds table: entry `i` is in chunk `i / KIND_CHUNK`; written once each, under `KINDS`.
static KIND_TABLE: [OnceLock<Box<[OnceLock<KindEntry>]>>; 4096] = [const { OnceLock::new() }; 4096];

/// The index of the one entry of `(code, desc, long_len)` in the kinds table, made on first use
/// (interned for the life of the process like [`label`]). Two equal entries are therefore one
/// index, which [`Act`]'s equality and hash rely on.
fn kind(code: &str, desc: &str, long_len: Option<i64>) -> u32 {
    /// Entries by code and description (activities whose length fits 32 bits), and by code,
    /// description and length (the others); `n` entries in all.
    #[derive(Default)]
    struct Kinds {
        short: FxHashMap<Label, FxHashMap<Label, u32>>,
        long: FxHashMap<(Label, Label, i64), u32>,
        n: usize,
    }
    static KINDS: LazyLock<Mutex<Kinds>> = LazyLock::new(Mutex::default);
    let mut kinds = KINDS.lock().expect("kinds");
    let found = match long_len {
        None => kinds.short.get(code).and_then(|d| d.get(desc)).copied(),
        Some(l) => kinds.long.get(&(label(code), label(desc), l)).copied(),
    };
    if let Some(i) = found {
        return i;
    }
    let i = kinds.n;
    let chunk = KIND_TABLE
        .get(i / KIND_CHUNK)
        .expect("fewer than 4 M distinct activity codes and descriptions");
    let entries = chunk.get_or_init(|| (0..KIND_CHUNK).map(|_| OnceLock::new()).collect());
    let (code, desc) = (label(code), label(desc));
    let entry = KindEntry {
        kind: Kind {
            code: code.clone(),
            desc: desc.clone(),
        },
        long_len,
    };
    if entries[i % KIND_CHUNK].set(entry).is_err() {
        unreachable!("kind {i} set twice");
    }
    match long_len {
        None => {
            kinds.short.entry(code).or_default().insert(desc, i as u32);
        }
        Some(l) => {
            kinds.long.insert((code, desc, l), i as u32);
        }
    }
    kinds.n += 1;
    i as u32
}

/// Entry `i` of the kinds table (given by [`kind`], so written before).
fn kind_entry(i: u32) -> &'static KindEntry {
    let i = i as usize;
    KIND_TABLE[i / KIND_CHUNK]
        .get()
        .and_then(|c| c[i % KIND_CHUNK].get())
        .expect("an index the kinds table gave")
}

/// The kinds table's entry of an activity code and description, for [`Act::of_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindId(u32);

/// The kinds table's entry of `(code, desc)` (made on first use, like [`Act::new`]).
pub fn kind_id(code: &str, desc: &str) -> KindId {
    KindId(kind(code, desc, None))
}

/// The 32-bit form of an activity's length, and `LONG_LEN` when the length is in the kinds table.
const LONG_LEN: i32 = i32::MIN;

/// One activity of a shift: its start (UTC seconds), its length in minutes, and its interned code
/// and description (16 bytes: the start, the length in 32 bits, and the index of its code and
/// description in the process-wide kinds table, which also holds a length that does not fit 32
/// bits). Ordered by start, length, code, description; written as `{"start","len","code","desc"}`
/// (the journal's form, which [`super::desired::week_digest`] hashes).
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "ActJson")]
pub struct Act {
    pub start: i64,
    len: i32,
    kind: u32,
}

impl Act {
    pub fn new(start: i64, len: i64, code: &str, desc: &str) -> Act {
        match i32::try_from(len) {
            Ok(l) if l != LONG_LEN => Act {
                start,
                len: l,
                kind: kind(code, desc, None),
            },
            _ => Act {
                start,
                len: LONG_LEN,
                kind: kind(code, desc, Some(len)),
            },
        }
    }

    /// [`Act::new`] of an activity whose code and description are kind `k` ([`kind_id`]): equal
    /// to it, without looking the pair up.
    pub fn of_kind(start: i64, len: i64, k: KindId, code: &str, desc: &str) -> Act {
        match i32::try_from(len) {
            Ok(l) if l != LONG_LEN => Act {
                start,
                len: l,
                kind: k.0,
            },
            _ => Act::new(start, len, code, desc),
        }
    }

    /// Its three fields as stored (start, the 32-bit length or `LONG_LEN`, the kinds table's
    /// index), for [`super::changes`]' compact form; [`Act::from_raw`] gives it back.
    pub(super) fn raw(&self) -> (i64, i32, u32) {
        (self.start, self.len, self.kind)
    }

    /// The activity whose [`Act::raw`] this is (fields of an activity made in this process).
    pub(super) fn from_raw(start: i64, len: i32, kind: u32) -> Act {
        Act { start, len, kind }
    }

    /// The length in minutes.
    pub fn minutes(&self) -> i64 {
        if self.len == LONG_LEN {
            kind_entry(self.kind).long_len.unwrap_or_default()
        } else {
            i64::from(self.len)
        }
    }

    fn kind(&self) -> &'static Kind {
        &kind_entry(self.kind).kind
    }

    pub fn code(&self) -> &Label {
        &self.kind().code
    }

    pub fn desc(&self) -> &Label {
        &self.kind().desc
    }

    /// The same activity with another description.
    pub fn with_desc(&self, desc: &str) -> Act {
        Act::new(self.start, self.minutes(), self.code(), desc)
    }

    /// The same activity with another code.
    pub fn with_code(&self, code: &str) -> Act {
        Act::new(self.start, self.minutes(), code, self.desc())
    }
}

impl Ord for Act {
    fn cmp(&self, o: &Act) -> std::cmp::Ordering {
        self.start
            .cmp(&o.start)
            .then_with(|| {
                if self.len != LONG_LEN && o.len != LONG_LEN {
                    self.len.cmp(&o.len)
                } else {
                    self.minutes().cmp(&o.minutes())
                }
            })
            .then_with(|| {
                if self.kind == o.kind {
                    std::cmp::Ordering::Equal
                } else {
                    self.kind().cmp(o.kind())
                }
            })
    }
}

impl PartialOrd for Act {
    fn partial_cmp(&self, o: &Act) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl std::fmt::Debug for Act {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Act")
            .field("start", &self.start)
            .field("len", &self.minutes())
            .field("kind", self.kind())
            .finish()
    }
}

impl Serialize for Act {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Act", 4)?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("len", &self.minutes())?;
        st.serialize_field("code", &**self.code())?;
        st.serialize_field("desc", &**self.desc())?;
        st.end()
    }
}

/// An activity as the journal writes it.
#[derive(Deserialize)]
struct ActJson {
    start: i64,
    len: i64,
    #[serde(deserialize_with = "de_label")]
    code: Label,
    #[serde(deserialize_with = "de_label")]
    desc: Label,
}

impl From<ActJson> for Act {
    fn from(a: ActJson) -> Act {
        Act::new(a.start, a.len, &a.code, &a.desc)
    }
}

struct Interner {
    set: FxHashSet<Acts>,
    purge_at: usize,
}

/// The interner purges no sooner than this many lists.
const MIN_PURGE: usize = 4096;

static LISTS: LazyLock<Mutex<Interner>> = LazyLock::new(|| {
    Mutex::new(Interner {
        set: FxHashSet::default(),
        purge_at: MIN_PURGE,
    })
});

/// A shift's activities: sorted, and one shared copy per distinct list (see [`acts`]), so a
/// shift's clones (a merge's writes, a link's base) and equal shifts read from the desired state
/// and from Genesys share one allocation.
pub type Acts = Arc<[Act]>;

/// The one shared copy of these activities, sorted. Lists are interned while something holds
/// them: the interner drops the lists only it holds whenever it has doubled since it last did, so
/// it never holds more than about twice the lists alive.
pub fn acts(mut v: Vec<Act>) -> Acts {
    v.sort();
    let mut i = LISTS.lock().expect("activity lists");
    if let Some(a) = i.set.get(&v[..]) {
        return a.clone();
    }
    if i.set.len() >= i.purge_at {
        i.set.retain(|a| Arc::strong_count(a) > 1);
        i.purge_at = (2 * i.set.len()).max(MIN_PURGE);
        let keep = i.purge_at;
        i.set.shrink_to(keep);
    }
    let a: Acts = Arc::from(v);
    i.set.insert(a.clone());
    a
}

fn ser_acts<S: serde::Serializer>(a: &Acts, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(a.iter())
}

/// A shift's content: who, when, how long, and its activities. Two shifts are "the same" exactly when
/// their contents are equal (the Genesys shift id is not content). Its activities are always sorted
/// (the canonical form every comparison uses), however Genesys or the export ordered them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "ContentJson")]
pub struct Content {
    #[serde(serialize_with = "ser_label")]
    pub user: Label,
    pub start: i64,
    pub len: i64,
    #[serde(serialize_with = "ser_acts")]
    pub acts: Acts,
}

/// A shift's content as the journal writes it.
#[derive(Deserialize)]
struct ContentJson {
    #[serde(deserialize_with = "de_label")]
    user: Label,
    start: i64,
    len: i64,
    acts: Vec<Act>,
}

impl From<ContentJson> for Content {
    fn from(c: ContentJson) -> Content {
        Content::new(c.user, c.start, c.len, c.acts)
    }
}

impl Content {
    /// A shift of `user`, its activities sorted and shared (see [`acts`]).
    pub fn new(user: Label, start: i64, len: i64, acts: Vec<Act>) -> Content {
        Content {
            user,
            start,
            len,
            acts: self::acts(acts),
        }
    }

    /// A shift of `user`, its activities sorted but not shared (a content only serialized, then
    /// dropped: it does not go through the interner). Equal to [`Content::new`]'s.
    pub fn unshared(user: Label, start: i64, len: i64, mut acts: Vec<Act>) -> Content {
        acts.sort();
        Content {
            user,
            start,
            len,
            acts: Arc::from(acts),
        }
    }

    /// The same shift with its activities changed by `f` (sorted and shared again).
    pub fn with_acts(&self, f: impl FnOnce(&mut Vec<Act>)) -> Content {
        let mut v = self.acts.to_vec();
        f(&mut v);
        Content::new(self.user.clone(), self.start, self.len, v)
    }

    /// Equal in user, start, length and activities' codes and times: equal but for the
    /// activities' descriptions, which are labels (a planner's "Meal" where the export says
    /// "Lunch" is the same shift). Activities are sorted by start, length and code first, so the
    /// comparison is order-independent.
    pub fn same_shape(&self, o: &Content) -> bool {
        self.user == o.user
            && self.start == o.start
            && self.len == o.len
            && self.acts.len() == o.acts.len()
            && self.acts.iter().zip(o.acts.iter()).all(|(a, b)| {
                a.start == b.start && a.minutes() == b.minutes() && a.code() == b.code()
            })
    }

    pub fn end(&self) -> i64 {
        self.start + self.len * 60
    }

    /// Whether two shifts of one agent overlap in time.
    pub fn overlaps(&self, o: &Content) -> bool {
        self.user == o.user && self.start < o.end() && o.start < self.end()
    }

    /// From an API shift of `user`; `None` when an instant is unreadable.
    pub fn from_api(user: &str, s: &m::BuAgentScheduleShift) -> Option<Content> {
        let secs = |t: &str| m::parse_instant(t).ok().map(|d| d.timestamp());
        let mut acts = Vec::with_capacity(s.activities.len());
        for a in &s.activities {
            acts.push(Act::new(
                secs(&a.start_date)?,
                a.length_minutes,
                &a.activity_code_id,
                &a.description,
            ));
        }
        Some(Content::new(
            label(user),
            secs(&s.start_date)?,
            s.length_minutes,
            acts,
        ))
    }

    fn instant(secs: i64) -> String {
        m::format_instant(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }

    fn api_acts(&self) -> Vec<m::BuAgentScheduleActivity> {
        self.acts
            .iter()
            .map(|a| m::BuAgentScheduleActivity {
                start_date: Content::instant(a.start),
                length_minutes: a.minutes(),
                description: a.desc().to_string(),
                activity_code_id: a.code().to_string(),
                paid: None,
                time_off_request_id: None,
            })
            .collect()
    }

    /// The shift of an import.
    pub fn to_import(&self) -> m::BuAgentScheduleShift {
        m::BuAgentScheduleShift {
            id: None,
            start_date: Content::instant(self.start),
            length_minutes: self.len,
            activities: self.api_acts(),
            manually_edited: None,
        }
    }

    /// The shift of an update: added (no id) or replacing `id`.
    pub fn to_update(&self, id: Option<&str>) -> m::BuUpdateAgentScheduleShift {
        m::BuUpdateAgentScheduleShift {
            id: id.map(str::to_string),
            start_date: Some(Content::instant(self.start)),
            length_minutes: Some(self.len),
            activities: Some(self.api_acts()),
            delete: None,
        }
    }

    /// Compact JSON for the journal and the crosswalk's base.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("content serializes")
    }

    pub fn from_json(s: &str) -> Option<Content> {
        serde_json::from_str::<Content>(s).ok()
    }

    /// The crosswalk's stored base (`xw_shifts.base`, schema 15): a compact BLOB that
    /// [`Content::from_stored`] reads back to an equal content, whatever its texts and times.
    /// `row_user` is the `user_id` of the row it is written in: when it equals the shift's user,
    /// the user is not repeated. See [`stored`] for the layout.
    pub fn to_stored(&self, row_user: Option<&str>) -> Vec<u8> {
        stored::encode(self, row_user)
    }

    /// The content of a stored base written by [`Content::to_stored`] in a row whose `user_id` is
    /// `row_user`; `None` when the bytes are not such a base.
    pub fn from_stored(b: &[u8], row_user: Option<&str>) -> Option<Content> {
        stored::decode(b, row_user, &mut |_| None)
    }

    /// The crosswalk's stored base of schema 16: [`Content::to_stored`]'s form with each
    /// activity's (code, description) pair replaced by its id in the db-wide dictionary
    /// `xw_shift_pairs`; `pair_id` gives (interning as needed) the id of a pair.
    pub fn to_stored_pairs<E>(
        &self,
        row_user: Option<&str>,
        pair_id: &mut dyn FnMut(&str, &str) -> Result<u64, E>,
    ) -> Result<Vec<u8>, E> {
        stored::encode_pairs(self, row_user, pair_id)
    }

    /// The content of a stored base of schema 15 ([`Content::to_stored`]) or 16
    /// ([`Content::to_stored_pairs`]); `pair` gives the (code, description) of a dictionary id,
    /// `None` when there is none (the base then reads as `None`).
    pub fn from_stored_pairs(
        b: &[u8],
        row_user: Option<&str>,
        pair: &mut dyn FnMut(u64) -> Option<(String, String)>,
    ) -> Option<Content> {
        stored::decode(b, row_user, pair)
    }
}

/// The stored base's layout (schema 15), in order; integers are LEB128 varints, signed ones
/// zigzagged first:
/// - a tag: 1 when the user is the row's `user_id` (not repeated), 2 when an id follows;
/// - the user (tag 2 only), an *id*: varint 0 then the 16 bytes of a canonical lowercase UUID
///   ([`crate::store::uuid16`]), else varint n + 1 then the n bytes of its text;
/// - the shift's start, a *time* (below) from 0; its length in minutes (signed);
/// - the number of distinct (code, description) pairs, then each: its code (an id), its
///   description (varint byte length, then the bytes);
/// - the number of activities, then each in the content's (sorted) order: its start, a time
///   from the previous activity's end (its start + 60 × its minutes; the first: from the shift's
///   start), so back-to-back activities take one byte; its minutes (signed); the index of its
///   pair.
///
///
/// Schema 16 ([`Content::to_stored_pairs`]): tag 3 (the user is the row's) or 4 (an id follows),
/// the user as above, the start and length as above, then no pairs: the number of activities and
/// each as above but with, in place of the pair's index, the varint id of its (code, description)
/// in the db-wide dictionary `xw_shift_pairs`. Readers take both forms (migration 16 rewrites
/// every schema-15 blob it can read; one it cannot stays and reads as before).
///
/// A *time* t from p: d = t - p (in 128 bits, as p is, so nothing overflows); varint of
/// zigzag(d / 60) * 2 when d is a whole number of minutes, else zigzag(d) * 2 + 1.
/// Reading fails (`None`) on a short, long or out-of-range blob, never panics.
mod stored {
    use super::{Act, Content, KindId, kind_id, label};
    use crate::store::uuid16;

    pub(super) const USER_IS_ROW: u8 = 1;
    pub(super) const USER_FOLLOWS: u8 = 2;
    /// Schema 16: as 1 and 2, each activity naming its pair by its id in `xw_shift_pairs`.
    pub(super) const USER_IS_ROW_PAIRS: u8 = 3;
    pub(super) const USER_FOLLOWS_PAIRS: u8 = 4;

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

    fn unzigzag(v: u128) -> i128 {
        ((v >> 1) as i128) ^ -((v & 1) as i128)
    }

    fn id(out: &mut Vec<u8>, s: &str) {
        match uuid16::pack(s) {
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

    fn text(out: &mut Vec<u8>, s: &str) {
        varint(out, s.len() as u128);
        out.extend_from_slice(s.as_bytes());
    }

    fn time(out: &mut Vec<u8>, t: i64, from: i128) {
        let d = i128::from(t) - from;
        if d % 60 == 0 {
            varint(out, zigzag(d / 60) << 1);
        } else {
            varint(out, (zigzag(d) << 1) | 1);
        }
    }

    /// A base's head, the same in both forms: the tag (`tags[0]` when the user is the row's, which
    /// is then left out; else `tags[1]` and the user), the start and the length.
    fn head(out: &mut Vec<u8>, c: &Content, row_user: Option<&str>, tags: [u8; 2]) {
        if row_user == Some(&*c.user) {
            out.push(tags[0]);
        } else {
            out.push(tags[1]);
            id(out, &c.user);
        }
        time(out, c.start, 0);
        varint(out, zigzag(i128::from(c.len)));
    }

    pub(super) fn encode(c: &Content, row_user: Option<&str>) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 8 * c.acts.len());
        head(&mut out, c, row_user, [USER_IS_ROW, USER_FOLLOWS]);
        // The distinct pairs in order of first use (a shift has a handful).
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut idx = Vec::with_capacity(c.acts.len());
        for a in c.acts.iter() {
            let p = (&**a.code(), &**a.desc());
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
            text(&mut out, desc);
        }
        varint(&mut out, c.acts.len() as u128);
        let mut prev = i128::from(c.start);
        for (a, i) in c.acts.iter().zip(idx) {
            time(&mut out, a.start, prev);
            prev = i128::from(a.start) + 60 * i128::from(a.minutes());
            varint(&mut out, zigzag(i128::from(a.minutes())));
            varint(&mut out, i as u128);
        }
        out
    }

    pub(super) fn encode_pairs<E>(
        c: &Content,
        row_user: Option<&str>,
        pair_id: &mut dyn FnMut(&str, &str) -> Result<u64, E>,
    ) -> Result<Vec<u8>, E> {
        let mut out = Vec::with_capacity(16 + 4 * c.acts.len());
        head(
            &mut out,
            c,
            row_user,
            [USER_IS_ROW_PAIRS, USER_FOLLOWS_PAIRS],
        );
        varint(&mut out, c.acts.len() as u128);
        let mut prev = i128::from(c.start);
        // The last pair looked up: consecutive activities often share one.
        let mut last: Option<(&str, &str, u64)> = None;
        for a in c.acts.iter() {
            time(&mut out, a.start, prev);
            prev = i128::from(a.start) + 60 * i128::from(a.minutes());
            varint(&mut out, zigzag(i128::from(a.minutes())));
            let (code, desc) = (&**a.code(), &**a.desc());
            let k = match last {
                Some((c0, d0, k)) if c0 == code && d0 == desc => k,
                _ => pair_id(code, desc)?,
            };
            last = Some((code, desc, k));
            varint(&mut out, u128::from(k));
        }
        Ok(out)
    }

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

        fn varint(&mut self) -> Option<u128> {
            let mut v: u128 = 0;
            for shift in (0..128).step_by(7) {
                let x = self.byte()?;
                let part = u128::from(x & 0x7f);
                if shift > 0 && part >> (128 - shift) != 0 {
                    return None;
                }
                v |= part << shift;
                if x & 0x80 == 0 {
                    return Some(v);
                }
            }
            None
        }

        fn usize(&mut self) -> Option<usize> {
            usize::try_from(self.varint()?).ok()
        }

        fn signed(&mut self) -> Option<i64> {
            i64::try_from(unzigzag(self.varint()?)).ok()
        }

        fn text(&mut self, n: usize) -> Option<&'a str> {
            std::str::from_utf8(self.bytes(n)?).ok()
        }

        /// An id: `Ok` the text's bytes, or `Err` the 16 bytes of a packed UUID.
        fn id(&mut self) -> Option<Result<&'a str, &'a [u8; 16]>> {
            match self.usize()? {
                0 => Some(Err(self.bytes(16)?.try_into().ok()?)),
                n => Some(Ok(self.text(n - 1)?)),
            }
        }

        fn time(&mut self, from: i128) -> Option<i64> {
            let v = self.varint()?;
            let d = unzigzag(v >> 1);
            let d = if v & 1 == 0 { d.checked_mul(60)? } else { d };
            i64::try_from(from.checked_add(d)?).ok()
        }
    }

    fn id_text<'a>(id: Result<&'a str, &'a [u8; 16]>) -> std::borrow::Cow<'a, str> {
        match id {
            Ok(s) => s.into(),
            Err(b) => uuid16::unpack(b).into(),
        }
    }

    pub(super) fn decode(
        b: &[u8],
        row_user: Option<&str>,
        pair: &mut dyn FnMut(u64) -> Option<(String, String)>,
    ) -> Option<Content> {
        let mut r = Reader { b };
        let tag = r.byte()?;
        let user = match tag {
            USER_IS_ROW | USER_IS_ROW_PAIRS => label(row_user?),
            USER_FOLLOWS | USER_FOLLOWS_PAIRS => label(&id_text(r.id()?)),
            _ => return None,
        };
        if tag == USER_IS_ROW_PAIRS || tag == USER_FOLLOWS_PAIRS {
            return decode_pairs(r, user, pair);
        }
        let start = r.time(0)?;
        let len = r.signed()?;
        let n = r.usize()?;
        let mut pairs: Vec<(KindId, String, &str)> = Vec::with_capacity(n.min(r.b.len()));
        for _ in 0..n {
            let code = id_text(r.id()?).into_owned();
            let m = r.usize()?;
            let desc = r.text(m)?;
            pairs.push((kind_id(&code, desc), code, desc));
        }
        let n = r.usize()?;
        let mut acts = Vec::with_capacity(n.min(r.b.len()));
        let mut prev = i128::from(start);
        for _ in 0..n {
            let at = r.time(prev)?;
            let minutes = r.signed()?;
            prev = i128::from(at) + 60 * i128::from(minutes);
            let (k, code, desc) = pairs.get(r.usize()?)?;
            acts.push(Act::of_kind(at, minutes, *k, code, desc));
        }
        if !r.b.is_empty() {
            return None;
        }
        Some(Content::new(user, start, len, acts))
    }

    fn decode_pairs(
        mut r: Reader<'_>,
        user: super::Label,
        pair: &mut dyn FnMut(u64) -> Option<(String, String)>,
    ) -> Option<Content> {
        let start = r.time(0)?;
        let len = r.signed()?;
        let n = r.usize()?;
        let mut seen: Vec<(u64, KindId, String, String)> = Vec::new();
        let mut acts = Vec::with_capacity(n.min(r.b.len()));
        let mut prev = i128::from(start);
        for _ in 0..n {
            let at = r.time(prev)?;
            let minutes = r.signed()?;
            prev = i128::from(at) + 60 * i128::from(minutes);
            let k = u64::try_from(r.varint()?).ok()?;
            let i = match seen.iter().position(|s| s.0 == k) {
                Some(i) => i,
                None => {
                    let (code, desc) = pair(k)?;
                    seen.push((k, kind_id(&code, &desc), code, desc));
                    seen.len() - 1
                }
            };
            let (_, kind, code, desc) = &seen[i];
            acts.push(Act::of_kind(at, minutes, *kind, code, desc));
        }
        if !r.b.is_empty() {
            return None;
        }
        Some(Content::new(user, start, len, acts))
    }
}

/// A shift of the desired state (`desired_shifts`), ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub legacy: String,
    pub mu: Label,
    pub content: Content,
}

/// What the crosswalk knows of a legacy shift of this week: the Genesys shift it went to and the
/// content zd2gc last wrote or adopted there (the merge's base).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub legacy: String,
    pub gid: String,
    pub base: Option<Content>,
}

/// One agent schedule as read from Genesys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentView {
    pub version: i64,
    pub shifts: Vec<(String, Content)>,
    /// Ids of the shifts that carry time off (an activity with a `timeOffRequestId`): never
    /// adopted, replaced or deleted by a merge.
    pub time_off: Vec<String>,
}

/// The schedule of a business-unit week as read from Genesys (for the management units read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekView {
    pub schedule_id: String,
    /// The schedule's own week (a multi-week schedule may start before this week).
    pub week_date: String,
    pub version: i64,
    pub ours: bool,
    /// Schedules carrying this migration's marker in the week's list (more than one is a defect
    /// `verify` reports); counted when the list was read.
    pub ours_in_week: usize,
    pub agents: std::collections::BTreeMap<String, AgentView>,
}

impl WeekView {
    /// The schedule alone, without its agent schedules.
    pub fn header(self) -> WeekView {
        WeekView {
            agents: Default::default(),
            ..self
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Labels are shared, whichever way a shift was made (the desired state, an API shift, a
    /// journaled base): equal texts are one allocation.
    #[test]
    fn labels_are_one_copy_whatever_made_the_shift() {
        let api = m::BuAgentScheduleShift {
            id: Some("g".into()),
            start_date: "2026-10-19T08:00:00.000Z".into(),
            length_minutes: 60,
            activities: vec![m::BuAgentScheduleActivity {
                start_date: "2026-10-19T08:00:00.000Z".into(),
                length_minutes: 60,
                description: "Shared description".into(),
                activity_code_id: "shared-code".into(),
                paid: None,
                time_off_request_id: None,
            }],
            manually_edited: None,
        };
        let a = Content::from_api("shared-user", &api).unwrap();
        let b = Content::from_json(&a.to_json()).unwrap();
        assert_eq!(a, b);
        assert!(Arc::ptr_eq(&a.user, &b.user));
        assert!(Arc::ptr_eq(a.acts[0].code(), b.acts[0].code()));
        assert!(Arc::ptr_eq(a.acts[0].desc(), b.acts[0].desc()));
        assert!(Arc::ptr_eq(a.acts[0].code(), &label("shared-code")));
        assert!(!Arc::ptr_eq(a.acts[0].code(), a.acts[0].desc()));
        // Equal activity lists are one allocation too.
        assert!(Arc::ptr_eq(&a.acts, &b.acts));
    }

    /// An activity list is one copy while anything holds it, and the interner forgets the lists
    /// nothing else holds: it stays within about twice the lists alive, however many pass.
    #[test]
    fn activity_lists_are_shared_while_held_and_forgotten_after() {
        let list = || {
            vec![
                Act::new(7, 2, "held-code", "d"),
                Act::new(1, 2, "held-code", "d"),
            ]
        };
        let held = acts(list());
        assert_eq!(held[0].start, 1, "sorted");
        for i in 0..3 * MIN_PURGE as i64 {
            // Distinct lists, each dropped at once.
            drop(acts(vec![Act::new(i, 1, "passing-code", "d")]));
        }
        assert!(Arc::ptr_eq(&held, &acts(list())));
        let n = LISTS.lock().unwrap().set.len();
        // Other tests intern a few lists of their own meanwhile.
        assert!(n <= 2 * MIN_PURGE, "{n} lists interned");
    }

    /// An activity is 16 bytes (a week of the whole export holds hundreds of thousands).
    #[test]
    fn an_activity_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Act>(), 16);
    }

    /// The oracle: an activity as the plain tuple it stands for.
    fn tuple(a: &Act) -> (i64, i64, String, String) {
        (
            a.start,
            a.minutes(),
            a.code().to_string(),
            a.desc().to_string(),
        )
    }

    fn any_act() -> impl Strategy<Value = (i64, i64, String, String)> {
        // Few starts, lengths and texts, so that ties reach the later fields; lengths at and past
        // the 32-bit edges; texts made in any order (the kinds table's order is not theirs).
        let len = prop_oneof![
            -2i64..3,
            Just(i64::from(i32::MIN)),
            Just(i64::from(i32::MIN) + 1),
            Just(i64::from(i32::MAX)),
            Just(i64::from(i32::MAX) + 1),
            Just(i64::MIN),
            Just(i64::MAX),
        ];
        let text = prop::sample::select(vec!["", "a", "b", "zz", "Lunch \"x\" é"]);
        (0i64..3, len, text.clone(), text)
            .prop_map(|(s, l, c, d)| (s, l, format!("order-{c}"), d.to_string()))
    }

    use proptest::prelude::*;

    proptest! {
        /// Activities sort, compare, hash and serialise exactly as the tuples
        /// (start, len, code, desc) they hold, lengths beyond 32 bits included.
        #[test]
        fn activities_behave_as_their_tuples(v in prop::collection::vec(any_act(), 0..24)) {
            let mut acts: Vec<Act> = v.iter().map(|(s, l, c, d)| Act::new(*s, *l, c, d)).collect();
            for (a, t) in acts.iter().zip(&v) {
                prop_assert_eq!(&tuple(a), t);
                let text = |s: &str| serde_json::to_string(s).unwrap();
                let json = format!(
                    r#"{{"start":{},"len":{},"code":{},"desc":{}}}"#,
                    t.0,
                    t.1,
                    text(&t.2),
                    text(&t.3)
                );
                prop_assert_eq!(serde_json::to_string(a).unwrap(), json.clone());
                let back: Act = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(&back, a);
            }
            for (a, x) in acts.iter().zip(&v) {
                for (b, y) in acts.iter().zip(&v) {
                    prop_assert_eq!(a.cmp(b), x.cmp(y), "{:?} {:?}", x, y);
                    prop_assert_eq!(a == b, x == y);
                    if a == b {
                        let h = |a: &Act| {
                            use std::hash::{BuildHasher, BuildHasherDefault};
                            BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(a)
                        };
                        prop_assert_eq!(h(a), h(b));
                    }
                }
            }
            let mut sorted = v.clone();
            sorted.sort();
            acts.sort();
            prop_assert_eq!(acts.iter().map(tuple).collect::<Vec<_>>(), sorted);
        }
    }

    /// Ids as an org or an export may spell them: canonical UUIDs (packed when stored), near
    /// misses that must stay text, and odd texts.
    pub(crate) fn any_id() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("00000000-0000-4000-8000-0000000000aa".to_string()),
            Just("ffffffff-ffff-ffff-ffff-ffffffffffff".to_string()),
            Just("00000000-0000-4000-8000-0000000000AA".to_string()),
            Just("{00000000-0000-4000-8000-0000000000aa}".to_string()),
            Just("00000000000040008000000000000000aa00".to_string()),
            Just("00000000-0000-4000-8000-0000000000a".to_string()),
            Just(String::new()),
            Just("7".to_string()),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[0-9a-g-]{36}",
            any::<String>(),
        ]
    }

    fn any_time() -> impl Strategy<Value = i64> {
        prop_oneof![
            1_788_000_000i64..1_790_000_000,
            (29_800_000i64..29_830_000).prop_map(|m| m * 60),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(i64::MIN + 59),
            Just(i64::MAX - 59),
            Just(0),
            any::<i64>(),
        ]
    }

    fn any_minutes() -> impl Strategy<Value = i64> {
        prop_oneof![
            0i64..600,
            -600i64..0,
            Just(i64::from(i32::MIN)),
            Just(i64::from(i32::MAX) + 1),
            Just(i64::MIN),
            Just(i64::MAX),
            any::<i64>(),
        ]
    }

    pub(crate) fn any_content() -> impl Strategy<Value = Content> {
        let desc = prop_oneof![
            Just("On Queue Work".to_string()),
            Just(String::new()),
            Just("Lunch \"x\" é\u{0}\n\\".to_string()),
            any::<String>(),
        ];
        let kind = (any_id(), desc);
        (
            any_id(),
            any_time(),
            any_minutes(),
            prop::collection::vec(kind, 1..4),
            prop::collection::vec((any_time(), any_minutes(), 0usize..4), 0..12),
            any::<bool>(),
        )
            .prop_map(|(user, start, len, kinds, acts, near)| {
                let acts = acts
                    .into_iter()
                    .map(|(t, m, k)| {
                        let (code, desc) = &kinds[k % kinds.len()];
                        // Activities near the shift's start (small deltas) or anywhere.
                        let t = if near {
                            start.wrapping_add(t % 100_000)
                        } else {
                            t
                        };
                        Act::new(t, m, code, desc)
                    })
                    .collect();
                Content::new(label(&user), start, len, acts)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The stored base reads back as the content its JSON (the journal's form until schema
        /// 14, the oracle) reads back as, in a row of the shift's own user, of another user and
        /// of none; the user is left out exactly when it is the row's.
        #[test]
        fn stored_base_reads_back_as_its_json(c in any_content(), other in any_id()) {
            let oracle = Content::from_json(&c.to_json()).unwrap();
            prop_assert_eq!(&oracle, &c);
            for row in [Some(&*c.user), Some(other.as_str()), None] {
                let b = c.to_stored(row);
                prop_assert_eq!(b[0] == stored::USER_IS_ROW, row == Some(&*c.user));
                let back = Content::from_stored(&b, row);
                prop_assert_eq!(back.as_ref(), Some(&oracle), "{:?}", b);
                // A stored base is exactly its bytes: none missing, none extra.
                prop_assert_eq!(Content::from_stored(&b[..b.len() - 1], row), None);
                let mut longer = b.clone();
                longer.push(0);
                prop_assert_eq!(Content::from_stored(&longer, row), None);
            }
        }

        /// Schema 16's base (pairs by their id in a dictionary) reads back as the content its
        /// schema-15 base (the oracle) reads back as, in a row of the shift's own user, of another
        /// user and of none; the user is left out exactly when it is the row's; a missing pair,
        /// a byte missing or one extra reads as no base; the pairs section is gone.
        #[test]
        fn pairs_base_reads_back_as_its_schema_15_form(c in any_content(), other in any_id()) {
            let mut dict: Vec<(String, String)> = Vec::new();
            for row in [Some(&*c.user), Some(other.as_str()), None] {
                let oracle = Content::from_stored(&c.to_stored(row), row);
                let b = c
                    .to_stored_pairs(row, &mut |code, desc| {
                        let p = (code.to_string(), desc.to_string());
                        Ok::<_, ()>(match dict.iter().position(|q| *q == p) {
                            Some(i) => i as u64 + 1,
                            None => {
                                dict.push(p);
                                dict.len() as u64
                            }
                        })
                    })
                    .unwrap();
                prop_assert_eq!(b[0] == stored::USER_IS_ROW_PAIRS, row == Some(&*c.user));
                prop_assert!(b[0] == stored::USER_IS_ROW_PAIRS || b[0] == stored::USER_FOLLOWS_PAIRS);
                let mut look = |k: u64| dict.get(usize::try_from(k).ok()?.checked_sub(1)?).cloned();
                let back = Content::from_stored_pairs(&b, row, &mut look);
                prop_assert_eq!(back.as_ref(), oracle.as_ref(), "{:?}", b);
                prop_assert!(back.is_some() || row.is_none());
                prop_assert_eq!(Content::from_stored_pairs(&b[..b.len() - 1], row, &mut look), None);
                let mut longer = b.clone();
                longer.push(0);
                prop_assert_eq!(Content::from_stored_pairs(&longer, row, &mut look), None);
                if !c.acts.is_empty() && row.is_some() {
                    prop_assert_eq!(Content::from_stored_pairs(&b, row, &mut |_| None), None);
                }
                // Without its pairs, a base is its activities' times and one id byte each.
                prop_assert!(b.len() <= c.to_stored(row).len() + c.acts.len());
            }
        }

        /// Any bytes read as a content or as nothing, never a panic; what they read as is stored
        /// back as something that reads the same.
        #[test]
        fn any_bytes_read_without_panic(b in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut look = |k: u64| (k < 3).then(|| (format!("c{k}"), "d\u{e9}".to_string()));
            if let Some(c) = Content::from_stored_pairs(&b, Some("row-user"), &mut look) {
                let again = c
                    .to_stored_pairs(Some("row-user"), &mut |code, _| {
                        Ok::<_, ()>(code[1..].parse().unwrap())
                    })
                    .unwrap();
                prop_assert_eq!(
                    Content::from_stored_pairs(&again, Some("row-user"), &mut look),
                    Some(c)
                );
            }
            if let Some(c) = Content::from_stored(&b, Some("row-user")) {
                let again = c.to_stored(Some("row-user"));
                prop_assert_eq!(Content::from_stored(&again, Some("row-user")), Some(c));
            }
        }
    }

    /// The base of a loaded link of the benchmark's org: 7 activities of 4 codes, 857 bytes of
    /// JSON, a sixth of that stored (143 bytes: the four codes and descriptions are most of it).
    #[test]
    fn a_typical_base_is_small() {
        let json = r#"{"user":"00000000-0000-4000-8000-000000000000","start":1788155100,"len":480,"acts":[{"start":1788155100,"len":90,"code":"00000000-0000-4000-8000-0000000000aa","desc":"On Queue Work"},{"start":1788160500,"len":30,"code":"00000000-0000-4000-8000-0000000000a3","desc":"Chat"},{"start":1788162300,"len":90,"code":"00000000-0000-4000-8000-0000000000aa","desc":"On Queue Work"},{"start":1788167700,"len":45,"code":"00000000-0000-4000-8000-0000000000a4","desc":"Training"},{"start":1788170400,"len":75,"code":"00000000-0000-4000-8000-0000000000aa","desc":"On Queue Work"},{"start":1788174900,"len":45,"code":"00000000-0000-4000-8000-0000000000a5","desc":"Team Meeting"},{"start":1788177600,"len":105,"code":"00000000-0000-4000-8000-0000000000aa","desc":"On Queue Work"}]}"#;
        let c = Content::from_json(json).unwrap();
        let b = c.to_stored(Some("00000000-0000-4000-8000-000000000000"));
        assert_eq!(
            Content::from_stored(&b, Some("00000000-0000-4000-8000-000000000000")),
            Some(c)
        );
        assert!(b.len() <= 150, "{} bytes", b.len());
    }

    #[test]
    fn api_round_trip_and_overlap() {
        let c = Content::new(
            "u".into(),
            1_792_393_200,
            480,
            vec![
                Act::new(1_792_396_800, 60, "b", "Email"),
                Act::new(1_792_393_200, 60, "a", "Phone"),
            ],
        );
        let back = Content::from_api("u", &c.to_import()).unwrap();
        assert_eq!(back, c);
        assert_eq!(Content::from_json(&c.to_json()).unwrap(), c);
        let mut later = c.clone();
        later.start = c.end();
        assert!(!c.overlaps(&later));
        later.start -= 60;
        assert!(c.overlaps(&later));
    }
}
