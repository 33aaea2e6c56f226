/* hsmd.c — the C guest SDK (see hsmd.h): field readers, errors, the response, host wrappers,
 * and the export hooks the generated binding calls. */

#include "hsmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the pending error */

#define HSMD_REASON_MAX 200

static struct {
    bool pending;
    char code[3];
    char reason[HSMD_REASON_MAX];
} hsmd__error;

static bool hsmd__set_error(const char *code, size_t code_len, const char *reason, size_t reason_len) {
    if (code_len != 2) {
        /* As in Python (HsmError refuses it): a malformed code is a bug in the command. */
        hsmd_bug("error code is not two characters");
    }
    hsmd__error.pending = true;
    hsmd__error.code[0] = code[0];
    hsmd__error.code[1] = code[1];
    hsmd__error.code[2] = '\0';
    if (reason_len >= HSMD_REASON_MAX) {
        reason_len = HSMD_REASON_MAX - 1;
    }
    memcpy(hsmd__error.reason, reason, reason_len);
    hsmd__error.reason[reason_len] = '\0';
    return false;
}

void hsmd_bug(const char *reason) {
    hsmd_host_fail(hsmd_str(reason ? reason : ""));
    __builtin_trap(); /* not reached: the host traps the call in `fail` */
}

bool hsmd_fail(const char *code, const char *reason) {
    return hsmd__set_error(code, strlen(code), reason ? reason : "", reason ? strlen(reason) : 0);
}

bool hsmd_failf(const char *code, const char *format, ...) {
    char reason[HSMD_REASON_MAX];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    return hsmd__set_error(code, strlen(code), reason, n < 0 ? 0 : strlen(reason));
}

const char *hsmd_error_code(void) { return hsmd__error.pending ? hsmd__error.code : ""; }

bool hsmd_answering(const char *code, const char *instead_of) {
    if (hsmd__error.pending && strcmp(hsmd__error.code, instead_of) == 0 && strlen(code) == 2) {
        hsmd__error.code[0] = code[0];
        hsmd__error.code[1] = code[1];
    }
    return false;
}

void hsmd_clear_error(void) { hsmd__error.pending = false; }

/* A host refusal becomes the pending error, code and reason as the host gave them. */
static bool hsmd__host_error(const hsmd_hsm_error_t *err) {
    return hsmd__set_error(err->code.ptr, err->code.len, err->reason.ptr, err->reason.len);
}

/* The error the export answers with: the pending one, or 41 if the command gave none. */
static void hsmd__take_error(hsmd_hsm_error_t *err) {
    if (!hsmd__error.pending) {
        hsmd_bug("command failed without an error code");
    }
    err->code = hsmd_str_n(hsmd__error.code, 2);
    err->reason = hsmd_str(hsmd__error.reason);
    hsmd__error.pending = false;
}

/* ---------------------------------------------------------------- strings */

hsmd_str_t hsmd_str(const char *text) { return hsmd_str_n(text, strlen(text)); }

bool hsmd_str_eq(hsmd_str_t s, const char *text) { return strlen(text) == s.len && memcmp(s.ptr, text, s.len) == 0; }

static char hsmd__upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

hsmd_str_t hsmd_str_upper(hsmd_str_t s) {
    char *copy = (char *)hsmd_alloc(s.len, 1);
    for (size_t i = 0; i < s.len; i++) {
        copy[i] = hsmd__upper(s.ptr[i]);
    }
    return hsmd_str_n(copy, s.len);
}

hsmd_str_t hsmd_str_concat(hsmd_str_t a, hsmd_str_t b) {
    char *out = (char *)hsmd_alloc(a.len + b.len, 1);
    memcpy(out, a.ptr, a.len);
    memcpy(out + a.len, b.ptr, b.len);
    return hsmd_str_n(out, a.len + b.len);
}

hsmd_str_t hsmd_strf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (n <= 0) {
        return hsmd_str_n("", 0);
    }
    char *out = (char *)hsmd_alloc((size_t)n + 1, 1);
    va_start(args, format);
    vsnprintf(out, (size_t)n + 1, format, args);
    va_end(args);
    return hsmd_str_n(out, (size_t)n);
}

