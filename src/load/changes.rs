//! A round's week-wide link bookkeeping in compact form (issue #17): the link changes a round
//! gathers from its components ([`LinkChanges`]) and the legacy ids zd2gc wrote in the week
//! ([`Written`]).
//!
//! A week's adoption round (the read-back after its shifts were written) links every desired shift:
//! 45,000 [`LinkChange::Set`] at a week of the whole benchmark export, kept until the round's plan
//! is complete (a fallback to the week's merge may replace them). As values, each held two
//! strings and a base [`Content`] whose activity list stayed alive after the answer it came from
//! was dropped: about 15 MB at that week, the largest week-sized item of a load. Here each change
//! is a few bytes in one buffer: the legacy id as its index among the week's desired shifts
//! ([`Slot`]), a canonical UUID as 16 bytes, the user as an index into a table, instants and
//! activities as variable-length integers (an activity as its start from the previous one, its
//! length, and its index in the process's kinds table). [`LinkChanges::iter`] gives back each
//! change, equal to the one pushed. Anything that does not fit these forms (a legacy id that is
//! not the slot's, another kind of id) is kept as its bytes: the form is exact for every change.

use super::desired::Slots;
use super::merge::LinkChange;
use super::model::{Act, Content, Label};
use crate::store::uuid16;
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const SET: u8 = 1;
const ADOPTED: u8 = 2;
/// The legacy id is the slot's whose index follows (else its bytes follow).
const BY_SLOT: u8 = 4;
/// The Genesys id is a canonical UUID: 16 bytes follow (else its bytes).
const GID16: u8 = 8;

pub(super) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn put_i(out: &mut Vec<u8>, v: i64) {
    put(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A reader over bytes [`put`] and friends wrote (in this process: never malformed).
pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn byte(&mut self) -> u8 {
        let x = self.b[self.at];
        self.at += 1;
        x
    }

    pub(super) fn get(&mut self) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let x = self.byte();
            v |= u64::from(x & 0x7f) << shift;
            if x < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    pub(super) fn get_i(&mut self) -> i64 {
        let v = self.get();
        ((v >> 1) as i64) ^ -((v & 1) as i64)
    }

    pub(super) fn bytes(&mut self, n: usize) -> &'a [u8] {
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        s
    }

    fn string(&mut self) -> String {
        let n = self.get() as usize;
        String::from_utf8(self.bytes(n).to_vec()).expect("text written from a String")
    }
}

/// Legacy ids of a week's desired shifts ([`Slots`]) looked up by text: a binary search when the
/// slots are in the strict byte order of their ids (as the outline reads them), else a map (which
/// gives the last slot of a repeated id, as a map collected from the slots would).
pub struct SlotIndex<'a> {
    slots: &'a Slots,
    map: Option<HashMap<&'a str, u32>>,
}

impl<'a> SlotIndex<'a> {
    pub fn new(slots: &'a Slots) -> SlotIndex<'a> {
        let sorted = (1..slots.len()).all(|i| slots.legacy(i - 1) < slots.legacy(i));
        let map = (!sorted).then(|| {
            (0..slots.len())
                .map(|i| (slots.legacy(i), i as u32))
                .collect()
        });
        SlotIndex { slots, map }
    }

    /// The index of the slot whose legacy id is `legacy`, if any.
    pub fn find(&self, legacy: &str) -> Option<u32> {
        if let Some(m) = &self.map {
            return m.get(legacy).copied();
        }
        let (mut lo, mut hi) = (0, self.slots.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.slots.legacy(mid).cmp(legacy) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    pub fn slots(&self) -> &'a Slots {
        self.slots
    }
}

/// A set of legacy ids (the ones zd2gc wrote in a week): a bit per slot of the week, and the
/// text of any id that is no slot's.
pub struct Written<'a> {
    index: &'a SlotIndex<'a>,
    bits: Vec<u64>,
    other: HashSet<String>,
}

impl<'a> Written<'a> {
    pub fn new(index: &'a SlotIndex<'a>) -> Written<'a> {
        Written {
            index,
            bits: Vec::new(),
            other: HashSet::new(),
        }
    }

