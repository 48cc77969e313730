"""The charting library the reports serve from our own static files (scripts/vendor-charts.sh): each
vendored file is the one the script recorded when it unpacked the npm tarball it had checked
against its recorded integrity, nothing else is in its directory, and the pages load that one."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = (ROOT / "scripts/vendor-charts.sh").read_text()
NAME = re.search(r"^NAME=(\S+)$", SCRIPT, re.M).group(1)
VERSION = re.search(r"^VERSION=(\S+)$", SCRIPT, re.M).group(1)
VENDORED = ROOT / "static/vendor" / f"{NAME}-{VERSION}"


def recorded() -> dict[str, str]:
    lines = (VENDORED / "SHA256SUMS").read_text().splitlines()
    return {name.strip(): digest for digest, name in (line.split(maxsplit=1) for line in lines)}


def test_each_vendored_file_is_the_one_recorded():
    record = recorded()
    assert set(record) == {"uPlot.esm.js", "uPlot.min.css", "LICENSE"}
    for name, digest in record.items():
        assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == digest, name


def test_nothing_else_is_vendored():
    assert {path.name for path in VENDORED.iterdir()} == {*recorded(), "SHA256SUMS"}
    versions = [path.name for path in (ROOT / "static/vendor").iterdir() if path.name.startswith(f"{NAME}-")]
    assert versions == [VENDORED.name]  # no stale version left behind


def test_the_tarball_is_checked_against_a_recorded_integrity():
    assert re.search(r"^INTEGRITY=sha512-[A-Za-z0-9+/]{86}==$", SCRIPT, re.M)
    assert 'if [ "$GOT" != "$INTEGRITY" ]' in SCRIPT
    assert 'npm pack --silent "$NAME@$VERSION"' in SCRIPT


def test_the_license_and_the_pages_use_this_version():
    assert "MIT License" in (VENDORED / "LICENSE").read_text()
    script = (ROOT / "static/pages/js/reports.js").read_text()
    template = (ROOT / "templates/pages/reports.html").read_text()
    assert f'from "../../vendor/{VENDORED.name}/uPlot.esm.js"' in script
    assert f"vendor/{VENDORED.name}/uPlot.min.css" in template
