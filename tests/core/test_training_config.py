"""Every training setting is declared once, and the config, the head's options and the command line's
flags are built from those declarations; settings files from older versions still load."""
from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from imgclf_gui.commands._settings import add_setting_flags, config_from_args
from imgclf_gui.core.project import layout
from imgclf_gui.core.training.config import (
    HEAD_SETTING_NAMES,
    L2_CANDIDATES,
    SETTING_BY_NAME,
    SETTINGS,
    HeadOptions,
    TrainConfig,
    load_project_config,
    save_project_config,
)


def _train_parser() -> argparse.ArgumentParser:
    from imgclf_gui import cli

    return cli.build_parser("train")


def test_the_config_and_the_head_options_are_the_declared_settings_with_their_defaults():
    config = TrainConfig()
    assert [f.name for f in dataclasses.fields(TrainConfig)] == [s.name for s in SETTINGS]
    for s in SETTINGS:
        assert getattr(config, s.name) == s.default, s.name
        assert s.problem(s.default) is None, s.name  # every default is a value the form and CLI accept
    assert tuple(f.name for f in dataclasses.fields(HeadOptions)) == HEAD_SETTING_NAMES
    assert config.head_options() == HeadOptions()


def test_every_setting_is_a_command_line_flag_with_its_default_and_range():
    parser = _train_parser()
    args = parser.parse_args(["train", "DIR"])
    for s in SETTINGS:
        assert getattr(args, s.name) == s.default, f"{s.name}: no flag, or another default"
        if s.type is bool:
            flipped = config_from_args(parser.parse_args(["train", "DIR", s.cli_flag]))
            assert getattr(flipped, s.name) is (not s.default)
        elif s.minimum is not None:
            value = s.type(s.maximum)
            given = config_from_args(parser.parse_args(["train", "DIR", s.cli_flag, str(value)]))
            assert getattr(given, s.name) == value
            with pytest.raises(SystemExit):  # out of range: refused with the range in the message
                parser.parse_args(["train", "DIR", s.cli_flag, str(s.maximum + 1)])


def test_the_flag_names_of_earlier_versions_still_work():
    args = _train_parser().parse_args(["train", "DIR", "--hidden", "8", "--augment", "2", "--no-class-weights",
                                       "--no-early-stopping", "--l2", "0.01", "--validation-percent", "20",
                                       "--test-percent", "0", "--crop", "center", "--learning-rate", "0.01"])
    config = config_from_args(args)
    assert (config.hidden_units, config.augment_variants, config.class_weights, config.early_stopping) == (8, 2,
                                                                                                          False, False)
    assert (config.l2, config.validation_percent, config.test_percent, config.crop) == (0.01, 20, 0, "center")


def test_out_of_range_values_are_refused_in_words(capsys):
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--validation-percent", "80"])
    assert "validation must be between 0 and 50%, not 80" in capsys.readouterr().err


def test_the_l2_help_says_what_the_head_really_does():
    text = SETTING_BY_NAME["l2"].help
    assert f"{len(L2_CANDIDATES)} strengths" in text
    assert all(f"{c:g}" in text for c in L2_CANDIDATES)


def test_settings_files_from_older_and_newer_versions_load(tmp_path):
    path = layout.training_settings_file(tmp_path)
    path.parent.mkdir(parents=True)
    # An older file lacks settings added since; a newer one has keys this version does not know; a
    # hand-edited one has wrong types and values out of range.
    path.write_text(json.dumps({"schema": 1, "config": {"epochs": 40, "from_the_future": 3, "batch_size": "big",
                                                        "validation_percent": 90, "l2": None}}))
    config = load_project_config(tmp_path)
    assert config.epochs == 40 and config.batch_size == TrainConfig().batch_size
    assert config.validation_percent == SETTING_BY_NAME["validation_percent"].maximum  # as the form shows it
    assert config.l2 is None and config.hidden_units == TrainConfig().hidden_units
    path.write_text("{not json")
    assert load_project_config(tmp_path) == TrainConfig()


def test_the_old_default_test_part_is_turned_off_but_a_chosen_one_is_kept(tmp_path):
    path = layout.training_settings_file(tmp_path)
    path.parent.mkdir(parents=True)
    # before cross-validation every project had a 10% test part saved with its settings: scoring now
    # covers every image, so that old default goes; a test part chosen since (format 2) stays
    path.write_text(json.dumps({"schema": 1, "config": {"test_percent": 10.0, "epochs": 40}}))
    assert load_project_config(tmp_path).test_percent == 0 and load_project_config(tmp_path).epochs == 40
    path.write_text(json.dumps({"schema": 1, "config": {"test_percent": 15.0}}))
    assert load_project_config(tmp_path).test_percent == 15
    save_project_config(tmp_path, dataclasses.replace(TrainConfig(), test_percent=10.0))
    assert load_project_config(tmp_path).test_percent == 10


def test_settings_round_trip_through_the_project_file_in_its_format(tmp_path):
    config = dataclasses.replace(TrainConfig(), epochs=17, l2=0.03, crop="center", class_weights=False)
    save_project_config(tmp_path, config)
    data = json.loads(layout.training_settings_file(tmp_path).read_text())
    assert data["schema"] == 2 and data["config"]["epochs"] == 17
    assert load_project_config(tmp_path) == config
    assert TrainConfig.from_dict(config.to_dict()) == config
