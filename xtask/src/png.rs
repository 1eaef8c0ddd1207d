//! A minimal PNG writer and header reader for the task icons (RGBA, uncompressed deflate blocks).

/// CRC-32 (IEEE), as PNG chunks and zip entries use it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// zlib stream made of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65535).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i == last));
        // Chunks are at most 65535 bytes, so the length fits in 16 bits.
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Encodes `width` x `height` RGBA pixels (row-major, 4 bytes each) as a PNG file.
///
/// # Panics
/// Never for consistent input; `pixels.len()` must be `width * height * 4` (checked, returns `None`).
pub fn encode_rgba(width: u32, height: u32, pixels: &[u8]) -> Option<Vec<u8>> {
    let row = usize::try_from(width).ok()? * 4;
    if pixels.len() != row * usize::try_from(height).ok()? {
        return None;
    }
    let mut raw = Vec::with_capacity(pixels.len() + pixels.len() / row.max(1));
    for line in pixels.chunks(row.max(1)) {
        raw.push(0); // filter: none
        raw.extend_from_slice(line);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no filter, no interlace
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    Some(out)
}

/// The size of a PNG file, after checking its signature and every chunk's CRC.
pub fn dimensions(png: &[u8]) -> Result<(u32, u32), String> {
    if png.len() < 8 || png[..8] != SIGNATURE {
        return Err("not a PNG file (bad signature)".into());
    }
    let mut pos = 8;
    let mut size = None;
    let mut ended = false;
    while pos < png.len() {
        let header = png.get(pos..pos + 8).ok_or("truncated chunk header")?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let body = png.get(pos + 8..pos + 8 + len).ok_or("truncated chunk")?;
        let crc_bytes = png
            .get(pos + 8 + len..pos + 12 + len)
            .ok_or("truncated chunk CRC")?;
        let crc = u32::from_be_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
        if crc32(&png[pos + 4..pos + 8 + len]) != crc {
            return Err(format!("bad CRC in chunk {}", String::from_utf8_lossy(kind)));
        }
        if kind == b"IHDR" && len == 13 {
            let w = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            let h = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
            size = Some((w, h));
        }
        if kind == b"IEND" {
            ended = true;
        }
        pos += 12 + len;
    }
    if !ended {
        return Err("no IEND chunk".into());
    }
    size.ok_or_else(|| "no IHDR chunk".into())
}

/// The picture on an icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyph {
    /// Rising bars (training, and the extension icon).
    Bars,
    /// A box with a lid (registry).
    Box,
    /// An arrow pointing up (deploy).
    Arrow,
    /// A check mark (gate).
    Check,
}

/// A square icon of `size` pixels: a rounded tile of colour `rgb` with a white glyph.
pub fn icon(size: u32, rgb: [u8; 3], glyph: Glyph) -> Vec<u8> {
    let s = size as f32;
    let radius = s * 0.18;
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            // Normalised coordinates of the pixel centre, 0..1.
            let (u, v) = ((x as f32 + 0.5) / s, (y as f32 + 0.5) / s);
            let inside_tile = {
                let cx = (x as f32 + 0.5).clamp(radius, s - radius);
                let cy = (y as f32 + 0.5).clamp(radius, s - radius);
                let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                dx * dx + dy * dy <= radius * radius
            };
            let on_glyph = match glyph {
                Glyph::Bars => {
                    let bars = [(0.20, 0.34, 0.62), (0.42, 0.56, 0.45), (0.64, 0.78, 0.25)];
                    bars.iter()
                        .any(|&(x0, x1, top)| u >= x0 && u < x1 && v >= top && v < 0.80)
                }
                Glyph::Box => {
                    let body = (0.22..0.78).contains(&u) && (0.40..0.80).contains(&v);
                    let lid = (0.18..0.82).contains(&u) && (0.26..0.36).contains(&v);
                    let slot = (0.42..0.58).contains(&u) && (0.48..0.56).contains(&v);
                    (body || lid) && !slot
                }
                Glyph::Arrow => {
                    let head = (0.18..0.50).contains(&v) && (u - 0.5).abs() <= (v - 0.18) * 0.95;
                    let shaft = (0.40..0.60).contains(&u) && (0.48..0.82).contains(&v);
                    head || shaft
                }
                Glyph::Check => {
                    let dist = |ax: f32, ay: f32, bx: f32, by: f32| {
                        let (px, py, dx, dy) = (u - ax, v - ay, bx - ax, by - ay);
                        let t = ((px * dx + py * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                        let (ex, ey) = (px - t * dx, py - t * dy);
                        (ex * ex + ey * ey).sqrt()
                    };
                    dist(0.22, 0.52, 0.42, 0.72) < 0.075 || dist(0.42, 0.72, 0.80, 0.28) < 0.075
                }
            };
            let px = match (inside_tile, on_glyph) {
                (false, _) => [0, 0, 0, 0],
                (true, true) => [255, 255, 255, 255],
                (true, false) => [rgb[0], rgb[1], rgb[2], 255],
            };
            pixels.extend_from_slice(&px);
        }
    }
    // The buffer is size*size*4 bytes by construction.
    encode_rgba(size, size, &pixels).unwrap_or_default()
}

/// The icon of a task folder under `task-manifests/`, by folder name; `None` for an unknown task.
pub fn task_icon(folder: &str) -> Option<Vec<u8>> {
    let (rgb, glyph) = match folder {
        "AzureMLTrainV1" => ([0x00, 0x78, 0xD4], Glyph::Bars),
        "AzureMLRegisterV1" => ([0x5C, 0x2D, 0x91], Glyph::Box),
        "AzureMLDeployV1" => ([0x10, 0x7C, 0x10], Glyph::Arrow),
        "AzureMLGateV1" => ([0xCA, 0x50, 0x10], Glyph::Check),
        _ => return None,
    };
    Some(icon(32, rgb, glyph))
}

/// The extension's 128x128 icon.
pub fn extension_icon() -> Vec<u8> {
    icon(128, [0x00, 0x78, 0xD4], Glyph::Bars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn encoded_png_reads_back_with_its_size() {
        let png = icon(32, [1, 2, 3], Glyph::Check);
        assert_eq!(dimensions(&png), Ok((32, 32)));
        let png = extension_icon();
        assert_eq!(dimensions(&png), Ok((128, 128)));
    }

    #[test]
    fn corrupted_png_is_rejected() {
        let mut png = icon(32, [1, 2, 3], Glyph::Box);
        let n = png.len();
        png[n - 20] ^= 0xFF;
        assert!(dimensions(&png).unwrap_err().contains("bad CRC"));
        assert!(dimensions(b"GIF89a").is_err());
        assert_eq!(encode_rgba(2, 2, &[0; 15]), None);
    }

    #[test]
    fn zlib_stream_splits_large_data_into_blocks() {
        let data = vec![7u8; 70_000];
        let z = zlib_stored(&data);
        // header + two blocks (5 bytes each) + data + adler
        assert_eq!(z.len(), 2 + 5 + 5 + 70_000 + 4);
        assert_eq!(z[2], 0); // first block not final
        assert_eq!(z[2 + 5 + 65535], 1); // second block final
    }
}
