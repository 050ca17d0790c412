"""survey/params.yaml as typed, frozen config objects, built once at the stage boundary."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from realbogus.cnn.models import CNNConfig
from realbogus.cnn.training import TrainConfig
from realbogus.params import config_from_mapping, section
from realbogus.split import validate_fractions
from realbogus.survey.retrain import MODES


@dataclasses.dataclass(frozen=True)
class VetConfig:
    """min_votes: counting votes a detection needs for a label (the paper: 3 observers).
    split_seed / fractions: the seeded, label-stratified split of the vetted detections
    (params.yaml gives ``fractions`` as a mapping; kept as (name, fraction) pairs)."""

    min_votes: int = 3
    split_seed: int = 4
    fractions: tuple[tuple[str, float], ...] = (("train", 0.6), ("val", 0.1), ("test", 0.3))

    def __post_init__(self) -> None:
        fractions = dict(self.fractions)
        validate_fractions(fractions, required=("train", "val", "test"))
        object.__setattr__(self, "fractions", tuple((str(k), float(v)) for k, v in fractions.items()))
        if isinstance(self.min_votes, bool) or not isinstance(self.min_votes, int) or self.min_votes < 1:
            raise ValueError(f"min_votes must be an integer >= 1, got {self.min_votes!r}")


def train_config_for(params: Mapping[str, Any], mode: str) -> TrainConfig:
    """TrainConfig of a retraining ``mode``: ``retrain.common`` updated by ``retrain.<mode>``."""
    if mode not in MODES:
        raise ValueError(f"retraining mode must be one of {MODES}, got {mode!r}")
    retrain = section(params, "retrain")
    merged = {**(retrain.get("common") or {}), **(retrain.get(mode) or {})}
    return config_from_mapping(TrainConfig, merged, where=f"survey/params.yaml retrain.common + retrain.{mode}")


def base_model_paths(params: Mapping[str, Any], *, main_repo: str | Path = "..") -> tuple[Path, CNNConfig]:
    """(trained model file, its CNNConfig) of ``base_model`` from the main pipeline.

    The file is ``<main_repo>/data/models/<base_model>/model.keras`` (the ``train`` stage's
    output); the architecture is ``models.<base_model>`` of ``<main_repo>/params.yaml``.
    """
    from realbogus.params import load_params

    name = params.get("base_model")
    if not isinstance(name, str) or not name:
        raise ValueError(f"survey params base_model must name a model of the main pipeline, got {name!r}")
    main_params = load_params(Path(main_repo) / "params.yaml")
    models = section(main_params, "models")
    if name not in models:
        raise KeyError(f"base_model {name!r} is not under models in {Path(main_repo) / 'params.yaml'}; "
                       f"known: {sorted(models)}")
    return (Path(main_repo) / "data" / "models" / name / "model.keras",
            config_from_mapping(CNNConfig, models[name], where=f"{Path(main_repo) / 'params.yaml'} models.{name}"))
