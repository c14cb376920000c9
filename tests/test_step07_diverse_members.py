"""Step 7 stacks identical members against diverse ones; the set step 3 trained with the same
settings is step 3's own files, not a second training of the same models."""

from __future__ import annotations

import dataclasses

from conftest import tiny_config

from stackgen.extensions import step07_diverse_members
from stackgen.tutorial import step01_make_data, step03_train_members

REUSED = "identical members: step 3's, trained with these settings"


def test_step_7_reuses_step_3s_members_of_its_own_settings_only(tmp_path, capsys):
    cfg = tiny_config(tmp_path / "with step 3", members=2, folds=2, quiet=False)
    step01_make_data.run(cfg)
    step03_train_members.run(cfg)
    capsys.readouterr()
    reused = step07_diverse_members.run(cfg)
    assert REUSED in capsys.readouterr().out
    # Without step 3's files both sets train here: the same table, to the last bit.
    alone = tiny_config(tmp_path / "without step 3", members=2, folds=2, quiet=False)
    step01_make_data.run(alone)
    capsys.readouterr()
    trained = step07_diverse_members.run(alone)
    assert REUSED not in capsys.readouterr().out
    assert trained["scores"] == reused["scores"]
    # Step 3's members of other settings are not this run's: trained afresh.
    other = step07_diverse_members.run(dataclasses.replace(cfg, epochs=4))
    assert REUSED not in capsys.readouterr().out
    assert other["scores"] != reused["scores"]
