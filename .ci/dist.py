#!/usr/bin/env python3
"""Release archives and their checksums, the layout `install.sh` reads.

    python3 .ci/dist.py archive VERSION TARGET BINARY OUTDIR
        writes OUTDIR/keygate-VERSION-TARGET.tar.gz (.zip for Windows targets) holding
        one folder, keygate-VERSION-TARGET/, with the binary, README.md and the licences
    python3 .ci/dist.py sums VERSION DIR
        writes DIR/keygate-VERSION-SHA256SUMS over DIR's archives, in sha256sum's format
    python3 .ci/dist.py check-tag TAG
        fails unless TAG is `v` and the version in Cargo.toml

Python's standard library alone, so that the release workflow runs the same script on
Linux, macOS and Windows runners, and the test suite runs it here to build the archives
it serves to `install.sh`. Archives are reproducible: entries sorted, owner root, times
from SOURCE_DATE_EPOCH (or zero).
"""

import gzip
import hashlib
import io
import os
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRA_FILES = ["README.md", "LICENSE-MIT", "LICENSE-APACHE"]


def fail(message: str) -> None:
    print(f"dist.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def archive(version: str, target: str, binary: Path, outdir: Path) -> Path:
    windows = "windows" in target
    folder = f"keygate-{version}-{target}"
    exe = "keygate.exe" if windows else "keygate"
    if not binary.is_file():
        fail(f"no binary at `{binary}`")
    members = [(f"{folder}/{exe}", binary.read_bytes(), 0o755)]
    for name in EXTRA_FILES:
        path = ROOT / name
        if not path.is_file():
            fail(f"`{name}` is missing from the repository")
        members.append((f"{folder}/{name}", path.read_bytes(), 0o644))
    members.sort()
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    outdir.mkdir(parents=True, exist_ok=True)
    if windows:
        out = outdir / f"{folder}.zip"
        # zip cannot hold times before 1980.
        when = max(mtime, 315532800)
        stamp = time.gmtime(when)[:6]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data, mode in members:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
        return out
    out = outdir / f"{folder}.tar.gz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dir_info = tarfile.TarInfo(folder)
        dir_info.type = tarfile.DIRTYPE
        dir_info.mode = 0o755
        dir_info.mtime = mtime
        tar.addfile(dir_info)
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = mtime
            tar.addfile(info, io.BytesIO(data))
    # mtime=0 in the gzip header too, so the same inputs give the same bytes.
    with open(out, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out


def sums(version: str, directory: Path) -> Path:
    prefix = f"keygate-{version}-"
    archives = sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(prefix) and (p.name.endswith(".tar.gz") or p.name.endswith(".zip"))
    )
    if not archives:
        fail(f"no `{prefix}*` archives in `{directory}`")
    lines = []
    for path in archives:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        # Two spaces: sha256sum's text mode, which `sha256sum -c` and install.sh read.
        lines.append(f"{digest}  {path.name}\n")
    out = directory / f"keygate-{version}-SHA256SUMS"
    out.write_text("".join(lines), newline="\n")
    return out


def check_tag(tag: str) -> None:
    with open(ROOT / "Cargo.toml", "rb") as f:
        version = tomllib.load(f)["package"]["version"]
    if tag != f"v{version}":
        fail(f"tag `{tag}` does not match Cargo.toml's version `{version}` (expected `v{version}`)")


def main(argv: list[str]) -> None:
    if len(argv) == 5 and argv[0] == "archive":
        print(archive(argv[1], argv[2], Path(argv[3]), Path(argv[4])))
    elif len(argv) == 3 and argv[0] == "sums":
        print(sums(argv[1], Path(argv[2])))
    elif len(argv) == 2 and argv[0] == "check-tag":
        check_tag(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