static const char hsmd__hex_digits[] = "0123456789ABCDEF";

hsmd_str_t hsmd_hex_encode(const uint8_t *data, size_t len) {
    char *out = (char *)hsmd_alloc(2 * len, 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hsmd__hex_digits[data[i] >> 4];
        out[2 * i + 1] = hsmd__hex_digits[data[i] & 15];
    }
    return hsmd_str_n(out, 2 * len);
}

static int hsmd__hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool hsmd_hex_decode(hsmd_str_t hex, uint8_t *out, size_t *len) {
    if (hex.len % 2 != 0) {
        return hsmd_fail("15", "odd number of hex digits");
    }
    for (size_t i = 0; i < hex.len; i += 2) {
        int high = hsmd__hex_value(hex.ptr[i]), low = hsmd__hex_value(hex.ptr[i + 1]);
        if (high < 0 || low < 0) {
            return hsmd_fail("15", "not hex");
        }
        out[i / 2] = (uint8_t)(high << 4 | low);
    }
    *len = hex.len / 2;
    return true;
}

/* ---------------------------------------------------------------- request fields */

static bool hsmd__is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

size_t hsmd_fields_remaining(const hsmd_fields_t *f) { return f->pos < f->len ? f->len - f->pos : 0; }

bool hsmd_fields_at_end(const hsmd_fields_t *f) { return f->pos >= f->len; }

hsmd_str_t hsmd_fields_peek(const hsmd_fields_t *f, size_t n) {
    size_t left = hsmd_fields_remaining(f);
    return hsmd_str_n((const char *)f->data + f->pos, n < left ? n : left);
}

bool hsmd_fields_fixed(hsmd_fields_t *f, size_t n, hsmd_str_t *out, const char *what) {
    if (n > hsmd_fields_remaining(f)) {
        return hsmd_failf("15", "%s: %zu bytes expected, %zu left", what, n, hsmd_fields_remaining(f));
    }
    *out = hsmd_str_n((const char *)f->data + f->pos, n);
    f->pos += n;
    return true;
}

bool hsmd_fields_text(hsmd_fields_t *f, size_t n, hsmd_str_t *out, const char *what) {
    if (!hsmd_fields_fixed(f, n, out, what)) return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)out->ptr[i];
        if (c < 0x20 || c >= 0x7F) return hsmd_failf("15", "%s: not printable", what);
    }
    return true;
}

bool hsmd_fields_hex(hsmd_fields_t *f, size_t n, hsmd_str_t *out, const char *what) {
    hsmd_str_t raw;
    if (!hsmd_fields_fixed(f, n, &raw, what)) return false;
    bool upper = true;
    for (size_t i = 0; i < n; i++) {
        if (hsmd__hex_value(raw.ptr[i]) < 0) return hsmd_failf("15", "%s: not hex", what);
        upper = upper && !(raw.ptr[i] >= 'a' && raw.ptr[i] <= 'f');
    }
    *out = upper ? raw : hsmd_str_upper(raw); /* copy only when there is something to fold */
    return true;
}

bool hsmd_fields_numeric(hsmd_fields_t *f, size_t n, uint64_t *out, const char *what) {
    hsmd_str_t raw;
    if (n > 19) hsmd_bug("a numeric field of more than 19 digits does not fit 64 bits");
    if (!hsmd_fields_fixed(f, n, &raw, what)) return false;
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++) {
        if (!hsmd__is_digit((uint8_t)raw.ptr[i])) return hsmd_failf("15", "%s: not numeric", what);
        value = value * 10 + (uint64_t)(raw.ptr[i] - '0');
    }
    *out = value;
    return true;
}

bool hsmd_fields_hex_length(hsmd_fields_t *f, size_t n, size_t *out, const char *what) {
    hsmd_str_t digits;
    if (n > 2 * sizeof(size_t)) hsmd_bug("a hex length field too long for size_t");
    if (!hsmd_fields_hex(f, n, &digits, what)) return false;
    size_t value = 0;
    for (size_t i = 0; i < n; i++) value = value << 4 | (size_t)hsmd__hex_value(digits.ptr[i]);
    *out = value;
    return true;
}

