// NC — Perform diagnostics, in C++ (the Python twin, with the layout and sources: logic/nc.py).
//
// Request:  NC [%nn LMK identifier]
// Response: ND 00 · LMK check value (16 H) · firmware number (9 A)
// Errors: 13 the LMK identifier is malformed or names no loaded LMK; 15 anything follows the fields.
//
// The C++ path: the C SDK under a small C++ face, the standard library (std::string,
// std::string_view, std::optional), a static object built by its constructor when the
// instance starts, and no exceptions: built with -fno-exceptions, every failure is a
// returned false and the SDK's pending error, never a throw across the boundary.

#include <optional>
#include <string>
#include <string_view>

#include "hsmd.h"

HSMD_COMMAND("NC", "1.0.0", "Perform diagnostics");

namespace {

std::string_view view(hsmd_str_t s) { return {s.ptr, s.len}; }

// The optional %nn: nullopt on a malformed one (the SDK has set error 13).
std::optional<int32_t> lmk_identifier(hsmd_fields_t *request) {
    int32_t id = HSMD_LMK_DEFAULT;
    if (!hsmd_fields_lmk_id(request, &id)) return std::nullopt;
    return id;
}

// Built once per instance by its constructor (wasi-libc's _initialize runs them at instantiation).
const std::string kFieldOrder = "check value, firmware number";

}  // namespace

extern "C" bool hsmd_execute(hsmd_fields_t *request, hsmd_response_t *response) {
    const std::optional<int32_t> lmk_id = lmk_identifier(request);
    if (!lmk_id || !hsmd_fields_end(request)) return false;
    hsmd_str_t check_value;
    if (!hsmd_lmk_check_value(*lmk_id, &check_value)) return false;
    std::string answer{view(check_value)};
    answer += view(hsmd_firmware_number());
    if (kFieldOrder.empty()) return hsmd_fail("41", "static constructors did not run");
    hsmd_put(response, answer.data(), answer.size());
    return true;
}
