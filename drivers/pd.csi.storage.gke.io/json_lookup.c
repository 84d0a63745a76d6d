/* See json.h. Reading validated text: json_lookup(), json_string_decode(), json_get_bool(). */
#include "json.h"
#include "json_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Reading validated text (no recursion: nesting is tracked with a counter)   */

static size_t utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Index just past the string whose opening quote is at s[i]. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    i++;
    while (i < n) {
        if (s[i] == '\\')
            i += 2;
        else if (s[i] == '"')
            return i + 1;
        else
            i++;
    }
    return n;
}

/* Index just past the value starting at s[i]. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return n;
    if (s[i] == '"')
        return skip_string(s, n, i);
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, n, i);
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0)
                    return i + 1;
            }
            i++;
        }
        return n;
    }
    /* number or literal */
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws((unsigned char)s[i]))
        i++;
    return i;
}

static size_t skip_ws_at(const char *s, size_t n, size_t i)
{
    while (i < n && is_ws((unsigned char)s[i]))
        i++;
    return i;
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    int k;
    for (k = 0; k < 4; k++)
        v = (v << 4) | (unsigned)hex_value((unsigned char)s[k]);
    return v;
}

/*
 * Decodes the next character of validated string contents s[*pi, n) (n is
 * the index of the closing quote) into out; returns the number of bytes
 * written (1..4) and advances *pi.
 */
static size_t decode_next(const char *s, size_t n, size_t *pi, unsigned char out[4])
{
    size_t i = *pi;
    uint32_t cp;

    if (s[i] != '\\') {
        out[0] = (unsigned char)s[i]; /* raw bytes are already valid UTF-8 */
        *pi = i + 1;
        return 1;
    }
    *pi = i + 2;
    switch (s[i + 1]) {
    case 'b':
        out[0] = '\b';
        return 1;
    case 'f':
        out[0] = '\f';
        return 1;
    case 'n':
        out[0] = '\n';
        return 1;
    case 'r':
        out[0] = '\r';
        return 1;
    case 't':
        out[0] = '\t';
        return 1;
    case 'u':
        break;
    default: /* '"', '\\', '/' */
        out[0] = (unsigned char)s[i + 1];
        return 1;
    }
    cp = hex4(s + i + 2);
    i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* A high surrogate must be followed by a \u escape of a low one. */
        if (i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
            uint32_t lo = hex4(s + i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else {
                cp = 0xFFFD;
            }
        } else {
            cp = 0xFFFD;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    *pi = i;
    return utf8_encode(cp, out);
}

/* Do the string contents s[0, n) decode to exactly key[0, keylen)? */
static int key_equals(const char *s, size_t n, const char *key, size_t keylen)
{
    size_t i = 0, matched = 0;

    while (i < n) {
        unsigned char buf[4];
        size_t k = decode_next(s, n, &i, buf);
        if (k > keylen - matched || memcmp(buf, key + matched, k) != 0)
            return 0;
        matched += k;
    }
    return matched == keylen;
}

static int object_get(json_value obj, const char *key, size_t keylen, json_value *out)
{
    const char *s = obj.text;
    size_t n = obj.len;
    size_t i = 1; /* past '{' */
    int found = 0;

    for (;;) {
        size_t key_start, key_end, value_start, value_end;

        i = skip_ws_at(s, n, i);
        if (i >= n || s[i] == '}')
            break;
        if (s[i] == ',') {
            i++;
            continue;
        }
        if (s[i] != '"') /* cannot happen for validated text */
            break;
        key_start = i + 1;
        key_end = skip_string(s, n, i); /* just past the closing quote */
        if (key_end <= key_start)
            break;
        i = skip_ws_at(s, n, key_end);
        if (i >= n || s[i] != ':')
            break;
        value_start = skip_ws_at(s, n, i + 1);
        if (value_start >= n)
            break;
        value_end = skip_value(s, n, value_start);
        if (key_equals(s + key_start, key_end - 1 - key_start, key, keylen)) {
            /* keep going: with duplicate keys the last one wins */
            out->text = s + value_start;
            out->len = value_end - value_start;
            out->type = type_of((unsigned char)s[value_start]);
            found = 1;
        }
        i = value_end;
    }
    return found;
}

json_lookup_result json_lookup(json_value from, const char *const *path, size_t npath,
                               json_value *out, size_t *failed_at)
{
    json_value v = from;
    size_t k;

    for (k = 0; k < npath; k++) {
        if (failed_at)
            *failed_at = k;
        if (v.type == JSON_NULL)
            return JSON_MISSING;
        if (v.type != JSON_OBJECT) {
            if (out)
                *out = v;
            return JSON_NOT_OBJECT;
        }
        if (!object_get(v, path[k], strlen(path[k]), &v))
            return JSON_MISSING;
    }
    if (out)
        *out = v;
    return JSON_FOUND;
}

char *json_string_decode(json_value v, size_t *out_len)
{
    const char *s;
    size_t n, i = 0, o = 0;
    char *buf;

    if (v.type != JSON_STRING || v.len < 2)
        return NULL;
    s = v.text + 1;   /* contents, without the quotes */
    n = v.len - 2;
    /* Decoding never lengthens: every escape is at least as long as its UTF-8. */
    buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    while (i < n) {
        unsigned char tmp[4];
        size_t k = decode_next(s, n, &i, tmp);
        memcpy(buf + o, tmp, k);
        o += k;
    }
    buf[o] = '\0';
    if (out_len)
        *out_len = o;
    return buf;
}

int json_get_bool(json_value v, int *out)
{
    if (v.type != JSON_BOOL || v.len == 0)
        return 0;
    *out = v.text[0] == 't';
    return 1;
}
