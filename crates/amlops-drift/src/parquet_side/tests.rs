//! The Parquet reader against the Arrow reader: every layout, codec and encoding the page
//! reader handles gives the same samples, category counts, nulls and dropped values.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, UInt8Array,
    UInt32Array, UInt64Array,
};
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::*;
use crate::test_support::xorshift;

/// The numeric columns of [`write`].
const NUMERIC: [&str; 14] = [
    "few",
    "many",
    "nullable",
    "f32",
    "i32",
    "i64",
    "split",
    "split32",
    "split_i64",
    "delta32",
    "delta64",
    "u8",
    "u32",
    "u64",
];

/// The text columns of [`write`].
const TEXT: [&str; 3] = ["words", "ids", "places"];

/// Columns in every layout the page reader handles, plus ones it leaves to Arrow.
fn write(path: &Path, props: WriterProperties, rows: usize, seed: u64) {
    let mut r = xorshift(seed);
    let mut unit = move || (r() >> 11) as f64 / (1u64 << 53) as f64;
    let few: Vec<f64> = (0..rows).map(|_| (unit() * 50.0).round() / 10.0).collect();
    let many: Vec<f64> = (0..rows).map(|_| unit() * 1e3 - 300.0).collect();
    let nullable: Vec<Option<f64>> = (0..rows)
        .map(|i| (i % 7 != 3).then(|| (unit() * 1e4).round() / 100.0))
        .collect();
    let f32s: Vec<f32> = (0..rows).map(|_| (unit() * 100.0) as f32).collect();
    let i32s: Vec<i32> = (0..rows).map(|_| (unit() * 40.0) as i32 - 20).collect();
    let i64s: Vec<Option<i64>> = (0..rows)
        .map(|i| (i % 11 != 5).then(|| (unit() * 1e9) as i64))
        .collect();
    let words: Vec<Option<String>> = (0..rows)
        .map(|i| (i % 13 != 7).then(|| format!("w{}", (unit() * 40.0) as u32)))
        .collect();
    // Long shared prefixes (sorted ids) and short non-ASCII words, nulls on the rows of `words`.
    let ids: Vec<Option<String>> = (0..rows)
        .map(|i| (i % 13 != 7).then(|| format!("customer-{:06}", (unit() * 3000.0) as u32 * 7)))
        .collect();
    let names = ["zürich", "zug", "", "genève", "x,y", "bern"];
    let places: Vec<Option<String>> = (0..rows)
        .map(|i| (i % 13 != 7).then(|| names[(unit() * 6.0) as usize % 6].to_string()))
        .collect();
    let split: Vec<f64> = (0..rows).map(|_| unit()).collect();
    let split32: Vec<f32> = (0..rows).map(|_| (unit() * 1e4 - 5e3) as f32).collect();
    let split_i64: Vec<i64> = (0..rows).map(|_| (unit() * 1e12) as i64 - 300).collect();
    // Deltas that wrap: extremes next to each other.
    let extreme = |i: usize, v: f64, lo: i64, hi: i64| match i % 97 {
        0 => lo,
        1 => hi,
        _ => lo + ((hi - lo) as f64 * v) as i64,
    };
    let delta32: Vec<i32> = (0..rows)
        .map(|i| extreme(i, unit(), i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        .collect();
    let delta64: Vec<i64> = (0..rows)
        .map(|i| match i % 89 {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => (unit() * 1e15) as i64 - (i as i64) * 1_000_003,
        })
        .collect();
    let u8s: Vec<u8> = (0..rows).map(|_| (unit() * 250.0) as u8).collect();
    let u32s: Vec<u32> = (0..rows).map(|_| 3_000_000_000 + (unit() * 1e9) as u32).collect();
    // Above 2^63 (negative as INT64 bits) and above 2^53 (rounded once a double).
    let u64s: Vec<u64> = (0..rows)
        .map(|_| (1u64 << 63) + (unit() * 1e18) as u64 + 1)
        .collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("few", Arc::new(Float64Array::from(few))),
        ("many", Arc::new(Float64Array::from(many))),
        ("nullable", Arc::new(Float64Array::from(nullable))),
        ("f32", Arc::new(Float32Array::from(f32s))),
        ("i32", Arc::new(Int32Array::from(i32s))),
        ("i64", Arc::new(Int64Array::from(i64s))),
        ("words", Arc::new(StringArray::from(words))),
        ("ids", Arc::new(StringArray::from(ids))),
        ("places", Arc::new(StringArray::from(places))),
        ("split", Arc::new(Float64Array::from(split))),
        ("split32", Arc::new(Float32Array::from(split32))),
        ("split_i64", Arc::new(Int64Array::from(split_i64))),
        ("delta32", Arc::new(Int32Array::from(delta32))),
        ("delta64", Arc::new(Int64Array::from(delta64))),
        ("u8", Arc::new(UInt8Array::from(u8s))),
        ("u32", Arc::new(UInt32Array::from(u32s))),
        ("u64", Arc::new(UInt64Array::from(u64s))),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap_or_else(|e| panic!("batch: {e}"));
    crate::test_support::write(path, &batch, props);
}

fn sorted_bits(v: &Sample) -> Vec<u64> {
    let mut all = v.all_values();
    all.sort_unstable_by(|a, b| a.total_cmp(b));
    all.iter().map(|x| x.to_bits()).collect()
}

// Page-level reading equals Arrow reading for every column of files written with small
// dictionaries (PLAIN fallback within a chunk), small pages, several row groups, v1 and v2
// data pages, nulls dropping rows across columns, BYTE_STREAM_SPLIT floats and integers,
// DELTA_BINARY_PACKED integers whose deltas wrap, and unsigned integers.
#[test]
fn page_reader_equals_arrow_in_every_layout() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    // Chunks are read page by page straight from the file, whatever their codec (see also
    // `every_codec_reads_like_arrow`).
    let variants = [
        (
            WriterVersion::PARQUET_1_0,
            512usize,
            3000usize,
            Compression::SNAPPY,
        ),
        (WriterVersion::PARQUET_2_0, 4096, 1000, Compression::SNAPPY),
        (
            WriterVersion::PARQUET_1_0,
            1 << 20,
            100_000,
            Compression::UNCOMPRESSED,
        ),
        (WriterVersion::PARQUET_2_0, 512, 3000, Compression::UNCOMPRESSED),
        (
            WriterVersion::PARQUET_1_0,
            512,
            3000,
            Compression::ZSTD(Default::default()),
        ),
    ];
    let columns: Vec<String> = NUMERIC.iter().chain(&TEXT).map(|c| c.to_string()).collect();
    for (k, &(version, dict_limit, group, codec)) in variants.iter().enumerate() {
        let files: Vec<PathBuf> = (0..2)
            .map(|i| dir.path().join(format!("v{k}-{i}.parquet")))
            .collect();
        for (i, f) in files.iter().enumerate() {
            let props = WriterProperties::builder()
                .set_writer_version(version)
                .set_compression(codec)
                .set_dictionary_page_size_limit(dict_limit)
                .set_data_page_row_count_limit(700)
                .set_write_batch_size(100)
                .set_max_row_group_size(group)
                .set_column_dictionary_enabled(ColumnPath::from("split"), false)
                .set_column_encoding(ColumnPath::from("split"), Encoding::BYTE_STREAM_SPLIT)
                .set_column_dictionary_enabled(ColumnPath::from("split32"), false)
                .set_column_encoding(ColumnPath::from("split32"), Encoding::BYTE_STREAM_SPLIT)
                .set_column_dictionary_enabled(ColumnPath::from("split_i64"), false)
                .set_column_encoding(ColumnPath::from("split_i64"), Encoding::BYTE_STREAM_SPLIT)
                .set_column_dictionary_enabled(ColumnPath::from("delta32"), false)
                .set_column_encoding(ColumnPath::from("delta32"), Encoding::DELTA_BINARY_PACKED)
                .set_column_dictionary_enabled(ColumnPath::from("delta64"), false)
                .set_column_encoding(ColumnPath::from("delta64"), Encoding::DELTA_BINARY_PACKED)
                .set_column_dictionary_enabled(ColumnPath::from("ids"), false)
                .set_column_encoding(ColumnPath::from("ids"), Encoding::DELTA_BYTE_ARRAY)
                .set_column_dictionary_enabled(ColumnPath::from("places"), false)
                .set_column_encoding(ColumnPath::from("places"), Encoding::DELTA_LENGTH_BYTE_ARRAY)
                .build();
            write(f, props, 5000 + 1000 * i, 7 + i as u64);
        }
        let side = ParquetSide::open(&files, &columns).unwrap_or_else(|e| panic!("open: {e}"));
        assert!(side.mask.is_some(), "nulls give a row mask");
        // Rows of a file with a null in `nullable`, `i64` or `words` drop.
        let valid = |rows: usize| {
            (0..rows)
                .filter(|i| i % 7 != 3 && i % 11 != 5 && i % 13 != 7)
                .count()
        };
        assert_eq!(side.rows_valid, (valid(5000) + valid(6000)) as u64, "variant {k}");
        for c in NUMERIC {
            let mut pages = Sample::default();
            side.numeric(c, &mut pages, None)
                .unwrap_or_else(|e| panic!("{c}: {e}"));
            let mut arrow = Vec::new();
            side.numeric_arrow(c, &mut arrow, None)
                .unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(pages.len(), side.rows_valid, "variant {k} column {c}");
            // Decimal columns with statistics are counted densely while read.
            let decimal = matches!(c, "few" | "nullable" | "i32" | "u8");
            assert_eq!(pages.dense.is_on(), decimal, "variant {k} column {c}");
            assert_eq!(
                sorted_bits(&pages),
                sorted_bits(&Sample::from_values(arrow)),
                "variant {k} column {c}"
            );
            // The page reader handled every column itself (the v2 writer's fallback for
            // integers past the dictionary's limit is DELTA_BINARY_PACKED too).
            let mut direct = Sample::default();
            let m = side.file_mask(0, 0);
            let r = pq_pages::read_numeric(&files[0], c, m, &mut direct, &mut PageScratch::default())
                .unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(r, Read::Done, "variant {k} column {c}");
            if c == "few" && k == 2 {
                assert!(
                    direct.values.is_empty() && !direct.pairs.is_empty(),
                    "dictionary pages counted by index"
                );
            }
            if c == "many" && k == 0 {
                assert!(
                    !direct.values.is_empty() && !direct.pairs.is_empty(),
                    "dictionary then PLAIN"
                );
            }
        }
        for c in TEXT {
            // With the nulls and the values of the rows the mask drops (data quality).
            let (mut paged, mut arrowed) = (Reading::default(), Reading::default());
            let pages = side
                .counts(c, Some(&mut paged))
                .unwrap_or_else(|e| panic!("{c}: {e}"));
            let arrow = side
                .counts_arrow(c, Some(&mut arrowed))
                .unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(pages, arrow, "variant {k} column {c}");
            assert_eq!(paged, arrowed, "variant {k} column {c}: nulls and dropped values");
            assert!(
                paged.nulls > 0 && paged.categories.len() > 0,
                "variant {k} column {c}"
            );
            let m = side.file_mask(0, 0);
            let r =
                pq_pages::read_categories(&files[0], c, m, &mut HashMap::new(), &mut PageScratch::default());
            assert_eq!(
                r.ok(),
                Some(Read::Done),
                "variant {k} column {c}: text read page by page"
            );
            assert_eq!(pages.values().sum::<u64>(), side.rows_valid);
        }
    }
}

// BYTE_STREAM_SPLIT and DELTA_BINARY_PACKED pages of more values than a chunk of their
// rewriting (`transcode::CHUNK`), with rows dropped by another column's nulls on both sides
// of each chunk's end: the sample, the nulls and the dropped rows' values equal Arrow's.
#[test]
fn pages_longer_than_a_rewritten_chunk_keep_every_value_in_place() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("long-pages.parquet");
    let rows = 200_000usize;
    let chunk = 1usize << 16;
    let mut r = xorshift(5);
    // Dropped: rows around each chunk's end and every 997th.
    let dropped = |i: usize| i.is_multiple_of(997) || (i % chunk) < 2 || (i % chunk) > chunk - 3;
    let lat: Vec<Option<f64>> = (0..rows).map(|i| (!dropped(i)).then_some(0.5)).collect();
    let split: Vec<f64> = (0..rows).map(|_| (r() >> 11) as f64 / 7.0).collect();
    let delta: Vec<Option<i64>> = (0..rows)
        .map(|i| (i % 1009 != 4).then(|| (r() % 1_000_000) as i64 - 500_000))
        .collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("lat", Arc::new(Float64Array::from(lat))),
        ("split", Arc::new(Float64Array::from(split))),
        ("delta", Arc::new(Int64Array::from(delta))),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap_or_else(|e| panic!("batch: {e}"));
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_column_encoding(ColumnPath::from("split"), Encoding::BYTE_STREAM_SPLIT)
        .set_column_encoding(ColumnPath::from("delta"), Encoding::DELTA_BINARY_PACKED)
        .set_data_page_size_limit(64 << 20)
        .set_data_page_row_count_limit(rows)
        .set_write_batch_size(rows)
        .build();
    crate::test_support::write(&path, &batch, props);
    let columns = ["lat", "split", "delta"].map(String::from);
    let side = ParquetSide::open(std::slice::from_ref(&path), &columns).unwrap_or_else(|e| panic!("{e}"));
    assert!(side.rows_valid < rows as u64 - 300, "rows dropped");
    for c in ["split", "delta"] {
        // One page of every row: more values than three chunks.
        let pages = parquet::file::reader::SerializedFileReader::new(
            std::fs::File::open(&path).unwrap_or_else(|e| panic!("{e}")),
        )
        .map(|f| {
            use parquet::file::reader::FileReader;
            let rg = f.get_row_group(0).unwrap_or_else(|e| panic!("{e}"));
            let mut pages = rg
                .get_column_page_reader(if c == "split" { 1 } else { 2 })
                .unwrap_or_else(|e| panic!("{e}"));
            let mut n = 0;
            while let Ok(Some(p)) = pages.get_next_page() {
                n += usize::from(!matches!(p, parquet::column::page::Page::DictionaryPage { .. }));
            }
            n
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pages, 1, "{c}: one data page");
        let (mut paged, mut arrow) = (Reading::default(), Reading::default());
        let mut sample = Sample::default();
        side.numeric(c, &mut sample, Some(&mut paged))
            .unwrap_or_else(|e| panic!("{c}: {e}"));
        let mut values = Vec::new();
        side.numeric_arrow(c, &mut values, Some(&mut arrow))
            .unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(sample.len(), side.rows_valid, "{c}");
        assert_eq!(
            sorted_bits(&sample),
            sorted_bits(&Sample::from_values(values.clone())),
            "{c}"
        );
        // Held one by one, in row order: the dropped rows' values are the right ones.
        assert!(
            !sample.dense.is_on() && sample.pairs.is_empty(),
            "{c}: values held"
        );
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&sample.values), bits(&values), "{c}");
        assert_eq!(paged, arrow, "{c}: nulls and dropped values");
        assert!(paged.numbers.len() > 200, "{c}: values on dropped rows");
    }
}

