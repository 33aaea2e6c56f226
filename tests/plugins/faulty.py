"""ZF — Misbehave on request (test plugin; never shipped).

The first byte of the request picks the behaviour, so one component covers
every fault the runtime must survive:

  E<data>  echo: answer 00 + data (proves the plugin works again after a fault)
  C        count: answer 00 + calls served by this instance (shows recycling)
  T        trap: raise a BaseException the SDK does not catch
  L        loop forever (fuel exhaustion, or the deadline when fuel is plentiful)
  M<mb>    allocate <mb> MiB (memory cap)
  H        hoard memory 1 MiB at a time until there is no more, then trap (as T) at the cap
  G        raise ValueError in logic (the SDK calls `fail`: 41, a "guest" fault)
  F<why>   call `fail` with the reason <why> itself
  A<cc>    answer the error code <cc>: the plugin's choice, 41 included, and no fault
  R        call random_hex (tests make the host function raise)
  W<pan>   log a line with a PAN field (redaction of plugin logs)
"""

from __future__ import annotations

from hsmd_sdk import Hsm, HsmError

COMMAND = "ZF"
VERSION = "0.1.0"

_calls = 0
_hoard: list[bytearray] = []


class Boom(BaseException):
    pass


def execute(request: bytes, hsm: Hsm) -> bytes:
    global _calls
    _calls += 1
    mode, rest = request[:1], request[1:]
    if mode == b"E":
        return rest
    if mode == b"C":
        return str(_calls).encode()
    if mode == b"T":
        raise Boom("trap on request")
    if mode == b"L":
        while True:
            pass
    if mode == b"M":
        _hoard.append(bytearray(int(rest) * 1024 * 1024))
        return b""
    if mode == b"H":
        try:
            while True:
                _hoard.append(bytearray(1024 * 1024))
        except MemoryError:
            raise Boom("trap at the memory cap") from None
    if mode == b"G":
        raise ValueError("bug in logic")
    if mode == b"F":
        hsm.fail(rest.decode())
    if mode == b"A":
        raise HsmError(rest.decode(), "the code this plugin chose")
    if mode == b"R":
        return hsm.random_hex(8).encode()
    if mode == b"W":
        hsm.log("info", "card seen", pan=rest.decode())
        return b""
    raise HsmError("15", "unknown mode")
