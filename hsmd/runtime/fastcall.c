/* One plugin `execute` call in one step: arm, lower, call, lift, post-return.
 *
 * abi.call makes about ten ctypes calls a request (set fuel, set the epoch
 * deadline, allocate the argument list, fill it, call, free the argument,
 * read the result, free it, post-return), and the Python around each costs
 * more than the C it reaches. This file does the same steps through the same
 * wasmtime C API functions, whose addresses the host hands over (nothing is
 * linked: the library holds no copy of wasmtime and cannot disagree with the
 * one wasmtime-py loaded). hsmd/runtime/fastcall.py builds and loads it; the
 * struct offsets are abi.py's, checked there at import (wasmtime 50).
 *
 * The request goes as execute-frame takes it (text whose characters are the
 * bytes, UTF-8 encoded: one copy into the guest) or, for a component built
 * before contract 1.8.0, as execute's list<u8> (one component value per byte).
 * Only the common answer is read here: `ok` holding that text, or that list,
 * whose bytes fit the caller's buffer. Anything else (the err case, a malformed value) is left
 * in `result` for Python to lift with abi.py's code, which also frees it.
 *
 * After an answer read here it also asks memory.py's question (is the byte at
 * the instance's high-water mark accessible?) the way memory.py asks it: by
 * writing that byte to a pipe, which fails with EFAULT where it is not.
 *
 * It also answers the host functions whose answer is fixed for the host's
 * life (Host.fixed_answers: the firmware number, the LMK check values) from a
 * table, without entering Python, while an execute made here is running
 * (then the runtime has opened the request's scope). Anything else goes to the
 * Python trampoline the table names: a call from init, from abi.call's path,
 * or with an argument the table does not hold (an LMK not loaded: error 13).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

typedef struct val {
    uint8_t kind;
    uint8_t pad[7];
    union {
        uint8_t u8;
        struct { size_t size; struct val *data; } list;
        uint32_t u32;
        struct { size_t size; uint8_t *data; } string;
        struct { uint8_t is_ok; struct val *val; } result;
        struct val *option; /* NULL: none */
        uint8_t bytes[24];
    } of;
} val_t;

_Static_assert(sizeof(val_t) == 32, "wasmtime_component_val_t is 32 bytes in wasmtime 50");
_Static_assert(offsetof(val_t, of) == 8, "its payload starts at 8");

enum { K_U8 = 2, K_U32 = 6, K_STRING = 12, K_LIST = 13, K_OPTION = 18, K_RESULT = 19 };

/* The wasmtime functions used, as fastcall.py's Api struct lists them. */
typedef struct {
    void *(*func_call)(void *func, void *context, val_t *args, size_t nargs, val_t *results, size_t nresults);
    void *(*post_return)(void *func, void *context);
    void (*val_delete)(val_t *value);
    void (*vallist_new_uninit)(void *list, size_t size);
    void *(*set_fuel)(void *context, uint64_t fuel);
    void (*set_epoch_deadline)(void *context, uint64_t ticks);
    void (*byte_vec_new)(void *vec, size_t size, const uint8_t *data);
    val_t *(*val_new)(val_t *value);
    void (*byte_vec_new_uninit)(void *vec, size_t size);
} api_t;

/* One instance's `execute`, as fastcall.py's Call struct lists it. */
typedef struct {
    const api_t *api;
    void *func;
    void *context;
    uint64_t fuel;
    uint64_t ticks;
    const uint8_t *mark;   /* the byte memory.py probes after each call; NULL: none */
    int32_t probe_write;   /* memory.py's non-blocking pipe */
    int32_t probe_read;
    int32_t frames;        /* 1: the function is execute-frame (string), 0: execute (list<u8>) */
    int32_t above;         /* out, after ANSWERED: 1 memory reaches the mark, 0 not, -1 unknown */
} call_t;

/* What hsmd_execute returns. */
enum {
    ANSWERED = 0, /* out[0..*out_len] holds the ok bytes; result freed, post-return done */
    TO_LIFT = 1,  /* result holds another answer: the caller lifts it, frees it, posts the return */
    TRAPPED = 2,  /* *error holds the call's wasmtime error; nothing to free */
    POSTED = 3,   /* bytes read, but post-return failed: *error holds why */
    UNARMED = 4,  /* setting the fuel failed: *error holds why */
};

/* 1 while this thread runs an execute made by hsmd_execute: the request's scope is open. */
static _Thread_local int32_t executing;

static int32_t reaches(const call_t *call) {
    if (call->mark == NULL) return -1;
    if (write(call->probe_write, call->mark, 1) < 0) return errno == EFAULT ? 0 : -1;
    uint8_t byte;
    (void)!read(call->probe_read, &byte, 1); /* empty it again; memory.py's readers tolerate an empty pipe */
    return 1;
}