    pub fn insert(&mut self, legacy: &str) {
        match self.index.find(legacy) {
            Some(i) => {
                let (w, b) = ((i / 64) as usize, i % 64);
                if self.bits.len() <= w {
                    self.bits
                        .resize(self.index.slots.len().div_ceil(64).max(w + 1), 0);
                }
                self.bits[w] |= 1 << b;
            }
            None => {
                self.other.insert(legacy.to_string());
            }
        }
    }

    /// Add every slot of the week (not the ids that are no slot's).
    pub fn insert_all(&mut self) {
        let n = self.index.slots.len();
        self.bits = vec![u64::MAX; n.div_ceil(64)];
        if !n.is_multiple_of(64) {
            let last = self.bits.len() - 1;
            self.bits[last] = (1u64 << (n % 64)) - 1;
        }
    }

    pub fn contains(&self, legacy: &str) -> bool {
        match self.index.find(legacy) {
            Some(i) => self
                .bits
                .get((i / 64) as usize)
                .is_some_and(|w| w & (1 << (i % 64)) != 0),
            None => self.other.contains(legacy),
        }
    }

    /// Add every id of `o` (a set over the same slots).
    pub fn union(&mut self, o: &Written<'_>) {
        if self.bits.len() < o.bits.len() {
            self.bits.resize(o.bits.len(), 0);
        }
        for (a, b) in self.bits.iter_mut().zip(&o.bits) {
            *a |= b;
        }
        self.other.extend(o.other.iter().cloned());
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0) && self.other.is_empty()
    }
}

/// A chunk of [`LinkChanges`]' bytes: changes are written into chunks of this size, never across
/// two (one longer has a chunk of its own), so the buffer grows by a chunk, not by doubling. (The
/// tests use small chunks, so that their changes cross chunks and fill some alone.)
#[cfg(not(test))]
const CHUNK: usize = 1 << 16;
#[cfg(test)]
const CHUNK: usize = 1 << 6;

/// Chunks kept in memory before the next ones go to a temporary file (when one was given:
/// [`LinkChanges::spill_to`]). A week of a tenth of the benchmark export needs about 5 of
/// 64 KiB in its adoption round, a week of the whole 50: beyond these the round's memory does not
/// grow with its week.
#[cfg(not(test))]
const IN_MEMORY: usize = 4;
#[cfg(test)]
const IN_MEMORY: usize = 2;

/// Spilled changes read back at a time ([`LinkChanges::iter`]): the changes are read in an order
/// that visits the chunks at random (the round's merge order, not the order the components gave
/// them), so the next this many are gathered from one read of each chunk they are in.
#[cfg(not(test))]
const BATCH: usize = 4096;
#[cfg(test)]
const BATCH: usize = 5;

/// Link changes in chunks of bytes, in order (see the module's comment). Each change is its
/// length then its bytes. Chunks past the first [`IN_MEMORY`] are written to an unlinked,
/// owner-only temporary file in the migration directory once full, and read back from it: the
/// round's link changes are a few chunks in memory whatever the week's size. The file holds
/// nothing the journal depends on (it is gone with the process), so when the changes are written
/// to the state database, and what is written, do not change.
#[derive(Debug, Default)]
pub struct LinkChanges {
    /// The chunks; a chunk in the spill file is empty here.
    chunks: Vec<Vec<u8>>,
    /// Where each change starts, in the changes' order: its chunk's index times [`CHUNK`] plus
    /// its offset in the chunk.
    at: Vec<u32>,
    /// A change being encoded, before it is copied into a chunk.
    scratch: Vec<u8>,
    bases: Bases,
    spill: Spill,
    /// How full a chunk is filled before the next begins: [`CHUNK`] unless the TEST-ONLY hook
    /// `ZD2GC_TEST_LINK_SPILL` lowers it ([`LinkChanges::spill_to`]); 0 is [`CHUNK`].
    fill_to: usize,
}

