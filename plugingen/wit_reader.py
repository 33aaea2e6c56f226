"""hsmd/runtime/wit.py for the generators, loaded by its path.

Importing the hsmd package would import the host and the SDK, which import the
modules plugingen generates: a missing or broken one could then not be
regenerated. The WIT reader itself imports nothing of hsmd, so it is loaded
alone, once, and shared by every generator (sdkgen, cbindings).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

_NAME = "_plugingen_wit"


def _load() -> ModuleType:
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).resolve().parent.parent / "hsmd" / "runtime" / "wit.py")
        assert spec is not None and spec.loader is not None
        sys.modules[_NAME] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[_NAME])
    return sys.modules[_NAME]


if TYPE_CHECKING:
    from hsmd.runtime import wit
else:
    wit = _load()

__all__ = ["wit"]
