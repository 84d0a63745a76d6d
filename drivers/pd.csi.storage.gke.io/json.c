/* See json.h. */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* ------------------------------------------------------------------------- */
/* Character helpers                                                          */

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Length (1..4) of the well-formed UTF-8 sequence starting at s, which has n
 * bytes available, or 0 if the bytes there are not well-formed UTF-8.
 */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned c;

    if (n == 0)
        return 0;
    c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2) /* stray continuation byte, or overlong 2-byte form */
        return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0) /* overlong */
            return 0;
        if (c == 0xED && s[1] >= 0xA0) /* UTF-16 surrogate */
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
            (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90) /* overlong */
            return 0;
        if (c == 0xF4 && s[1] >= 0x90) /* above U+10FFFF */
            return 0;
        return 4;
    }
    return 0;
}

int json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k = utf8_sequence(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

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

const char *json_type_name(json_type t)
{
    switch (t) {
    case JSON_NULL:
        return "null";
    case JSON_BOOL:
        return "boolean";
    case JSON_NUMBER:
        return "number";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "array";
    case JSON_OBJECT:
        return "object";
    }
    return "value";
}

/* The kind of a value from its first byte (validated text only). */
static json_type type_of(unsigned char c)
{
    switch (c) {
    case '{':
        return JSON_OBJECT;
    case '[':
        return JSON_ARRAY;
    case '"':
        return JSON_STRING;
    case 't':
    case 'f':
        return JSON_BOOL;
    case 'n':
        return JSON_NULL;
    default:
        return JSON_NUMBER;
    }
}

/* ------------------------------------------------------------------------- */
/* Validation                                                                 */

typedef struct {
    const unsigned char *s;
    size_t n;
    size_t i;
    json_error *err;
} parser;

static int fail(parser *p, const char *message)
{
    if (p->err) {
        p->err->offset = p->i;
        snprintf(p->err->message, sizeof p->err->message, "%s", message);
    }
    return 0;
}

/* "expected X, found Y" where Y describes the byte at the current position. */
static int fail_expected(parser *p, const char *expected)
{
    if (!p->err)
        return 0;
    p->err->offset = p->i;
    if (p->i >= p->n) {
        snprintf(p->err->message, sizeof p->err->message,
                 "unexpected end of input, expected %s", expected);
    } else {
        unsigned c = p->s[p->i];
        if (c >= 0x21 && c <= 0x7E)
            snprintf(p->err->message, sizeof p->err->message,
                     "expected %s, found '%c'", expected, (char)c);
        else
            snprintf(p->err->message, sizeof p->err->message,
                     "expected %s, found byte 0x%02X", expected, c);
    }
    return 0;
}

static void skip_ws(parser *p)
{
    while (p->i < p->n && is_ws(p->s[p->i]))
        p->i++;
}

static int parse_value(parser *p, unsigned depth);

static int parse_string(parser *p)
{
    p->i++; /* opening quote */
    for (;;) {
        unsigned char c;

        if (p->i >= p->n)
            return fail(p, "unterminated string");
        c = p->s[p->i];
        if (c == '"') {
            p->i++;
            return 1;
        }
        if (c < 0x20)
            return fail(p, "unescaped control character in string");
        if (c == '\\') {
            if (p->i + 1 >= p->n) {
                p->i++;
                return fail(p, "unterminated string");
            }
            switch (p->s[p->i + 1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p->i += 2;
                break;
            case 'u': {
                size_t k;
                for (k = 0; k < 4; k++) {
                    size_t at = p->i + 2 + k;
                    if (at >= p->n || hex_value(p->s[at]) < 0) {
                        p->i = at;
                        return fail(p, "invalid \\u escape in string (expected 4 hex digits)");
                    }
                }
                p->i += 6;
                break;
            }
            default:
                p->i++;
                return fail(p, "invalid escape sequence in string");
            }
            continue;
        }
        if (c < 0x80) {
            p->i++;
            continue;
        }
        {
            size_t k = utf8_sequence(p->s + p->i, p->n - p->i);
            if (k == 0)
                return fail(p, "invalid UTF-8 in string");
            p->i += k;
        }
    }
}

static int parse_number(parser *p)
{
    if (p->s[p->i] == '-')
        p->i++;
    if (p->i >= p->n || !is_digit(p->s[p->i]))
        return fail_expected(p, "a digit");
    if (p->s[p->i] == '0') {
        p->i++;
    } else {
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i]))
            return fail_expected(p, "a digit after '.'");
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i]))
            return fail_expected(p, "a digit in exponent");
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    return 1;
}

static int parse_literal(parser *p, const char *word)
{
    size_t k = strlen(word);

    if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0)
        return fail_expected(p, "a value");
    p->i += k;
    return 1;
}

