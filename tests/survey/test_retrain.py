"""Survey retraining: fine-tune from a saved model (file untouched) or train from scratch."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from realbogus.cnn.models import CNNConfig
from realbogus.cnn.training import TrainConfig
from realbogus.params import config_from_mapping
from realbogus.survey.config import VetConfig, train_config_for
from realbogus.survey.retrain import retrain_for_survey
from realbogus.provenance import content_hash

from .conftest import TINY_CNN, make_stamps


def test_finetune_starts_from_the_saved_weights_and_scratch_does_not(tiny_model_path):
    stamps, labels = make_stamps(48, seed=5)
    before = content_hash(tiny_model_path)
    base = keras.saving.load_model(tiny_model_path, compile=False)
    common = dict(stamps=stamps, labels=labels, train_rows=np.arange(40), val_rows=np.arange(40, 48),
                  base_model_path=tiny_model_path, model_config=CNNConfig(**TINY_CNN), seed=0)
    tiny_lr = TrainConfig(max_epochs=1, batch_size=16, learning_rate=1e-9)
    tuned = retrain_for_survey(mode="finetune", train_config=tiny_lr, **common)
    assert tuned.epochs_run == 1 and "val_loss" in tuned.history
    # At a negligible learning rate fine-tuning keeps the conv weights; from scratch they are new.
    np.testing.assert_allclose(tuned.model.get_layer("block1_conv1").get_weights()[0],
                               base.get_layer("block1_conv1").get_weights()[0], atol=1e-6)
    scratch = retrain_for_survey(mode="scratch", train_config=tiny_lr, **common)
    assert not np.allclose(scratch.model.get_layer("block1_conv1").get_weights()[0],
                           base.get_layer("block1_conv1").get_weights()[0])
    assert content_hash(tiny_model_path) == before
    with pytest.raises(ValueError, match="must be one of"):
        retrain_for_survey(mode="transfer", train_config=tiny_lr, **common)


def test_survey_params_to_configs():
    params = {"retrain": {"common": {"batch_size": 32}, "finetune": {"learning_rate": 1e-4, "max_epochs": 2}}}
    config = train_config_for(params, "finetune")
    assert (config.batch_size, config.learning_rate, config.max_epochs) == (32, 1e-4, 2)
    with pytest.raises(ValueError, match=r"retrain.scratch: unknown key\(s\) \['epochs'\]"):
        train_config_for({"retrain": {"scratch": {"epochs": 3}}}, "scratch")
    vet = config_from_mapping(VetConfig, {"min_votes": 3, "fractions": {"train": 0.5, "val": 0.2, "test": 0.3}},
                              where="vet")
    assert vet.min_votes == 3 and vet.fractions == (("train", 0.5), ("val", 0.2), ("test", 0.3))
    with pytest.raises(ValueError, match="min_votes"):
        config_from_mapping(VetConfig, {"min_votes": 0}, where="vet")
