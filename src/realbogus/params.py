"""params.yaml: read once, turned into typed, frozen config objects at the boundary."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

DEFAULT_PARAMS_FILE = Path("params.yaml")

ConfigT = TypeVar("ConfigT")


def load_params(path: str | Path = DEFAULT_PARAMS_FILE) -> dict[str, Any]:
    """The whole params.yaml as a dict; a clear error if it is missing or not a mapping."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: params file not found (run from the repository root)") from None
    params = yaml.safe_load(text)
    if not isinstance(params, dict):
        raise ValueError(f"{path}: expected a mapping of sections at the top level, got {type(params).__name__}")
    return params


def section(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One top-level section of params.yaml, which must exist and be a mapping."""
    if name not in params:
        raise KeyError(f"params.yaml has no section {name!r}; sections present: {sorted(params)}")
    value = params[name]
    if not isinstance(value, Mapping):
        raise ValueError(f"params.yaml section {name!r} must be a mapping, got {type(value).__name__}")
    return dict(value)


def config_from_mapping(cls: type[ConfigT], mapping: Mapping[str, Any], *, where: str) -> ConfigT:
    """Build the frozen dataclass ``cls`` from ``mapping``, refusing unknown keys.

    Missing keys take the dataclass defaults; an unknown key (usually a typo in
    params.yaml) is an error naming ``where`` it was found and the keys allowed.
    """
    allowed = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(allowed)}")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in mapping.items()}
    return cls(**values)