bool hsmd_fields_key_block(hsmd_fields_t *f, hsmd_str_t *out, const char *what) {
    hsmd_str_t head = hsmd_fields_peek(f, 6);
    if (head.len < 6) return hsmd_failf("15", "%s: key block without a length field", what);
    size_t length = 0;
    for (size_t i = 2; i < 6; i++) {
        if (!hsmd__is_digit((uint8_t)head.ptr[i])) return hsmd_failf("15", "%s: key block without a length field", what);
        length = length * 10 + (size_t)(head.ptr[i] - '0');
    }
    if (length < 16) return hsmd_failf("15", "%s: key block of %zu characters is shorter than its header", what, length);
    return hsmd_fields_text(f, 1 + length, out, what);
}

bool hsmd_fields_key(hsmd_fields_t *f, const char *blocks, hsmd_str_t *out, const char *what) {
    hsmd_str_t tag = hsmd_fields_peek(f, 1);
    char c = tag.len ? tag.ptr[0] : '\0';
    if ((c == 'S' || c == 'R') && strchr(blocks ? blocks : "S", c) != NULL) {
        return hsmd_fields_key_block(f, out, what);
    }
    char scheme = hsmd__upper(c);
    size_t digits = (scheme == 'U' || scheme == 'X') ? 32 : (scheme == 'T' || scheme == 'Y') ? 48 : 0;
    if (digits == 0) return hsmd_fields_hex(f, 16, out, what);
    f->pos += 1;
    hsmd_str_t hex;
    if (!hsmd_fields_hex(f, digits, &hex, what)) return false;
    char *key = (char *)hsmd_alloc(1 + digits, 1);
    key[0] = scheme;
    memcpy(key + 1, hex.ptr, digits);
    *out = hsmd_str_n(key, 1 + digits);
    return true;
}

bool hsmd_fields_kcv_type(hsmd_fields_t *f, int *out) {
    hsmd_str_t value;
    if (!hsmd_fields_text(f, 1, &value, "key check value type")) return false;
    if (value.ptr[0] != '0' && value.ptr[0] != '1') return hsmd_failf("15", "key check value type '%c' not 0 or 1", value.ptr[0]);
    *out = value.ptr[0] - '0';
    return true;
}

bool hsmd_fields_delimited(hsmd_fields_t *f, char delimiter, size_t max_len, hsmd_str_t *out, const char *what) {
    size_t end = f->pos;
    while (end < f->len && f->data[end] != (uint8_t)delimiter && f->data[end] != HSMD_TRAILER) end++;
    size_t len = end - f->pos;
    if (max_len != HSMD_NO_LIMIT && len > max_len) return hsmd_failf("15", "%s: longer than %zu", what, max_len);
    *out = hsmd_str_n((const char *)f->data + f->pos, len);
    f->pos = end < f->len && f->data[end] == (uint8_t)delimiter ? end + 1 : end;
    return true;
}

bool hsmd_fields_optional(hsmd_fields_t *f, const char *marker) {
    size_t n = strlen(marker);
    if (hsmd_fields_remaining(f) >= n && memcmp(f->data + f->pos, marker, n) == 0) {
        f->pos += n;
        return true;
    }
    return false;
}

bool hsmd_fields_lmk_id(hsmd_fields_t *f, int32_t *out) {
    *out = HSMD_LMK_DEFAULT;
    if (!hsmd_fields_optional(f, "%")) return true;
    uint64_t id;
    if (!hsmd_fields_numeric(f, 2, &id, "LMK identifier")) return hsmd_answering("13", "15");
    *out = (int32_t)id;
    return true;
}

bool hsmd_fields_before(hsmd_fields_t *f, size_t tail, hsmd_str_t *out, const char *what) {
    const uint8_t *d = f->data;
    size_t n = f->len;
    long long end = (long long)n - (long long)tail;
    if (n >= 3 && d[n - 3] == '%' && hsmd__is_digit(d[n - 2]) && hsmd__is_digit(d[n - 1])) {
        end -= 3; /* the %nn comes after the fixed fields: it is the request's last field */
    }
    if (end < (long long)f->pos) return hsmd_failf("15", "%s: %zu bytes left, %zu needed after it", what, hsmd_fields_remaining(f), tail);
    *out = hsmd_str_n((const char *)d + f->pos, (size_t)end - f->pos);
    f->pos = (size_t)end;
    return true;
}

