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
/// Map calls this for every task id of the export (5 M on the long-id benchmark export), so it
/// decodes through a table, without a branch per character.
pub fn pack(s: &str) -> Option<[u8; 16]> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    /// Where each byte's two hex digits start.
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [0u8; 16];
    // Any character that is not a lowercase hex digit sets a high bit here.
    let mut bad = 0u8;
    for (o, &i) in out.iter_mut().zip(AT.iter()) {
        let (hi, lo) = (NIBBLE[usize::from(b[i])], NIBBLE[usize::from(b[i + 1])]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 15);
    }
    (bad & 0xf0 == 0).then_some(out)
}

/// The value of each lowercase hex digit; 0xff for every other byte.
static NIBBLE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut c = 0;
    while c < 10 {
        t[b'0' as usize + c] = c as u8;
        c += 1;
    }
    let mut c = 0;
    while c < 6 {
        t[b'a' as usize + c] = 10 + c as u8;
        c += 1;
    }
    t
};

/// Appends the canonical text of 16 packed bytes to `out`: spelled in a 36-byte buffer and
/// appended at once, not a character at a time (map unpacks every packed task id: ~460
/// instructions a call that way, 455,000 calls at a tenth of the long-id benchmark export).
pub fn push_unpacked(bytes: &[u8; 16], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    /// Where each byte's two hex digits go (the hyphens are at 8, 13, 18 and 23).
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut buf = [b'-'; 36];
    for (&i, &x) in AT.iter().zip(bytes.iter()) {
        buf[i] = HEX[usize::from(x >> 4)];
        buf[i + 1] = HEX[usize::from(x & 15)];
    }
    // Hex digits and hyphens only: ASCII.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
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