static int parse_array(parser *p, unsigned depth)
{
    p->i++; /* '[' */
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        return 1;
    }
    for (;;) {
        skip_ws(p);
        if (!parse_value(p, depth))
            return 0;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == ']') {
            p->i++;
            return 1;
        }
        return fail_expected(p, "',' or ']' in array");
    }
}

static int parse_object(parser *p, unsigned depth)
{
    p->i++; /* '{' */
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        return 1;
    }
    for (;;) {
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != '"')
            return fail_expected(p, "a string key in object");
        if (!parse_string(p))
            return 0;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':')
            return fail_expected(p, "':' after object key");
        p->i++;
        skip_ws(p);
        if (!parse_value(p, depth))
            return 0;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            return 1;
        }
        return fail_expected(p, "',' or '}' in object");
    }
}

/* depth: how many arrays/objects enclose the value about to be parsed. */
static int parse_value(parser *p, unsigned depth)
{
    if (p->i >= p->n)
        return fail_expected(p, "a value");
    switch (p->s[p->i]) {
    case '{':
    case '[':
        if (depth >= JSON_MAX_DEPTH)
            return fail(p, "arrays/objects nested deeper than " STR(JSON_MAX_DEPTH) " levels");
        return p->s[p->i] == '{' ? parse_object(p, depth + 1) : parse_array(p, depth + 1);
    case '"':
        return parse_string(p);
    case 't':
        return parse_literal(p, "true");
    case 'f':
        return parse_literal(p, "false");
    case 'n':
        return parse_literal(p, "null");
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(p);
    default:
        return fail_expected(p, "a value");
    }
}

int json_parse(const char *text, size_t len, json_value *root, json_error *err)
{
    parser p;
    size_t start;

    if (text == NULL)
        len = 0;
    p.s = (const unsigned char *)text;
    p.n = len;
    p.i = 0;
    p.err = err;

    skip_ws(&p);
    start = p.i;
    if (!parse_value(&p, 0))
        return 0;
    if (root) {
        root->text = text + start;
        root->len = p.i - start;
        root->type = type_of(p.s[start]);
    }
    skip_ws(&p);
    if (p.i != p.n)
        return fail_expected(&p, "end of input after the top-level value");
    return 1;
}

/* ------------------------------------------------------------------------- */
/* Reading validated text (no recursion: nesting is tracked with a counter)   */

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

/* ------------------------------------------------------------------------- */
/* Writing                                                                    */

static int out_reserve(json_out *o, size_t extra)
{
    size_t need, cap;
    char *p;

    if (o->failed)
        return 0;
    if (extra > SIZE_MAX - o->len) {
        o->failed = 1;
        return 0;
    }
    need = o->len + extra;
    if (need <= o->cap)
        return 1;
    cap = o->cap ? o->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = realloc(o->data, cap);
    if (p == NULL) {
        o->failed = 1;
        return 0;
    }
    o->data = p;
    o->cap = cap;
    return 1;
}

void json_out_raw(json_out *o, const char *s, size_t n)
{
    if (n == 0 || !out_reserve(o, n))
        return;
    memcpy(o->data + o->len, s, n);
    o->len += n;
}

void json_out_cstr(json_out *o, const char *s)
{
    json_out_raw(o, s, strlen(s));
}

void json_out_string(json_out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0; /* p[run, i) is pending verbatim output */

    json_out_raw(o, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char ubuf[6];
        size_t k;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            k = utf8_sequence(p + i, n - i);
            if (k != 0) {
                i += k;
                continue;
            }
            esc = "\\ufffd";
        } else {
            switch (c) {
            case '"':
                esc = "\\\"";
                break;
            case '\\':
                esc = "\\\\";
                break;
            case '\b':
                esc = "\\b";
                break;
            case '\f':
                esc = "\\f";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            case '\t':
                esc = "\\t";
                break;
            default:
                ubuf[0] = '\\';
                ubuf[1] = 'u';
                ubuf[2] = '0';
                ubuf[3] = '0';
                ubuf[4] = hex[c >> 4];
                ubuf[5] = hex[c & 0xF];
                break;
            }
        }
        json_out_raw(o, s + run, i - run);
        if (esc)
            json_out_cstr(o, esc);
        else
            json_out_raw(o, ubuf, sizeof ubuf);
        i++;
        run = i;
    }
    json_out_raw(o, s + run, i - run);
    json_out_raw(o, "\"", 1);
}

void json_out_free(json_out *o)
{
    free(o->data);
    o->data = NULL;
    o->len = 0;
    o->cap = 0;
    o->failed = 0;
}
