//! Archives: keys inside the zip family, tar, gzip, bzip2, xz and zstd, nested, found
//! through the real binary in every source and named `outer!member`; and the inputs
//! that hurt scanners (bombs, damaged archives, huge members, hostile names), which
//! must cost bounded time and memory and leave the rest of the scan going.

use std::io::{Cursor, Write};

use serde_json::Value;

use crate::util::{keys, TestEnv};

/// A zip holding `members` (name, content), deflated.
fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in members {
        writer.start_file(*name, options).expect("start a member");
        writer.write_all(content).expect("write a member");
    }
    writer.finish().expect("finish the zip").into_inner()
}

/// A tar (GNU headers, long names as GNU writes them) holding `members`.
fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *content)
            .expect("append a member");
    }
    builder.into_inner().expect("finish the tar")
}

/// A tar in the old (Unix V7) form, with no `ustar` magic: only its header checksum
/// tells it apart.
fn old_tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in members {
        let mut header = tar::Header::new_old();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *content)
            .expect("append a member");
    }
    builder.into_inner().expect("finish the tar")
}

/// A tar in the POSIX ustar form, with each member's name in a pax extended header
/// (as `tar --format=pax` writes it). Names are written raw, so hostile ones survive.
fn pax_tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in members {
        // A pax record is "LEN path=VALUE\n", LEN counting the whole record.
        let body = format!(" path={name}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        let record = format!("{len}{body}");
        let mut pax = tar::Header::new_ustar();
        pax.set_entry_type(tar::EntryType::XHeader);
        pax.set_size(record.len() as u64);
        pax.set_mode(0o644);
        pax.as_ustar_mut().expect("ustar").name[..9].copy_from_slice(b"PaxHeader");
        pax.set_cksum();
        builder
            .append(&pax, record.as_bytes())
            .expect("a pax header");
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.as_ustar_mut().expect("ustar").name[..4].copy_from_slice(b"stub");
        header.set_cksum();
        builder.append(&header, *content).expect("append a member");
    }
    builder.into_inner().expect("finish the tar")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn bzip2(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    encoder.write_all(bytes).expect("bzip2");
    encoder.finish().expect("bzip2")
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut Cursor::new(bytes), &mut out).expect("xz");
    out
}

/// A zstd frame of raw blocks (the decoder is all keygate needs; raw blocks are the
/// simplest valid frame to write by hand).
fn zstd(bytes: &[u8]) -> Vec<u8> {
    // Magic; no single segment, no content size, no checksum; a 2 MiB window.
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58];
    let blocks: Vec<&[u8]> = bytes.chunks(128 << 10).collect();
    if blocks.is_empty() {
        out.extend([1, 0, 0]);
    }
    for (i, block) in blocks.iter().enumerate() {
        let last = u32::from(i + 1 == blocks.len());
        let header = (block.len() as u32) << 3 | last;
        out.extend(&header.to_le_bytes()[..3]);
        out.extend(*block);
    }
    out
}

