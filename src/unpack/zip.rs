//! The zip family (zip, jar, war, apk, whl, nupkg, docx, xlsx, odt, epub, …), whatever
//! the name. Its index sits at the end, so the archive is held in a buffer (bounded by
//! the archive limit) and read with random access. Members that are stored,
//! deflated, deflate64, bzip2, LZMA, xz or zstd are read; encrypted ones, and other
//! methods, are named as unreadable. An archive whose index cannot be read is handed over whole, as
//! content, so that what a plain scan would find in it is still found.

use std::cell::Cell;
use std::io::{self, Cursor, Read};

use ::zip::CompressionMethod;

use super::{Limits, Member, Unpacker};

/// Largest LZMA dictionary a member may ask for, as for xz: 64 MiB.
const LZMA_DICT_MAX: u32 = 64 << 20;

/// An LZMA member: the zip format's own header (the SDK version, the length of the
/// properties, the properties byte and the dictionary size), then raw LZMA, read up
/// to the member's size.
fn lzma<'a>(raw: &'a mut dyn Read, size: u64) -> io::Result<Box<dyn Read + 'a>> {
    let mut header = [0u8; 9];
    raw.read_exact(&mut header)?;
    let props_len = u16::from_le_bytes([header[2], header[3]]);
    if props_len != 5 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("LZMA properties of {props_len} bytes"),
        ));
    }
    let dict = u32::from_le_bytes([header[5], header[6], header[7], header[8]]);
    if dict > LZMA_DICT_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an LZMA dictionary of {dict} bytes, more than {LZMA_DICT_MAX}"),
        ));
    }
    let reader = lzma_rust2::LzmaReader::new_with_props(raw, size, header[4], dict, None)
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err.to_string()))?;
    Ok(Box::new(reader))
}

pub struct Zip;

impl Unpacker for Zip {
    fn members(
        &self,
        input: &mut dyn Read,
        limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        input
            .take(limits.archive_bytes.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limits.archive_bytes {
            return Err(io::Error::other(format!(
                "larger than --max-archive-bytes {}, not opened",
                limits.archive_bytes
            )));
        }
        let mut archive = match ::zip::ZipArchive::new(Cursor::new(&bytes[..])) {
            Ok(archive) => archive,
            Err(err) => {
                each(Member {
                    name: String::new(),
                    content: &mut &bytes[..],
                    packed: None,
                })?;
                return Err(io::Error::new(io::ErrorKind::InvalidData, err.to_string()));
            }
        };
        let mut unreadable = Vec::new();
        for i in 0..archive.len() {
            let shown = archive.name_for_index(i).unwrap_or("?").to_string();
            // Methods the zip crate is built without are read here, from the raw
            // member, with the decoders the other formats use.
            let own = archive
                .by_index_raw(i)
                .ok()
                .filter(|raw| !raw.encrypted() && !raw.is_dir())
                .map(|raw| raw.compression())
                .filter(|method| {
                    [
                        CompressionMethod::BZIP2,
                        CompressionMethod::LZMA,
                        CompressionMethod::XZ,
                        CompressionMethod::ZSTD,
                    ]
                    .contains(method)
                });
            if let Some(method) = own {
                let mut raw = match archive.by_index_raw(i) {
                    Ok(raw) => raw,
                    Err(err) => {
                        unreadable.push(format!("`{shown}` ({err})"));
                        continue;
                    }
                };
                let name = String::from_utf8_lossy(raw.name_raw()).into_owned();
                let packed = Cell::new(raw.compressed_size());
                let size = raw.size();
                let opened: io::Result<Box<dyn Read + '_>> = match method {
                    CompressionMethod::BZIP2 => {
                        Ok(Box::new(::bzip2::read::BzDecoder::new(&mut raw)))
                    }
                    CompressionMethod::XZ => Ok(Box::new(lzma_rust2::XzReader::new_mem_limit(
                        &mut raw,
                        true,
                        super::xz::MEMORY_KIB,
                    ))),
                    CompressionMethod::ZSTD => super::zstd::frames(&mut raw),
                    _ => lzma(&mut raw, size),
                };
                let mut content = match opened {
                    Ok(content) => content,
                    Err(err) => {
                        unreadable.push(format!("`{shown}` ({err})"));
                        continue;
                    }
                };
                let go_on = each(Member {
                    name,
                    content: &mut *content,
                    packed: Some(&packed),
                })?;
                if !go_on {
                    break;
                }
                continue;
            }
            let mut file = match archive.by_index(i) {
                Ok(file) => file,
                Err(err) => {
                    unreadable.push(format!("`{shown}` ({err})"));
                    continue;
                }
            };
            if file.is_dir() {
                continue;
            }
            let name = String::from_utf8_lossy(file.name_raw()).into_owned();
            let packed = Cell::new(file.compressed_size());
            let go_on = each(Member {
                name,
                content: &mut file,
                packed: Some(&packed),
            })?;
            if !go_on {
                break;
            }
        }
        if unreadable.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("members not read: {}", unreadable.join(", ")),
            ))
        }
    }
}
