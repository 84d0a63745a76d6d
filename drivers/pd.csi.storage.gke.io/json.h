/*
 * A small, strict JSON reader and a JSON string writer for the
 * pd.csi.storage.gke.io Discoblocks driver.
 *
 * Reading works in two steps:
 *   1. json_parse() validates a whole document (RFC 8259: UTF-8, the exact
 *      number/literal/string grammar, nothing after the top-level value) with
 *      nesting bounded by JSON_MAX_DEPTH, so hostile input cannot exhaust the
 *      stack. It allocates nothing.
 *   2. json_lookup() follows a path of object keys through a validated value
 *      and returns the span of the value found; json_string_decode() and
 *      json_get_bool() read that value.
 *
 * Only values obtained from json_parse()/json_lookup() may be given to the
 * reading functions: they rely on the text having been validated.
 */
#ifndef PD_DRIVER_JSON_H
#define PD_DRIVER_JSON_H

#include <stddef.h>

/* Maximum nesting of arrays/objects; the top-level array or object counts as 1. */
#define JSON_MAX_DEPTH 64

typedef enum {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

/* A value inside a validated document: its exact text and its kind. */
typedef struct {
    const char *text; /* first byte of the value */
    size_t len;       /* length of the value's text, in bytes */
    json_type type;
} json_value;

typedef struct {
    size_t offset;     /* byte offset in the input where the problem was found */
    char message[112]; /* what was wrong, NUL-terminated */
} json_error;

/*
 * Validates that text[0, len) is exactly one JSON value, optionally surrounded
 * by white space. On success returns 1 and sets *root (may be NULL). On
 * failure returns 0 and fills *err (may be NULL).
 */
int json_parse(const char *text, size_t len, json_value *root, json_error *err);

typedef enum {
    JSON_FOUND,      /* *out is the value (which may be JSON null) */
    JSON_MISSING,    /* a key is absent, or a value on the way is null */
    JSON_NOT_OBJECT  /* a value on the way is neither an object nor null;
                        *out is that value */
} json_lookup_result;

/*
 * Follows path[0..npath) (object keys, compared after escape decoding) from
 * `from`. When a key occurs more than once in an object the last occurrence
 * wins, as in Go's encoding/json. *failed_at (may be NULL) receives the index
 * of the path element that could not be looked up.
 */
json_lookup_result json_lookup(json_value from, const char *const *path, size_t npath,
                               json_value *out, size_t *failed_at);

/*
 * Decodes a JSON_STRING value (escapes, including \uXXXX and surrogate pairs,
 * become UTF-8; an unpaired surrogate becomes U+FFFD, as in Go) into a new
 * malloc'd, NUL-terminated buffer. The decoded text may itself contain NUL
 * bytes (from \u0000), so use *out_len. Returns NULL if v is not a string or
 * memory runs out.
 */
char *json_string_decode(json_value v, size_t *out_len);

/* Reads a JSON_BOOL value. Returns 1 and sets *out, or 0 if v is not a boolean. */
int json_get_bool(json_value v, int *out);

/* "null", "boolean", "number", "string", "array" or "object". */
const char *json_type_name(json_type t);

/* 1 if s[0, n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int json_utf8_valid(const char *s, size_t n);

/* A growable output buffer. Zero-initialise it. Once an allocation fails,
 * `failed` is set and further appends are ignored. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} json_out;

void json_out_raw(json_out *o, const char *s, size_t n);
void json_out_cstr(json_out *o, const char *s);
/* Appends s[0, n) as a quoted JSON string: '"', '\\' and control characters
 * are escaped, and any byte that is not part of well-formed UTF-8 is written
 * as \ufffd, so the result is always valid JSON. */
void json_out_string(json_out *o, const char *s, size_t n);
void json_out_free(json_out *o);

#endif
