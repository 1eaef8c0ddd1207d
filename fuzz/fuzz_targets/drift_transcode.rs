//! Arbitrary bytes as a BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY or
//! DELTA_BYTE_ARRAY Parquet page (the drift page reader's own decoders, `pq_pages/transcode.rs`
//! and `pq_pages/delta_text.rs`, written to skip the Arrow reader): values or an error, never a
//! panic; and whatever this reader decodes, the `parquet` crate's decoders decode the same, bit
//! for bit (the input's layout: `amlops_drift::fuzz_transcode`). Where the crate's decoder
//! panics (it slices past the end of a DELTA_LENGTH_BYTE_ARRAY page whose last miniblock lacks
//! its padding), it has no answer to compare with.
#![no_main]

use std::sync::Arc;

use amlops_drift::FuzzEncoding;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use parquet::basic::{ConvertedType, Encoding, Type as Physical};
use parquet::data_type::{ByteArrayType, DataType, DoubleType, FloatType, Int32Type, Int64Type, SliceAsBytes};
use parquet::decoding::get_decoder;
use parquet::schema::types::{ColumnDescriptor, ColumnPath, Type};

/// The crate's decoding of `present` values of `T` from `page`.
fn decode<T: DataType>(physical: Physical, encoding: Encoding, page: &[u8], present: usize) -> Option<Vec<T::T>> {
    let mut leaf = Type::primitive_type_builder("x", physical);
    if physical == Physical::BYTE_ARRAY {
        leaf = leaf.with_converted_type(ConvertedType::UTF8);
    }
    let descr = Arc::new(ColumnDescriptor::new(Arc::new(leaf.build().ok()?), 0, 0, ColumnPath::from("x")));
    let mut d = get_decoder::<T>(descr, encoding).ok()?;
    d.set_data(Bytes::copy_from_slice(page), present).ok()?;
    let mut out = vec![T::T::default(); present];
    let n = d.get(&mut out).ok()?;
    (n == present).then_some(out)
}

fn numbers<T: DataType>(physical: Physical, encoding: Encoding, page: &[u8], present: usize) -> Option<Vec<u8>>
where
    T::T: SliceAsBytes,
{
    decode::<T>(physical, encoding, page, present).map(|v| T::T::slice_as_bytes(&v).to_vec())
}

/// Text values as PLAIN BYTE_ARRAY bytes: a 4-byte length, then the bytes.
fn texts(encoding: Encoding, page: &[u8], present: usize) -> Option<Vec<u8>> {
    let values = decode::<ByteArrayType>(Physical::BYTE_ARRAY, encoding, page, present)?;
    let mut out = Vec::new();
    for v in values {
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v.data());
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    amlops_fuzz::quiet_panics();
    let Some(p) = amlops_drift::fuzz_transcode(data) else {
        return;
    };
    let Ok(ours) = &p.plain else {
        return;
    };
    if p.present == 0 {
        assert!(ours.is_empty(), "{p:?}");
        return;
    }
    let reference = || match (p.encoding, p.width) {
        (FuzzEncoding::DeltaBinaryPacked, 4) => {
            numbers::<Int32Type>(Physical::INT32, Encoding::DELTA_BINARY_PACKED, p.page, p.present)
        }
        (FuzzEncoding::DeltaBinaryPacked, _) => {
            numbers::<Int64Type>(Physical::INT64, Encoding::DELTA_BINARY_PACKED, p.page, p.present)
        }
        (FuzzEncoding::ByteStreamSplit, 4) => {
            numbers::<FloatType>(Physical::FLOAT, Encoding::BYTE_STREAM_SPLIT, p.page, p.present)
        }
        (FuzzEncoding::ByteStreamSplit, _) => {
            numbers::<DoubleType>(Physical::DOUBLE, Encoding::BYTE_STREAM_SPLIT, p.page, p.present)
        }
        (FuzzEncoding::DeltaLengthByteArray, _) => texts(Encoding::DELTA_LENGTH_BYTE_ARRAY, p.page, p.present),
        (FuzzEncoding::DeltaByteArray, _) => texts(Encoding::DELTA_BYTE_ARRAY, p.page, p.present),
    };
    let Ok(theirs) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(reference)) else {
        return;
    };
    assert_eq!(Some(ours), theirs.as_ref(), "{p:?}");
});