/// CRC-32 (IEEE), bit by bit: for the few members tests write by hand.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                crc >> 1 ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip written by hand, for compression methods the zip crate does not write:
/// each member is (name, method, compressed data, content).
fn raw_zip(members: &[(&str, u16, Vec<u8>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, method, data, content) in members {
        let offset = out.len() as u32;
        let fixed = |sig: u32, out: &mut Vec<u8>| {
            out.extend(sig.to_le_bytes());
            out.extend(20u16.to_le_bytes()); // version needed
            out.extend(0u16.to_le_bytes()); // flags
            out.extend(method.to_le_bytes());
            out.extend([0, 0, 0x21, 0]); // time, date
            out.extend(crc32(content).to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend((content.len() as u32).to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes()); // extra
        };
        fixed(0x0403_4B50, &mut out);
        out.extend(name.as_bytes());
        out.extend(data);
        central.extend(0x0201_4B50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // version made by
        let mut entry = Vec::new();
        fixed(0, &mut entry);
        central.extend(&entry[4..]);
        central.extend([0u8; 6]); // comment, disk, internal attributes
        central.extend(0u32.to_le_bytes()); // external attributes
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4B50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(at.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Raw LZMA as a zip member holds it: the SDK version, the length of the
/// properties, the properties, then the stream with an end marker.
fn zip_lzma(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let options = lzma_rust2::LzmaOptions::with_preset(6);
    let mut writer =
        lzma_rust2::LzmaWriter::new_no_header(Vec::new(), &options, true).expect("lzma");
    writer.write_all(bytes).expect("lzma");
    let stream = writer.finish().expect("lzma");
    let mut out = vec![16, 2, 5, 0, options.get_props()];
    out.extend(options.dict_size.to_le_bytes());
    out.extend(stream);
    out
}

/// Deflate in stored blocks, which deflate64 reads the same way.
fn stored_deflate(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![1];
    out.extend((bytes.len() as u16).to_le_bytes());
    out.extend((!(bytes.len() as u16)).to_le_bytes());
    out.extend(bytes);
    out
}

/// A skippable zstd frame holding `len` bytes.
fn zstd_skippable(len: u32) -> Vec<u8> {
    let mut out = vec![0x50, 0x2A, 0x4D, 0x18];
    out.extend(len.to_le_bytes());
    out.extend(std::iter::repeat_n(0xAB, len as usize));
    out
}

/// xz at preset 6 with `lzma-rust2`'s encoder, which finds the matches that make a bomb.
fn xz_packed(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut writer =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).expect("xz");
    writer.write_all(bytes).expect("xz");
    writer.finish().expect("xz")
}

/// A zstd frame that decompresses to `blocks` × 128 KiB of zeros in 4 bytes a block
/// (run-length blocks): a bomb.
fn zstd_bomb(blocks: usize) -> Vec<u8> {
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58];
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        let header = (128u32 << 10) << 3 | 1 << 1 | last;
        out.extend(&header.to_le_bytes()[..3]);
        out.push(0);
    }
    out
}

fn env_file(key: &str) -> Vec<u8> {
    format!("# deploy settings\nOPENAI_API_KEY={key}\n").into_bytes()
}

/// `keygate scan --format json --show-secrets ARGS`: exit status, findings, stats and
/// stderr.
fn scan(env: &TestEnv, args: &[&str], stdin: Option<Vec<u8>>) -> (i32, Vec<Value>, Value, String) {
    let mut cmd = env.keygate();
    cmd.args(["scan", "--format", "json", "--show-secrets"])
        .args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let out = cmd.output().expect("keygate runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    (
        out.status.code().expect("an exit status"),
        doc["findings"].as_array().expect("findings").clone(),
        doc["stats"].clone(),
        stderr,
    )
}

/// (path, secret, line, column) of each finding, in report order.
fn places(found: &[Value]) -> Vec<(String, String, u64, u64)> {
    found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["secret"].as_str().expect("secret").to_string(),
                f["line"].as_u64().expect("line"),
                f["column"].as_u64().expect("column"),
            )
        })
        .collect()
}

