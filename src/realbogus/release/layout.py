"""Facts about the DES-SN autoScan release format (Goldstein et al. 2015; Ayyar et al. 2022).

The release is a set of tar files ``stamps_0.tar`` .. ``stamps_10.tar``.  Inside, folders
such as ``home2/SNWG/Archive/2013/Y1/<YYYYMMDD>/<dir>/`` hold, per detection ID, three
51x51 stamps as display-scaled GIF (``temp<ID>.gif``, ``srch<ID>.gif``, ``diff<ID>.gif``)
and the same three as float FITS (masked pixels hold 1e-30).  Beside the tars sits the
feature table ``autoscan_features.3.csv``: ``#`` comment lines, then 40 columns.
"""

from __future__ import annotations

import re

import numpy as np

STAMP_SIZE = 51
# Channel order of every stamp array in this project: (template, search, difference),
# as the paper stacked them for the CNN input.
CHANNELS: tuple[str, ...] = ("temp", "srch", "diff")
CHANNEL_NAMES: dict[str, str] = {"temp": "template", "srch": "search", "diff": "difference"}
# One sample of a stamp array (ingest's stamps.npy, the CNN input, a scored batch).
STAMP_SHAPE: tuple[int, int, int] = (STAMP_SIZE, STAMP_SIZE, len(CHANNELS))
STAMP_FORMATS: tuple[str, ...] = ("gif", "fits")

# Value the release's FITS stamps hold in masked pixels.
MASKED_PIXEL_VALUE = 1e-30

FEATURE_TABLE_NAME = "autoscan_features.3.csv"
TAR_NAME_PATTERN = "stamps_{index}.tar"
N_TARS_IN_REAL_RELEASE = 11
ARCHIVE_ROOT = "home2/SNWG/Archive/2013/Y1"

# The 40 columns of autoscan_features.3.csv, in the release's order.
FEATURE_TABLE_COLUMNS: tuple[str, ...] = (
    "ID", "OBJECT_TYPE", "AMP", "A_IMAGE", "A_REF", "BAND", "B_IMAGE", "B_REF", "CCDID",
    "COLMEDS", "DIFFSUMRN", "ELLIPTICITY", "FLAGS", "FLUX_RATIO", "GAUSS", "GFLUX", "L1",
    "LACOSMIC", "MAG", "MAGDIFF", "MAGLIM", "MAG_FROM_LIMIT", "MAG_REF", "MAG_REF_ERR",
    "MASKFRAC", "MIN_DISTANCE_TO_EDGE_IN_NEW", "N2SIG3", "N2SIG3SHIFT", "N2SIG5",
    "N2SIG5SHIFT", "N3SIG3", "N3SIG3SHIFT", "N3SIG5", "N3SIG5SHIFT", "NN_DIST_RENORM",
    "NUMNEGRN", "SCALE", "SNR", "SPREADERR_MODEL", "SPREAD_MODEL",
)
# The 38 classifier features: every column but ID and the label.
FEATURE_NAMES: tuple[str, ...] = FEATURE_TABLE_COLUMNS[2:]
# Features that are NaN when the template has no source at the detection's position.
FEATURES_NAN_WITHOUT_TEMPLATE_SOURCE: tuple[str, ...] = (
    "A_REF", "B_REF", "MAG_REF", "MAG_REF_ERR", "NN_DIST_RENORM",
)
BANDS: tuple[str, ...] = ("g", "r", "i", "z")
# BAND as a number for the forest (the paper maps g, r, i, z to 0..3).
BAND_CODES: dict[str, int] = {band: code for code, band in enumerate(BANDS)}

LABEL_COLUMN = "OBJECT_TYPE"
ARTIFACT = 1  # "bogus"
NON_ARTIFACT = 0  # "real": in the training release, an injected fake

# DECam
PIXEL_SCALE_ARCSEC = 0.263
CCD_SHAPE = (4096, 2048)  # rows, columns of a DECam science CCD

_STAMP_NAME = re.compile(r"^(temp|srch|diff)(\d+)\.(gif|fits)$")


def stamp_filename(channel: str, detection_id: int, fmt: str) -> str:
    """File name of one stamp inside the release, e.g. ``srch1234.gif``."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    if fmt not in STAMP_FORMATS:
        raise ValueError(f"stamp format must be one of {STAMP_FORMATS}, got {fmt!r}")
    return f"{channel}{int(detection_id)}.{fmt}"


def parse_stamp_filename(name: str) -> tuple[str, int, str] | None:
    """(channel, ID, format) of a stamp file's base name, or None if it is no stamp."""
    match = _STAMP_NAME.match(name)
    if match is None:
        return None
    channel, detection_id, fmt = match.groups()
    return channel, int(detection_id), fmt


def check_stamp_array(stamps: object, *, where: str, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` unless ``stamps`` is an (N, 51, 51, 3) uint8 array (a memmap is fine).

    The contract of every stamp array the CNNs, the scorer, the review page and the gallery
    read: channels (template, search, difference), the display-scaled GIF values 0..255 as
    ingested, unnormalised (the paper's CNN input).  ``where`` names the file or argument.
    """
    expected = f"(N, {STAMP_SIZE}, {STAMP_SIZE}, {len(CHANNELS)}) uint8, channels (template, search, difference)"
    if not isinstance(stamps, np.ndarray):
        raise error(f"{where}: stamps must be a numpy array or memmap of shape {expected}, "
                    f"got {type(stamps).__name__}")
    if stamps.ndim != 4 or tuple(stamps.shape[1:]) != STAMP_SHAPE:
        raise error(f"{where}: stamps have shape {tuple(stamps.shape)}; expected {expected}")
    if stamps.dtype != np.uint8:
        raise error(f"{where}: stamps have dtype {stamps.dtype}, expected uint8 0..255 (the display-scaled "
                    "GIF stamps as ingested; the CNN takes them unnormalised)")
