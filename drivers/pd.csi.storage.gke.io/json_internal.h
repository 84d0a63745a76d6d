/*
 * Helpers shared by the JSON reader and writer (json_parse.c, json_lookup.c,
 * json_write.c). Internal to the driver: not part of the json.h interface.
 */
#ifndef PD_DRIVER_JSON_INTERNAL_H
#define PD_DRIVER_JSON_INTERNAL_H

#include <stddef.h>

#include "json.h"

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The kind of a value from its first byte (validated text only). */
static inline json_type type_of(unsigned char c)
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

/*
 * Length (1..4) of the well-formed UTF-8 sequence starting at s, which has n
 * bytes available, or 0 if the bytes there are not well-formed UTF-8.
 * Defined in json_parse.c.
 */
size_t json_utf8_sequence(const unsigned char *s, size_t n);

#endif
