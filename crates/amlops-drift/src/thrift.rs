//! Parquet page headers (Thrift compact protocol), read straight from the file's bytes.
//!
//! Only the fields the page reader needs are kept; every other field (statistics, CRC, index
//! pages, fields added by later format versions) is skipped by its wire type. Damaged input
//! gives an error, never a panic.

/// Whether `buf` starts with one whole compact-protocol struct (a Parquet file's footer) whose
/// lists, sets, maps and strings all fit in `buf`: each element of a list takes at least one
/// byte, so walking it bounds every declared length by the footer's size. The `parquet` crate
/// reserves room for a list from its declared length before reading it; a damaged footer of
/// 1.4 KB declaring millions of schema elements made it ask for 24 GB, and a failed allocation
/// ends the process instead of giving an error.
pub(crate) fn footer_fits(buf: &[u8]) -> bool {
    Input { buf, pos: 0 }.skip(STRUCT, 0).is_ok()
}

/// The kind of a page (`PageType` in the Parquet format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageType {
    Data,
    Index,
    Dictionary,
    DataV2,
    Unknown(i32),
}

/// What the page reader needs of a page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PageHeader {
    pub page_type: Option<PageType>,
    pub uncompressed_size: i32,
    pub compressed_size: i32,
    /// Values in the page (data pages: levels included; dictionary pages: entries).
    pub num_values: i32,
    /// Encoding of the values (the format's `Encoding` number).
    pub encoding: i32,
    /// v1 data pages: encoding of the definition levels.
    pub def_level_encoding: i32,
    /// v2 data pages: byte lengths of the (uncompressed) levels, and whether the values are
    /// compressed.
    pub def_levels_len: i32,
    pub rep_levels_len: i32,
    pub is_compressed: bool,
}

/// Compact-protocol wire types.
const STOP: u8 = 0;
const TRUE: u8 = 1;
const FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

/// Deepest nesting of structs and containers skipped (the format nests three levels).
const MAX_DEPTH: u32 = 32;

