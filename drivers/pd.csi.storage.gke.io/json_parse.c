/* See json.h. Validation: json_parse(), plus json_utf8_valid() and json_type_name(). */
#include "json.h"
#include "json_internal.h"

#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* ------------------------------------------------------------------------- */
/* Character helpers                                                          */

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* See json_internal.h. */
size_t json_utf8_sequence(const unsigned char *s, size_t n)
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
        size_t k = json_utf8_sequence(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
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
            size_t k = json_utf8_sequence(p->s + p->i, p->n - p->i);
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
