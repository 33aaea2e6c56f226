"""A request cut short or garbled anywhere is answered with a payShield error code, never an exception.

For every command whose tests list known-answer CASES, every proper prefix of every request, and each
prefix followed by a stray 0xFF or `;`, goes through the command's logic natively; so does every
request with one character replaced, inserted or deleted at each position (a sample of characters
that change a field's class: a letter, a digit, a delimiter, a key scheme tag, a byte over 0x7F).
The answer must be an error code (or fields), as the component would send. A Python exception here
would be a trap and a 41 in the component: a crash where the manual has a code.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from hsmd.host import TEST_LMK, Host, LmkSet
from hsmd.host.services import PinSettings
from tests.commands import native
from tests.conftest import FIRMWARE

LOGIC = Path(__file__).resolve().parent.parent / "logic"
COMMANDS = sorted(p.stem for p in LOGIC.glob("*.py") if p.stem != "__init__")


def _requests(command: str) -> list[bytes]:
    cases = getattr(importlib.import_module(f"tests.test_cmd_{command}"), "CASES", [])
    return [case[0].encode() if isinstance(case[0], str) else case[0] for case in cases]


@pytest.mark.parametrize("command", [c for c in COMMANDS if _requests(c)])
def test_every_truncation_of_a_known_request_is_answered_with_a_code(command: str) -> None:
    # The test LMK, authorised (clear PINs allowed) and as its own old LMK, so every path is open.
    host = Host(LmkSet({0: TEST_LMK}, key_change={0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True))
    module = importlib.import_module(f"logic.{command}")
    for request in _requests(command):
        for n in range(len(request)):
            for cut in (request[:n], request[:n] + b"\xff", request[:n] + b";"):
                answer = native(module, host, cut)
                assert len(answer) >= 2 and answer[:2].isalnum(), (command, cut, answer)


GARBLE = (b"X", b"9", b";", b"%", b"U", b"S", b"\xff")  # what a field never expects, or a marker out of place


@pytest.mark.parametrize("command", [c for c in COMMANDS if _requests(c)])
def test_every_one_character_change_of_a_known_request_is_answered_with_a_code(command: str) -> None:
    host = Host(LmkSet({0: TEST_LMK}, key_change={0: TEST_LMK}), FIRMWARE, pin_settings=PinSettings(authorised=True))
    module = importlib.import_module(f"logic.{command}")
    seen: set[bytes] = set()
    for request in _requests(command):
        for at in range(len(request)):
            garbled = [request[:at] + request[at + 1 :]]
            for char in GARBLE:
                garbled += [request[:at] + char + request[at + 1 :], request[:at] + char + request[at:]]
            for cut in garbled:
                if cut not in seen:
                    seen.add(cut)
                    answer = native(module, host, cut)
                    assert len(answer) >= 2 and answer[:2].isalnum(), (command, cut, answer)
