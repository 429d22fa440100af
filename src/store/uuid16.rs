//! Canonical UUIDs kept as 16 bytes instead of 36 characters of text.
//!
//! An id is *packed* only when it is a canonical lowercase UUID: 36 characters, hyphens at 8, 13,
//! 18 and 23, every other character `0-9` or `a-f`. Any other id (upper case, braces, no hyphens,
//! another length) stays text, so [`unpack`] of [`pack`] gives back the very bytes of the export.
//! The byte order of packed ids is the byte order of their text (lowercase hex digits sort as their
//! values), which keeps "in id order" meaning the same whichever form an id is kept in.
//!
//! [`sql_text`] spells the same unpacking in SQL, for views that show a packed id as text to anyone
//! reading the database with the `sqlite3` shell.

/// The 16 bytes of `s` when it is a canonical lowercase UUID, else `None`.
///
/// Extract calls this for every shift id and task id of the export (about 8 M calls on the long-id
/// benchmark export), map for every task id again: its 32 digits are checked and decoded eight at
/// a time in a `u64` ([`digits8`]), not one at a time through a table (~240 instructions a call).
pub fn pack(s: &str) -> Option<[u8; 16]> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let word = |lo: [u8; 4], hi: [u8; 4]| {
        u64::from(u32::from_le_bytes(lo)) | u64::from(u32::from_le_bytes(hi)) << 32
    };
    let four = |i: usize| -> [u8; 4] { [b[i], b[i + 1], b[i + 2], b[i + 3]] };
    let mut out = [0u8; 16];
    let mut bad = 0;
    for (k, w) in [
        word(four(0), four(4)),
        word(four(9), four(14)),
        word(four(19), four(24)),
        word(four(28), four(32)),
    ]
    .into_iter()
    .enumerate()
    {
        let (v, not_hex) = digits8(w);
        out[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
        bad |= not_hex;
    }
    (bad == 0).then_some(out)
}

