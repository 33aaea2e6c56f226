"""The host: every secret and every cryptographic primitive lives here, never in a plugin."""

from hsmd.host.errors import GuestFailure, HostError
from hsmd.host.lmk import TEST_LMK, Lmk, LmkSet
from hsmd.host.services import Host, RequestScope

__all__ = ["TEST_LMK", "GuestFailure", "Host", "HostError", "Lmk", "LmkSet", "RequestScope"]
