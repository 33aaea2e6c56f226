/* ZC — Misbehave on request (test plugin in C; never shipped).
 *
 * Written against the core ABI alone (wasm/ABI.md, "The core module"), without the C SDK,
 * so that it can break the contract in ways the SDK never would. The first byte of the
 * request picks the behaviour:
 *
 *   E<data>  echo: answer 00 + data (the plugin works again after a fault)
 *   C        count: 00 + calls served by this instance (recycling)
 *   U        unreachable (what abort() and __builtin_trap() compile to)
 *   O        read out of bounds of the linear memory
 *   L        loop forever (fuel, or the deadline when fuel is plentiful)
 *   M        grow memory until it fails, then trap (as a C plugin aborting on a NULL malloc)
 *   K        keep 1 MiB more memory and answer 00 (a leak: recycling must absorb it)
 *   G        err 41: the plugin's chosen answer (since contract 1.7.0 no fault; before, a fault)
 *   F        call `fail` (an internal failure the plugin reports itself: a "guest" fault)
 *   H        err 15 (an ordinary error answer)
 *   1        err with a one-character error code (malformed)
 *   S        ok with a payload shorter than an error code (malformed)
 *   X        ok with 70,000 bytes (more than a frame: malformed)
 *   B        err with a reason that is not UTF-8 (the canonical ABI traps)
 *   R        call random-hex(8) (tests make the host function fail)
 *   W        ok with 00 and U+0100 (through execute-frame, a character no byte stands for: malformed)
 *
 * The modes are served by execute-frame (the request and answer as ISO 8859-1 text, UTF-8
 * encoded) and by execute (list<u8>); a plugin built with ZC_FRAMES=0 exports only execute,
 * as one built before contract 1.8.0 does.
 *
 * Build-time variants: ZC_COMMAND (metadata's code), ZC_CONTRACT (the host interface version
 * imported, with a WIT of that version), ZC_INIT (0 ok, 1 init answers err 41, 2 init calls the
 * host, which it may not, 3 the same through a host function the native step answers itself:
 * firmware-number, 4 init loops until its deadline), ZC_LONG_META (a metadata description longer
 * than the host reads).
 */

#include <stddef.h>
#include <stdint.h>

#ifndef ZC_COMMAND
#define ZC_COMMAND "ZC"
#endif
#ifndef ZC_CONTRACT
#define ZC_CONTRACT "1.5.0"
#endif
#ifndef ZC_INIT
#define ZC_INIT 0
#endif
#ifndef ZC_FRAMES
#define ZC_FRAMES 1
#endif

#define EXPORT(name) __attribute__((export_name(name)))
#define PAGE 65536u

typedef struct { const char *ptr; size_t len; } str_t;

__attribute__((import_module("hsmd:plugin/host@" ZC_CONTRACT), import_name("random-hex")))
extern void host_random_hex(uint32_t n, void *ret);
__attribute__((import_module("hsmd:plugin/host@" ZC_CONTRACT), import_name("firmware-number")))
extern void host_firmware_number(void *ret);
__attribute__((import_module("hsmd:plugin/host@" ZC_CONTRACT), import_name("fail")))
extern void host_fail(const char *reason, size_t len);

/* --- a bump allocator over memory.grow: enough for a test plugin --- */

extern unsigned char __heap_base;
static uintptr_t heap_top = (uintptr_t)&__heap_base;

static void *bump(size_t size, size_t align) {
    uintptr_t at = (heap_top + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t end = at + size;
    uintptr_t have = __builtin_wasm_memory_size(0) * PAGE;
    if (end > have) {
        size_t pages = (end - have + PAGE - 1) / PAGE;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) {
            __builtin_trap(); /* never hand the host a NULL */
        }
    }
    heap_top = end;
    return (void *)at;
}

EXPORT("cabi_realloc") void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    unsigned char *fresh = bump(new_size, align);
    for (size_t i = 0; i < old_size && i < new_size; i++) fresh[i] = ((unsigned char *)old)[i];
    return fresh;
}

/* --- return areas (canonical ABI layouts, wasm/ABI.md) --- */

static str_t meta_area[3];
static struct { uint8_t tag; str_t a; str_t b; } result_area; /* tag, then ok list or err {code, reason} */
static uint32_t calls;
static char out[70000];

static size_t cstrlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static str_t S(const char *s) { str_t v = { s, cstrlen(s) }; return v; }