/// Every format, recognised by its content whatever its name: each key is found in
/// its member, at the member's line and column, with the plain key's fingerprint.
#[test]
fn every_format_is_opened_by_content() {
    let env = TestEnv::new();
    let key = |seed| keys::openai_project(seed);
    let docx_xml = format!(
        "<?xml version=\"1.0\"?><w:document><w:body><w:p><w:r><w:t>Production key: {}</w:t></w:r></w:p></w:body></w:document>",
        key(7)
    );
    env.write("release.zip", zip(&[("deploy/.env", &env_file(&key(1)))]));
    env.write(
        "app.jar",
        zip(&[(
            "BOOT-INF/application.properties",
            format!("openai.key={}\n", key(2)).as_bytes(),
        )]),
    );
    env.write("backup.tar", tar(&[("etc/app/.env", &env_file(&key(3)))]));
    env.write(
        "backup.tar.gz",
        gzip(&pax_tar(&[("srv/config.env", &env_file(&key(4)))])),
    );
    env.write("app.log.gz", gzip(&env_file(&key(5))));
    env.write("dump.bz2", bzip2(&env_file(&key(6))));
    env.write(
        "runbook.docx",
        zip(&[
            ("[Content_Types].xml", b"<Types/>".as_slice()),
            ("word/document.xml", docx_xml.as_bytes()),
        ]),
    );
    env.write("settings.xz", xz(&env_file(&key(8))));
    env.write("cache.zst", zstd(&env_file(&key(9))));
    env.write("v7.tar", old_tar(&[("etc/old.env", &env_file(&key(13)))]));
    // Named like nothing it is: still opened.
    env.write("data.bin", zip(&[("inner.txt", &env_file(&key(10)))]));
    // Named like an archive, but plain text: scanned as text.
    env.write("notes.zip", env_file(&key(11)));
    env.write("notes.target", env_file(&key(12)));

    let (code, found, stats, stderr) = scan(&env, &[], None);
    assert_eq!(code, 1, "{stderr}");
    let mut got = places(&found);
    got.sort();
    let mut want = vec![
        ("release.zip!deploy/.env".to_string(), key(1), 2, 16),
        (
            "app.jar!BOOT-INF/application.properties".to_string(),
            key(2),
            1,
            12,
        ),
        ("backup.tar!etc/app/.env".to_string(), key(3), 2, 16),
        ("backup.tar.gz!srv/config.env".to_string(), key(4), 2, 16),
        ("app.log.gz".to_string(), key(5), 2, 16),
        ("dump.bz2".to_string(), key(6), 2, 16),
        ("runbook.docx!word/document.xml".to_string(), key(7), 1, 73),
        ("settings.xz".to_string(), key(8), 2, 16),
        ("cache.zst".to_string(), key(9), 2, 16),
        ("data.bin!inner.txt".to_string(), key(10), 2, 16),
        ("notes.zip".to_string(), key(11), 2, 16),
        ("notes.target".to_string(), key(12), 2, 16),
        ("v7.tar!etc/old.env".to_string(), key(13), 2, 16),
    ];
    want.sort();
    assert_eq!(got, want, "{stderr}");
    assert!(
        stats["archive_members"].as_u64().unwrap_or(0) >= 10,
        "{stats}"
    );
    assert!(stderr.is_empty(), "{stderr}");
}

/// Archives inside archives are named by their chain of members, to the depth
/// allowed; deeper ones are named in a warning and counted; 0 opens nothing.
#[test]
fn nested_archives_are_opened_to_the_depth_allowed() {
    let env = TestEnv::new();
    let key = keys::openai_project(21);
    let bundle = zip(&[("deploy/.env", &env_file(&key))]);
    env.write(
        "outer.tar.gz",
        gzip(&tar(&[("release/bundle.zip", &bundle)])),
    );

    let (code, found, _, stderr) = scan(&env, &[], None);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        places(&found),
        vec![(
            "outer.tar.gz!release/bundle.zip!deploy/.env".to_string(),
            key.clone(),
            2,
            16
        )]
    );

    // The inner zip is scanned as the bytes it is, not opened: no member of it is named.
    let (_, found, stats, stderr) = scan(&env, &["--max-archive-depth", "1"], None);
    assert!(
        found
            .iter()
            .all(|f| f["path"] == "outer.tar.gz!release/bundle.zip"),
        "{found:?}"
    );
    assert!(
        stderr.contains("`outer.tar.gz`")
            && stderr.contains("release/bundle.zip")
            && stderr.contains("--max-archive-depth 1"),
        "{stderr}"
    );
    assert_eq!(stats["archive_limited"], 1, "{stats}");

    let (code, found, _, _) = scan(&env, &["--max-archive-depth", "0"], None);
    assert_eq!((code, found.len()), (0, 0));
}