/// Eight characters (a little-endian word: the first in the low byte) as four bytes, each from
/// two lowercase hex digits (the first the high nibble), and a non-zero mask when one of the eight
/// is not `0-9` or `a-f`.
fn digits8(x: u64) -> (u32, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of 0x80 or more is no digit (and may carry into its neighbour below: the mask says
    // it anyway). Below 0x80, adding 0x80 - n sets a byte's high bit exactly when it is >= n,
    // without a carry out of the byte.
    let high = x & HIGH;
    let ge = |n: u8| x.wrapping_add(ONES * u64::from(0x80 - n)) & HIGH;
    let digit = ge(b'0') & !ge(b'9' + 1);
    let alpha = ge(b'a') & !ge(b'f' + 1);
    let not_hex = high | (HIGH & !(digit | alpha));
    // '0'-'9' are 0x30-0x39 and 'a'-'f' 0x61-0x66: the low nibble, plus 9 for a letter.
    let v = (x & (ONES * 0x0f)) + ((alpha >> 4) | (alpha >> 7));
    // Each even byte gets (itself << 4) | the next byte; then the four even bytes side by side.
    let t = ((v << 4) | (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let t = (t | (t >> 8)) & 0x0000_ffff_0000_ffff;
    let t = (t | (t >> 16)) & 0xffff_ffff;
    (t as u32, not_hex)
}

/// Appends the canonical text of 16 packed bytes to `out`: spelled in a 36-byte buffer
/// ([`spell`]) and appended at once, not a character at a time (map unpacks every packed task
/// id: ~460 instructions a call that way, 455,000 calls at a tenth of the long-id benchmark
/// export).
pub fn push_unpacked(bytes: &[u8; 16], out: &mut String) {
    // Hex digits and hyphens only: ASCII.
    out.push_str(std::str::from_utf8(&spell(bytes)).unwrap_or_default());
}

/// The canonical text of 16 packed bytes as 36 ASCII bytes, without allocating (the crosswalk's
/// readers spell up to four ids a row this way). Four bytes at a time become eight hex digits in a
/// `u64` ([`hex8`]), not a byte at a time through a table (map spells every packed task id).
pub fn spell(bytes: &[u8; 16]) -> [u8; 36] {
    let group = |k: usize| hex8([bytes[k], bytes[k + 1], bytes[k + 2], bytes[k + 3]]);
    let (a, b, c, d) = (group(0), group(4), group(8), group(12));
    let mut buf = [b'-'; 36];
    buf[0..8].copy_from_slice(&a);
    buf[9..13].copy_from_slice(&b[..4]);
    buf[14..18].copy_from_slice(&b[4..]);
    buf[19..23].copy_from_slice(&c[..4]);
    buf[24..28].copy_from_slice(&c[4..]);
    buf[28..36].copy_from_slice(&d);
    buf
}

/// Four bytes as their eight lowercase hex digits (the first byte's high nibble first): each
/// byte spread to a 16-bit lane, its two nibbles to the lane's two bytes, then `'0' + n`, plus
/// `'a' - '0' - 10` where `n` > 9 (bit 4 of `n + 6`).
fn hex8(four: [u8; 4]) -> [u8; 8] {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let w = u64::from(u32::from_le_bytes(four));
    let w = (w | (w << 16)) & 0x0000_ffff_0000_ffff;
    let w = (w | (w << 8)) & 0x00ff_00ff_00ff_00ff;
    let n = ((w >> 4) & 0x000f_000f_000f_000f) | ((w & 0x000f_000f_000f_000f) << 8);
    let letter = ((n + ONES * 6) >> 4) & ONES;
    (n + ONES * u64::from(b'0') + letter * u64::from(b'a' - b'0' - 10)).to_le_bytes()
}

/// The canonical text of 16 packed bytes.
pub fn unpack(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    push_unpacked(bytes, &mut s);
    s
}

/// The packed id starting at byte `at` of `blob`, if 16 bytes are there.
pub fn at(blob: &[u8], at: usize) -> Option<&[u8; 16]> {
    blob.get(at..at.checked_add(16)?)?.try_into().ok()
}

/// An SQL expression giving the canonical text of the 16-byte BLOB that `blob16` (an SQL
/// expression) evaluates to, e.g. `sql_text("substr(s.task_uuids, 16 * k + 1, 16)")`.
pub fn sql_text(blob16: &str) -> String {
    format!(
        "lower(substr(hex({b}), 1, 8) || '-' || substr(hex({b}), 9, 4) || '-' || \
         substr(hex({b}), 13, 4) || '-' || substr(hex({b}), 17, 4) || '-' || substr(hex({b}), 21, 12))",
        b = blob16
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The naive oracle: what a canonical lowercase UUID is, spelled out with a regex-like check.
    fn canonical(s: &str) -> bool {
        s.len() == 36
            && s.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_digit() || ('a'..='f').contains(&c)
                }
            })
    }

    #[test]
    fn packs_only_canonical_lowercase_uuids() {
        let yes = "372d746d-f008-4564-952e-c73ae3dc5f93";
        let p = pack(yes).unwrap();
        assert_eq!(p[0], 0x37);
        assert_eq!(p[15], 0x93);
        assert_eq!(unpack(&p), yes);
        for no in [
            "372D746D-F008-4564-952E-C73AE3DC5F93",
            "{372d746d-f008-4564-952e-c73ae3dc5f93}",
            "372d746df0084564952ec73ae3dc5f93",
            "372d746d-f008-4564-952e-c73ae3dc5f9",
            "372d746d-f008-4564-952e-c73ae3dc5f933",
            "372d746d_f008-4564-952e-c73ae3dc5f93",
            "372d746d-f008-4564-952e-c73ae3dc5g93",
            "372d746d-f008-4564-952e-c73ae3dc5\u{e9}3",
            "",
            "S1",
        ] {
            assert_eq!(pack(no), None, "{no}");
        }
    }

    /// The naive oracle for the bytes: the canonical check, then each pair of digits parsed as hex.
    fn naive_pack(s: &str) -> Option<[u8; 16]> {
        if !canonical(s) {
            return None;
        }
        let digits: Vec<u8> = s.bytes().filter(|&c| c != b'-').collect();
        let mut out = [0u8; 16];
        for (k, o) in out.iter_mut().enumerate() {
            let pair = std::str::from_utf8(&digits[2 * k..2 * k + 2]).unwrap();
            *o = u8::from_str_radix(pair, 16).unwrap();
        }
        Some(out)
    }

    /// Every character of a canonical UUID replaced by every ASCII character and by wider ones:
    /// the edges of the digit ranges (`/`, `0`, `9`, `:`, `` ` ``, `a`, `f`, `g`, upper case, NUL,
    /// DEL) at every place, digits and hyphens alike, and bytes of 0x80 and more (a two-byte
    /// character in place of two characters, a three-byte one in place of three: still 36 bytes).
    #[test]
    fn pack_agrees_with_the_oracle_at_every_character() {
        let base: Vec<char> = "0123abcd-ef45-6789-a0b1-c2d3e4f56789".chars().collect();
        let with = |at: usize, wide: usize, c: char| -> String {
            let mut s: String = base[..at].iter().collect();
            s.push(c);
            s.extend(&base[(at + wide).min(36)..]);
            s
        };
        let mut packed = 0;
        for at in 0..36 {
            for c in (0u8..0x80)
                .map(char::from)
                .chain(['\u{e9}', '\u{20ac}', '\u{10348}'])
            {
                for s in [with(at, 1, c), with(at, c.len_utf8(), c)] {
                    assert_eq!(pack(&s), naive_pack(&s), "{s:?}");
                    packed += usize::from(pack(&s).is_some());
                }
            }
        }
        // Each digit place takes 16 characters, a hyphen's place one (each string twice above).
        assert_eq!(packed, 2 * (32 * 16 + 4));
    }

    #[test]
    fn sql_spells_the_same_text() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for s in [
            "372d746d-f008-4564-952e-c73ae3dc5f93",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ] {
            let p = pack(s).unwrap();
            let sql = format!("SELECT {}", sql_text("substr(?1, 17, 16)"));
            let mut blob = vec![0xAAu8; 16];
            blob.extend_from_slice(&p);
            blob.extend_from_slice(&[1, 2, 3]);
            let got: String = c.query_row(&sql, [&blob], |r| r.get(0)).unwrap();
            assert_eq!(got, s);
            assert_eq!(at(&blob, 16), Some(&p));
            assert_eq!(at(&blob, 20), None);
        }
    }

    proptest! {
        /// The naive oracle for the text: each byte as two lowercase hex digits, a hyphen before
        /// bytes 4, 6, 8 and 10.
        #[test]
        fn unpack_spells_each_byte_in_hex(bytes in any::<[u8; 16]>(), before in "[a-z]{0,3}") {
            let mut want = before.clone();
            for (k, x) in bytes.iter().enumerate() {
                if [4, 6, 8, 10].contains(&k) {
                    want.push('-');
                }
                want.push_str(&format!("{x:02x}"));
            }
            let mut got = before.clone();
            push_unpacked(&bytes, &mut got);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(pack(&got[before.len()..]), Some(bytes));
        }

        /// Near-misses everywhere: each of the 32 digit places drawn from the digits and their
        /// neighbours.
        #[test]
        fn pack_agrees_with_the_oracle_on_near_misses(
            digits in proptest::collection::vec(
                proptest::sample::select(&b"0123456789abcdefABCDEFg/:`@G\x00\x7f"[..]), 32),
        ) {
            let mut s = String::new();
            for (k, &d) in digits.iter().enumerate() {
                if [8, 12, 16, 20].contains(&k) {
                    s.push('-');
                }
                s.push(char::from(d));
            }
            prop_assert_eq!(pack(&s), naive_pack(&s));
        }

        #[test]
        fn pack_agrees_with_the_oracle_and_keeps_order(
            a in "[0-9a-fA-F-]{0,40}",
            b in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            c in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ) {
            prop_assert_eq!(pack(&a).is_some(), canonical(&a));
            if let Some(p) = pack(&a) {
                prop_assert_eq!(unpack(&p), a.clone());
            }
            let (pb, pc) = (pack(&b).unwrap(), pack(&c).unwrap());
            prop_assert_eq!(unpack(&pb), b.clone());
            prop_assert_eq!(pb.cmp(&pc), b.as_bytes().cmp(c.as_bytes()));
        }
    }
}
