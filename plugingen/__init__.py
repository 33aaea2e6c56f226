"""plugingen: writes a command's WebAssembly adapter from its logic module, and builds the components."""

from plugingen.generate import GenerateError, LogicInfo, inspect_logic, render_adapter, write_adapter

__all__ = ["GenerateError", "LogicInfo", "inspect_logic", "render_adapter", "write_adapter"]