#[test]
fn nan_in_a_float_column_is_an_error_naming_the_column() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for dictionary in [true, false] {
        let path = dir.path().join(format!("nan-{dictionary}.parquet"));
        let col: ArrayRef = Arc::new(Float64Array::from(vec![1.0, f64::NAN, 2.0]));
        let batch = RecordBatch::try_from_iter([("x", col)]).unwrap_or_else(|e| panic!("{e}"));
        let props = WriterProperties::builder()
            .set_dictionary_enabled(dictionary)
            .build();
        crate::test_support::write(&path, &batch, props);
        let side = ParquetSide::open(std::slice::from_ref(&path), &["x".to_string()])
            .unwrap_or_else(|e| panic!("{e}"));
        let err = side
            .numeric("x", &mut Sample::default(), None)
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(
            msg.contains("NaN") && msg.contains('x') && msg.contains("nan-"),
            "{msg}"
        );
    }
}

#[test]
fn a_text_value_that_is_not_utf8_is_an_error_naming_the_column() {
    use arrow_array::StringArray;
    use parquet::file::properties::EnabledStatistics;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for dictionary in [true, false] {
        let path = dir.path().join(format!("text-{dictionary}.parquet"));
        // Written as valid text, then the placeholder's bytes replaced by bytes that are not
        // UTF-8 (no statistics, no compression: the value's bytes are in the file as such).
        let col: ArrayRef = Arc::new(StringArray::from(vec!["alpha", "b@@@@@", "alpha", "gamma"]));
        let batch = RecordBatch::try_from_iter([("city", col)]).unwrap_or_else(|e| panic!("{e}"));
        let props = WriterProperties::builder()
            .set_dictionary_enabled(dictionary)
            .set_statistics_enabled(EnabledStatistics::None)
            .build();
        crate::test_support::write(&path, &batch, props);
        let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let at = bytes
            .windows(6)
            .position(|w| w == b"b@@@@@")
            .unwrap_or_else(|| panic!("placeholder not in the file"));
        bytes[at + 1..at + 6].copy_from_slice(&[0xff, 0xfe, 0xc0, 0x80, 0xff]);
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let side = ParquetSide::open(std::slice::from_ref(&path), &["city".to_string()])
            .unwrap_or_else(|e| panic!("{e}"));
        let msg = side
            .counts("city", None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("not UTF-8") && msg.contains("`city`") && msg.contains("text-"),
            "dictionary {dictionary}: {msg:?}"
        );
    }
}

