"""A PNG gallery of the top review candidates, so a person sees what the miner found.

Each candidate is a panel of its three stamps (template, search, difference, as stored:
display-scaled uint8, drawn 0..255 in grey without re-stretching), titled with its rank,
detection ID, given label and every member's artifact score.  ``annotations`` adds one
extra line per candidate; the truth-evaluation step uses it to print what the simulated
truth says (``realbogus.mining.truth_eval.truth_annotations``); mining itself passes none.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from realbogus.atomic import atomic_path
from realbogus.mining._inputs import (
    check_given_labels,
    check_ids,
    check_member_names,
    check_member_scores,
    check_rows,
)
from realbogus.release.layout import CHANNEL_NAMES, CHANNELS, check_stamp_array

LABEL_WORDS = {0: "non-artifact", 1: "artifact"}
# Member scores per title line: five members fit on three short lines.
SCORES_PER_LINE = 2


def _check_stamps(stamps: np.ndarray, *, n_samples: int) -> None:
    check_stamp_array(stamps, where="stamps")
    if len(stamps) != n_samples:
        raise ValueError(f"stamps: {len(stamps)} stamps for {n_samples} samples; expected one per sample")


def candidate_title(
    *, rank: int, detection_id: int, given_label: int, member_names: Sequence[str], member_scores: np.ndarray
) -> str:
    """The text above one candidate: rank, ID, given label, then member=score pairs.

    member_scores: (M,) this candidate's artifact score from each member.
    """
    pairs = [f"{name} {score:.3f}" for name, score in zip(member_names, member_scores)]
    score_lines = [
        "   ".join(pairs[start : start + SCORES_PER_LINE]) for start in range(0, len(pairs), SCORES_PER_LINE)
    ]
    header = f"#{rank}  ID {detection_id}  given {given_label} ({LABEL_WORDS[given_label]})"
    return "\n".join([header, *score_lines])


def write_candidate_gallery(
    *,
    path: str | os.PathLike[str],
    stamps: np.ndarray,
    rows: np.ndarray,
    ids: np.ndarray,
    given_labels: np.ndarray,
    member_scores: np.ndarray,
    member_names: Sequence[str],
    annotations: Sequence[str] | None = None,
    candidates_per_line: int = 4,
) -> None:
    """Write a PNG gallery of the candidates ``rows`` (most suspicious first) to ``path``.

    stamps: (N, 51, 51, 3) uint8, channels (template, search, difference), indexed by row
    (a memmap is fine: only the candidates' stamps are read).  rows: (K,) row indices,
    K >= 1.  ids: (N,) detection IDs.  given_labels: (N,) 0/1.  member_scores: (N, M)
    artifact scores.  member_names: (M,).  annotations: optional (K,) extra line per
    candidate, drawn in red under its stamps.  candidates_per_line: panels per gallery row.
    """
    labels = check_given_labels(given_labels)
    n_samples = labels.shape[0]
    detection_ids = check_ids(ids, n_samples=n_samples)
    scores = check_member_scores(member_scores, n_samples=n_samples)
    names = check_member_names(member_names, n_members=scores.shape[1])
    selected = check_rows(rows, n_samples=n_samples)
    _check_stamps(stamps, n_samples=n_samples)
    if selected.size == 0:
        raise ValueError("rows: no candidates to draw; a gallery needs at least one row")
    if annotations is not None and len(annotations) != selected.size:
        raise ValueError(f"annotations: got {len(annotations)}, expected one per candidate row ({selected.size})")
    if candidates_per_line < 1:
        raise ValueError(f"candidates_per_line must be >= 1, got {candidates_per_line}")

    # The object-oriented Figure needs no pyplot state or display backend.
    from matplotlib.figure import Figure

    per_line = min(candidates_per_line, selected.size)
    n_lines = math.ceil(selected.size / per_line)
    title_lines = 1 + math.ceil(len(names) / SCORES_PER_LINE) + (1 if annotations is not None else 0)
    panel_height = 1.25 + 0.17 * title_lines
    figure = Figure(figsize=(3.6 * per_line, panel_height * n_lines), layout="constrained")
    panels = np.atleast_1d(figure.subfigures(n_lines, per_line, squeeze=False).ravel())
    for position, panel in enumerate(panels):
        if position >= selected.size:
            continue  # blank panel at the end of the last line
        row = int(selected[position])
        candidate_stamps = np.asarray(stamps[row])
        axes = panel.subplots(1, len(CHANNELS))
        for channel_index, (axis, channel) in enumerate(zip(axes, CHANNELS)):
            axis.imshow(candidate_stamps[:, :, channel_index], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_xlabel(CHANNEL_NAMES[channel], fontsize=7, labelpad=1)
        title = candidate_title(
            rank=position + 1,
            detection_id=int(detection_ids[row]),
            given_label=int(labels[row]),
            member_names=names,
            member_scores=scores[row],
        )
        panel.suptitle(title, fontsize=7, family="monospace")
        if annotations is not None:
            panel.supxlabel(str(annotations[position]), fontsize=7, color="tab:red")
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100, metadata={"Software": None})
