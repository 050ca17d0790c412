"""Issue 15, wrong results and misleading failures of the release reader: every row and value
it accepts is checked, in both on_error modes, and reports are byte-identical between runs."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from realbogus.cli import main as cli_main
from realbogus.ingest import ingest_release
from realbogus.release.layout import FEATURE_TABLE_NAME
from realbogus.release.reader import ReleaseError

from .conftest import build_release

# tests/ is on sys.path (pytest's rootdir-relative import of this module)
from snapshots import changed_paths, tree_state  # noqa: E402


def _lines(release: Path) -> list[str]:
    return (release / FEATURE_TABLE_NAME).read_text().splitlines()


def _write_lines(release: Path, lines: list[str], *, prefix: str = "") -> None:
    (release / FEATURE_TABLE_NAME).write_text(prefix + "\n".join(lines) + "\n")


def _ingest(release: Path, out: Path, on_error: str, **kwargs):
    return ingest_release(release_dir=release, out_dir=out, on_error=on_error, workers=0, progress=False, **kwargs)


def _refused(release: Path, out: Path, match: str) -> None:
    """Ingest in raise mode: ReleaseError matching ``match``, and nothing changed around the release."""
    root = release.parent
    before = tree_state(root)
    with pytest.raises(ReleaseError, match=match):
        _ingest(release, out, "raise")
    assert changed_paths(before, tree_state(root)) == set()


@pytest.mark.parametrize(("change", "words"), [
    (lambda fields: fields[:26], "26 fields, expected 40"),  # cut short: the last row of a truncated copy
    (lambda fields: fields + ["1.0"], "41 fields, expected 40"),
])
def test_short_and_long_rows_are_refused_or_skipped_naming_the_line(tmp_path: Path, change, words) -> None:
    release = build_release(tmp_path / "release", n=8, n_tars=2)
    lines = _lines(release.path)
    last = lines[-1].split(",")
    bad_id = int(last[0])
    _write_lines(release.path, lines[:-1] + [",".join(change(last))])
    line_number = len(lines)
    _refused(release.path, tmp_path / "out", rf"{FEATURE_TABLE_NAME} line {line_number}: {words}")
    summary = _ingest(release.path, tmp_path / "out", "skip")
    assert summary.n_samples == 7 and summary.issues_by_reason == {"bad_feature_row": 1}
    skipped = pd.read_csv(tmp_path / "out" / "skipped.csv")
    assert skipped[["id", "reason"]].values.tolist() == [[bad_id, "bad_feature_row"]]
    catalog = pd.read_parquet(tmp_path / "out" / "catalog.parquet")
    assert bad_id not in catalog["id"].tolist()
    assert not catalog[[c for c in catalog.columns if c not in ("A_REF", "B_REF", "MAG_REF", "MAG_REF_ERR",
                                                               "NN_DIST_RENORM")]].isna().any().any()


def test_an_id_beyond_64_bits_is_refused_not_wrapped(tmp_path: Path, capsys) -> None:
    release = build_release(tmp_path / "release", n=6, n_tars=2)
    lines = _lines(release.path)
    fields = lines[-1].split(",")
    fields[0] = "99999999999999999999"
    _write_lines(release.path, lines[:-1] + [",".join(fields)])
    _refused(release.path, tmp_path / "out",
             r"line \d+: ID must be an integer 0..9223372036854775807, got '99999999999999999999'")
    _ingest(release.path, tmp_path / "out", "skip")
    catalog = pd.read_parquet(tmp_path / "out" / "catalog.parquet")
    assert catalog["id"].min() > 0 and len(catalog) == 5  # its stamps: "no feature row", reported
    assert -9223372036854775808 not in catalog["id"].tolist()
    # The same in survey vet's labels: refused, with the row.
    (tmp_path / "votes.csv").write_text("id,observer,vote\n99999999999999999999,ana,artifact\n")
    assert cli_main(["survey", "vet", str(tmp_path / "votes.csv"), "--min-votes", "1"]) == 2
    assert "fit in 64 bits; bad value(s) at row(s) 2 (99999999999999999999)" in capsys.readouterr().err


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    release = build_release(tmp_path / "release", n=6, n_tars=2)
    _write_lines(release.path, ["# written by a Windows tool", *_lines(release.path)], prefix="\ufeff")
    assert (release.path / FEATURE_TABLE_NAME).read_bytes().startswith(b"\xef\xbb\xbf#")
    assert _ingest(release.path, tmp_path / "out", "raise").n_samples == 6


def test_a_truncated_tar_is_named_as_such_in_both_modes(tmp_path: Path) -> None:
    release = build_release(tmp_path / "release", n=12, n_tars=2)
    tar = release.path / "stamps_1.tar"
    data = tar.read_bytes()
    end = data.rstrip(b"\0")
    cut = len(end) - len(end) // 3  # cut inside the members, as an interrupted copy does
    tar.write_bytes(data[:cut])
    _refused(release.path, tmp_path / "out", r"tar stamps_1.tar is truncated or corrupt after \d+ members")
    summary = _ingest(release.path, tmp_path / "out", "skip")
    assert summary.issues_by_reason["truncated_tar"] == 1
    skipped = pd.read_csv(tmp_path / "out" / "skipped.csv")
    truncated = skipped[skipped["reason"] == "truncated_tar"]
    assert truncated["location"].tolist() == ["stamps_1.tar"]
    lost = skipped[skipped["reason"] == "no_stamps"]
    assert len(lost) >= 1 and lost["message"].str.contains("unreadable tar\\(s\\) stamps_1.tar may have held them").all()
    # Cut exactly at a member boundary: no end-of-archive blocks, still named as truncated.
    blocks = [offset for offset in range(0, len(end), 512)]
    boundary = next(offset for offset in reversed(blocks) if data[offset + 257:offset + 262] == b"ustar")
    tar.write_bytes(data[:boundary])
    with pytest.raises(ReleaseError, match=r"stamps_1.tar is truncated or corrupt .* end-of-archive"):
        _ingest(release.path, tmp_path / "out2", "raise")


def test_a_tar_header_claiming_2_to_the_50_bytes_costs_nothing(tmp_path: Path) -> None:
    release = build_release(tmp_path / "release", n=6, n_tars=2)
    info = tarfile.TarInfo("home2/x/temp123.gif")
    info.size = 2**50
    lying = info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024  # ~1.5 KB, base-256 size field
    assert len(lying) < 2000
    (release.path / "stamps_9.tar").write_bytes(lying)
    _refused(release.path, tmp_path / "out", r"stamps_9.tar is truncated or corrupt after 0 members: member "
             r"'home2/x/temp123.gif' announces 1125899906842624 bytes but only \d+ remain")
    summary = _ingest(release.path, tmp_path / "out", "skip")
    assert summary.n_samples == 6 and summary.issues_by_reason == {"truncated_tar": 1}


def test_skipped_csv_is_byte_identical_between_identical_runs(tmp_path: Path) -> None:
    release = build_release(tmp_path / "release", n=16, n_tars=3)
    for tar_path in sorted(release.path.glob("stamps_*.tar"))[:1]:
        with tarfile.open(tar_path) as archive:
            members = [(info, archive.extractfile(info).read()) for info in archive.getmembers()]
        with tarfile.open(tar_path, "w") as archive:
            for info, content in members:
                if info.name.endswith(".gif") and "srch" in info.name:
                    content = b"not a GIF at all"  # PIL's message names a BytesIO object and its address
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    outputs = []
    for name, workers in (("first", 2), ("second", 2), ("serial", 0)):
        ingest_release(release_dir=release.path, out_dir=tmp_path / name, on_error="skip", workers=workers,
                       batch_size=3, progress=False)
        outputs.append((tmp_path / name / "skipped.csv").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert b"corrupt_stamp" in outputs[0] and b" at 0x" not in outputs[0]


def test_stamp_names_beyond_64_bits_are_named(tmp_path: Path) -> None:
    release = build_release(tmp_path / "release", n=4, n_tars=1)
    content = (release.path / "stamps_0.tar").read_bytes()
    with tarfile.open(tmp_path / "extra.tar", "w") as archive:
        info = tarfile.TarInfo("x/temp99999999999999999999.gif")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"GIF"))
    (release.path / "stamps_5.tar").write_bytes((tmp_path / "extra.tar").read_bytes())
    with pytest.raises(ReleaseError, match=r"stamps_5.tar:x/temp99999999999999999999.gif: ID 99999999999999999999 "
                                           r"does not fit in 64 bits"):
        _ingest(release.path, tmp_path / "out", "raise")
    assert (release.path / "stamps_0.tar").read_bytes() == content
    summary = _ingest(release.path, tmp_path / "out", "skip")
    assert summary.n_samples == 4 and summary.issues_by_reason == {"bad_id": 1}