hsmd_str_t hsmd_fields_rest(hsmd_fields_t *f) {
    hsmd_str_t rest = hsmd_fields_peek(f, hsmd_fields_remaining(f));
    f->pos = f->len;
    return rest;
}

bool hsmd_fields_end(hsmd_fields_t *f) {
    if (!hsmd_fields_at_end(f)) return hsmd_failf("15", "%zu unexpected bytes after the last field", hsmd_fields_remaining(f));
    return true;
}

/* ---------------------------------------------------------------- the response */

void hsmd_put(hsmd_response_t *r, const void *data, size_t len) {
    if (r->len + len > r->cap) {
        size_t cap = r->cap * 2 > r->len + len ? r->cap * 2 : r->len + len;
        r->data = (uint8_t *)cabi_realloc(r->data, r->len, 1, cap); /* in place while it is the arena's newest */
        r->cap = cap;
    }
    if (len) memcpy(r->data + r->len, data, len);
    r->len += len;
}

void hsmd_put_str(hsmd_response_t *r, hsmd_str_t s) { hsmd_put(r, s.ptr, s.len); }

void hsmd_put_cstr(hsmd_response_t *r, const char *text) { hsmd_put(r, text, strlen(text)); }

void hsmd_putf(hsmd_response_t *r, const char *format, ...) {
    char small[128];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        hsmd_put(r, small, (size_t)n);
        return;
    }
    char *big = (char *)hsmd_alloc((size_t)n + 1, 1);
    va_start(args, format);
    vsnprintf(big, (size_t)n + 1, format, args);
    va_end(args);
    hsmd_put(r, big, (size_t)n);
}

void hsmd_response_code(hsmd_response_t *r, const char *code) {
    if (strlen(code) == 2) {
        r->data[0] = (uint8_t)code[0];
        r->data[1] = (uint8_t)code[1];
    }
}

/* ---------------------------------------------------------------- export hooks (generated glue calls these) */

__attribute__((weak)) bool hsmd_init(void) { return true; }

__attribute__((weak)) void hsmd_cleanup(void) {}

void hsmd_export_metadata(hsmd_metadata_t *ret) {
    ret->command = hsmd_str(hsmd_command.command);
    ret->version = hsmd_str(hsmd_command.version);
    ret->description = hsmd_str(hsmd_command.description);
}

bool hsmd_export_init(hsmd_hsm_error_t *err) {
    hsmd__error.pending = false;
    if (hsmd_init()) return true;
    hsmd__take_error(err);
    return false;
}

/* Run the command on `size` request bytes; the response (error code first) in *response. */
static bool hsmd__respond(const uint8_t *request, size_t size, hsmd_response_t *response, hsmd_hsm_error_t *err) {
    hsmd__error.pending = false;
    hsmd_fields_t fields = {request, size, 0};
    response->cap = 64;
    response->data = (uint8_t *)hsmd_alloc(response->cap, 1);
    response->data[0] = '0';
    response->data[1] = '0';
    response->len = 2;
    if (!hsmd_execute(&fields, response)) {
        hsmd__take_error(err);
        return false;
    }
    return true;
}

bool hsmd_export_execute(hsmd_list_u8_t request, hsmd_list_u8_t *ret, hsmd_hsm_error_t *err) {
    hsmd_response_t response;
    if (!hsmd__respond(request.ptr, request.len, &response, err)) return false;
    ret->ptr = response.data;
    ret->len = response.len;
    return true;
}

/* Whether all `n` bytes are below 0x80 (eight at a time): such bytes are their own text. */
static bool hsmd__ascii(const uint8_t *p, size_t n) {
    uint64_t any = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        any |= word;
    }
    for (; i < n; i++) any |= p[i];
    return (any & 0x8080808080808080ull) == 0;
}

/* execute-frame carries bytes as ISO 8859-1 text: each byte is the code point of one
 * character, so a byte below 0x80 is itself and any other is two UTF-8 bytes. The host
 * sends only such text; anything else (a code point above U+00FF) is answered 15.
 * Text that is all ASCII (most requests) is used where it lies. */