/// Bombs (a gigabyte and more of zeros in a few hundred kilobytes, as gzip, zstd and
/// zip) cost bounded time: the ratio and byte limits stop them, a warning names each,
/// `stats` counts them, and a key in a file beside them is still found.
#[test]
fn bombs_cost_bounded_time() {
    let env = TestEnv::new();
    let key = keys::openai_project(31);
    // 16 MiB of zeros compressed once, the stream repeated: 2 GiB in gzip members.
    let piece = gzip(&vec![0u8; 16 << 20]);
    env.write("bomb.gz", piece.repeat(128));
    // 1 GiB in zstd run-length blocks.
    env.write("bomb.zst", zstd_bomb(8192));
    // 64 members of 16 MiB of zeros each, one compressed member copied.
    let one = zip(&[("zeros", &vec![0u8; 16 << 20])]);
    let mut source = zip::ZipArchive::new(Cursor::new(one)).expect("a zip");
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..64 {
        let member = source.by_index_raw(0).expect("a member");
        writer
            .raw_copy_file_rename(member, format!("zeros-{i}"))
            .expect("copy");
    }
    env.write("bomb.zip", writer.finish().expect("a zip").into_inner());
    // 16 MiB of zeros in one xz stream, the stream repeated: 2 GiB.
    env.write("bomb.xz", xz_packed(&vec![0u8; 16 << 20]).repeat(128));
    env.write("beside/.env", env_file(&key));

    let (code, found, stats, stderr) = scan(
        &env,
        &[
            "--max-archive-bytes",
            "8000000",
            "--max-member-bytes",
            "4000000",
        ],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        places(&found),
        vec![("beside/.env".to_string(), key, 2, 16)]
    );
    for bomb in ["bomb.gz", "bomb.zst", "bomb.zip", "bomb.xz"] {
        assert!(stderr.contains(&format!("`{bomb}`")), "{bomb}: {stderr}");
    }
    assert!(
        stats["archive_limited"].as_u64().unwrap_or(0) >= 4,
        "{stats}"
    );
}

/// Zip members compressed with bzip2, LZMA, xz, zstd and deflate64 (what 7-Zip and
/// Windows write for large files) are read like deflated ones; an encrypted member
/// is named as unreadable, and the members beside it are still read.
#[test]
fn zip_members_of_every_method_are_read() {
    let env = TestEnv::new();
    let key = |seed| keys::openai_project(seed);
    let contents: Vec<Vec<u8>> = (71..76).map(|seed| env_file(&key(seed))).collect();
    let members = vec![
        ("a.bz2.env", 12, bzip2(&contents[0]), contents[0].as_slice()),
        ("b.lzma.env", 14, zip_lzma(&contents[1]), &contents[1]),
        ("c.xz.env", 95, xz_packed(&contents[2]), &contents[2]),
        ("d.zst.env", 93, zstd(&contents[3]), &contents[3]),
        (
            "e.deflate64.env",
            9,
            stored_deflate(&contents[4]),
            &contents[4],
        ),
    ];
    env.write("methods.zip", raw_zip(&members));
    // Traditional encryption: flag bit 0. The bytes are not readable without the
    // password, whatever they are.
    let mut locked = raw_zip(&[("locked.env", 0, b"not the plain text".to_vec(), b"x")]);
    locked[6] = 1;
    let central = locked
        .windows(4)
        .position(|w| w == [0x50, 0x4B, 0x01, 0x02])
        .expect("central");
    locked[central + 8] = 1;
    env.write("locked.zip", &locked);

    let (code, found, stats, stderr) = scan(&env, &[], None);
    assert_eq!(code, 1, "{stderr}");
    let names = [
        "a.bz2.env",
        "b.lzma.env",
        "c.xz.env",
        "d.zst.env",
        "e.deflate64.env",
    ];
    let want: Vec<(String, String, u64, u64)> = names
        .iter()
        .zip(71..76)
        .map(|(name, seed)| (format!("methods.zip!{name}"), key(seed), 2, 16))
        .collect();
    assert_eq!(places(&found), want, "{stderr}");
    assert!(
        stderr.contains("`locked.zip`") && stderr.contains("locked.env"),
        "{stderr}"
    );
    assert_eq!(stats["archive_errors"], 1, "{stats}");
}

