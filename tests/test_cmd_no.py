"""NO — HSM status.

No published exchange of these commands exists under any LMK (research: client
decoders only), so the answers are checked field by field against the layouts
of mszeu/PayShieldPressureTest's decoders (tested against a payShield 10K) and
against the state the test gives the host.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hsmd.host import Host
from hsmd.runtime import Runtime
from logic import j4, j8, jk
from logic import no as no_
from tests.commands import in_component, native
from tests.status_host import status_host
from tests.tcp import exchange


def test_no_mode_00_buffer_ethernet_sockets_firmware() -> None:
    assert native(no_, status_host(), b"00") == b"00" + b"3" + b"1" + b"0256" + b"1500-0023" + b"0" + b"0000"


def test_no_mode_01_pci_compliance_follows_the_key_type_table() -> None:
    assert native(no_, status_host(), b"01") == b"000"  # 002 not separated: non-compliant, that setting among them
    assert native(no_, status_host(mode="pci"), b"01") == b"001"


@pytest.mark.parametrize("request_", [b"", b"0", b"02", b"99", b"00X", b"0A"])
def test_no_refuses_other_modes_and_trailing_data_with_15(request_: bytes) -> None:
    assert native(no_, status_host(), request_) == b"15"


@pytest.mark.wasm
def test_status_components_answer_as_the_logic_does(
    runtime: Runtime, built_plugins: Path, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    # J4 and J8 answer the host's clock: held still, so that the component's answer and the
    # logic's, asked one after the other, cannot fall on two sides of a second.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    for module, requests in [(no_, [b"00", b"01", b"02"]), (j4, [b"", b"X"]), (j8, [b"", b"X"]), (jk, [b"", b"1"])]:
        plugin = runtime.load(built_plugins / f"{module.COMMAND}.wasm")
        for request_ in requests:
            assert in_component(runtime, plugin, request_) == native(module, host, request_), (module.COMMAND, request_)
    j2_plugin = runtime.load(built_plugins / "J2.wasm")
    assert in_component(runtime, j2_plugin, b"")[:2] == b"00" and len(in_component(runtime, j2_plugin, b"")) == 2 + 58 + 170


@pytest.mark.wasm
async def test_a_client_asks_the_status_first_then_sees_its_requests_counted(built_plugins: Path) -> None:
    answers = await exchange(built_plugins, b"NO00", b"NC", b"NC", b"J4", b"JK")
    assert answers[0] == b"NP00" + b"3" + b"1" + b"0256" + b"0007-E000" + b"00000"
    assert answers[3].startswith(b"J500") and b"NC000000000002" in answers[3] and b"NO000000000001" in answers[3]
    assert answers[4].startswith(b"JL00HSMD00000001")