// Every codec the page reader decompresses itself (and the legacy LZ4 framing, left to the
// `parquet` crate), dictionary on and off, v1 and v2 pages, several row groups, nulls in
// several columns: the samples and category counts equal the Arrow reader's bit for bit.
#[test]
fn every_codec_reads_like_arrow() {
    use parquet::basic::{BrotliLevel, GzipLevel, ZstdLevel};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let codecs = [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::ZSTD(ZstdLevel::default()),
        Compression::LZ4_RAW,
        Compression::BROTLI(BrotliLevel::default()),
        Compression::LZ4,
    ];
    let layouts = [
        (WriterVersion::PARQUET_1_0, true),
        (WriterVersion::PARQUET_1_0, false),
        (WriterVersion::PARQUET_2_0, true),
        (WriterVersion::PARQUET_2_0, false),
    ];
    let columns: Vec<String> = NUMERIC.iter().chain(&TEXT).map(|c| c.to_string()).collect();
    for (k, codec) in codecs.iter().enumerate() {
        for (j, &(version, dictionary)) in layouts.iter().enumerate() {
            let files: Vec<PathBuf> = (0..2)
                .map(|i| dir.path().join(format!("c{k}-{j}-{i}.parquet")))
                .collect();
            for (i, f) in files.iter().enumerate() {
                let props = WriterProperties::builder()
                    .set_writer_version(version)
                    .set_compression(*codec)
                    .set_dictionary_enabled(dictionary)
                    .set_data_page_row_count_limit(600)
                    .set_write_batch_size(100)
                    .set_max_row_group_size(1700)
                    .build();
                write(f, props, 4000 + 1500 * i, 11 + i as u64);
            }
            let what = format!("{codec} {version:?} dictionary {dictionary}");
            let side = ParquetSide::open(&files, &columns).unwrap_or_else(|e| panic!("{what}: open: {e}"));
            for c in NUMERIC {
                let mut pages = Sample::default();
                side.numeric(c, &mut pages, None)
                    .unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                let mut arrow = Vec::new();
                side.numeric_arrow(c, &mut arrow, None)
                    .unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                assert_eq!(pages.len(), side.rows_valid, "{what} {c}");
                assert_eq!(
                    sorted_bits(&pages),
                    sorted_bits(&Sample::from_values(arrow)),
                    "{what} {c}"
                );
                // Read page by page (the v2 writer without a dictionary writes integers
                // DELTA_BINARY_PACKED).
                for (f, file) in files.iter().enumerate() {
                    let r = pq_pages::read_numeric(
                        file,
                        c,
                        side.file_mask(f, 0),
                        &mut Sample::default(),
                        &mut PageScratch::default(),
                    )
                    .unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                    assert_eq!(r, Read::Done, "{what} {c}");
                }
            }
            for c in TEXT {
                let pages = side.counts(c, None).unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                let arrow = side
                    .counts_arrow(c, None)
                    .unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                assert_eq!(pages, arrow, "{what} {c}");
                // Page by page (the v2 writer without a dictionary writes text DELTA_BYTE_ARRAY).
                for (f, file) in files.iter().enumerate() {
                    let r = pq_pages::read_categories(
                        file,
                        c,
                        side.file_mask(f, 0),
                        &mut HashMap::new(),
                        &mut PageScratch::default(),
                    );
                    assert_eq!(r.ok(), Some(Read::Done), "{what} {c}");
                }
            }
        }
    }
}