/// A zstd stream is read frame after frame, as `zstd -d` reads it: concatenated
/// files and skippable frames (seek tables, metadata) included. A frame that asks
/// for a window larger than zstd's own limit is named, not opened.
#[test]
fn zstd_frames_are_read_one_after_another() {
    let env = TestEnv::new();
    let late = keys::openai_project(61);
    let skipped_first = keys::openai_project(62);
    let mut two = zstd(b"first frame\n");
    two.extend(zstd_skippable(8));
    two.extend(zstd(&env_file(&late)));
    env.write("two.zst", &two);
    let mut opens_skippable = zstd_skippable(16);
    opens_skippable.extend(zstd(&env_file(&skipped_first)));
    env.write("seekable.zst", &opens_skippable);
    // Window descriptor 0xB8: 2^33 bytes.
    env.write(
        "wide.zst",
        [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0xB8, 0x01, 0x00, 0x00],
    );

    let (code, found, stats, stderr) = scan(&env, &[], None);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        places(&found),
        vec![
            ("seekable.zst".to_string(), skipped_first, 2, 16),
            ("two.zst".to_string(), late, 3, 16),
        ]
    );
    assert!(
        stderr.contains("`wide.zst`") && stderr.contains("window"),
        "{stderr}"
    );
    assert_eq!(stats["archive_errors"], 1, "{stats}");
}

/// A damaged archive is named, counted and passed over; the rest of the scan goes on,
/// and what can still be read of it is scanned.
#[test]
fn a_corrupt_archive_is_named_and_the_scan_goes_on() {
    let env = TestEnv::new();
    let key = keys::openai_project(41);
    let other = keys::openai_project(42);
    let mut broken = zip(&[("a.env", &env_file(&key))]);
    broken.truncate(broken.len() - 30);
    env.write("broken.zip", &broken);
    let mut cut = gzip(&tar(&[
        ("x/.env", &env_file(&other)),
        ("y", &vec![b'y'; 100_000]),
    ]));
    cut.truncate(cut.len() / 2);
    env.write("cut.tar.gz", &cut);
    env.write("garbage.xz", b"\xFD7zXZ\x00garbage that is no xz stream");
    env.write("fine/.env", env_file(&keys::openai_project(43)));

    let (code, found, stats, stderr) = scan(&env, &[], None);
    assert_eq!(code, 1, "{stderr}");
    let paths: Vec<String> = places(&found).into_iter().map(|p| p.0).collect();
    assert!(paths.contains(&"fine/.env".to_string()), "{paths:?}");
    assert!(
        paths.contains(&"cut.tar.gz!x/.env".to_string()),
        "{paths:?}"
    );
    for name in ["broken.zip", "cut.tar.gz", "garbage.xz"] {
        assert!(stderr.contains(&format!("`{name}`")), "{name}: {stderr}");
    }
    assert!(
        stats["archive_errors"].as_u64().unwrap_or(0) >= 3,
        "{stats}"
    );
}

/// A member past `--max-member-bytes` is scanned up to the limit and named; past
/// `--max-archive-members`, the rest of the archive is named and left.
#[test]
fn members_past_the_limits_are_named() {
    let env = TestEnv::new();
    let early = keys::openai_project(51);
    let late = keys::openai_project(52);
    let mut big = env_file(&early);
    big.extend(vec![b'\n'; 200_000]);
    big.extend(env_file(&late));
    env.write("big.zip", zip(&[("big.env", &big)]));
    let (code, found, stats, stderr) = scan(&env, &["--max-member-bytes", "100000"], None);
    assert_eq!(code, 1);
    assert_eq!(
        places(&found),
        vec![("big.zip!big.env".to_string(), early, 2, 16)]
    );
    assert!(
        stderr.contains("`big.zip`")
            && stderr.contains("big.env")
            && stderr.contains("--max-member-bytes"),
        "{stderr}"
    );
    assert_eq!(stats["archive_limited"], 1);

    let many: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("m{i}.env"), env_file(&keys::openai_project(60 + i))))
        .collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    env.write("big.zip", zip(&refs));
    let (_, found, _, stderr) = scan(&env, &["--max-archive-members", "2"], None);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(stderr.contains("--max-archive-members"), "{stderr}");
}