bool hsmd_export_execute_frame(hsmd_string_t request, hsmd_string_t *ret, hsmd_hsm_error_t *err) {
    const uint8_t *text = (const uint8_t *)request.ptr;
    const uint8_t *bytes = text;
    size_t size = request.len;
    if (!hsmd__ascii(text, request.len)) {
        uint8_t *decoded = (uint8_t *)hsmd_alloc(request.len + 1, 1);
        size = 0;
        for (size_t i = 0; i < request.len; i++) {
            uint8_t c = text[i];
            if (c >= 0x80) {
                if ((c != 0xC2 && c != 0xC3) || i + 1 >= request.len || (text[i + 1] & 0xC0) != 0x80) {
                    err->code = hsmd_str("15");
                    err->reason = hsmd_str("execute-frame: a character above U+00FF");
                    return false;
                }
                c = (uint8_t)(((c & 0x03) << 6) | (text[++i] & 0x3F));
            }
            decoded[size++] = c;
        }
        bytes = decoded;
    }
    hsmd_response_t response;
    if (!hsmd__respond(bytes, size, &response, err)) return false;
    if (hsmd__ascii(response.data, response.len)) {
        ret->ptr = (const char *)response.data;
        ret->len = response.len;
        return true;
    }
    char *out = (char *)hsmd_alloc(2 * response.len + 1, 1);
    size_t n = 0;
    for (size_t i = 0; i < response.len; i++) {
        uint8_t b = response.data[i];
        if (b < 0x80) {
            out[n++] = (char)b;
        } else {
            out[n++] = (char)(0xC0 | (b >> 6));
            out[n++] = (char)(0x80 | (b & 0x3F));
        }
    }
    ret->ptr = out;
    ret->len = n;
    return true;
}

void hsmd_export_cleanup(void) { hsmd_cleanup(); }

/* ---------------------------------------------------------------- host wrappers */

static hsmd_option_u32_t hsmd__lmk(int32_t lmk_id) {
    hsmd_option_u32_t option;
    option.is_some = lmk_id >= 0;
    option.val = lmk_id >= 0 ? (uint32_t)lmk_id : 0;
    return option;
}

/* The one shape of every refusable host call: the host's error becomes the pending one. */
#define HSMD__HOST(call)                     \
    do {                                     \
        hsmd_hsm_error_t err_;               \
        if (call) return true;               \
        return hsmd__host_error(&err_);      \
    } while (0)

void hsmd_log(hsmd_log_level_t level, const char *event, ...) {
    va_list args;
    size_t n = 0;
    va_start(args, event);
    while (va_arg(args, const char *) != NULL) n++;
    va_end(args);
    hsmd_tuple2_string_string_t *pairs = (hsmd_tuple2_string_string_t *)hsmd_alloc(sizeof *pairs * (n / 2 + 1), _Alignof(hsmd_tuple2_string_string_t));
    va_start(args, event);
    for (size_t i = 0; i < n / 2; i++) {
        pairs[i].f0 = hsmd_str(va_arg(args, const char *));
        pairs[i].f1 = hsmd_str(va_arg(args, const char *));
    }
    va_end(args);
    hsmd_list_tuple2_string_string_t fields = {pairs, n / 2};
    hsmd_host_log(level, hsmd_str(event), fields);
}

bool hsmd_random_hex(uint32_t n, hsmd_str_t *out) { HSMD__HOST(hsmd_host_random_hex(n, out, &err_)); }
bool hsmd_lmk_check_value(int32_t lmk_id, hsmd_str_t *out) { HSMD__HOST(hsmd_host_lmk_check_value(hsmd__lmk(lmk_id), out, &err_)); }
hsmd_str_t hsmd_firmware_number(void) {
    hsmd_str_t out;
    hsmd_host_firmware_number(&out);
    return out;
}
bool hsmd_authorised(void) { return hsmd_host_authorised(); }