// A damaged compressed page is an error naming the file and the column, never a panic:
// its bytes zeroed (always an error), or bits flipped (gzip checks its CRC).
#[test]
fn damaged_compressed_pages_are_errors_naming_file_and_column() {
    use parquet::basic::{BrotliLevel, GzipLevel, ZstdLevel};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let codecs = [
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::ZSTD(ZstdLevel::default()),
        Compression::LZ4_RAW,
        Compression::BROTLI(BrotliLevel::default()),
    ];
    for (k, codec) in codecs.iter().enumerate() {
        let good = dir.path().join(format!("good-{k}.parquet"));
        let props = WriterProperties::builder()
            .set_compression(*codec)
            .set_dictionary_enabled(false)
            .build();
        write(&good, props, 3000, 5);
        let bytes = std::fs::read(&good).unwrap_or_else(|e| panic!("{e}"));
        let reader =
            SerializedFileReader::new(bytes::Bytes::from(bytes.clone())).unwrap_or_else(|e| panic!("{e}"));
        let (start, _) = reader.metadata().row_group(0).column(1).byte_range();
        let start = start as usize;
        let (h, header_len) = crate::thrift::page_header(&bytes[start..]).unwrap_or_else(|e| panic!("{e}"));
        let body = start + header_len..start + header_len + h.compressed_size as usize;
        for zero in [true, false] {
            let mut damaged = bytes.clone();
            for (i, b) in damaged[body.clone()].iter_mut().enumerate() {
                if zero {
                    *b = 0;
                } else if i % 53 == 17 {
                    *b ^= 0x24;
                }
            }
            let path = dir.path().join(format!("damaged-{k}-{zero}.parquet"));
            std::fs::write(&path, &damaged).unwrap_or_else(|e| panic!("{e}"));
            let r = pq_pages::read_numeric(
                &path,
                "many",
                None,
                &mut Sample::default(),
                &mut PageScratch::default(),
            );
            let must_fail = zero || matches!(codec, Compression::GZIP(_));
            match r {
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains(&format!("damaged-{k}")) && msg.contains("`many`"),
                        "{codec}: {msg}"
                    );
                }
                Ok(r) => assert!(!must_fail, "{codec} zeroed {zero}: {r:?}"),
            }
        }
    }
}
