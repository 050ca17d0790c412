import io
import tarfile

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from PIL import Image

from realbogus.release.layout import FEATURE_TABLE_COLUMNS, FEATURE_TABLE_NAME
from realbogus.release.reader import read_feature_table
from realbogus.release.writer import FeatureTableWriter, ReleaseWriter, archive_folder, encode_fits, encode_gif, write_feature_table

from .conftest import make_feature_table


def test_gif_round_trip_is_lossless_for_every_grey_level():
    rng = np.random.default_rng(0)
    for stamp in (np.arange(2601).reshape(51, 51).astype(np.uint8), rng.integers(0, 256, (51, 51), dtype=np.uint8),
                  np.where(rng.random((51, 51)) < 0.5, 3, 250).astype(np.uint8)):
        with Image.open(io.BytesIO(encode_gif(stamp))) as image:
            assert image.format == "GIF"
            assert np.array_equal(np.asarray(image.convert("L")), stamp)


@pytest.mark.parametrize("shape", [(51, 51), (1, 1), (1, 600), (600, 1), (17, 255), (120, 97)])
def test_gif_decodes_exactly_as_greyscale_for_any_size_and_level(shape):
    # The stream is uncompressed LZW with periodic clear codes: long runs of one level, all
    # levels and sizes that end a clear interval or a 255-byte sub-block exactly must all
    # come back pixel for pixel, as mode "L" (the fast path of the release reader).
    rng = np.random.default_rng(sum(shape))
    for stamp in (rng.integers(0, 256, shape, dtype=np.uint8), np.full(shape, 255, np.uint8),
                  np.zeros(shape, np.uint8), (np.arange(shape[0] * shape[1]) % 256).astype(np.uint8).reshape(shape)):
        content = encode_gif(stamp)
        assert content.startswith(b"GIF87a") and content.endswith(b"\x00\x3b")
        with Image.open(io.BytesIO(content)) as image:
            assert image.mode == "L" and image.size == (shape[1], shape[0])
            assert np.array_equal(np.asarray(image), stamp)


def test_gif_rejects_non_uint8_or_non_2d():
    with pytest.raises(ValueError, match="2-D uint8"):
        encode_gif(np.zeros((51, 51), np.float32))
    with pytest.raises(ValueError, match="2-D uint8"):
        encode_gif(np.zeros((3, 51, 51), np.uint8))


def test_fits_is_valid_and_float_exact_for_astropy():
    rng = np.random.default_rng(1)
    stamp = rng.normal(size=(51, 51)).astype(np.float32)
    stamp[0, :3] = 1e-30
    stamp[5, 5] = np.nan
    content = encode_fits(stamp, header_cards={"BAND": "r", "CCDID": 12, "ZP": 31.25, "FAKE": False})
    assert len(content) % 2880 == 0
    with fits.open(io.BytesIO(content)) as hdus:
        hdus.verify("exception")
        header = hdus[0].header
        assert header["BITPIX"] == -32 and header["NAXIS1"] == 51 and header["NAXIS2"] == 51
        assert (header["BAND"], header["CCDID"], header["ZP"], header["FAKE"]) == ("r", 12, 31.25, False)
        assert np.array_equal(hdus[0].data, stamp, equal_nan=True)


def test_fits_rejects_bad_cards_and_arrays():
    with pytest.raises(ValueError, match="BITPIX"):
        encode_fits(np.zeros((51, 51), np.float32), header_cards={"BITPIX": 16})
    with pytest.raises(ValueError, match="keyword"):
        encode_fits(np.zeros((51, 51), np.float32), header_cards={"lower case": 1})
    with pytest.raises(ValueError, match="float"):
        encode_fits(np.zeros((51, 51), np.int16))


def test_writer_round_robins_samples_into_tars_with_release_folders(tmp_path):
    folder = archive_folder(night="20131005", directory="run7")
    with ReleaseWriter(tmp_path, n_tars=2) as writer:
        for detection_id in (5, 6, 7):
            writer.add_sample(detection_id=detection_id, folder=folder,
                              files={f"temp{detection_id}.gif": b"x", f"diff{detection_id}.gif": b"yz"})
    with tarfile.open(tmp_path / "stamps_0.tar") as archive:
        assert archive.getnames() == [f"{folder}/temp5.gif", f"{folder}/diff5.gif",
                                      f"{folder}/temp7.gif", f"{folder}/diff7.gif"]
    with tarfile.open(tmp_path / "stamps_1.tar") as archive:
        assert archive.extractfile(f"{folder}/diff6.gif").read() == b"yz"
    assert folder == "home2/SNWG/Archive/2013/Y1/20131005/run7"


def test_writer_unpacked_writes_one_folder_per_tar(tmp_path):
    with ReleaseWriter(tmp_path, n_tars=2, packed=False) as writer:
        writer.add_sample(detection_id=9, folder="a/b", files={"srch9.fits": b"abc"})
    assert (tmp_path / "stamps_0" / "a" / "b" / "srch9.fits").read_bytes() == b"abc"
    assert (tmp_path / "stamps_1").is_dir()