int hsmd_execute(call_t *call, const uint8_t *request, size_t size, uint8_t *out, size_t capacity, size_t *out_len,
                 val_t *result, void **error) {
    const api_t *api = call->api;
    void *failed = api->set_fuel(call->context, call->fuel);
    if (failed) {
        *error = failed;
        return UNARMED;
    }
    api->set_epoch_deadline(call->context, call->ticks);

    val_t argument;
    if (call->frames) {
        size_t utf8 = size;
        for (size_t i = 0; i < size; i++) utf8 += request[i] >> 7;
        argument = (val_t){.kind = K_STRING};
        api->byte_vec_new_uninit(&argument.of.string, utf8);
        uint8_t *text = argument.of.string.data;
        if (utf8 == size) {
            memcpy(text, request, size); /* all ASCII: the bytes are their own text */
        } else {
            for (size_t i = 0; i < size; i++) {
                uint8_t b = request[i];
                if (b < 0x80) {
                    *text++ = b;
                } else {
                    *text++ = (uint8_t)(0xC0 | (b >> 6));
                    *text++ = (uint8_t)(0x80 | (b & 0x3F));
                }
            }
        }
    } else {
        argument = (val_t){.kind = K_LIST};
        api->vallist_new_uninit(&argument.of.list, size);
        for (size_t i = 0; i < size; i++) {
            argument.of.list.data[i].kind = K_U8;
            argument.of.list.data[i].of.u8 = request[i];
        }
    }
    *result = (val_t){0};
    int32_t was = executing; /* restored, not cleared: correct even if an execute ever ran nested */
    executing = 1;
    failed = api->func_call(call->func, call->context, &argument, 1, result, 1);
    executing = was;
    api->val_delete(&argument);
    if (failed) {
        *error = failed;
        return TRAPPED;
    }

    if (result->kind != K_RESULT || !result->of.result.is_ok || result->of.result.val == NULL) return TO_LIFT;
    const val_t *ok = result->of.result.val;
    size_t n = 0;
    if (call->frames) {
        /* Only U+0000..U+00FF, as one byte (below 0x80) or C2/C3 and a continuation byte. */
        if (ok->kind != K_STRING) return TO_LIFT;
        const uint8_t *text = ok->of.string.data;
        size_t len = ok->of.string.size;
        uint8_t any = 0;
        for (size_t i = 0; i < len; i++) any |= text[i];
        if (any < 0x80 && len <= capacity) {
            memcpy(out, text, len); /* all ASCII: the text is the bytes */
            n = len;
        } else {
            for (size_t i = 0; i < len; i++) {
                if (n == capacity) return TO_LIFT;
                uint8_t c = text[i];
                if (c >= 0x80) {
                    if ((c != 0xC2 && c != 0xC3) || i + 1 == len || (text[i + 1] & 0xC0) != 0x80) return TO_LIFT;
                    c = (uint8_t)(((c & 0x03) << 6) | (text[++i] & 0x3F));
                }
                out[n++] = c;
            }
        }
    } else {
        if (ok->kind != K_LIST || ok->of.list.size > capacity) return TO_LIFT;
        n = ok->of.list.size;
        for (size_t i = 0; i < n; i++) {
            if (ok->of.list.data[i].kind != K_U8) return TO_LIFT;
            out[i] = ok->of.list.data[i].of.u8;
        }
    }
    *out_len = n;
    call->above = reaches(call);
    api->val_delete(result);
    failed = api->post_return(call->func, call->context);
    if (failed) {
        *error = failed;
        return POSTED;
    }
    return ANSWERED;
}

/* Host function answers, written where wasmtime reads them: the common results
 * of the contract's imports (imports.py uses these where the library is loaded,
 * abi.py's lowering otherwise). Strings are copied; `val_new` moves the boxed
 * value, which wasmtime frees with the result. */

void hsmd_lower_string(const api_t *api, val_t *val, const uint8_t *text, size_t size) {
    val->kind = K_STRING;
    api->byte_vec_new(&val->of.string, size, text);
}

static void ok(const api_t *api, val_t *val, val_t *inner) {
    val->kind = K_RESULT;
    val->of.result.is_ok = 1;
    val->of.result.val = api->val_new(inner);
}

void hsmd_lower_ok_string(const api_t *api, val_t *val, const uint8_t *text, size_t size) {
    val_t inner = {.kind = K_STRING};
    api->byte_vec_new(&inner.of.string, size, text);
    ok(api, val, &inner);
}

void hsmd_lower_ok_u32(const api_t *api, val_t *val, uint32_t number) {
    val_t inner = {.kind = K_U32, .of.u32 = number};
    ok(api, val, &inner);
}

/* A host function answered from a table (fastcall.py's Fixed and Entry structs). */
typedef void *(*callback_t)(void *data, void *context, void *type, val_t *args, size_t nargs, val_t *results, size_t nresults);

typedef struct {
    uint32_t key;
    uint32_t size;
    const uint8_t *text;
} entry_t;

typedef struct {
    const api_t *api;
    callback_t python;      /* the ctypes trampoline: every call not answered here */
    int32_t boxed;          /* 1: result<string, hsm-error>; 0: string */
    int32_t keyed;          /* 1: one option<u32> argument picks the entry; 0: no argument */
    const entry_t *none;    /* the answer without an argument, or to `none`; NULL: ask Python */
    const entry_t *entries; /* by key, for `some(key)` */
    uint32_t count;
} fixed_t;

void *hsmd_fixed_answer(void *data, void *context, void *type, val_t *args, size_t nargs, val_t *results, size_t nresults) {
    const fixed_t *fixed = data;
    const entry_t *answer = NULL;
    if (executing && nresults == 1) {
        if (!fixed->keyed && nargs == 0) {
            answer = fixed->none;
        } else if (fixed->keyed && nargs == 1 && args[0].kind == K_OPTION) {
            const val_t *some = args[0].of.option;
            if (some == NULL) {
                answer = fixed->none;
            } else if (some->kind == K_U32) {
                for (uint32_t i = 0; i < fixed->count; i++)
                    if (fixed->entries[i].key == some->of.u32) answer = &fixed->entries[i];
            }
        }
    }
    if (answer == NULL) return fixed->python(NULL, context, type, args, nargs, results, nresults);
    if (fixed->boxed)
        hsmd_lower_ok_string(fixed->api, results, answer->text, answer->size);
    else
        hsmd_lower_string(fixed->api, results, answer->text, answer->size);
    return NULL;
}
