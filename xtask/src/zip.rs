//! Just enough of the zip format to list a .vsix, and to write a stored (uncompressed) one in tests.

/// One entry of a zip file's central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub compressed_size: u64,
    pub size: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Lists the entries of a zip file from its central directory.
pub fn list(bytes: &[u8]) -> Result<Vec<ZipEntry>, String> {
    const EOCD: u32 = 0x0605_4b50;
    const CENTRAL: u32 = 0x0201_4b50;
    if bytes.len() < 22 {
        return Err("not a zip file (too short)".into());
    }
    // The end-of-central-directory record is in the last 22 + 65535 bytes.
    let lowest = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..=bytes.len() - 22)
        .rev()
        .find(|&i| u32_at(bytes, i) == Some(EOCD))
        .ok_or("not a zip file (no end of central directory)")?;
    let count = u16_at(bytes, eocd + 10).ok_or("truncated end record")?;
    let offset = u32_at(bytes, eocd + 16).ok_or("truncated end record")? as usize;
    let mut pos = offset;
    let mut entries = Vec::with_capacity(usize::from(count));
    for index in 0..count {
        if u32_at(bytes, pos) != Some(CENTRAL) {
            return Err(format!("central directory entry {index} is damaged"));
        }
        let field = |at: usize| u32_at(bytes, pos + at).ok_or(format!("entry {index} is truncated"));
        let field16 = |at: usize| u16_at(bytes, pos + at).ok_or(format!("entry {index} is truncated"));
        let compressed_size = u64::from(field(20)?);
        let size = u64::from(field(24)?);
        let name_len = usize::from(field16(28)?);
        let extra_len = usize::from(field16(30)?);
        let comment_len = usize::from(field16(32)?);
        let name = bytes
            .get(pos + 46..pos + 46 + name_len)
            .ok_or(format!("entry {index}: name is truncated"))?;
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            compressed_size,
            size,
        });
        pos += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// Writes a zip file with stored entries (for tests and fixtures).
pub fn write_stored(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let crc = crate::png::crc32(data);
        let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        // Local header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method, time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // made by, needed, flags, method, time, date
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, internal attrs, external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let count = u16::try_from(files.len()).unwrap_or(u16::MAX);
    let central_len = u32::try_from(central.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_zip_lists_back() {
        let zip = write_stored(&[("a/b.txt", b"hello"), ("c", b"")]);
        let entries = list(&zip).unwrap();
        assert_eq!(
            entries,
            vec![
                ZipEntry {
                    name: "a/b.txt".into(),
                    compressed_size: 5,
                    size: 5
                },
                ZipEntry {
                    name: "c".into(),
                    compressed_size: 0,
                    size: 0
                },
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(list(b"short").is_err());
        assert!(list(&[0u8; 100]).is_err());
        let mut zip = write_stored(&[("x", b"1")]);
        let n = zip.len();
        // Point the central directory offset past the end.
        zip[n - 6] = 0xFF;
        assert!(list(&zip).is_err());
    }
}
