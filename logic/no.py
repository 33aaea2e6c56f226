"""NO — HSM status.

Request:  NO · mode flag (2 N: 00 status information, 01 PCI HSM compliance)
Response: NP 00 · mode 00: I/O buffer size (1 N: 3 = 32 KiB and more) · Ethernet
          type (1 N: 1 TCP) · number of TCP sockets (4 N, the payShield 10K form
          since firmware 1.8a: hsmd's connection limit) · firmware number (9 A)
          · reserved (1 A, 0; once "DSP fitted") · reserved (4 A, 0000)
          mode 01: PCI HSM compliance (1 N): 1 all settings compliant (the PCI
          key type table), 0 some not, key type 002 separation among them
Errors: 15 unknown mode, missing or trailing data.

Sources: mszeu/PayShieldPressureTest `decoders.py` (decode_no: field order and
widths, the 4-digit socket count of 10K firmware 1.8a and later, mode 01's
values); Shulyaka/iso8583tools `parser/formats/fields_thales.frm` (NO/NP);
ThalesSim `HSMStatus_NO` (nickntg/thalessimulatorlibrary: Ethernet type 1, the
reserved fields). Vectors in tests/test_cmd_no.py.
"""

from __future__ import annotations

from hsmd_sdk import Fields, Hsm, HsmError

COMMAND = "NO"
VERSION = "1.0.0"

BUFFER_32K = b"3"  # frames carry up to 64 KiB: the largest size the field names
ETHERNET_TCP = b"1"


def execute(request: bytes, hsm: Hsm) -> bytes:
    fields = Fields(request)
    mode = fields.text(2, what="mode flag")
    fields.end()
    status = hsm.unit_status()
    if mode == "00":
        sockets = f"{min(status.max_connections, 9999):04d}".encode("ascii")
        return BUFFER_32K + ETHERNET_TCP + sockets + hsm.firmware_number().encode("ascii") + b"0" + b"0000"
    if mode == "01":
        return b"1" if status.pci_mode else b"0"
    raise HsmError("15", f"mode flag {mode!r} not 00 or 01")
