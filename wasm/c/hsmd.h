/* hsmd.h — the C guest SDK: write an hsmd host command in C or C++.
 *
 * A command is one source file that includes this header, declares itself with
 * HSMD_COMMAND and defines hsmd_execute:
 *
 *     #include "hsmd.h"
 *
 *     HSMD_COMMAND("B2", "1.0.0", "Echo test");
 *
 *     bool hsmd_execute(hsmd_fields_t *request, hsmd_response_t *response) {
 *         size_t length;
 *         hsmd_str_t data;
 *         if (!hsmd_fields_hex_length(request, 4, &length, "message length")) return false;
 *         if (hsmd_fields_remaining(request) < length) return hsmd_fail("80", "less data than declared");
 *         if (!hsmd_fields_fixed(request, length, &data, "data") || !hsmd_fields_end(request)) return false;
 *         hsmd_put_str(response, data);
 *         return true;
 *     }
 *
 * It follows the Python SDK (wasm/sdk/hsmd_sdk) function for function and code for code:
 *
 * - Errors. There are no exceptions: every call that can fail returns bool, and on
 *   false a payShield error code is pending (hsmd_fail sets one; a field reader or a
 *   host function that refuses sets its own). Return false from hsmd_execute and the
 *   client is answered with that code and no fields: the command's answer, 41 included.
 *   A bug is not an answer: hsmd_bug (the contract's `fail`) stops the call, and so does
 *   returning false with no error pending, as a Python command raising anything but
 *   HsmError does: the host answers 41, logs a "guest" fault and replaces the instance.
 *   Never longjmp or throw across the plugin boundary: a trap (abort, unreachable,
 *   out-of-bounds) costs the request a 41 and the instance.
 * - Memory. The request, every string the host returns, and everything the SDK
 *   makes (upper-cased fields, hex, the response) live in a per-call arena, which is
 *   rewound when the call returns: nothing to free, nothing to keep. Keep data across
 *   requests in static storage or malloc (wasi-libc's allocator; no WASI imports).
 * - Strings. hsmd_str_t is a pointer and a length, never NUL-terminated. Field readers
 *   return slices of the request (or arena copies where they change case).
 * - Handles. Keys and PINs stay in the host: a handle is valid for the current request.
 *
 * The binding underneath (types, raw host imports, export glue, cabi_realloc) is
 * generated from wasm/wit into generated/hsmd_world.h; wasm/ABI.md is the contract.
 */

#ifndef HSMD_H
#define HSMD_H

#include <stdarg.h>

#include "generated/hsmd_world.h"

