"""Stamp triplets cut back out of a drawn picture: a grid of panels on a white page.

Real stamps are often only seen as figures: one column per detection, three rows
(template, search, difference), each panel a 51x51 stamp drawn a little larger with a thin
frame.  ``find_panels`` finds the panels (runs of non-white pixels along the rows and
columns); ``cut_stamps`` cuts each panel's inside out and resamples it to 51x51 by area
averaging (approximate: the picture was already resampled once when drawn).  Used by the
benchmarks that score or measure published stamps (``benchmarks/score_stamp_picture.py``,
``benchmarks/difference_noise_texture.py``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from realbogus.release.layout import STAMP_SIZE

CHANNELS = ("template", "search", "difference")
# A pixel is part of a panel when darker than this (the page is white, 255).
PAGE_LEVEL = 250
# Panels are at least this many picture pixels across (a stamp drawn at least ~1:1).
MIN_PANEL_PX = 40


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


def cut_stamps(page: np.ndarray) -> np.ndarray:
    """(N, 51, 51, 3) uint8 triplets, one per column of panels, channels in CHANNELS order."""
    rows, columns = find_panels(page)
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
