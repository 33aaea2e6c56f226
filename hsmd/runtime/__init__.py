"""The WebAssembly plugin runtime (wasmtime): loading, limits, recycling, the fast call path."""

from hsmd.runtime.contract import CONTRACT_VERSION
from hsmd.runtime.plugin import GuestError, Limits, Metadata, Plugin, PluginFault
from hsmd.runtime.runtime import PluginRefused, Refusal, Runtime

__all__ = ["CONTRACT_VERSION", "GuestError", "Limits", "Metadata", "Plugin", "PluginFault", "PluginRefused", "Refusal", "Runtime"]
