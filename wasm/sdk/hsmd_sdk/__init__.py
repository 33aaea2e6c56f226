"""hsmd guest SDK: what a command's logic module imports.

The same names work in two places: inside the WebAssembly component (the
generated adapter supplies a `Hsm` that calls the WIT host imports) and
natively under pytest and the benchmarks (`hsmd.host.native` supplies a `Hsm`
that calls the host directly). Logic written against this module cannot tell
the difference, which is what the parity tests check.
"""

from hsmd_sdk.errors import HsmError, answering
from hsmd_sdk.fields import Fields
from hsmd_sdk.hsm import Hsm, KeyHandle, KeyInfo, PinHandle
from hsmd_sdk.response import Execute, Reply, respond

__all__ = ["Execute", "Fields", "Hsm", "HsmError", "KeyHandle", "KeyInfo", "PinHandle", "Reply", "answering", "respond"]
