import io
import tarfile

import numpy as np
import pytest

from realbogus.release.layout import FEATURE_TABLE_NAME
from realbogus.release.reader import (
    ReleaseError,
    decode_stamp,
    iter_release_samples,
    read_feature_table,
)
from realbogus.release.writer import encode_gif, write_feature_table

from .conftest import make_feature_table


def _write_tar(path, members, tar_format):
    with tarfile.open(path, "w", format=tar_format) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("tar_format", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_channels_need_not_be_adjacent_and_long_names_are_read(tmp_path, tar_format):
    folder = "home2/SNWG/Archive/2013/Y1/20131001/" + ("deep" * 30 if tar_format != tarfile.USTAR_FORMAT else "d")
    ids = (11, 12)
    # All diff files first, then srch, then temp (an order a plain `tar cf` of a folder gives).
    members = [(f"{folder}/{channel}{i}.gif", encode_gif(np.full((51, 51), i, np.uint8)))
               for channel in ("diff", "srch", "temp") for i in ids]
    members.append((f"{folder}/notes.txt", b"not a stamp"))
    _write_tar(tmp_path / "stamps_0.tar", members, tar_format)
    samples = list(iter_release_samples(tmp_path, stamp_format="gif"))
    assert [s.detection_id for s in samples] == [11, 12]
    assert all(s.folder == folder and s.source == "stamps_0.tar" for s in samples)
    assert decode_stamp(samples[1].files["temp"], stamp_format="gif", location="x")[0, 0] == 12


def test_non_grey_gif_and_bad_bytes_are_rejected_with_location():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (51, 51), (255, 0, 0)).convert("P").save(buffer, format="GIF")
    with pytest.raises(ReleaseError, match="stamps_1.tar:f/srch5.gif: corrupt GIF stamp .*not greyscale"):
        decode_stamp(buffer.getvalue(), stamp_format="gif", location="stamps_1.tar:f/srch5.gif")
    with pytest.raises(ReleaseError, match="f/temp5.fits: corrupt FITS stamp"):
        decode_stamp(b"hello", stamp_format="fits", location="f/temp5.fits")


def test_feature_table_errors_name_the_file_and_the_id(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / FEATURE_TABLE_NAME
    table = make_feature_table(np.array([1, 2]), np.array([0, 1], dtype=np.int8), rng)
    table.loc[1, "OBJECT_TYPE"] = 3
    write_feature_table(path, table, comment_lines=["c"])
    with pytest.raises(ReleaseError, match=r"ID 2 has OBJECT_TYPE=3, expected 0 \(non-artifact\) or 1"):
        read_feature_table(path)
    table.loc[1, "OBJECT_TYPE"] = 1
    table.loc[0, "BAND"] = "u"
    write_feature_table(path, table, comment_lines=["c"])
    with pytest.raises(ReleaseError, match=r"ID 1 has BAND='u'"):
        read_feature_table(path)
    path.write_text("# c\nID,OBJECT_TYPE,AMP\n1,0,2.0\n")
    with pytest.raises(ReleaseError, match=rf"{FEATURE_TABLE_NAME} must have the 40 release columns.*missing \['A_IMAGE'"):
        read_feature_table(path)
    with pytest.raises(ReleaseError, match="does not exist"):
        read_feature_table(tmp_path / "nope.csv")


def test_nan_written_as_text_is_read_too(tmp_path):
    table = make_feature_table(np.array([1]), np.array([0], dtype=np.int8), np.random.default_rng(1))
    path = tmp_path / FEATURE_TABLE_NAME
    write_feature_table(path, table, comment_lines=[])
    header, row = path.read_text().splitlines()
    values = row.split(",")
    values[4] = "nan"  # A_REF
    path.write_text(f"{header}\n{','.join(values)}\n")
    assert np.isnan(read_feature_table(path).loc[0, "A_REF"])
