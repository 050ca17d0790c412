"""params.yaml -> typed configs: the one path (realbogus.params.config_from_mapping)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from realbogus.params import config_from_mapping


@dataclass(frozen=True)
class Example:
    name: str
    sizes: tuple[int, ...] = (1,)
    rate: float = 0.1
    patience: int | None = 3
    mode: int | str = 0


def test_defaults_tuples_and_yaml_1_1_numbers():
    config = config_from_mapping(Example, {"name": "a", "sizes": [3, 4], "rate": "2e-5", "patience": "none"},
                                 where="params.yaml example")
    assert config == Example(name="a", sizes=(3, 4), rate=2e-5, patience=None)
    assert config_from_mapping(Example, {"name": "b", "patience": "7", "mode": "7"}, where="x") == \
        Example(name="b", patience=7, mode="7")  # a field that may be a string keeps it


@pytest.mark.parametrize(("mapping", "message"), [
    ({"name": "a", "rtae": 0.2}, r"params.yaml example: unknown key\(s\) \['rtae'\]; expected some of "
                                 r"\['mode', 'name', 'patience', 'rate', 'sizes'\]"),
    ({"rate": 0.2}, r"params.yaml example: missing key\(s\) \['name'\]"),
    ({"name": "a", "rate": "fast"}, r"params.yaml example.rate: expected a number, got 'fast'"),
    ({"name": "a", "rate": "none"}, r"params.yaml example.rate: expected a number, got 'none'"),
    ([1, 2], r"params.yaml example: expected a mapping of settings, got list"),
])
def test_bad_params_name_where_and_what(mapping, message):
    with pytest.raises(ValueError, match=message):
        config_from_mapping(Example, mapping, where="params.yaml example")
