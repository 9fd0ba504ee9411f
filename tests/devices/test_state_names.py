"""Device state codes have one spelling for every kind of device, known or not."""

from __future__ import annotations

import pytest

from devices.register_map import DETECTOR_STATES, JAMMER_STATES, state_name


@pytest.mark.parametrize("names", [JAMMER_STATES, DETECTOR_STATES])
def test_listed_codes_have_their_names_and_others_one_spelling(names: tuple[str, ...]) -> None:
    assert [state_name(names, code) for code in range(len(names))] == list(names)
    assert state_name(names, len(names)) == f"unknown-{len(names)}"
    assert state_name(names, 0xFFFF) == "unknown-65535"
    assert state_name(names, -1) == "unknown--1"
