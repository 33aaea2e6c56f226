/* B2 — Echo test, in C (the Python twin: logic/b2.py).
 *
 * Request:  B2 · message length (4 H: number of bytes of data) · data
 * Response: B3 00 · data
 * Errors: 15 the length is not hex, or more data follows than declared;
 * 80 less data follows than declared.
 */

#include "hsmd.h"

HSMD_COMMAND("B2", "1.0.0", "Echo test");

bool hsmd_execute(hsmd_fields_t *request, hsmd_response_t *response) {
    size_t length;
    hsmd_str_t data;
    if (!hsmd_fields_hex_length(request, 4, &length, "message length")) return false;
    if (hsmd_fields_remaining(request) < length) return hsmd_fail("80", "less data than declared");
    if (!hsmd_fields_fixed(request, length, &data, "data") || !hsmd_fields_end(request)) return false;
    hsmd_put_str(response, data);
    return true;
}
