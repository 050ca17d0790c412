"""A gallery like Ayyar et al. (2022) Figure 2: template / search / difference per column.

The columns are samples of the release itself (same seed, same indices), chosen so that
every scene kind and artifact type appears, then one of each of the paper's two kinds of
mislabel (when the release has one); each is shown as its GIF would be (per-stamp stretch
and corner ticks) and titled with its given label and what it truly is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


from realbogus.atomic import atomic_path
from realbogus.release.display import display_stamp
from realbogus.simulate.config import ARTIFACT_TYPES, DEFAULT_FLIP_RATIO, DEFAULT_LABEL_NOISE, SimulationConfig
from realbogus.simulate.scene import SamplePlan, simulate_sample

# Non-artifact columns shown before the artifact types, and the mislabel columns after them.
FAKE_COLUMNS: tuple[str, ...] = ("fake_bright", "fake_faint")
MISLABEL_COLUMNS: tuple[str, ...] = ("mislabelled_fake_on_defect", "mislabelled_real_transient")


def _column_key(plan: SamplePlan) -> str | None:
    mechanism = plan.labels.mislabel_mechanism
    if mechanism == "real_transient":
        return "mislabelled_real_transient"
    if mechanism != "none":
        return "mislabelled_fake_on_defect" if plan.scene_kind == "fake_on_artifact" else None
    if plan.scene_kind == "fake":
        above_limit = plan.conditions.limiting_mag - plan.magnitude
        if above_limit < 0.5:
            return "fake_faint"
        return "fake_bright" if above_limit > 1.5 else None
    return plan.artifact_type if plan.scene_kind == "artifact" else None


def display_triplets(*, seed: int, n: int, config: SimulationConfig | None = None,
                     label_noise: float = DEFAULT_LABEL_NOISE, flip_ratio: float = DEFAULT_FLIP_RATIO,
                     ) -> list[tuple[SamplePlan, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The first ``n`` samples of ``seed``, each with its (template, search, difference) GIF display."""
    config = config or SimulationConfig()
    triplets = []
    for index in range(n):
        plan, rendered = simulate_sample(seed=seed, index=index, label_noise=label_noise, flip_ratio=flip_ratio,
                                         config=config)
        assert rendered is not None
        triplets.append((plan, (display_stamp(rendered.template, channel="temp"),
                                display_stamp(rendered.search, channel="srch"),
                                display_stamp(rendered.difference, channel="diff"))))
    return triplets


def choose_preview_indices(*, seed: int, n: int, label_noise: float, flip_ratio: float,
                           config: SimulationConfig, per_column: int = 1) -> dict[str, list[int]]:
    """First sample indices (< n) of each gallery column, found from the cheap plans only."""
    wanted = list(FAKE_COLUMNS) + list(ARTIFACT_TYPES) + list(MISLABEL_COLUMNS)
    chosen: dict[str, list[int]] = {key: [] for key in wanted}
    for index in range(n):
        plan, _ = simulate_sample(seed=seed, index=index, label_noise=label_noise, flip_ratio=flip_ratio,
                                  config=config, render=False)
        key = _column_key(plan)
        if key is not None and len(chosen[key]) < per_column:
            chosen[key].append(index)
        if all(len(indices) == per_column for indices in chosen.values()):
            break
    return {key: indices for key, indices in chosen.items() if indices}


def write_preview(*, path: Path, seed: int, n: int, label_noise: float = DEFAULT_LABEL_NOISE,
                  flip_ratio: float = DEFAULT_FLIP_RATIO, config: SimulationConfig | None = None, id_offset: int = 0,
                  per_column: int = 1, force: bool = False) -> list[int]:
    """Draw the gallery PNG to ``path``; returns the sample IDs shown (left to right).

    ``path`` is checked as an output of ``simulate`` (``realbogus.atomic.check_output``;
    ``force`` replaces a file that is not an earlier preview)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = config or SimulationConfig()
    chosen = choose_preview_indices(seed=seed, n=n, label_noise=label_noise, flip_ratio=flip_ratio,
                                    config=config, per_column=per_column)
    columns = [(key, index) for key, indices in chosen.items() for index in indices]
    if not columns:
        raise ValueError(f"no samples to preview among the first {n} of seed {seed}")
    figure, axes = plt.subplots(3, len(columns), figsize=(1.25 * len(columns), 4.3), squeeze=False)
    for column, (key, index) in enumerate(columns):
        plan, rendered = simulate_sample(seed=seed, index=index, label_noise=label_noise, flip_ratio=flip_ratio,
                                         config=config)
        assert rendered is not None
        stamps = (("temp", rendered.template), ("srch", rendered.search), ("diff", rendered.difference))
        for row, (channel, stamp) in enumerate(stamps):
            axis = axes[row, column]
            axis.imshow(display_stamp(stamp, channel=channel), cmap="gray", vmin=0, vmax=255,
                        interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
        kind = key.replace("mislabelled_", "").replace("_", " ")
        detail = rendered.truth.get("artifact_detail") or ""
        given = f"y={plan.labels.given_label}"
        if plan.labels.true_label != plan.labels.given_label:
            given += f" (truly {plan.labels.true_label})"
        axes[0, column].set_title(f"{given}\n{kind}\n{detail}".rstrip(), fontsize=7)
    for row, name in enumerate(("template", "search", "difference")):
        axes[row, 0].set_ylabel(name, fontsize=8)
    figure.subplots_adjust(left=0.03, right=0.99, top=0.86, bottom=0.01, wspace=0.08, hspace=0.06)
    with atomic_path(path, command="simulate", force=force) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)
    return [id_offset + index for _, index in columns]
