//! tar (POSIX ustar, GNU and pax, long names included), read as a stream: each
//! regular file is a member; links, folders and devices hold no content to scan.

use std::io::{self, Read};

use super::{Limits, Member, Unpacker};

pub struct Tar;

impl Unpacker for Tar {
    fn members(
        &self,
        input: &mut dyn Read,
        _limits: &Limits,
        each: &mut dyn FnMut(Member) -> io::Result<bool>,
    ) -> io::Result<()> {
        let mut archive = ::tar::Archive::new(input);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind == ::tar::EntryType::Continuous) {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let go_on = each(Member {
                name,
                content: &mut entry,
                packed: None,
            })?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }
}