/// Member names are only names: `..`, absolute paths and control characters are
/// reported as they are in JSON, and nothing is written anywhere.
#[test]
fn hostile_member_names_are_only_names() {
    let env = TestEnv::new();
    let key = keys::openai_project(71);
    let names = ["../../etc/x", "/abs/olute.env", "evil\x1b[31m\rname"];
    let members: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, b"".as_slice())).collect();
    let mut members = members;
    let content = env_file(&key);
    for m in &mut members {
        m.1 = &content;
    }
    env.write("evil.tar", pax_tar(&members));
    env.write("evil.zip", zip(&members));
    let before: Vec<_> = walk(env.path());

    let (code, found, _, stderr) = scan(&env, &[], None);
    assert_eq!(code, 1, "{stderr}");
    let paths: Vec<String> = places(&found).into_iter().map(|p| p.0).collect();
    for archive in ["evil.tar", "evil.zip"] {
        for name in names {
            assert!(
                paths.contains(&format!("{archive}!{name}")),
                "{archive}!{name:?} in {paths:?}"
            );
        }
    }
    assert_eq!(walk(env.path()), before, "nothing written");
    assert!(!env
        .path()
        .parent()
        .expect("a parent")
        .join("etc/x")
        .exists());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out.sort();
    out
}

/// Standard input is opened like a file: a zip (held in a bounded buffer) and a
/// compressed tar (streamed).
#[test]
fn standard_input_opens_archives() {
    let env = TestEnv::new();
    let key = keys::openai_project(81);
    let (code, found, _, stderr) =
        scan(&env, &["-"], Some(zip(&[("deploy/.env", &env_file(&key))])));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        places(&found),
        vec![("<stdin>!deploy/.env".to_string(), key.clone(), 2, 16)]
    );
    let (_, found, _, _) = scan(
        &env,
        &["-"],
        Some(gzip(&tar(&[("a/.env", &env_file(&key))]))),
    );
    assert_eq!(
        places(&found),
        vec![("<stdin>!a/.env".to_string(), key, 2, 16)]
    );
}

/// Inline allows inside a member count; `[allow] paths` matches the archive's path
/// and the member's path; the fingerprint is the plain key's.
#[test]
fn suppression_applies_inside_members() {
    let env = TestEnv::new();
    let key = keys::openai_project(91);
    let allowed = format!("KEY={key} # keygate:allow\n");
    env.write("a.zip", zip(&[("inline.env", allowed.as_bytes())]));
    env.write("b.zip", zip(&[("fixtures/test.env", &env_file(&key))]));
    env.write("vendor/c.zip", zip(&[("x.env", &env_file(&key))]));
    env.write("plain.env", env_file(&key));
    env.write(
        ".keygate.toml",
        "[allow]\npaths = [\"fixtures/**\", \"vendor/**\"]\n",
    );
    let (code, found, stats, stderr) = scan(&env, &[], None);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(places(&found), vec![("plain.env".to_string(), key, 2, 16)]);
    assert_eq!(stats["suppressed"], 2, "{stats}");
}