struct Input<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or("page header past the end of the column chunk")?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("page header: integer too long".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn i32(&mut self) -> Result<i32, String> {
        i32::try_from(self.zigzag()?).map_err(|_| "page header: 32-bit field out of range".to_string())
    }

    fn skip_bytes(&mut self, n: usize) -> Result<(), String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        self.pos = end.ok_or("page header past the end of the column chunk")?;
        Ok(())
    }

    /// The next field of a struct: (id, wire type), or None at its end.
    fn field(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, String> {
        let b = self.byte()?;
        let ty = b & 0x0f;
        if ty == STOP {
            return Ok(None);
        }
        let delta = b >> 4;
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| "page header: field id out of range")?
        } else {
            last.checked_add(i16::from(delta))
                .ok_or("page header: field id out of range")?
        };
        *last = id;
        Ok(Some((id, ty)))
    }

    /// Skip one element of a list, set or map: as a value, but booleans take a byte each.
    fn skip_element(&mut self, ty: u8, depth: u32) -> Result<(), String> {
        if matches!(ty, TRUE | FALSE) {
            self.skip_bytes(1)
        } else {
            self.skip(ty, depth)
        }
    }

    /// Skip one value of wire type `ty`.
    fn skip(&mut self, ty: u8, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("page header nested too deeply".into());
        }
        match ty {
            TRUE | FALSE => Ok(()),
            BYTE => self.skip_bytes(1),
            I16 | I32 | I64 => self.varint().map(|_| ()),
            DOUBLE => self.skip_bytes(8),
            BINARY => {
                let n = usize::try_from(self.varint()?).map_err(|_| "page header: length out of range")?;
                self.skip_bytes(n)
            }
            LIST | SET => {
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => usize::try_from(self.varint()?).map_err(|_| "page header: length out of range")?,
                    n => usize::from(n),
                };
                for _ in 0..n {
                    self.skip_element(h & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            MAP => {
                let n = usize::try_from(self.varint()?).map_err(|_| "page header: length out of range")?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                for _ in 0..n {
                    self.skip_element(kv >> 4, depth + 1)?;
                    self.skip_element(kv & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            STRUCT => {
                let mut last = 0i16;
                while let Some((_, t)) = self.field(&mut last)? {
                    self.skip(t, depth + 1)?;
                }
                Ok(())
            }
            other => Err(format!("page header: unknown field type {other}")),
        }
    }

    /// Read a nested header struct, handing each field to `f` (which returns false for
    /// fields it does not take, to be skipped).
    fn fields(
        &mut self,
        mut f: impl FnMut(&mut Self, i16, u8) -> Result<bool, String>,
    ) -> Result<(), String> {
        let mut last = 0i16;
        while let Some((id, ty)) = self.field(&mut last)? {
            if !f(self, id, ty)? {
                self.skip(ty, 1)?;
            }
        }
        Ok(())
    }
}

impl Input<'_> {
    /// Read a nested struct, storing its 32-bit integer fields numbered in `ints` and its
    /// boolean field `flag` (when given); every other field is skipped.
    fn int_fields<const N: usize>(
        &mut self,
        mut ints: [(i16, &mut i32); N],
        mut flag: Option<(i16, &mut bool)>,
    ) -> Result<(), String> {
        self.fields(|inp, id, ty| {
            if ty == I32
                && let Some((_, slot)) = ints.iter_mut().find(|(n, _)| *n == id)
            {
                **slot = inp.i32()?;
                return Ok(true);
            }
            if matches!(ty, TRUE | FALSE)
                && let Some((n, slot)) = flag.as_mut()
                && *n == id
            {
                **slot = ty == TRUE;
                return Ok(true);
            }
            Ok(false)
        })
    }
}

/// Read the page header at the start of `buf`: the header and its length in bytes.
pub(crate) fn page_header(buf: &[u8]) -> Result<(PageHeader, usize), String> {
    let mut input = Input { buf, pos: 0 };
    let mut h = PageHeader {
        is_compressed: true,
        ..PageHeader::default()
    };
    input.fields(|inp, id, ty| {
        Ok(match (id, ty) {
            (1, I32) => {
                h.page_type = Some(match inp.i32()? {
                    0 => PageType::Data,
                    1 => PageType::Index,
                    2 => PageType::Dictionary,
                    3 => PageType::DataV2,
                    other => PageType::Unknown(other),
                });
                true
            }
            (2, I32) => {
                h.uncompressed_size = inp.i32()?;
                true
            }
            (3, I32) => {
                h.compressed_size = inp.i32()?;
                true
            }
            // DataPageHeader, DictionaryPageHeader, DataPageHeaderV2.
            (5, STRUCT) => {
                let ints = [
                    (1, &mut h.num_values),
                    (2, &mut h.encoding),
                    (3, &mut h.def_level_encoding),
                ];
                inp.int_fields(ints, None)?;
                true
            }
            (7, STRUCT) => {
                inp.int_fields([(1, &mut h.num_values), (2, &mut h.encoding)], None)?;
                true
            }
            (8, STRUCT) => {
                let ints = [
                    (1, &mut h.num_values),
                    (4, &mut h.encoding),
                    (5, &mut h.def_levels_len),
                    (6, &mut h.rep_levels_len),
                ];
                inp.int_fields(ints, Some((7, &mut h.is_compressed)))?;
                true
            }
            _ => false,
        })
    })?;
    if h.page_type.is_none() {
        return Err("page header without a page type".into());
    }
    if h.compressed_size < 0 || h.uncompressed_size < 0 || h.num_values < 0 {
        return Err("page header with a negative size".into());
    }
    Ok((h, input.pos))
}

/// For the fuzz target: parse a page header, giving its length and its (uncompressed,
/// compressed, values) counts.
#[doc(hidden)]
pub fn fuzz_page_header(buf: &[u8]) -> Result<(usize, [i32; 3]), String> {
    page_header(buf).map(|(h, n)| (n, [h.uncompressed_size, h.compressed_size, h.num_values]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal compact-protocol writer for the tests.
    struct Out(Vec<u8>, Vec<i16>);

    impl Out {
        fn varint(&mut self, mut v: u64) {
            while v >= 0x80 {
                self.0.push((v as u8) | 0x80);
                v >>= 7;
            }
            self.0.push(v as u8);
        }
        fn header(&mut self, id: i16, ty: u8) {
            let last = self.1.last().copied().unwrap_or(0);
            let delta = id - last;
            if (1..=15).contains(&delta) {
                self.0.push(((delta as u8) << 4) | ty);
            } else {
                self.0.push(ty);
                self.varint(((i64::from(id) << 1) ^ (i64::from(id) >> 63)) as u64);
            }
            if let Some(l) = self.1.last_mut() {
                *l = id;
            }
        }
        fn i32(&mut self, id: i16, v: i32) {
            self.header(id, I32);
            self.varint(((i64::from(v) << 1) ^ (i64::from(v) >> 63)) as u64);
        }
        fn begin(&mut self, id: i16) {
            self.header(id, STRUCT);
            self.1.push(0);
        }
        fn end(&mut self) {
            self.0.push(STOP);
            self.1.pop();
        }
    }

    #[test]
    fn reads_v1_v2_and_dictionary_headers_and_skips_the_rest() {
        // A v1 data page header with statistics (binary min/max, a null count), a CRC and a
        // far field id that later format versions might add.
        let mut o = Out(Vec::new(), vec![0]);
        o.i32(1, 0);
        o.i32(2, 160_000);
        o.i32(3, 120_345);
        o.i32(4, -17);
        o.begin(5);
        o.i32(1, 20_000);
        o.i32(2, 8);
        o.i32(3, 3);
        o.i32(4, 3);
        o.begin(5);
        o.header(1, BINARY);
        o.varint(8);
        o.0.extend_from_slice(&1.5f64.to_le_bytes());
        o.header(3, I64);
        o.varint(14);
        o.header(5, LIST);
        o.0.push((3 << 4) | I32);
        o.varint(2);
        o.varint(4);
        o.varint(6);
        o.header(6, TRUE);
        o.end();
        o.end();
        o.header(40, MAP);
        o.varint(1);
        o.0.push((BINARY << 4) | DOUBLE);
        o.varint(1);
        o.0.push(b'k');
        o.0.extend_from_slice(&0.25f64.to_le_bytes());
        o.end();
        let len = o.0.len();
        o.0.extend_from_slice(b"page bytes");
        let (h, n) = page_header(&o.0).expect("a good header");
        assert_eq!(n, len);
        assert_eq!(h.page_type, Some(PageType::Data));
        assert_eq!((h.uncompressed_size, h.compressed_size), (160_000, 120_345));
        assert_eq!((h.num_values, h.encoding, h.def_level_encoding), (20_000, 8, 3));

        let mut o = Out(Vec::new(), vec![0]);
        o.i32(1, 3);
        o.i32(2, 50);
        o.i32(3, 40);
        o.begin(8);
        o.i32(1, 7);
        o.i32(2, 1);
        o.i32(3, 7);
        o.i32(4, 0);
        o.i32(5, 2);
        o.i32(6, 0);
        o.header(7, FALSE);
        o.end();
        o.end();
        let (h, _) = page_header(&o.0).expect("a good v2 header");
        assert_eq!(h.page_type, Some(PageType::DataV2));
        assert_eq!(
            (h.num_values, h.encoding, h.def_levels_len, h.rep_levels_len),
            (7, 0, 2, 0)
        );
        assert!(!h.is_compressed);

        let mut o = Out(Vec::new(), vec![0]);
        o.i32(1, 2);
        o.i32(2, 80);
        o.i32(3, 80);
        o.begin(7);
        o.i32(1, 10);
        o.i32(2, 0);
        o.header(3, FALSE);
        o.end();
        o.end();
        let (h, _) = page_header(&o.0).expect("a good dictionary header");
        assert_eq!(h.page_type, Some(PageType::Dictionary));
        assert_eq!((h.num_values, h.encoding), (10, 0));
        assert!(
            h.is_compressed,
            "v1 and dictionary pages follow the column's codec"
        );
    }

    #[test]
    fn footers_fit_only_when_every_length_fits_in_their_bytes() {
        // A struct holding a list of one struct holding the i32 1.
        assert!(footer_fits(&[0x19, 0x1c, 0x15, 0x02, 0x00, 0x00]));
        // The same list declaring 2^32 - 1 structs in the 4 bytes left.
        assert!(!footer_fits(&[
            0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f, 0x15, 0x02, 0x00, 0x00
        ]));
        // A text longer than the bytes left, and a struct that ends early.
        assert!(!footer_fits(&[0x18, 0x7f, 0x61, 0x00]));
        assert!(!footer_fits(&[0x19, 0x1c, 0x15]));
        assert!(!footer_fits(&[]));
    }

    #[test]
    fn damaged_headers_are_errors_not_panics() {
        let mut o = Out(Vec::new(), vec![0]);
        o.i32(1, 0);
        o.i32(2, 100);
        o.i32(3, 90);
        o.begin(5);
        o.i32(1, 10);
        o.end();
        o.end();
        let good = o.0.clone();
        // Every truncation fails cleanly.
        for cut in 0..good.len() {
            assert!(page_header(&good[..cut]).is_err(), "cut at {cut}");
        }
        // Arbitrary bytes never panic.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..24)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = page_header(&bytes);
        }
        // No page type: an error.
        let mut o = Out(Vec::new(), vec![0]);
        o.i32(2, 100);
        o.end();
        assert!(page_header(&o.0).is_err());
        // Deep nesting: an error, not a stack overflow.
        let mut deep = vec![0x0c_u8 | (1 << 4)];
        deep.extend(std::iter::repeat_n((1 << 4) | STRUCT, 100));
        assert!(page_header(&deep).is_err());
    }
}
