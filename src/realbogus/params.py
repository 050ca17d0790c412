"""params.yaml: read once, turned into typed, frozen config objects at the boundary."""

from __future__ import annotations

import dataclasses
import typing
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


def config_from_mapping(cls: type[ConfigT], mapping: Mapping[str, Any] | None, *, where: str) -> ConfigT:
    """Build the frozen dataclass ``cls`` from a params.yaml mapping: the one path from
    params to a typed config.

    Missing keys take the dataclass defaults (a field without one must be given); an
    unknown key (usually a typo) is an error naming ``where`` it was found and the keys
    allowed.  YAML lists become tuples.  A string where the field is a plain number (``int``
    or ``float``, optionally ``| None``) is read as that number -- PyYAML follows YAML 1.1,
    which reads ``2e-5`` (as ``dvc exp run -S train.learning_rate=2e-5`` writes it) as a
    string -- and ``none`` there as None.  Everything else (a config's own spellings such
    as ``pool: none``, and its value checks) is the dataclass's ``__post_init__``, whose
    errors are reported under ``where``.
    """
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where}: expected a mapping of settings, got {type(mapping).__name__} {mapping!r}")
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(fields)}")
    required = [name for name, field in fields.items() if name not in mapping
                and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING]
    if required:
        raise ValueError(f"{where}: missing key(s) {required}")
    hints = typing.get_type_hints(cls)
    values = {key: _from_yaml(value, hints.get(key), where=f"{where}.{key}") for key, value in mapping.items()}
    try:
        return cls(**values)
    except ValueError as error:  # a value the config's own checks refuse
        raise ValueError(f"{where}: {error}") from None


def _from_yaml(value: Any, hint: Any, *, where: str) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, str):
        number = _plain_number_type(hint)
        if number is not None:
            if type(None) in typing.get_args(hint) and value.strip().lower() in ("none", "null"):
                return None
            try:
                return number(value)
            except ValueError:
                raise ValueError(f"{where}: expected a number, got {value!r}") from None
    return value


def _plain_number_type(hint: Any) -> type | None:
    """``int`` or ``float`` if the annotation is that type (optionally ``| None``), else None."""
    options = set(typing.get_args(hint)) - {type(None)} if typing.get_args(hint) else {hint}
    if len(options) == 1 and (only := options.pop()) in (int, float):
        return only
    return None