def test_writer_leaves_nothing_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with ReleaseWriter(tmp_path, n_tars=3) as writer:
            writer.add_sample(detection_id=1, folder="f", files={"temp1.gif": b"x"})
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_names_and_duplicate_ids(tmp_path):
    with ReleaseWriter(tmp_path, n_tars=1) as writer:
        with pytest.raises(ValueError, match="not a stamp name"):
            writer.add_sample(detection_id=1, folder="f", files={"temp2.gif": b"x"})
        writer.add_sample(detection_id=1, folder="f", files={"temp1.gif": b"x"})
        with pytest.raises(ValueError, match="ID 1 was already written"):
            writer.add_sample(detection_id=1, folder="g", files={"srch1.gif": b"x"})
        with pytest.raises(ValueError, match="relative path"):
            writer.add_sample(detection_id=3, folder="../up", files={"srch3.gif": b"x"})


def test_feature_table_round_trip_keeps_layout_and_nans(tmp_path):
    rng = np.random.default_rng(2)
    table = make_feature_table(np.array([30, 10, 20]), np.array([1, 0, 1], dtype=np.int8), rng)
    table.loc[1, "A_REF"] = np.nan
    path = tmp_path / FEATURE_TABLE_NAME
    write_feature_table(path, table.iloc[:, ::-1], comment_lines=["first", "# second"])
    lines = path.read_text().splitlines()
    assert lines[:2] == ["# first", "# second"]
    assert lines[2].split(",") == list(FEATURE_TABLE_COLUMNS)
    read = read_feature_table(path)
    pd.testing.assert_frame_equal(read, table.astype(read.dtypes.to_dict()), check_exact=True)
    assert np.isnan(read.loc[1, "A_REF"])


def test_feature_table_rejects_wrong_columns(tmp_path):
    table = make_feature_table(np.array([1]), np.array([0], dtype=np.int8), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"missing \['SNR'\]"):
        write_feature_table(tmp_path / "t.csv", table.drop(columns="SNR"), comment_lines=[])
    assert not (tmp_path / "t.csv").exists()


def test_feature_table_written_in_blocks_has_the_bytes_of_the_whole_table(tmp_path):
    rng = np.random.default_rng(3)
    table = make_feature_table(np.arange(1, 12), rng.integers(0, 2, 11).astype(np.int8), rng)
    table.loc[4, "MAG_REF"] = np.nan
    write_feature_table(tmp_path / "whole.csv", table, comment_lines=["c"])
    with FeatureTableWriter(tmp_path / "blocks.csv", comment_lines=["c"]) as table_writer:
        for block in (table.iloc[:3], table.iloc[3:4], table.iloc[4:4], table.iloc[4:]):
            table_writer.write(block)
        assert not (tmp_path / "blocks.csv").exists()  # appears only when complete
    assert table_writer.n_rows == 11
    assert (tmp_path / "blocks.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_feature_table_blocks_must_come_in_ascending_id_order_and_a_failure_leaves_no_file(tmp_path):
    rng = np.random.default_rng(4)
    table = make_feature_table(np.array([5, 6, 7, 8]), np.array([0, 1, 0, 1], dtype=np.int8), rng)
    with pytest.raises(ValueError, match=r"ID 6, not above the largest ID already written \(7\)"):
        with FeatureTableWriter(tmp_path / "t.csv", comment_lines=[]) as table_writer:
            table_writer.write(table.iloc[:3])
            table_writer.write(table.iloc[1:])
    assert not (tmp_path / "t.csv").exists() and not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="duplicate IDs"):
        with FeatureTableWriter(tmp_path / "t.csv", comment_lines=[]) as table_writer:
            table_writer.write(pd.concat([table.iloc[:2], table.iloc[:1]]))
    assert not list(tmp_path.iterdir())


def test_tars_are_standard_and_long_paths_split_into_the_ustar_prefix(tmp_path):
    folder = "home2/SNWG/Archive/2013/Y1/20131005/" + "x" * 90
    with ReleaseWriter(tmp_path, n_tars=1) as writer:
        writer.add_sample(detection_id=123, folder=folder, files={"diff123.fits": b"\1" * 700})
    with tarfile.open(tmp_path / "stamps_0.tar") as archive:
        (info,) = archive.getmembers()
        assert info.name == f"{folder}/diff123.fits" and info.isfile() and info.mode == 0o644
        assert archive.extractfile(info).read() == b"\1" * 700
    assert (tmp_path / "stamps_0.tar").stat().st_size % 10240 == 0
    with pytest.raises(ValueError, match="too long"):
        with ReleaseWriter(tmp_path / "long", n_tars=1) as writer:
            writer.add_sample(detection_id=1, folder="y" * 300, files={"temp1.gif": b"x"})
