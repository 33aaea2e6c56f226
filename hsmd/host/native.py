"""`hsmd_sdk.Hsm` straight onto the host, no wasm in between.

Logic modules run on this under pytest (fast, exact unit tests against the
real host), in the parity tests (same bytes as through the component) and in
the benchmark's native baseline. `NativeHsm` is generated from the WIT
contract into hsmd.host.native_api (plugingen --host-api), like the guest's.
"""

from __future__ import annotations

from hsmd.host.native_api import NativeHsm

__all__ = ["NativeHsm"]