bool hsmd_key_from_lmk(hsmd_str_t key_type, hsmd_str_t key, int32_t lmk_id, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_key_from_lmk(key_type, key, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_key_to_lmk(hsmd_key_t key, hsmd_str_t scheme, int32_t lmk_id, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_key_to_lmk(key, scheme, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_key_from_kek(hsmd_key_t kek, hsmd_str_t key_type, hsmd_str_t key, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_key_from_kek(kek, key_type, key, out, &err_));
}
bool hsmd_key_to_kek(hsmd_key_t kek, hsmd_key_t key, hsmd_str_t scheme, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_key_to_kek(kek, key, scheme, out, &err_));
}
bool hsmd_key_generate(hsmd_str_t key_type, hsmd_str_t scheme, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_key_generate(key_type, scheme, out, &err_));
}
bool hsmd_key_combine(hsmd_str_t key_type, const hsmd_key_t *parts, size_t count, hsmd_key_t *out) {
    hsmd_list_key_handle_t list = {(hsmd_key_handle_t *)parts, count};
    HSMD__HOST(hsmd_host_key_combine(key_type, list, out, &err_));
}
bool hsmd_key_check_value(hsmd_key_t key, hsmd_str_t *out) { HSMD__HOST(hsmd_host_key_check_value(key, out, &err_)); }
bool hsmd_key_describe(hsmd_key_t key, hsmd_key_info_t *out) { HSMD__HOST(hsmd_host_key_describe(key, out, &err_)); }
bool hsmd_key_type_code(hsmd_str_t role, hsmd_str_t *out) { HSMD__HOST(hsmd_host_key_type_code(role, out, &err_)); }
bool hsmd_key_generate_block(hsmd_str_t header, int32_t lmk_id, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_key_generate_block(header, hsmd__lmk(lmk_id), out, &err_));
}
hsmd_str_t hsmd_check_value(hsmd_str_t kcv, int kcv_type) { return hsmd_str_n(kcv.ptr, kcv_type == 0 || kcv.len < 6 ? kcv.len : 6); }

