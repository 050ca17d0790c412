"""Parameter profiles: a YAML file of the params.yaml values that differ, turned into
``dvc exp run -S`` sets.

A profile (``params-gpu.yaml``) holds only what it changes, nested like params.yaml.  Every
key must already exist in params.yaml (so a typo or a renamed param fails loudly, not as
a silently ignored value), and lists and scalars are written in DVC's ``-S`` syntax
(Hydra's override grammar).

    python -m realbogus.profiles params-gpu.yaml          # prints one -S set per line
    python -m realbogus.profiles params-gpu.yaml --apply  # writes them into params.yaml
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from realbogus.atomic import atomic_path
from realbogus.params import DEFAULT_PARAMS_FILE, load_params


def load_profile(path: str | Path, *, params: Mapping[str, Any]) -> dict[str, Any]:
    """The profile at ``path`` as a nested dict, checked against ``params`` (params.yaml)."""
    path = Path(path)
    try:
        profile = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: profile not found") from None
    if not isinstance(profile, dict) or not profile:
        raise ValueError(f"{path}: a profile is a non-empty mapping of params.yaml sections, got {profile!r}")
    for dotted, _value in _leaves(profile):
        _check_key_exists(params, dotted, where=path)
    return profile


def set_params(profile: Mapping[str, Any]) -> list[str]:
    """``key.path=value`` strings, one per leaf of ``profile``, for ``dvc exp run -S``."""
    return [f"{dotted}={_override_value(value, dotted)}" for dotted, value in _leaves(profile)]


def apply_profile(profile_path: str | Path, *, params_path: str | Path = DEFAULT_PARAMS_FILE) -> list[str]:
    """Write the profile's values into params.yaml, as ``dvc exp run -S`` would (DVC's own
    code, so comments and order survive), whole or not at all; returns the sets applied."""
    from dvc.utils.hydra import apply_overrides

    params_path = Path(params_path)
    sets = set_params(load_profile(profile_path, params=load_params(params_path)))
    with atomic_path(params_path) as temporary:
        shutil.copyfile(params_path, temporary)
        apply_overrides(temporary, sets)
    return sets


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    leaves: list[tuple[str, Any]] = []
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            leaves.extend(_leaves(value, prefix=f"{dotted}."))
        else:
            leaves.append((dotted, value))
    return leaves


def _check_key_exists(params: Mapping[str, Any], dotted: str, *, where: Path) -> None:
    node: Any = params
    for depth, key in enumerate(dotted.split(".")):
        if not isinstance(node, Mapping) or key not in node:
            known = sorted(node) if isinstance(node, Mapping) else []
            raise ValueError(f"{where}: {dotted!r} is not in params.yaml "
                             f"(no {key!r} under {'.'.join(dotted.split('.')[:depth]) or 'the top level'}; "
                             f"there: {known})")
        node = node[key]


def _override_value(value: Any, dotted: str) -> str:
    # Hydra's grammar: null, true/false, numbers, [a,b] lists, and bare strings.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"profile value {dotted}={value!r} must be finite")
        return repr(value)
    if isinstance(value, str):
        if not value or any(character in value for character in " ,[]{}()='\"\\"):
            return json.dumps(value)
        return value
    if isinstance(value, list):
        return "[" + ",".join(_override_value(item, dotted) for item in value) + "]"
    raise ValueError(f"profile value {dotted}={value!r}: expected null, a bool, number, string or list")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="print a parameter profile as dvc exp run -S sets, one per line")
    parser.add_argument("profile", help="e.g. params-gpu.yaml")
    parser.add_argument("--params", default=str(DEFAULT_PARAMS_FILE))
    parser.add_argument("--apply", action="store_true",
                        help="write the values into the params file (as dvc exp run -S does) instead of printing them")
    args = parser.parse_args(argv)
    if args.apply:
        for item in apply_profile(args.profile, params_path=args.params):
            print(f"{args.params}: {item}")
        return 0
    for item in set_params(load_profile(args.profile, params=load_params(args.params))):
        print(item)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
