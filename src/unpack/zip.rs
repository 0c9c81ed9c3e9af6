//! The zip family (zip, jar, war, apk, whl, nupkg, docx, xlsx, odt, epub, …), whatever
//! the name. Its index sits at the end, so the archive is held in a buffer (bounded by
//! the archive limit) and read with random access. Members that are stored or
//! deflated are read; others (encrypted, bzip2, lzma, deflate64) are named as
//! unreadable. An archive whose index cannot be read is handed over whole, as
//! content, so that what a plain scan would find in it is still found.

use std::cell::Cell;
use std::io::{self, Cursor, Read};

use super::{Limits, Member, Unpacker};

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