bool hsmd_pin_from_block(hsmd_key_t key, hsmd_str_t block, hsmd_str_t pin_format, hsmd_str_t account, hsmd_pin_t *out) {
    HSMD__HOST(hsmd_host_pin_from_block(key, block, pin_format, account, out, &err_));
}
bool hsmd_pin_to_block(hsmd_key_t key, hsmd_pin_t pin, hsmd_str_t pin_format, hsmd_str_t account, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_pin_to_block(key, pin, pin_format, account, out, &err_));
}
bool hsmd_pin_from_lmk(hsmd_str_t pin, hsmd_str_t account, int32_t lmk_id, hsmd_pin_t *out) {
    HSMD__HOST(hsmd_host_pin_from_lmk(pin, account, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_pin_to_lmk(hsmd_pin_t pin, hsmd_str_t account, int32_t lmk_id, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_pin_to_lmk(pin, account, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_pin_generate(uint32_t length, hsmd_pin_t *out) { HSMD__HOST(hsmd_host_pin_generate(length, out, &err_)); }
bool hsmd_pin_from_clear(hsmd_str_t pin, hsmd_pin_t *out) { HSMD__HOST(hsmd_host_pin_from_clear(pin, out, &err_)); }
bool hsmd_pin_reveal(hsmd_pin_t pin, hsmd_str_t *out) { HSMD__HOST(hsmd_host_pin_reveal(pin, out, &err_)); }
bool hsmd_pin_length(hsmd_pin_t pin, uint32_t *out) { HSMD__HOST(hsmd_host_pin_length(pin, out, &err_)); }
bool hsmd_pin_compare(hsmd_pin_t a, hsmd_pin_t b, bool *out) { HSMD__HOST(hsmd_host_pin_compare(a, b, out, &err_)); }
bool hsmd_pin_ibm_offset(hsmd_key_t pvk, hsmd_pin_t pin, hsmd_str_t table, hsmd_str_t validation_data, int32_t lmk_id, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_pin_ibm_offset(pvk, pin, table, validation_data, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_pin_ibm_derive(hsmd_key_t pvk, hsmd_str_t offset, hsmd_str_t table, hsmd_str_t validation_data, int32_t lmk_id, hsmd_pin_t *out) {
    HSMD__HOST(hsmd_host_pin_ibm_derive(pvk, offset, table, validation_data, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_pin_pvv(hsmd_key_t pvk, hsmd_pin_t pin, hsmd_str_t account, uint32_t pvki, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_pin_pvv(pvk, pin, account, pvki, out, &err_));
}
bool hsmd_card_cvv(hsmd_key_t cvk, hsmd_str_t pan, hsmd_str_t expiry, hsmd_str_t service_code, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_card_cvv(cvk, pan, expiry, service_code, out, &err_));
}
bool hsmd_card_dcvv(hsmd_key_t mk, hsmd_str_t derivation, hsmd_str_t pan, hsmd_str_t expiry, hsmd_str_t service_code, hsmd_str_t atc,
                    hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_card_dcvv(mk, derivation, pan, expiry, service_code, atc, out, &err_));
}
bool hsmd_card_cvc3(hsmd_key_t mk, hsmd_str_t derivation, hsmd_str_t pan, hsmd_str_t psn, hsmd_str_t track, hsmd_str_t un, uint32_t atc,
                    hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_card_cvc3(mk, derivation, pan, psn, track, un, atc, out, &err_));
}

bool hsmd_mac_compute(hsmd_key_t key, uint32_t algorithm, uint32_t padding, hsmd_str_t iv, const uint8_t *data, size_t len, bool final,
                      hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_mac_compute(key, algorithm, padding, iv, hsmd_hex_encode(data, len), final, out, &err_));
}
bool hsmd_data_crypt(hsmd_key_t key, bool encrypt, hsmd_str_t mode, hsmd_str_t iv, const uint8_t *data, size_t len, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_data_crypt(key, encrypt, mode, iv, hsmd_hex_encode(data, len), out, &err_));
}
bool hsmd_hash(hsmd_str_t algorithm, const uint8_t *data, size_t len, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_hash(algorithm, hsmd_hex_encode(data, len), out, &err_));
}
bool hsmd_emv_card_key(hsmd_key_t mk, hsmd_str_t derivation, hsmd_str_t pan, hsmd_str_t psn, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_emv_card_key(mk, derivation, pan, psn, out, &err_));
}
bool hsmd_emv_session_key(hsmd_key_t card_key, hsmd_str_t method, hsmd_str_t atc, hsmd_str_t un, hsmd_str_t iv, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_emv_session_key(card_key, method, atc, un, iv, out, &err_));
}
bool hsmd_emv_ac(hsmd_key_t key, const uint8_t *data, size_t len, uint32_t padding, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_emv_ac(key, hsmd_hex_encode(data, len), padding, out, &err_));
}
bool hsmd_emv_arpc(hsmd_key_t key, hsmd_str_t arqc, uint32_t method, hsmd_str_t response, hsmd_str_t proprietary, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_emv_arpc(key, arqc, method, response, proprietary, out, &err_));
}
bool hsmd_dukpt_key(hsmd_key_t bdk, hsmd_str_t ksn, hsmd_str_t usage, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_dukpt_key(bdk, ksn, usage, out, &err_));
}

hsmd_unit_info_t hsmd_unit_status(void) {
    hsmd_unit_info_t out;
    hsmd_host_unit_status(&out);
    return out;
}
hsmd_list_command_count_t hsmd_command_counts(void) {
    hsmd_list_command_count_t out;
    hsmd_host_command_counts(&out);
    return out;
}
hsmd_list_load_band_t hsmd_unit_loading(void) {
    hsmd_list_load_band_t out;
    hsmd_host_unit_loading(&out);
    return out;
}
hsmd_list_lmk_status_t hsmd_lmk_table(void) {
    hsmd_list_lmk_status_t out;
    hsmd_host_lmk_table(&out);
    return out;
}
hsmd_list_host_connection_t hsmd_host_connections(void) {
    hsmd_list_host_connection_t out;
    hsmd_host_host_connections(&out);
    return out;
}
hsmd_port_traffic_t hsmd_host_traffic(void) {
    hsmd_port_traffic_t out;
    hsmd_host_host_traffic(&out);
    return out;
}

