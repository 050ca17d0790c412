from __future__ import annotations

import keras
import numpy as np
import pytest

from realbogus.cnn.models import PRESETS, CNNConfig, build_model, count_params, layer_summary, preset_config
from realbogus.params import config_from_mapping


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_parameter_counts_match_the_paper(name: str) -> None:
    preset = PRESETS[name]
    model = build_model(config=preset.config)
    assert count_params(model) == (preset.paper_trainable_params, preset.paper_total_params)
    # Cross-check our counter against Keras' own.
    assert model.count_params() == preset.paper_total_params


def test_model_takes_uint8_stamps_and_returns_scores_in_unit_interval(small_config: CNNConfig) -> None:
    model = build_model(config=small_config)
    assert model.inputs[0].dtype == "uint8"
    stamps = np.random.default_rng(0).integers(0, 256, size=(5, 51, 51, 3), dtype=np.uint8)
    artifact_score = np.asarray(model(stamps, training=False))
    assert artifact_score.shape == (5, 1)
    assert np.all((artifact_score >= 0) & (artifact_score <= 1))


def test_builder_follows_the_block_recipe() -> None:
    # Model 4: stride-2 convs, no pooling, inner dropout after each block.
    model4 = build_model(config=preset_config("model4"))
    kinds = [type(layer).__name__ for layer in model4.layers]
    assert "MaxPooling2D" not in kinds
    assert kinds.count("Conv2D") == 3 and kinds.count("Dropout") == 3 + 1
    assert tuple(model4.get_layer("block3_conv1").output.shape) == (None, 13, 13, 80)
    # Model 2: double conv per block, pool 3 with "valid" padding: 51 -> 17 -> 5.
    model2 = build_model(config=preset_config("model2"))
    assert [type(layer).__name__ for layer in model2.layers].count("Conv2D") == 4
    assert tuple(model2.get_layer("block2_pool").output.shape) == (None, 5, 5, 80)
    bn = model2.get_layer("block1_bn2")
    assert bn.epsilon == pytest.approx(1e-5) and bn.momentum == pytest.approx(0.99)
    rows = layer_summary(model2)
    assert rows[-1][0] == "artifact_score" and rows[-1][3] == 51 + 1


def _from_params(params: dict) -> CNNConfig:
    return config_from_mapping(CNNConfig, params, where="params.yaml models.x")


def test_config_from_params_round_trips_and_broadcasts_strides() -> None:
    config = _from_params({"filters": [40, 60, 80], "kernel": 6, "pool": None, "strides": [2, 2, 1], "inner_dropout": 0.1})
    assert config == preset_config("model4")
    assert _from_params(config.to_params()) == config
    broadcast = _from_params({"filters": [80, 80, 80], "kernel": 3, "pool": 2, "strides": 1})
    assert broadcast == preset_config("model1")
    assert _from_params({"filters": [8], "kernel": 3, "pool": "none"}).pool is None
    assert _from_params({"filters": [8], "kernel": 3, "inner_dropout": 0}).inner_dropout is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filters": [8, 8], "kernel": 3, "strides": [1]}, "one entry per block"),
        ({"filters": [8], "kernel": 3, "kernal": 3}, r"params.yaml models.x: unknown key\(s\) \['kernal'\]"),
        ({"filters": [8], "kernel": 3, "outer_dropout": 1.5}, "outer_dropout"),
        ({"filters": [], "kernel": 3}, "filters"),
        ({"kernel": 3}, r"missing key\(s\) \['filters'\]"),
        ({"filters": "80", "kernel": 3}, "list of ints"),
    ],
)
def test_bad_model_params_are_rejected_with_a_clear_message(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _from_params(params)


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(KeyError, match="model1"):
        preset_config("model9")


def test_model_module_imports_only_keras() -> None:
    # Models must not reach for tf.*, so every KERAS_BACKEND runs them.
    import ast

    import realbogus.cnn.models as models_module

    tree = ast.parse(open(models_module.__file__).read())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert "tensorflow" not in imported and "keras" in imported
    assert keras.backend.backend() in {"tensorflow", "jax", "torch"}
