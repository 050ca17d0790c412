"""Stamp triplets cut back out of a drawn picture: a grid of panels on a white page.

Real stamps are often only seen as figures: one column per detection, three rows
(template, search, difference), each panel a 51x51 stamp drawn a little larger with a thin
frame.  ``find_panels`` finds the panels (runs of non-white pixels along the rows and
columns); ``cut_stamps`` cuts each panel's inside out and resamples it to 51x51 by area
averaging (approximate: the picture was already resampled once when drawn).  ``draw_page``
draws display triplets the way the reference picture of real stamps is drawn, so that
simulated stamps can be measured after the same resampling; ``round_trip`` does both for a
stack of stamps, cutting where the page's geometry puts the panels (``page_layout``), so that
no stamp is lost or shifted whatever it shows.  Used by the benchmarks that score or measure
published stamps (``benchmarks/score_stamp_picture.py``, ``benchmarks/picture_round_trip.py``,
``benchmarks/difference_noise_texture.py``, ``benchmarks/picture_psf_sizes.py``).
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from realbogus.release.layout import STAMP_SIZE

CHANNELS = ("template", "search", "difference")
# A pixel is part of a panel when darker than this (the page is white, 255).
PAGE_LEVEL = 250
# Panels are at least this many picture pixels across (a stamp drawn at least ~1:1).
MIN_PANEL_PX = 40
# The reference picture's geometry: ten columns on a 12 x 3.5 inch page at 100 dpi, ~80
# picture pixels per 51-pixel stamp.
COLUMNS_PER_PAGE = 10


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True at least MIN_PANEL_PX long."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(start), int(stop)) for start, stop in zip(edges[::2], edges[1::2]) if stop - start >= MIN_PANEL_PX]


def find_panels(page: np.ndarray) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Row bands and column bands of a grid of panels on a white page (grey levels, 2-D)."""
    panel = page < PAGE_LEVEL
    rows = _runs(panel.mean(axis=1) > 0.5 * panel.mean(axis=1).max())
    columns = _runs(panel.mean(axis=0) > 0.5 * panel.mean(axis=0).max())
    return rows, columns


def cut_stamps(page: np.ndarray, *, panels: tuple[Sequence[tuple[int, int]], Sequence[tuple[int, int]]] | None = None
               ) -> np.ndarray:
    """(N, 51, 51, 3) uint8 triplets, one per column of panels, channels in CHANNELS order.

    panels: the (row bands, column bands) of the grid when known (a page this module drew:
    :func:`page_layout`); by default they are found on the page (:func:`find_panels`), which
    can miss a column whose panels are mostly near white.
    """
    rows, columns = find_panels(page) if panels is None else panels
    if len(rows) != len(CHANNELS):
        raise ValueError(f"expected {len(CHANNELS)} rows of panels ({', '.join(CHANNELS)}), found {len(rows)}: "
                         f"{rows}")
    if not columns:
        raise ValueError("found no column of panels")
    stamps = np.empty((len(columns), STAMP_SIZE, STAMP_SIZE, len(CHANNELS)), dtype=np.uint8)
    picture = Image.fromarray(page.astype(np.uint8))
    for index, (left, right) in enumerate(columns):
        for channel, (top, bottom) in enumerate(rows):
            # One pixel in from each side: the panel's frame.
            inside = picture.crop((left + 1, top + 1, right - 1, bottom - 1))
            stamps[index, :, :, channel] = np.asarray(inside.resize((STAMP_SIZE, STAMP_SIZE), Image.BOX))
    return stamps


def read_picture(path: str | Path) -> np.ndarray:
    """(N, 51, 51, 3) uint8 triplets cut out of the picture file at ``path`` (any image PIL reads)."""
    return cut_stamps(np.asarray(Image.open(path).convert("L")))


def picture_labels(text: str, *, n_stamps: int) -> np.ndarray:
    """A picture's labels from comma-separated 0s and 1s, one per column, left to right.

    A ``ValueError`` saying what was expected for anything else, or for a count that is not
    ``n_stamps``.
    """
    problem = ValueError(f"expected {n_stamps} values of 0 or 1 (one per column), got {text!r}")
    try:
        labels = np.array([int(value) for value in text.split(",")])
    except ValueError:
        raise problem from None
    if len(labels) != n_stamps or not np.isin(labels, (0, 1)).all():
        raise problem
    return labels