/// SARIF locates the archive (the file GitHub can show) and names the member in the
/// message and a property; JSON names the member in the path.
#[test]
fn sarif_locates_the_archive_and_names_the_member() {
    let env = TestEnv::new();
    let key = keys::openai_project(95);
    env.write("dist/release.zip", zip(&[("deploy/.env", &env_file(&key))]));
    let out = env
        .keygate()
        .args(["scan", "--format", "sarif"])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let result = &doc["runs"][0]["results"][0];
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"], "dist/release.zip",
        "{result}"
    );
    assert_eq!(location["region"]["startLine"], 1);
    let message = result["message"]["text"].as_str().expect("a message");
    assert!(
        message.contains("`deploy/.env`, line 2, column 16"),
        "{message}"
    );
    assert_eq!(result["properties"]["archiveMember"], "deploy/.env");
    assert!(!out.stdout.windows(key.len()).any(|w| w == key.as_bytes()));

    // GitHub's rules accept the document, a nested member and a decoded key beside it.
    let encoded = keys::base64(format!("OPENAI_API_KEY={}\n", keys::openai_project(96)).as_bytes());
    env.write(
        "dist/nested.tar.gz",
        gzip(&tar(&[(
            "inner/app.zip",
            &zip(&[(
                "k8s/secret.yaml",
                format!("data:\n  env: {encoded}\n").as_bytes(),
            )]),
        )])),
    );
    let file = env.path().join("members.sarif");
    env.keygate()
        .args(["scan", "dist", "--format", "sarif", "-o"])
        .arg(&file)
        .assert()
        .code(1);
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
    let members: Vec<&str> = doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["properties"]["archiveMember"].as_str())
        .collect();
    assert_eq!(members.len(), 2, "{doc}");
    assert!(
        members.contains(&"inner/app.zip!k8s/secret.yaml"),
        "{members:?}"
    );
    let Some(problems) = crate::sarif::validate(&file) else {
        return;
    };
    assert!(problems.is_empty(), "members.sarif: {problems:#?}");
}

/// `--staged` blocks an archive for the keys its committed version did not hold;
/// `--range` and `--history` open archive blobs and name their members under the
/// blob's path (each path that holds the blob, in history).
#[test]
fn git_sources_open_archives() {
    let env = TestEnv::git_repo();
    let old = keys::openai_project(101);
    let new = keys::openai_project(102);
    env.write("README", "hello\n");
    env.write("dist/bundle.zip", zip(&[("deploy/.env", &env_file(&old))]));
    let base = env.commit_all("first");
    // Staged: the old key stays, a new one arrives in another member.
    env.write(
        "dist/bundle.zip",
        zip(&[
            ("deploy/.env", &env_file(&old)),
            ("deploy/prod.env", &env_file(&new)),
        ]),
    );
    env.git(&["add", "-A"]);
    let (code, found, _, stderr) = scan(&env, &["--staged"], None);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        places(&found),
        vec![(
            "dist/bundle.zip!deploy/prod.env".to_string(),
            new.clone(),
            2,
            16
        )]
    );

    env.write(
        "copy/logs.tar.gz",
        gzip(&tar(&[("app/.env", &env_file(&new))])),
    );
    let head = env.commit_all("second");
    let (code, found, _, stderr) = scan(&env, &["--range", &format!("{base}..{head}")], None);
    assert_eq!(code, 1, "{stderr}");
    let mut got: Vec<String> = places(&found).into_iter().map(|p| p.0).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            "copy/logs.tar.gz!app/.env",
            "dist/bundle.zip!deploy/prod.env"
        ]
    );
    assert!(found.iter().all(|f| f["commit"]["id"] == head.as_str()));

    // The same archive blob at a second path: scanned once, reported at both.
    std::fs::copy(
        env.path().join("dist/bundle.zip"),
        env.path().join("mirror.zip"),
    )
    .expect("copy");
    env.commit_all("third");
    let (code, found, _, stderr) = scan(&env, &["--history"], None);
    assert_eq!(code, 1, "{stderr}");
    let mut got: Vec<(String, String)> = places(&found).into_iter().map(|p| (p.0, p.1)).collect();
    got.sort();
    let mut want = vec![
        ("copy/logs.tar.gz!app/.env".to_string(), new.clone()),
        ("dist/bundle.zip!deploy/.env".to_string(), old.clone()),
        ("dist/bundle.zip!deploy/prod.env".to_string(), new.clone()),
        ("mirror.zip!deploy/.env".to_string(), old),
        ("mirror.zip!deploy/prod.env".to_string(), new),
    ];
    want.sort();
    assert_eq!(got, want);
}
