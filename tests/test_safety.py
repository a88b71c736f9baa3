"""Triage: the seed's red flags (and sourced additions) always lead to 'professional evaluation is essential'."""

from __future__ import annotations

import pytest

import gutjoint
from gutjoint import InputError
from gutjoint._safety import DISCLAIMER, RED_FLAG_IDS, RED_FLAGS, triage

CASES = [  # flags, refer, urgent
    ([], False, False),
    (["severe"], True, False),
    (["progressive"], True, False),
    (["swelling"], True, False),
    (["fever"], True, True),
    (["deformity"], True, False),
    (["hot_swollen_joint"], True, True),
    (["Hot-Swollen-Joint"], True, True),
    (["persistent_swelling", "long_morning_stiffness"], True, False),
    (["prosthesis"], True, True),
    (["cannot_bear_weight", "severe", "severe"], True, False),
]


@pytest.mark.parametrize("flags, refer, urgent", CASES)
def test_triage_table(flags, refer, urgent):
    result = triage(flags)
    assert (result.refer, result.urgent) == (refer, urgent)
    if refer:
        assert result.message.startswith("Professional evaluation is essential")
    else:
        assert DISCLAIMER in result.message


def test_the_seed_flags_are_all_there():
    assert {"severe", "progressive", "swelling", "fever", "deformity"} <= set(RED_FLAG_IDS)
    assert all(f.source for f in RED_FLAGS) and sum(f.from_seed for f in RED_FLAGS) == 5


def test_unknown_flag_is_a_clear_error():
    with pytest.raises(InputError, match="'knee ache' is not a red flag; allowed: severe"):
        triage(["knee ache"])


def test_disclaimer_lives_in_one_place():
    import gutjoint._interfaces.figures as figures
    import gutjoint._interfaces.calibration_report as report

    assert gutjoint.DISCLAIMER is DISCLAIMER is figures.DISCLAIMER is report.DISCLAIMER