EXPORT("metadata") void *metadata(void) {
    meta_area[0] = S(ZC_COMMAND);
    meta_area[1] = S("0.1.0");
    meta_area[2] = S("Misbehave on request (C test plugin).");
#ifdef ZC_LONG_META
    static const char long_description[5000]; /* NULs: valid UTF-8, longer than the host reads */
    meta_area[2].ptr = long_description;
    meta_area[2].len = sizeof long_description;
#endif
    return meta_area;
}

static void *answer_ok(const char *data, size_t len) {
    result_area.tag = 0; result_area.a.ptr = data; result_area.a.len = len;
    return &result_area;
}

static void *answer_err(str_t code, str_t reason) {
    result_area.tag = 1; result_area.a = code; result_area.b = reason;
    return &result_area;
}

EXPORT("init") void *init(void) {
    if (ZC_INIT == 1) return answer_err(S("41"), S("init refuses"));
    if (ZC_INIT == 2) {
        static struct { uint8_t tag; str_t a; str_t b; } ret;
        host_random_hex(8, &ret); /* no request in progress: the host traps this */
    }
    if (ZC_INIT == 3) {
        static str_t ret;
        host_firmware_number(&ret); /* a fixed answer, still not given outside a request */
    }
    if (ZC_INIT == 4) {
        for (volatile uint32_t spin = 0;; spin++) {}
    }
    result_area.tag = 0;
    return &result_area;
}

static void *behave(const unsigned char *request, size_t len) {
    calls++;
    unsigned char mode = len ? request[0] : 0;
    out[0] = '0'; out[1] = '0';
    switch (mode) {
    case 'E':
        for (size_t i = 1; i < len; i++) out[i + 1] = (char)request[i];
        return answer_ok(out, len + 1);
    case 'C': {
        char digits[10]; size_t n = 0; uint32_t v = calls;
        do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
        for (size_t i = 0; i < n; i++) out[2 + i] = digits[n - 1 - i];
        return answer_ok(out, 2 + n);
    }
    case 'U': __builtin_trap();
    case 'O': return answer_ok((const char *)(uintptr_t)*(volatile uint32_t *)(uintptr_t)0xFFFFFFF0u, 2);
    case 'L': for (volatile uint32_t spin = 0;; spin++) {}
    case 'M': while (__builtin_wasm_memory_grow(0, 16) != (size_t)-1) {} __builtin_trap();
    case 'K': if (__builtin_wasm_memory_grow(0, 16) == (size_t)-1) __builtin_trap(); return answer_ok(out, 2);
    case 'G': return answer_err(S("41"), S("internal failure"));
    case 'F': host_fail("broken invariant", 16); __builtin_trap(); /* fail does not return */
    case 'H': return answer_err(S("15"), S("bad request"));
    case '1': return answer_err(S("4"), S("one character"));
    case 'S': return answer_ok(out, 1);
    case 'X': return answer_ok(out, sizeof out);
    case 'B': { static const char bad[] = { (char)0xFF, 0 }; return answer_err(S("15"), S(bad)); }
    case 'R': {
        static struct { uint8_t tag; str_t a; str_t b; } ret;
        host_random_hex(8, &ret);
        if (ret.tag) return answer_err(ret.a, ret.b);
        for (size_t i = 0; i < ret.a.len; i++) out[2 + i] = ret.a.ptr[i];
        return answer_ok(out, 2 + ret.a.len);
    }
    case 'W': out[2] = (char)0xC4; out[3] = (char)0x80; return answer_ok(out, 4);
    default: return answer_err(S("15"), S("unknown mode"));
    }
}

EXPORT("execute") void *execute(const unsigned char *request, size_t len) { return behave(request, len); }

#if ZC_FRAMES
static unsigned char in[70000];
static char text[2 * sizeof out];

/* The text's characters are the bytes: decode the request, encode an ok answer (W's is already "text"). */
EXPORT("execute-frame") void *execute_frame(const unsigned char *request, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof in; i++) {
        unsigned char c = request[i];
        in[n++] = c < 0x80 ? c : (unsigned char)(((c & 0x03) << 6) | (request[++i] & 0x3F));
    }
    void *answer = behave(in, n);
    if (result_area.tag != 0 || (n && in[0] == 'W')) return answer;
    size_t m = 0;
    for (size_t i = 0; i < result_area.a.len; i++) {
        unsigned char b = (unsigned char)result_area.a.ptr[i];
        if (b < 0x80) {
            text[m++] = (char)b;
        } else {
            text[m++] = (char)(0xC0 | (b >> 6));
            text[m++] = (char)(0x80 | (b & 0x3F));
        }
    }
    return answer_ok(text, m);
}
#endif

EXPORT("cleanup") void cleanup(void) {}