def draw_page(triplets: list[tuple[np.ndarray, np.ndarray, np.ndarray]], path: Path) -> None:
    """Draw up to COLUMNS_PER_PAGE display triplets (uint8 template, search, difference) as the reference picture draws them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(triplets) > COLUMNS_PER_PAGE:
        raise ValueError(f"a page holds at most {COLUMNS_PER_PAGE} triplets, got {len(triplets)}")
    figure, axes = plt.subplots(3, COLUMNS_PER_PAGE, figsize=(12, 3.5), dpi=100, squeeze=False)
    for column in range(COLUMNS_PER_PAGE):
        for row in range(3):
            axis = axes[row, column]
            axis.set_xticks([])
            axis.set_yticks([])
            if column < len(triplets):
                axis.imshow(triplets[column][row], cmap="gray", vmin=0, vmax=255)
            else:
                axis.set_visible(False)
    figure.savefig(path)
    plt.close(figure)


def drawn_pages(triplets: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """``triplets`` drawn COLUMNS_PER_PAGE to a page and read back as grey pages.

    Each page goes through a PNG file, as the reference picture did, in a temporary folder
    of its own that is removed afterwards.
    """
    pages = []
    with tempfile.TemporaryDirectory(prefix="realbogus-pages-") as folder:
        path = Path(folder) / "page.png"
        for start in range(0, len(triplets), COLUMNS_PER_PAGE):
            draw_page(triplets[start:start + COLUMNS_PER_PAGE], path)
            pages.append(np.asarray(Image.open(path).convert("L")))
    return pages


@functools.lru_cache(maxsize=COLUMNS_PER_PAGE)
def page_layout(n_columns: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """(row bands, column bands) of a page :func:`draw_page` draws with ``n_columns`` triplets.

    Found on a page of black stamps drawn the same way, where every panel stands out from
    the white page whatever the stamps it will hold: the geometry depends only on the count.
    """
    black = np.zeros((STAMP_SIZE, STAMP_SIZE), dtype=np.uint8)
    (page,) = drawn_pages([(black, black, black)] * n_columns)
    rows, columns = find_panels(page)
    if len(rows) != len(CHANNELS) or len(columns) != n_columns:
        raise RuntimeError(f"a page of {n_columns} black triplets shows {len(rows)} rows and {len(columns)} columns "
                           "of panels; the drawing's geometry has changed")
    return tuple(rows), tuple(columns)  # immutable: the cache hands the same value to every caller


def drawn_pages_with_layout(triplets: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                            ) -> list[tuple[np.ndarray, tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]]]:
    """:func:`drawn_pages`, each page with the panels where the drawing put them (:func:`page_layout`
    for its number of triplets), so that callers cut every stamp, a near-white one too."""
    pages = drawn_pages(triplets)
    counts = [min(COLUMNS_PER_PAGE, len(triplets) - start) for start in range(0, len(triplets), COLUMNS_PER_PAGE)]
    return [(page, page_layout(count)) for page, count in zip(pages, counts)]


def round_trip(stamps: np.ndarray) -> np.ndarray:
    """(N, 51, 51, 3) uint8 triplets drawn as the reference picture draws them and cut back out.

    What a stamp looks like once it has been through a published picture: drawn larger
    (``draw_page``) and averaged back to 51x51 (``cut_stamps``), which smooths its pixel
    noise.  Stamps cut from a picture of real stamps carry the same smoothing, so a model is
    fairly compared on them only with simulated stamps that went the same way
    (``benchmarks/picture_round_trip.py``).  The panels are cut where the page's geometry
    puts them (:func:`page_layout`), so a stamp of any content comes back in its place.
    """
    stamps = np.asarray(stamps)
    if stamps.ndim != 4 or stamps.shape[1:] != (STAMP_SIZE, STAMP_SIZE, len(CHANNELS)) or stamps.dtype != np.uint8:
        raise ValueError(f"stamps must be uint8 of shape (N, {STAMP_SIZE}, {STAMP_SIZE}, {len(CHANNELS)}), "
                         f"got {stamps.dtype} {stamps.shape}")
    if not len(stamps):
        return stamps.copy()
    pages = drawn_pages_with_layout([tuple(stamp[..., channel] for channel in range(len(CHANNELS)))
                                     for stamp in stamps])
    return np.concatenate([cut_stamps(page, panels=layout) for page, layout in pages])