/// Spilled changes read back ([`LinkChanges::fill`]): those among `start..end`, each at its
/// place in `bytes` (by its index from `start`).
#[derive(Default)]
struct Batch {
    start: usize,
    end: usize,
    bytes: Vec<u8>,
    pos: Vec<(usize, usize)>,
    /// The spilled changes wanted, by place in the file (chunk and offset), and their index.
    want: Vec<(u32, u32)>,
    chunk: Vec<u8>,
}

/// The temporary file of a [`LinkChanges`]' spilled chunks.
#[derive(Debug, Default)]
struct Spill {
    /// Where to make the file (none: every chunk stays in memory).
    dir: Option<std::path::PathBuf>,
    file: Option<std::fs::File>,
    /// Could not be made or written: the chunks stay in memory.
    off: bool,
    /// Each spilled chunk's offset in the file and length, by chunk index.
    place: FxHashMap<usize, (u64, usize)>,
    end: u64,
}

impl Spill {
    /// Write chunk `k` to the file; false (and no more spilling) when it cannot be.
    fn write(&mut self, k: usize, chunk: &[u8]) -> bool {
        use std::io::{Seek, SeekFrom, Write};
        if self.off {
            return false;
        }
        let Some(dir) = &self.dir else {
            return false;
        };
        if self.file.is_none() {
            match tempfile::tempfile_in(dir) {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    tracing::debug!(error = %e, "link changes stay in memory: no spill file");
                    self.off = true;
                    return false;
                }
            }
        }
        let mut f = self.file.as_ref().expect("made above");
        if let Err(e) = f
            .seek(SeekFrom::Start(self.end))
            .and_then(|_| f.write_all(chunk))
        {
            tracing::debug!(error = %e, "link changes stay in memory: the spill file refused a write");
            self.off = true;
            return false;
        }
        self.place.insert(k, (self.end, chunk.len()));
        self.end += chunk.len() as u64;
        abort_hook(false);
        true
    }

    /// Spilled chunk `k`, whole, into `buf`.
    fn read_chunk(&self, k: usize, buf: &mut Vec<u8>) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        abort_hook(true);
        let (at, len) = self.place[&k];
        buf.clear();
        buf.resize(len, 0);
        let mut f = self.file.as_ref().expect("a chunk was spilled");
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(buf)
    }
}

/// TEST-ONLY: `ZD2GC_TEST_ABORT_LINK_SPILL=write:K` aborts the process (as a kill would: no
/// unwinding, no close) just after the K-th (from 0) chunk this process wrote to a spill file,
/// `read:K` just before the K-th it reads back. Never set it for real use.
fn abort_hook(read: bool) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static AT: std::sync::OnceLock<Option<(bool, usize)>> = std::sync::OnceLock::new();
    static SEEN: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let at = AT.get_or_init(|| {
        let v = crate::store::test_hook("ZD2GC_TEST_ABORT_LINK_SPILL")?;
        let (what, k) = v.split_once(':')?;
        Some((what == "read", k.parse().ok()?))
    });
    if let Some((r, k)) = *at
        && r == read
        && SEEN[usize::from(read)].fetch_add(1, Ordering::SeqCst) == k
    {
        std::process::abort();
    }
}

/// A base [`Content`] as bytes, the form [`LinkChanges`] and [`super::links::LinkStore`] share:
/// the user as an index into this table of the users named (by the label's address: labels are
/// shared), start, length, the number of activities, then each activity as its start from the
/// previous one's, its length and its kind's index.
#[derive(Debug, Default)]
pub(super) struct Bases {
    users: Vec<Label>,
    user_of: FxHashMap<usize, u32>,
}