#ifdef __cplusplus
extern "C" {
#define HSMD__EXTERN_C extern "C"
#else
#define HSMD__EXTERN_C
#endif

/* ---------------------------------------------------------------- the command */

typedef struct hsmd_command_info {
    const char *command;     /* two characters, e.g. "B2": must match the file name */
    const char *version;     /* the plugin's own semantic version */
    const char *description;
} hsmd_command_info_t;

/* Declare the command: HSMD_COMMAND("BU", "1.1.0", "Generate a key check value"); once per plugin. */
#define HSMD_COMMAND(code, version, description) \
    HSMD__EXTERN_C const hsmd_command_info_t hsmd_command = {(code), (version), (description)}

extern const hsmd_command_info_t hsmd_command;

typedef struct hsmd_fields hsmd_fields_t;
typedef struct hsmd_response hsmd_response_t;

/* One request: `request` reads its fields (after the command code, without the 0x19
 * trailer); `response` collects the fields after the error code. true answers "00"
 * (or the code set with hsmd_response_code) and the fields; false answers the pending
 * error's code alone. Written by the command. */
bool hsmd_execute(hsmd_fields_t *request, hsmd_response_t *response);

/* Optional: once per instance before the first request (false refuses the plugin),
 * and once when the host retires the instance. Default: nothing. */
bool hsmd_init(void);
void hsmd_cleanup(void);

/* ---------------------------------------------------------------- strings */

typedef hsmd_string_t hsmd_str_t;

static inline hsmd_str_t hsmd_str_n(const char *ptr, size_t len) {
    hsmd_str_t s;
    s.ptr = ptr;
    s.len = len;
    return s;
}

/* A string literal as hsmd_str_t: HSMD_STR("001"). */
#define HSMD_STR(literal) hsmd_str_n("" literal, sizeof(literal) - 1)

/* A NUL-terminated string as hsmd_str_t (not copied). */
hsmd_str_t hsmd_str(const char *text);
/* Whether `s` is exactly the NUL-terminated `text`. */
bool hsmd_str_eq(hsmd_str_t s, const char *text);
/* An upper-case copy (ASCII), in the arena. */
hsmd_str_t hsmd_str_upper(hsmd_str_t s);
/* `a` followed by `b`, in the arena. */
hsmd_str_t hsmd_str_concat(hsmd_str_t a, hsmd_str_t b);
/* printf into the arena. */
hsmd_str_t hsmd_strf(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* `len` bytes as upper-case hex, in the arena (for the host's hex-data parameters). */
hsmd_str_t hsmd_hex_encode(const uint8_t *data, size_t len);
/* Hex text to bytes into `out` (room for hex.len / 2); false (error 15) if not hex or odd. */
bool hsmd_hex_decode(hsmd_str_t hex, uint8_t *out, size_t *len);

/* ---------------------------------------------------------------- errors */

/* Make `code` (two characters) the pending error; `reason` is for the log only and
 * never holds secret material. Returns false, so: `return hsmd_fail("15", "...");`. */
bool hsmd_fail(const char *code, const char *reason);
/* The command's own failure (a bug, a broken invariant), which is no answer: the host answers
 * 41, logs `reason` as a fault of kind "guest" and replaces the instance. Does not return.
 * The contract's `fail` (the Python SDK's hsm.fail); hsmd_fail, above, answers an error code. */
__attribute__((noreturn)) void hsmd_bug(const char *reason);
bool hsmd_failf(const char *code, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* The pending error's code, or "" when none is pending. */
const char *hsmd_error_code(void);
/* Python's `answering(code, instead_of)`: a command whose manual gives a host refusal
 * another code remaps it. If the pending error is `instead_of`, it becomes `code`.
 * Returns false: `if (!hsmd_key_from_lmk(...)) return hsmd_answering("11", "10");`. */
bool hsmd_answering(const char *code, const char *instead_of);
/* Forget the pending error (a command that recovers from a refusal). */
void hsmd_clear_error(void);

/* ---------------------------------------------------------------- request fields */

/* The request, read left to right with a cursor. Every reader names the field in
 * `what` (for the log) and answers error 15 when it is missing or malformed, except
 * where stated; hsmd_answering gives it another code. Delimited readers stop at 0x19. */
struct hsmd_fields {
    const uint8_t *data;
    size_t len;
    size_t pos;
};

#define HSMD_TRAILER 0x19
#define HSMD_NO_LIMIT ((size_t)-1)
/* The LMK a request names with %nn, or the default one when it names none. */
#define HSMD_LMK_DEFAULT (-1)

size_t hsmd_fields_remaining(const hsmd_fields_t *f);
bool hsmd_fields_at_end(const hsmd_fields_t *f);
/* The next `n` bytes (fewer at the end), not consumed. */
hsmd_str_t hsmd_fields_peek(const hsmd_fields_t *f, size_t n);
/* Exactly `n` bytes. */
bool hsmd_fields_fixed(hsmd_fields_t *f, size_t n, hsmd_str_t *out, const char *what);
/* `n` printable ASCII characters. */
bool hsmd_fields_text(hsmd_fields_t *f, size_t n, hsmd_str_t *out, const char *what);
/* `n` hex characters, returned upper-case. */
bool hsmd_fields_hex(hsmd_fields_t *f, size_t n, hsmd_str_t *out, const char *what);
/* `n` decimal digits (n <= 19). */
bool hsmd_fields_numeric(hsmd_fields_t *f, size_t n, uint64_t *out, const char *what);
/* A length written as `n` hex digits (B2, M0, ...). */
bool hsmd_fields_hex_length(hsmd_fields_t *f, size_t n, size_t *out, const char *what);
/* A key field: 16 H, U/X + 32 H, T/Y + 48 H (scheme letter and hex upper-cased), or a key
 * block whose tag ('S', or 'R' for TR-31) is in `blocks` (NULL means "S"). */
bool hsmd_fields_key(hsmd_fields_t *f, const char *blocks, hsmd_str_t *out, const char *what);
/* A tag and the key block after it, whose 4-digit length (field positions 2-5) counts the block. */
bool hsmd_fields_key_block(hsmd_fields_t *f, hsmd_str_t *out, const char *what);
/* Key check value type: 0 (16 H) or 1 (6 H). */
bool hsmd_fields_kcv_type(hsmd_fields_t *f, int *out);
/* Bytes up to (not including) `delimiter`, 0x19 or the end; consumes the delimiter if
 * present; longer than `max_len` (HSMD_NO_LIMIT: any) is an error. */
bool hsmd_fields_delimited(hsmd_fields_t *f, char delimiter, size_t max_len, hsmd_str_t *out, const char *what);
/* Consume `marker` if the next bytes are it. Never an error. */
bool hsmd_fields_optional(hsmd_fields_t *f, const char *marker);
/* The optional `%nn` LMK identifier (error 13 if malformed); HSMD_LMK_DEFAULT if absent. */
bool hsmd_fields_lmk_id(hsmd_fields_t *f, int32_t *out);
/* Everything up to the last `tail` bytes and an optional final `%nn`. */
bool hsmd_fields_before(hsmd_fields_t *f, size_t tail, hsmd_str_t *out, const char *what);
/* Everything left. */
hsmd_str_t hsmd_fields_rest(hsmd_fields_t *f);
/* Nothing may follow the last field. */
bool hsmd_fields_end(hsmd_fields_t *f);

/* ---------------------------------------------------------------- the response */

/* The fields after the error code, in the arena. Appending never fails (running out
 * of memory traps: the host answers 41 and replaces the instance). */
struct hsmd_response {
    uint8_t *data; /* data[0..1] hold the error code */
    size_t len;
    size_t cap;
};

void hsmd_put(hsmd_response_t *r, const void *data, size_t len);
void hsmd_put_str(hsmd_response_t *r, hsmd_str_t s);
void hsmd_put_cstr(hsmd_response_t *r, const char *text);
void hsmd_putf(hsmd_response_t *r, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Answer `code` (two characters) with the fields, e.g. "01" for a parity warning (Python's Reply). */
void hsmd_response_code(hsmd_response_t *r, const char *code);

/* ---------------------------------------------------------------- the host */

/* Host functions: the Python SDK's Hsm protocol (wasm/sdk/hsmd_sdk/hsm.py), one C
 * function each; a refusal is the pending error with the host's code (see there and
 * wasm/wit/plugin.wit for the codes). `lmk_id` is 0-99 or HSMD_LMK_DEFAULT. Strings
 * returned live until the call ends. */

typedef hsmd_key_handle_t hsmd_key_t;
typedef hsmd_pin_handle_t hsmd_pin_t;

/* A structured log line with the request's id: key, value, key, value, ..., NULL
 * (C strings; the host redacts values). */
void hsmd_log(hsmd_log_level_t level, const char *event, ...) __attribute__((sentinel));
bool hsmd_random_hex(uint32_t n, hsmd_str_t *out);
bool hsmd_lmk_check_value(int32_t lmk_id, hsmd_str_t *out);
hsmd_str_t hsmd_firmware_number(void);
bool hsmd_authorised(void);

/* keys */
bool hsmd_key_from_lmk(hsmd_str_t key_type, hsmd_str_t key, int32_t lmk_id, hsmd_key_t *out);
bool hsmd_key_to_lmk(hsmd_key_t key, hsmd_str_t scheme, int32_t lmk_id, hsmd_str_t *out);
bool hsmd_key_from_kek(hsmd_key_t kek, hsmd_str_t key_type, hsmd_str_t key, hsmd_key_t *out);
bool hsmd_key_to_kek(hsmd_key_t kek, hsmd_key_t key, hsmd_str_t scheme, hsmd_str_t *out);
bool hsmd_key_generate(hsmd_str_t key_type, hsmd_str_t scheme, hsmd_key_t *out);
bool hsmd_key_combine(hsmd_str_t key_type, const hsmd_key_t *parts, size_t count, hsmd_key_t *out);
bool hsmd_key_check_value(hsmd_key_t key, hsmd_str_t *out);
bool hsmd_key_describe(hsmd_key_t key, hsmd_key_info_t *out);
bool hsmd_key_type_code(hsmd_str_t role, hsmd_str_t *out);
bool hsmd_key_generate_block(hsmd_str_t header, int32_t lmk_id, hsmd_key_t *out);
/* A check value as a response field: type 0 all 16 H, type 1 the first 6 (hsmd_sdk.keys.check_value). */
hsmd_str_t hsmd_check_value(hsmd_str_t kcv, int kcv_type);

/* PINs and cards */
bool hsmd_pin_from_block(hsmd_key_t key, hsmd_str_t block, hsmd_str_t pin_format, hsmd_str_t account, hsmd_pin_t *out);
bool hsmd_pin_to_block(hsmd_key_t key, hsmd_pin_t pin, hsmd_str_t pin_format, hsmd_str_t account, hsmd_str_t *out);
bool hsmd_pin_from_lmk(hsmd_str_t pin, hsmd_str_t account, int32_t lmk_id, hsmd_pin_t *out);
bool hsmd_pin_to_lmk(hsmd_pin_t pin, hsmd_str_t account, int32_t lmk_id, hsmd_str_t *out);
bool hsmd_pin_generate(uint32_t length, hsmd_pin_t *out);
bool hsmd_pin_from_clear(hsmd_str_t pin, hsmd_pin_t *out);
bool hsmd_pin_reveal(hsmd_pin_t pin, hsmd_str_t *out);
bool hsmd_pin_length(hsmd_pin_t pin, uint32_t *out);
bool hsmd_pin_compare(hsmd_pin_t a, hsmd_pin_t b, bool *out);
bool hsmd_pin_ibm_offset(hsmd_key_t pvk, hsmd_pin_t pin, hsmd_str_t table, hsmd_str_t validation_data, int32_t lmk_id, hsmd_str_t *out);
bool hsmd_pin_ibm_derive(hsmd_key_t pvk, hsmd_str_t offset, hsmd_str_t table, hsmd_str_t validation_data, int32_t lmk_id, hsmd_pin_t *out);
bool hsmd_pin_pvv(hsmd_key_t pvk, hsmd_pin_t pin, hsmd_str_t account, uint32_t pvki, hsmd_str_t *out);
bool hsmd_card_cvv(hsmd_key_t cvk, hsmd_str_t pan, hsmd_str_t expiry, hsmd_str_t service_code, hsmd_str_t *out);
bool hsmd_card_dcvv(hsmd_key_t mk, hsmd_str_t derivation, hsmd_str_t pan, hsmd_str_t expiry, hsmd_str_t service_code, hsmd_str_t atc,
                    hsmd_str_t *out);
bool hsmd_card_cvc3(hsmd_key_t mk, hsmd_str_t derivation, hsmd_str_t pan, hsmd_str_t psn, hsmd_str_t track, hsmd_str_t un, uint32_t atc,
                    hsmd_str_t *out);

/* MACs, data, hashes, EMV, DUKPT: binary data in as bytes (the SDK hex-encodes it), results as hex */
bool hsmd_mac_compute(hsmd_key_t key, uint32_t algorithm, uint32_t padding, hsmd_str_t iv, const uint8_t *data, size_t len, bool final,
                      hsmd_str_t *out);
bool hsmd_data_crypt(hsmd_key_t key, bool encrypt, hsmd_str_t mode, hsmd_str_t iv, const uint8_t *data, size_t len, hsmd_str_t *out);
bool hsmd_hash(hsmd_str_t algorithm, const uint8_t *data, size_t len, hsmd_str_t *out);
bool hsmd_emv_card_key(hsmd_key_t mk, hsmd_str_t derivation, hsmd_str_t pan, hsmd_str_t psn, hsmd_key_t *out);
bool hsmd_emv_session_key(hsmd_key_t card_key, hsmd_str_t method, hsmd_str_t atc, hsmd_str_t un, hsmd_str_t iv, hsmd_key_t *out);
bool hsmd_emv_ac(hsmd_key_t key, const uint8_t *data, size_t len, uint32_t padding, hsmd_str_t *out);
bool hsmd_emv_arpc(hsmd_key_t key, hsmd_str_t arqc, uint32_t method, hsmd_str_t response, hsmd_str_t proprietary, hsmd_str_t *out);
bool hsmd_dukpt_key(hsmd_key_t bdk, hsmd_str_t ksn, hsmd_str_t usage, hsmd_key_t *out);

/* the unit's state (never refused) */
hsmd_unit_info_t hsmd_unit_status(void);
hsmd_list_command_count_t hsmd_command_counts(void);
hsmd_list_load_band_t hsmd_unit_loading(void);
hsmd_list_lmk_status_t hsmd_lmk_table(void);
hsmd_list_host_connection_t hsmd_host_connections(void);
hsmd_port_traffic_t hsmd_host_traffic(void);

/* RSA and ECC: keys and data as hex, as the Python SDK passes them */
bool hsmd_rsa_generate(uint32_t bits, hsmd_str_t key_type, hsmd_str_t encoding, hsmd_str_t exponent, int32_t lmk_id, hsmd_rsa_key_pair_t *out);
bool hsmd_public_key_import(hsmd_str_t encoding, hsmd_str_t key_and_auth, int32_t lmk_id, hsmd_imported_public_key_t *out);
bool hsmd_public_key_from_mac(hsmd_str_t mac, hsmd_str_t key_and_auth, int32_t lmk_id, hsmd_key_t *out);
bool hsmd_private_key_from_lmk(hsmd_str_t private_key, int32_t lmk_id, hsmd_key_t *out);
bool hsmd_rsa_sign(hsmd_key_t key, hsmd_str_t hash_id, hsmd_str_t signature_id, hsmd_str_t pad_mode, hsmd_str_t data, hsmd_str_t *out);
bool hsmd_rsa_verify(hsmd_key_t key, hsmd_str_t hash_id, hsmd_str_t signature_id, hsmd_str_t pad_mode, hsmd_str_t signature, hsmd_str_t data,
                     bool *out);
bool hsmd_key_to_public_key(hsmd_key_t public_key, hsmd_key_t key, hsmd_str_t transport, hsmd_str_t oaep_parameters, hsmd_str_t *out);
bool hsmd_key_from_public_key(hsmd_key_t private_key, hsmd_str_t key_type, hsmd_str_t encrypted, hsmd_str_t transport,
                              hsmd_str_t oaep_parameters, hsmd_key_t *out);
bool hsmd_ecc_generate(hsmd_str_t curve, int32_t lmk_id, hsmd_ecc_key_pair_t *out);
/* under a key-block LMK (the private key is "S" + a key block; `header` as the WIT describes it) */
bool hsmd_rsa_generate_block(uint32_t bits, hsmd_str_t key_type, hsmd_str_t encoding, hsmd_str_t exponent, hsmd_str_t header, int32_t lmk_id,
                             hsmd_rsa_key_pair_t *out);
bool hsmd_ecc_generate_block(hsmd_str_t curve, hsmd_str_t header, int32_t lmk_id, hsmd_ecc_key_pair_t *out);
bool hsmd_key_from_public_key_block(hsmd_key_t private_key, hsmd_str_t key_type, hsmd_str_t header, hsmd_str_t encrypted, hsmd_str_t transport,
                                    hsmd_str_t oaep_parameters, hsmd_key_t *out);
/* public keys under key-block LMKs (contract 1.7.0) */
bool hsmd_public_key_import_block(hsmd_str_t encoding, hsmd_str_t key_and_auth, hsmd_str_t header, int32_t lmk_id, hsmd_str_t *out);
bool hsmd_public_key_from_block(hsmd_str_t block, hsmd_str_t purpose, int32_t lmk_id, hsmd_key_t *out);
/* key change storage (contract 1.9.0): decrypt under the old LMK of the LMK `lmk_id` selects (33 if none) */
bool hsmd_key_from_old_lmk(hsmd_str_t key_type, hsmd_str_t key, int32_t lmk_id, hsmd_key_t *out);
bool hsmd_pin_from_old_lmk(hsmd_str_t pin, hsmd_str_t account, int32_t lmk_id, hsmd_pin_t *out);

#ifdef __cplusplus
}
#endif

#endif /* HSMD_H */
