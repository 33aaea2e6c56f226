/* BU — Generate a Key Check Value, in C (the Python twin, with the layout and sources: logic/bu.py).
 *
 * Request:  BU · key type code (2 A: a legacy LMK pair code 00-0E, or FF) · key length flag
 *           (1: 0 single, 1 double, 2 triple, F a key block) · key under the LMK
 *           · [; key type (3 H), exactly when the code is FF] · [; reserved (2 A) · check value type (1 N)]
 *           · [%nn LMK identifier]
 * Response: BV 00 · key check value (16 H; 6 H with check value type 1)
 * Errors: 04 key type · 05 length flag · 10 parity · 13 LMK identifier · 15 malformed field or key type code.
 */

#include "hsmd.h"

HSMD_COMMAND("BU", "1.1.0", "Generate a key check value");

/* Bytes of key a key field holds: a key block 0 (flag F), bare 16 H single, else a scheme letter + 32/48 H. */
static int key_length(hsmd_str_t key) {
    if (key.len && key.ptr[0] == 'S') return 0;
    return key.len == 16 ? 8 : (int)(key.len - 1) / 2;
}

/* What a length flag says (-1: not a flag). */
static int flag_length(char flag) {
    switch (flag) {
        case '0': return 8;
        case '1': return 16;
        case '2': return 24;
        case 'F': return 0;
        default: return -1;
    }
}

/* 00 ... 0E: the LMK pair codes 04-05 ... 38-39. */
static bool legacy_code(hsmd_str_t code) {
    return code.ptr[0] == '0' && ((code.ptr[1] >= '0' && code.ptr[1] <= '9') || (code.ptr[1] >= 'A' && code.ptr[1] <= 'E'));
}

bool hsmd_execute(hsmd_fields_t *request, hsmd_response_t *response) {
    hsmd_str_t code, flag, key_field, key_type, reserved, kcv;
    int kcv_type = 0;
    int32_t lmk_id;
    hsmd_key_t key;

    if (!hsmd_fields_text(request, 2, &code, "key type code")) return false;
    if (!hsmd_fields_text(request, 1, &flag, "key length flag")) return false;
    if (!hsmd_fields_key(request, NULL, &key_field, "key")) return false;
    code = hsmd_str_upper(code);
    flag = hsmd_str_upper(flag);
    if (hsmd_str_eq(code, "FF")) {
        if (!hsmd_fields_optional(request, ";")) return hsmd_fail("15", "key type code FF needs '; key type'");
        if (!hsmd_fields_text(request, 3, &key_type, "key type")) return false;
    } else if (legacy_code(code)) {
        key_type = hsmd_str_concat(HSMD_STR("0"), code);
    } else {
        return hsmd_fail("15", "key type code unknown");
    }
    if (hsmd_fields_optional(request, ";")) {
        if (!hsmd_fields_text(request, 2, &reserved, "reserved") || !hsmd_fields_kcv_type(request, &kcv_type)) return false;
    }
    if (!hsmd_fields_lmk_id(request, &lmk_id) || !hsmd_fields_end(request)) return false;

    if (flag_length(flag.ptr[0]) != key_length(key_field)) return hsmd_fail("05", "key length flag does not match the key field");
    if (!hsmd_key_from_lmk(key_type, key_field, lmk_id, &key) || !hsmd_key_check_value(key, &kcv)) return false;
    hsmd_put_str(response, hsmd_check_value(kcv, kcv_type));
    return true;
}