impl Bases {
    pub(super) fn put(&mut self, out: &mut Vec<u8>, base: &Content) {
        let key = Arc::as_ptr(&base.user) as *const u8 as usize;
        let u = match self.user_of.get(&key) {
            Some(&u) => u,
            None => {
                let u = self.users.len() as u32;
                self.users.push(base.user.clone());
                self.user_of.insert(key, u);
                u
            }
        };
        put(out, u64::from(u));
        put_i(out, base.start);
        put_i(out, base.len);
        put(out, base.acts.len() as u64);
        let mut prev = base.start;
        for a in base.acts.iter() {
            let (start, len, kind) = a.raw();
            put_i(out, start.wrapping_sub(prev));
            put_i(out, i64::from(len));
            put(out, u64::from(kind));
            prev = start;
        }
    }

    /// The user of the base at `c` (the cursor moves past it only).
    pub(super) fn user(&self, c: &mut Cursor<'_>) -> &Label {
        &self.users[c.get() as usize]
    }

    /// The base at `c`, as put. Its activities in the order put: sorted, as every content's. Not
    /// interned again (a global lock and a hash a base): equality does not depend on sharing.
    pub(super) fn get(&self, c: &mut Cursor<'_>) -> Content {
        let user = self.user(c).clone();
        let start = c.get_i();
        let len = c.get_i();
        let n = c.get() as usize;
        let mut prev = start;
        let acts = (0..n)
            .map(|_| {
                let s = prev.wrapping_add(c.get_i());
                let l = c.get_i() as i32;
                let kind = c.get() as u32;
                prev = s;
                Act::from_raw(s, l, kind)
            })
            .collect();
        Content {
            user,
            start,
            len,
            acts,
        }
    }
}

impl LinkChanges {
    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Room for `n` more changes.
    pub fn reserve_exact(&mut self, n: usize) {
        self.at.reserve_exact(n);
    }

    /// Chunks past the first few go to an unlinked temporary file made in `dir` (when it cannot
    /// be made or written, they stay in memory).
    ///
    /// TEST-ONLY: `ZD2GC_TEST_LINK_SPILL=N` fills each chunk to N bytes (at most [`CHUNK`]) instead
    /// of [`CHUNK`], so that a round spills past its first [`IN_MEMORY`] chunks of N bytes: the
    /// kill tests reach the spill with small weeks. The changes' places stay
    /// `chunk × CHUNK + offset`. Never set it for real use.
    pub fn spill_to(&mut self, dir: &std::path::Path) {
        self.spill.dir = Some(dir.to_path_buf());
        if let Some(n) =
            crate::store::test_hook("ZD2GC_TEST_LINK_SPILL").and_then(|v| v.parse::<usize>().ok())
        {
            self.fill_to = n.clamp(1, CHUNK);
        }
    }

