/* See json.h. Writing: the json_out_* functions. */
#include "json.h"
#include "json_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
            k = json_utf8_sequence(p + i, n - i);
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