bool hsmd_rsa_generate(uint32_t bits, hsmd_str_t key_type, hsmd_str_t encoding, hsmd_str_t exponent, int32_t lmk_id, hsmd_rsa_key_pair_t *out) {
    HSMD__HOST(hsmd_host_rsa_generate(bits, key_type, encoding, exponent, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_public_key_import(hsmd_str_t encoding, hsmd_str_t key_and_auth, int32_t lmk_id, hsmd_imported_public_key_t *out) {
    HSMD__HOST(hsmd_host_public_key_import(encoding, key_and_auth, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_public_key_from_mac(hsmd_str_t mac, hsmd_str_t key_and_auth, int32_t lmk_id, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_public_key_from_mac(mac, key_and_auth, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_private_key_from_lmk(hsmd_str_t private_key, int32_t lmk_id, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_private_key_from_lmk(private_key, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_rsa_sign(hsmd_key_t key, hsmd_str_t hash_id, hsmd_str_t signature_id, hsmd_str_t pad_mode, hsmd_str_t data, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_rsa_sign(key, hash_id, signature_id, pad_mode, data, out, &err_));
}
bool hsmd_rsa_verify(hsmd_key_t key, hsmd_str_t hash_id, hsmd_str_t signature_id, hsmd_str_t pad_mode, hsmd_str_t signature, hsmd_str_t data,
                     bool *out) {
    HSMD__HOST(hsmd_host_rsa_verify(key, hash_id, signature_id, pad_mode, signature, data, out, &err_));
}
bool hsmd_key_to_public_key(hsmd_key_t public_key, hsmd_key_t key, hsmd_str_t transport, hsmd_str_t oaep_parameters, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_key_to_public_key(public_key, key, transport, oaep_parameters, out, &err_));
}
bool hsmd_key_from_public_key(hsmd_key_t private_key, hsmd_str_t key_type, hsmd_str_t encrypted, hsmd_str_t transport,
                              hsmd_str_t oaep_parameters, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_key_from_public_key(private_key, key_type, encrypted, transport, oaep_parameters, out, &err_));
}
bool hsmd_ecc_generate(hsmd_str_t curve, int32_t lmk_id, hsmd_ecc_key_pair_t *out) {
    HSMD__HOST(hsmd_host_ecc_generate(curve, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_rsa_generate_block(uint32_t bits, hsmd_str_t key_type, hsmd_str_t encoding, hsmd_str_t exponent, hsmd_str_t header, int32_t lmk_id,
                             hsmd_rsa_key_pair_t *out) {
    HSMD__HOST(hsmd_host_rsa_generate_block(bits, key_type, encoding, exponent, header, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_ecc_generate_block(hsmd_str_t curve, hsmd_str_t header, int32_t lmk_id, hsmd_ecc_key_pair_t *out) {
    HSMD__HOST(hsmd_host_ecc_generate_block(curve, header, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_key_from_public_key_block(hsmd_key_t private_key, hsmd_str_t key_type, hsmd_str_t header, hsmd_str_t encrypted, hsmd_str_t transport,
                                    hsmd_str_t oaep_parameters, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_key_from_public_key_block(private_key, key_type, header, encrypted, transport, oaep_parameters, out, &err_));
}
bool hsmd_public_key_import_block(hsmd_str_t encoding, hsmd_str_t key_and_auth, hsmd_str_t header, int32_t lmk_id, hsmd_str_t *out) {
    HSMD__HOST(hsmd_host_public_key_import_block(encoding, key_and_auth, header, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_public_key_from_block(hsmd_str_t block, hsmd_str_t purpose, int32_t lmk_id, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_public_key_from_block(block, purpose, hsmd__lmk(lmk_id), out, &err_));
}

bool hsmd_key_from_old_lmk(hsmd_str_t key_type, hsmd_str_t key, int32_t lmk_id, hsmd_key_t *out) {
    HSMD__HOST(hsmd_host_key_from_old_lmk(key_type, key, hsmd__lmk(lmk_id), out, &err_));
}
bool hsmd_pin_from_old_lmk(hsmd_str_t pin, hsmd_str_t account, int32_t lmk_id, hsmd_pin_t *out) {
    HSMD__HOST(hsmd_host_pin_from_old_lmk(pin, account, hsmd__lmk(lmk_id), out, &err_));
}