    /// Bytes of changes held in memory (the spilled chunks are not).
    pub fn in_memory(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    /// Add `c` at the end. `slot` is the index among `slots` of the desired shift it is about, if
    /// known: its legacy id is then kept as that index when it is that slot's.
    pub fn push(&mut self, c: &LinkChange, slot: Option<u32>, slots: &Slots) {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        // Its length first (filled in below), so that a change can be read back alone.
        out.extend_from_slice(&[0; 5]);
        self.encode(c, slot, slots, &mut out);
        let n = u32::try_from(out.len() - 5).expect("a link change under 4 GiB");
        let mut head = [0u8; 5];
        let mut h = 0;
        let mut v = n;
        while v >= 0x80 {
            head[h] = (v as u8) | 0x80;
            v >>= 7;
            h += 1;
        }
        head[h] = v as u8;
        let skip = 5 - (h + 1);
        out[skip..5].copy_from_slice(&head[..=h]);
        let out_b = &out[skip..];
        let fill_to = if self.fill_to == 0 {
            CHUNK
        } else {
            self.fill_to
        };
        let fits = self
            .chunks
            .last()
            .is_some_and(|k| k.len() + out_b.len() <= fill_to);
        if !fits {
            // The chunk just filled goes to the spill file, past the first few.
            let full = self.chunks.len().checked_sub(1);
            let mut next = None;
            if let Some(f) = full
                && f >= IN_MEMORY
                && self.spill.write(f, &self.chunks[f])
            {
                let mut buf = std::mem::take(&mut self.chunks[f]);
                buf.clear();
                next = Some(buf);
            }
            let mut next = next.unwrap_or_default();
            next.reserve_exact(CHUNK.max(out_b.len()));
            self.chunks.push(next);
        }
        let k = self.chunks.len() - 1;
        let chunk = &mut self.chunks[k];
        let at = k
            .checked_mul(CHUNK)
            .and_then(|x| x.checked_add(chunk.len()))
            .and_then(|x| u32::try_from(x).ok())
            .expect("a round's link changes under 4 GiB");
        chunk.extend_from_slice(out_b);
        self.at.push(at);
        self.scratch = out;
    }

    fn encode(&mut self, c: &LinkChange, slot: Option<u32>, slots: &Slots, out: &mut Vec<u8>) {
        let legacy = match c {
            LinkChange::Set { legacy, .. } | LinkChange::Forget { legacy } => legacy,
        };
        let by_slot =
            slot.filter(|&i| (i as usize) < slots.len() && slots.legacy(i as usize) == legacy);
        let mut flags = if by_slot.is_some() { BY_SLOT } else { 0 };
        let gid16 = match c {
            LinkChange::Set { gid, adopted, .. } => {
                flags |= SET | if *adopted { ADOPTED } else { 0 };
                let g = uuid16::pack(gid);
                if g.is_some() {
                    flags |= GID16;
                }
                g
            }
            LinkChange::Forget { .. } => None,
        };
        out.push(flags);
        match by_slot {
            Some(i) => put(out, u64::from(i)),
            None => put_bytes(out, legacy.as_bytes()),
        }
        let LinkChange::Set { gid, base, .. } = c else {
            return;
        };
        match gid16 {
            Some(g) => out.extend_from_slice(&g),
            None => put_bytes(out, gid.as_bytes()),
        }
        self.bases.put(out, base);
    }

    /// Read the spilled changes among `k0..k0 + BATCH` into `b`, each chunk they are in read
    /// once.
    fn fill(&self, b: &mut Batch, k0: usize) -> std::io::Result<()> {
        let k1 = (k0 + BATCH).min(self.len());
        (b.start, b.end) = (k0, k0);
        b.bytes.clear();
        b.pos.clear();
        b.pos.resize(k1 - k0, (0, 0));
        b.want.clear();
        for j in k0..k1 {
            let at = self.at[j];
            if self.spill.place.contains_key(&(at as usize / CHUNK)) {
                b.want.push((at, (j - k0) as u32));
            }
        }
        b.want.sort_unstable();
        let mut loaded = usize::MAX;
        for &(at, j) in &b.want {
            let (ck, off) = (at as usize / CHUNK, at as usize % CHUNK);
            if ck != loaded {
                self.spill.read_chunk(ck, &mut b.chunk)?;
                loaded = ck;
            }
            let mut c = Cursor {
                b: &b.chunk[off..],
                at: 0,
            };
            let n = c.get() as usize + c.at;
            let s = b.bytes.len();
            b.bytes.extend_from_slice(&b.chunk[off..off + n]);
            b.pos[j as usize] = (s, n);
        }
        b.end = k1;
        Ok(())
    }

    /// A change from its bytes (its length first).
    fn decode(&self, b: &[u8], slots: &Slots) -> LinkChange {
        let mut c = Cursor { b, at: 0 };
        c.get();
        let flags = c.byte();
        let legacy = if flags & BY_SLOT != 0 {
            slots.legacy(c.get() as usize).to_string()
        } else {
            c.string()
        };
        if flags & SET == 0 {
            return LinkChange::Forget { legacy };
        }
        let gid = if flags & GID16 != 0 {
            uuid16::unpack(c.bytes(16).try_into().expect("16 bytes"))
        } else {
            c.string()
        };
        LinkChange::Set {
            legacy,
            gid,
            base: self.bases.get(&mut c),
            adopted: flags & ADOPTED != 0,
        }
    }

    /// Each change, in order, as pushed (an error for a change that could not be read back).
    pub fn iter<'a>(
        &'a self,
        slots: &'a Slots,
    ) -> impl Iterator<Item = std::io::Result<LinkChange>> + 'a {
        let mut batch = Batch::default();
        (0..self.len()).map(move |k| {
            let at = self.at[k] as usize;
            let ck = at / CHUNK;
            if !self.spill.place.contains_key(&ck) {
                return Ok(self.decode(&self.chunks[ck][at % CHUNK..], slots));
            }
            if !(batch.start..batch.end).contains(&k) {
                self.fill(&mut batch, k)?;
            }
            let (s, n) = batch.pos[k - batch.start];
            Ok(self.decode(&batch.bytes[s..s + n], slots))
        })
    }

    /// Put the changes in the order `order` gives (a permutation of `0..len`; used up):
    /// afterwards change `k` is what change `order[k]` was.
    pub fn reorder(&mut self, order: &mut [u32]) {
        super::partition::gather(&mut self.at, order);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::desired::Slot;
    use crate::load::model::label;
    use proptest::prelude::*;

    fn slots(ids: &[String]) -> Slots {
        let mut s = Slots::default();
        for l in ids {
            s.push(l, label("u"), label("m"));
        }
        s
    }

    fn any_id() -> impl Strategy<Value = String> {
        prop_oneof![
            // Short ids, some repeated.
            (0..12u32).prop_map(|i| format!("s{i}")),
            // Canonical UUIDs, and near misses that must stay text.
            any::<[u8; 16]>().prop_map(|b| uuid16::unpack(&b)),
            any::<[u8; 16]>().prop_map(|b| uuid16::unpack(&b).to_uppercase()),
            any::<[u8; 16]>().prop_map(|b| uuid16::unpack(&b).replacen('-', "_", 1)),
            ".{0,40}",
        ]
    }

    fn any_act() -> impl Strategy<Value = Act> {
        let len = prop_oneof![
            -3i64..200,
            Just(i64::from(i32::MIN)),
            Just(i64::from(i32::MAX) + 1),
            Just(i64::MIN),
            Just(i64::MAX),
        ];
        let start = prop_oneof![any::<i64>(), 1_790_000_000i64..1_790_100_000];
        let text = prop::sample::select(vec!["", "c1", "c2", "Lunch \"x\" é"]);
        (start, len, text.clone(), text).prop_map(|(s, l, c, d)| Act::new(s, l, c, d))
    }

    fn any_change() -> impl Strategy<Value = (LinkChange, Option<u32>)> {
        let user = prop::sample::select(vec!["u0", "u1", "", "ü"]);
        let set = (
            any_id(),
            any_id(),
            user,
            any::<i64>(),
            any::<i64>(),
            prop::collection::vec(any_act(), 0..8),
            any::<bool>(),
        )
            .prop_map(
                |(legacy, gid, u, start, len, acts, adopted)| LinkChange::Set {
                    legacy,
                    gid,
                    base: Content::new(label(u), start, len, acts),
                    adopted,
                },
            );
        let forget = any_id().prop_map(|legacy| LinkChange::Forget { legacy });
        (
            prop_oneof![3 => set, 1 => forget],
            proptest::option::of(0..14u32),
        )
    }

    proptest! {
        /// Changes pushed come back equal, in order, and in any order a permutation gives (the
        /// oracle: the changes themselves in a vector), whatever their ids, instants and
        /// activities, and whether the slot hint names their legacy id, another or none; held
        /// in memory or, past a few chunks, in a spill file.
        #[test]
        fn link_changes_come_back_as_pushed(
                ids in prop::collection::vec(any_id(), 0..14),
                changes in prop::collection::vec(any_change(), 0..30),
                keys in prop::collection::vec(any::<u16>(), 30),
                spill in any::<bool>()) {
            let slots = slots(&ids);
            let dir = tempfile::tempdir().unwrap();
            let mut compact = LinkChanges::default();
            if spill {
                compact.spill_to(dir.path());
            }
            for (c, hint) in &changes {
                // A hint that names the change's own slot when there is one, or any other.
                let own = match c {
                    LinkChange::Set { legacy, .. } | LinkChange::Forget { legacy } => {
                        ids.iter().position(|l| l == legacy).map(|i| i as u32)
                    }
                };
                compact.push(c, hint.and(own).or(*hint), &slots);
            }
            let plain: Vec<LinkChange> = changes.iter().map(|(c, _)| c.clone()).collect();
            prop_assert_eq!(compact.iter(&slots).map(|c| c.unwrap()).collect::<Vec<_>>(), plain.clone());
            let mut order: Vec<u32> = (0..plain.len() as u32).collect();
            order.sort_by_key(|&i| keys[i as usize]);
            let want: Vec<LinkChange> =
                order.iter().map(|&i| plain[i as usize].clone()).collect();
            compact.reorder(&mut order);
            prop_assert_eq!(compact.iter(&slots).map(|c| c.unwrap()).collect::<Vec<_>>(), want);
        }

        /// The written set answers as a set of strings (the oracle: a `HashSet<String>`), with
        /// slots in id order (searched) or not (mapped), repeated ids, and ids of no slot.
        #[test]
        fn written_is_a_set_of_legacy_ids(
                ids in prop::collection::vec(any_id(), 0..20),
                sort in any::<bool>(),
                a in prop::collection::vec(any_id(), 0..20),
                b in prop::collection::vec(any_id(), 0..20),
                probe in prop::collection::vec(any_id(), 0..20)) {
            let mut ids = ids;
            if sort {
                ids.sort();
                ids.dedup();
            }
            let slots = slots(&ids);
            let index = SlotIndex::new(&slots);
            let (mut w, mut x) = (Written::new(&index), Written::new(&index));
            let mut naive: HashSet<String> = HashSet::new();
            // Some of the slots' own ids too, so that bits are set.
            for l in a.iter().chain(ids.iter().step_by(2)) {
                w.insert(l);
                naive.insert(l.clone());
            }
            for l in &b {
                x.insert(l);
            }
            prop_assert_eq!(w.is_empty(), naive.is_empty());
            w.union(&x);
            naive.extend(b.iter().cloned());
            for l in probe.iter().chain(&ids).chain(&a).chain(&b) {
                prop_assert_eq!(w.contains(l), naive.contains(l), "{:?}", l);
            }
        }
    }

    proptest! {
        /// Compact slots give back each slot pushed (the oracle: the `Slot`s in a vector), its
        /// user and unit the very labels pushed (equal texts in two allocations stay two).
        #[test]
        fn slots_are_the_slots_pushed(
                v in prop::collection::vec((any_id(), 0..4usize, 0..4usize), 0..30)) {
            let users: Vec<Label> = ["u0", "u1", "u0", ""].iter().map(|&u| Arc::from(u)).collect();
            let mus: Vec<Label> = ["m0", "", "m1", "m0"].iter().map(|&m| label(m)).collect();
            let naive: Vec<Slot> = v
                .iter()
                .map(|(l, u, m)| Slot { legacy: l.clone(), user: users[*u].clone(), mu: mus[*m].clone() })
                .collect();
            let mut slots = Slots::with_capacity(naive.len());
            for s in &naive {
                slots.push(&s.legacy, s.user.clone(), s.mu.clone());
            }
            slots.shrink_to_fit();
            prop_assert_eq!(slots.len(), naive.len());
            prop_assert_eq!(slots.to_vec(), naive.clone());
            for (i, s) in naive.iter().enumerate() {
                prop_assert_eq!(slots.legacy(i), s.legacy.as_str());
                prop_assert!(Arc::ptr_eq(slots.user(i), &s.user));
                prop_assert!(Arc::ptr_eq(slots.mu(i), &s.mu));
            }
        }
    }

    /// Forgotten links by slot: a few bytes each, so many to a chunk.
    fn forgets(n: usize) -> (Slots, Vec<LinkChange>) {
        let ids: Vec<String> = (0..n).map(|i| format!("s{i:05}")).collect();
        let changes = ids
            .iter()
            .map(|l| LinkChange::Forget { legacy: l.clone() })
            .collect();
        (slots(&ids), changes)
    }

    /// With a spill directory, a round's changes hold a few chunks in memory however many they
    /// are; without, all of them. Both give back what was pushed, and the spill file leaves
    /// nothing in the directory.
    #[test]
    fn spilled_link_changes_hold_a_few_chunks_in_memory() {
        let (slots, changes) = forgets(2_000);
        let dir = tempfile::tempdir().unwrap();
        let (mut kept, mut spilled) = (LinkChanges::default(), LinkChanges::default());
        spilled.spill_to(dir.path());
        for (i, c) in changes.iter().enumerate() {
            kept.push(c, Some(i as u32), &slots);
            spilled.push(c, Some(i as u32), &slots);
        }
        // 2,000 changes of 4 bytes in chunks of 64: 125 chunks.
        assert!(kept.in_memory() >= 100 * CHUNK, "{}", kept.in_memory());
        assert!(
            spilled.in_memory() <= (IN_MEMORY + 1) * CHUNK,
            "{} bytes in memory",
            spilled.in_memory()
        );
        let back =
            |l: &LinkChanges| -> Vec<LinkChange> { l.iter(&slots).map(|c| c.unwrap()).collect() };
        assert_eq!(back(&kept), changes);
        assert_eq!(back(&spilled), changes);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A change whose spilled bytes cannot be read back is an error, not a panic nor a wrong
    /// change; the changes still in memory read as pushed.
    #[test]
    fn a_spilled_change_not_read_back_is_an_error() {
        let (slots, changes) = forgets(200);
        let dir = tempfile::tempdir().unwrap();
        let mut spilled = LinkChanges::default();
        spilled.spill_to(dir.path());
        for (i, c) in changes.iter().enumerate() {
            spilled.push(c, Some(i as u32), &slots);
        }
        spilled.spill.file.as_ref().unwrap().set_len(0).unwrap();
        let got: Vec<std::io::Result<LinkChange>> = spilled.iter(&slots).collect();
        assert_eq!(got.len(), changes.len());
        // The first chunks (changes of 3 or 4 bytes, at most 16 to a chunk of 64) and the last
        // stay in memory; the ones between were spilled.
        let in_memory = IN_MEMORY * 16;
        for (i, (g, c)) in got.iter().zip(&changes).enumerate() {
            match g {
                Ok(g) => assert_eq!(g, c, "{i}"),
                Err(_) => assert!(i >= in_memory, "{i}"),
            }
        }
        let errors = got.iter().filter(|g| g.is_err()).count();
        assert!(errors > 100, "{errors}");
    }

    /// A slot index finds each id of its slots, sorted or not, and no other.
    #[test]
    fn a_slot_index_finds_the_slots_ids() {
        for ids in [
            vec!["a", "b", "c"],
            vec!["c", "a", "b"],
            vec!["a", "a", "b"],
            vec![],
        ] {
            let ids: Vec<String> = ids.into_iter().map(String::from).collect();
            let slots = slots(&ids);
            let ix = SlotIndex::new(&slots);
            for (i, l) in ids.iter().enumerate() {
                let found = ix.find(l).expect("found");
                assert_eq!(slots.legacy(found as usize), *l);
                // The last of a repeated id (a map collected from the slots keeps it).
                let last = ids.iter().rposition(|x| x == l).unwrap();
                assert_eq!(found, last as u32, "{ids:?} {i}");
            }
            assert_eq!(ix.find("z"), None);
        }
    }
}
