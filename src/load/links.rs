//! A week's crosswalk links in compact form (issue #17): what [`super::journal::links`] reads,
//! kept as bytes and decoded a link at a time.
//!
//! A round of `load --recheck` reads every link of a week (45,000 at a week of the whole
//! benchmark export) before it merges: as [`Link`] values with their bases decoded, about 13 MB,
//! the largest item of a recheck. Here each link is a few bytes in chunks: its legacy id and
//! Genesys id as 16 bytes when they are canonical UUIDs (else their text), and its base, decoded
//! once as it is read, in the form of [`super::changes::LinkChanges`]: the user as an index into a
//! table, instants and activities as variable-length integers (an activity as its start from the
//! previous one, its length, and its index in the process's kinds table). A component's merge
//! decodes its links only ([`LinkStore::get`]); each comes back equal to the one
//! [`super::journal::links`] reads.

use super::changes::{Bases, Cursor, put};
use super::model::{Content, Label, Link};
use crate::store::uuid16;

/// The Genesys id is 16 bytes (else its text).
const GID16: u8 = 1;
/// The legacy id is 16 bytes (else its text).
const LEG16: u8 = 2;
/// A base follows (else the link has none: NULL or unreadable).
const BASE: u8 = 4;

/// The chunk size: a link is written into one chunk, never across two (a longer one has a chunk
/// of its own), so the store grows a chunk at a time, not by doubling.
#[cfg(not(test))]
const CHUNK: usize = 1 << 16;
#[cfg(test)]
const CHUNK: usize = 1 << 6;

/// A week's links, in the order read (see the module's comment).
#[derive(Debug, Default)]
pub struct LinkStore {
    chunks: Vec<Vec<u8>>,
    /// Each link's chunk and offset in it.
    at: Vec<(u32, u32)>,
    /// A link being encoded, before it is copied into a chunk.
    scratch: Vec<u8>,
    bases: Bases,
}

