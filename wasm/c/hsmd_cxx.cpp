// hsmd_cxx.cpp — the C++ part of the guest SDK, linked into C++ plugins only.
//
// Built with -fno-exceptions, libc++ reports what would have been a throw (length_error,
// bad_alloc, ...) through std::__libcpp_verbose_abort, which by default prints to stderr:
// that pulls WASI's fd_write/fd_seek/fd_close into the module, which the plugin world does
// not offer, and `wasm-tools component new` refuses it. libc++ lets a program replace the
// function: here it traps, so the host answers 41 and replaces the instance.

#include <__verbose_abort>

_LIBCPP_BEGIN_NAMESPACE_STD
void __libcpp_verbose_abort(const char *, ...) noexcept { __builtin_trap(); }
_LIBCPP_END_NAMESPACE_STD