fn put_id(out: &mut Vec<u8>, flags: &mut u8, flag: u8, s: &str) {
    // Packed only when canonical: `unpack` gives back `s`.
    match uuid16::pack(s) {
        Some(b) => {
            *flags |= flag;
            out.extend_from_slice(&b);
        }
        _ => {
            put(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

fn id(c: &mut Cursor<'_>, packed: bool) -> String {
    if packed {
        uuid16::unpack(c.bytes(16).try_into().expect("16 bytes"))
    } else {
        let n = c.get() as usize;
        String::from_utf8(c.bytes(n).to_vec()).expect("text written from a str")
    }
}

/// An id's text: in the chunk, or spelled into `buf` when packed.
fn id_in<'a>(c: &mut Cursor<'a>, packed: bool, buf: &'a mut String) -> &'a str {
    if packed {
        buf.clear();
        uuid16::push_unpacked(c.bytes(16).try_into().expect("16 bytes"), buf);
        buf
    } else {
        let n = c.get() as usize;
        std::str::from_utf8(c.bytes(n)).expect("text written from a str")
    }
}

impl LinkStore {
    pub fn new() -> LinkStore {
        LinkStore::default()
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Add a link of these fields.
    pub fn push_link(&mut self, legacy: &str, gid: &str, base: Option<&Content>) {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        out.push(0);
        let mut flags = 0;
        put_id(&mut out, &mut flags, LEG16, legacy);
        put_id(&mut out, &mut flags, GID16, gid);
        if let Some(b) = base {
            flags |= BASE;
            self.bases.put(&mut out, b);
        }
        out[0] = flags;
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + out.len() <= CHUNK);
        if !fits {
            self.chunks.push(Vec::with_capacity(CHUNK.max(out.len())));
        }
        let n = self.chunks.len() - 1;
        let chunk = &mut self.chunks[n];
        let off = u32::try_from(chunk.len()).expect("a chunk under 4 GiB");
        self.at.push((n as u32, off));
        chunk.extend_from_slice(&out);
        self.scratch = out;
    }

    /// Link `j`'s ids, and a cursor at its base's user if it has a base.
    fn ids(&self, j: usize) -> (String, String, Option<Cursor<'_>>) {
        let (k, o) = self.at[j];
        let mut c = Cursor {
            b: &self.chunks[k as usize],
            at: o as usize,
        };
        let flags = c.byte();
        let legacy = id(&mut c, flags & LEG16 != 0);
        let gid = id(&mut c, flags & GID16 != 0);
        (legacy, gid, (flags & BASE != 0).then_some(c))
    }

    /// Each link's index, legacy id, Genesys id and base user, in order, without decoding the
    /// bases or allocating a link's ids (what a partition needs of the links).
    pub fn each_key(&self, mut f: impl FnMut(usize, &str, &str, Option<&Label>)) {
        let (mut lb, mut gb) = (String::new(), String::new());
        for (j, &(k, o)) in self.at.iter().enumerate() {
            let mut c = Cursor {
                b: &self.chunks[k as usize],
                at: o as usize,
            };
            let flags = c.byte();
            let legacy = id_in(&mut c, flags & LEG16 != 0, &mut lb);
            let gid = id_in(&mut c, flags & GID16 != 0, &mut gb);
            let user = (flags & BASE != 0).then(|| self.bases.user(&mut c));
            f(j, legacy, gid, user);
        }
    }

    /// Link `j`, as pushed.
    pub fn get(&self, j: usize) -> Link {
        let (legacy, gid, c) = self.ids(j);
        let base = c.map(|mut c| self.bases.get(&mut c));
        Link { legacy, gid, base }
    }

    /// Every link, decoded (a fallback's merge of the whole week).
    pub fn to_vec(&self) -> Vec<Link> {
        (0..self.len()).map(|j| self.get(j)).collect()
    }
}

#[cfg(test)]
impl LinkStore {
    /// A store of these links.
    pub fn of(links: &[Link]) -> LinkStore {
        let mut s = LinkStore::new();
        for l in links {
            s.push_link(&l.legacy, &l.gid, l.base.as_ref());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::journal::{self, PackedId};
    use crate::load::model::tests::{any_content, any_id};
    use proptest::prelude::*;
    use rusqlite::{Connection, params};

    /// What a row's `base` column holds.
    #[derive(Debug, Clone)]
    enum Base {
        Null,
        /// The stored BLOB of a content (its user set to the row's when the flag says so).
        Blob(crate::load::model::Content, bool),
        /// The same in schema 16's form: its pairs named by id in `xw_shift_pairs`.
        Pairs(crate::load::model::Content, bool),
        Json(crate::load::model::Content),
        Bytes(Vec<u8>),
        Text(String),
        Int(i64),
    }

    fn any_base() -> impl Strategy<Value = Base> {
        prop_oneof![
            Just(Base::Null),
            (any_content(), any::<bool>()).prop_map(|(c, r)| Base::Blob(c, r)),
            (any_content(), any::<bool>()).prop_map(|(c, r)| Base::Blob(c, r)),
            (any_content(), any::<bool>()).prop_map(|(c, r)| Base::Pairs(c, r)),
            (any_content(), any::<bool>()).prop_map(|(c, r)| Base::Pairs(c, r)),
            any_content().prop_map(Base::Json),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Base::Bytes),
            any::<String>().prop_map(Base::Text),
            any::<i64>().prop_map(Base::Int),
        ]
    }

    fn any_row() -> impl Strategy<Value = (String, String, Option<String>, Base, bool)> {
        (
            any_id(),
            any_id(),
            prop::option::of(any_id()),
            any_base(),
            prop::bool::weighted(0.9),
        )
    }

    fn db(rows: &[(String, String, Option<String>, Base, bool)]) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE xw_shift_rows (legacy_shift_id TEXT, user_id, week_ref INTEGER,
                 genesys_shift_id, base);
             CREATE TABLE xw_shift_weeks (id INTEGER PRIMARY KEY, business_unit_id,
                 week_id TEXT, schedule_id);
             INSERT INTO xw_shift_weeks VALUES (1, 'b', 'w', NULL), (2, 'b', 'other', NULL);
             CREATE TABLE xw_shift_pairs (id INTEGER PRIMARY KEY, code TEXT NOT NULL,
                 description TEXT NOT NULL, UNIQUE (code, description))",
        )
        .unwrap();
        let pair_id = |code: &str, desc: &str| -> rusqlite::Result<u64> {
            c.execute(
                "INSERT OR IGNORE INTO xw_shift_pairs (code, description) VALUES (?1, ?2)",
                [code, desc],
            )?;
            c.query_row(
                "SELECT id FROM xw_shift_pairs WHERE code = ?1 AND description = ?2",
                [code, desc],
                |r| r.get::<_, i64>(0),
            )
            .map(|k| k as u64)
        };
        for (legacy, gid, user, base, here) in rows {
            let week = if *here { 1 } else { 2 };
            let v: rusqlite::types::Value = match base {
                Base::Null => rusqlite::types::Value::Null,
                Base::Blob(content, row) => {
                    let mut content = content.clone();
                    if *row && let Some(u) = user {
                        content.user = crate::load::model::label(u);
                    }
                    rusqlite::types::Value::Blob(content.to_stored(user.as_deref()))
                }
                Base::Pairs(content, row) => {
                    let mut content = content.clone();
                    if *row && let Some(u) = user {
                        content.user = crate::load::model::label(u);
                    }
                    rusqlite::types::Value::Blob(
                        content
                            .to_stored_pairs(user.as_deref(), &mut |code, desc| pair_id(code, desc))
                            .unwrap(),
                    )
                }
                Base::Json(content) => rusqlite::types::Value::Text(content.to_json()),
                Base::Bytes(b) => rusqlite::types::Value::Blob(b.clone()),
                Base::Text(t) => rusqlite::types::Value::Text(t.clone()),
                Base::Int(i) => rusqlite::types::Value::Integer(*i),
            };
            c.execute(
                "INSERT INTO xw_shift_rows VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    legacy,
                    user.as_deref().map(PackedId),
                    week,
                    PackedId(gid),
                    v
                ],
            )
            .unwrap();
        }
        c
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// The store gives back, link by link, what `journal::links` reads (the oracle), and its
        /// accessors the fields of those links. Random bytes that read as a schema-16 base
        /// naming a pair the dictionary lacks are a damaged state: both fail alike.
        #[test]
        fn a_store_reads_as_the_links(rows in prop::collection::vec(any_row(), 0..12)) {
            let c = db(&rows);
            let (want, got) = match (journal::links(&c, "b", "w"), journal::link_store(&c, "b", "w")) {
                (Ok(want), Ok(got)) => (want, got),
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    prop_assert!(a.to_string().contains("missing from xw_shift_pairs"));
                    return Ok(());
                }
                (a, b) => panic!("the readers disagree: {a:?} / {:?}", b.map(|s| s.len())),
            };
            prop_assert_eq!(got.len(), want.len());
            prop_assert_eq!(got.is_empty(), want.is_empty());
            for (j, l) in want.iter().enumerate() {
                prop_assert_eq!(&got.get(j), l);
            }
            let mut keys = Vec::new();
            got.each_key(|j, legacy, gid, user| {
                keys.push((j, legacy.to_string(), gid.to_string(), user.cloned()));
            });
            let want_keys: Vec<_> = want
                .iter()
                .enumerate()
                .map(|(j, l)| (j, l.legacy.clone(), l.gid.clone(), l.base.as_ref().map(|b| b.user.clone())))
                .collect();
            prop_assert_eq!(keys, want_keys);
            prop_assert_eq!(got.to_vec(), want);
        }

        /// `of` (the partition tests' store) holds the links given.
        #[test]
        fn a_store_of_links_holds_them(
            links in prop::collection::vec(
                (any_id(), any_id(), prop::option::of(any_content())), 0..12)) {
            let links: Vec<Link> = links
                .into_iter()
                .map(|(legacy, gid, base)| Link { legacy, gid, base })
                .collect();
            prop_assert_eq!(LinkStore::of(&links).to_vec(), links);
        }
    }
}
