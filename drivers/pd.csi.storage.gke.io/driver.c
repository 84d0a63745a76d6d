/*
 * Discoblocks driver for pd.csi.storage.gke.io (GCE Persistent Disk CSI).
 *
 * ABI v1 (see the driver ABI spec): a WASI preview 1 reactor exporting nine
 * functions `void f(void)`. Inputs come only from environment variables;
 * results go to stdout, reasons and errors to stderr.
 *
 * Output is built in memory and written with write(2) just before each
 * export returns, so nothing is left in a stdio buffer (a reactor has no
 * exit that would flush it), and a call that fails never leaves partial
 * output on stdout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

#define EXPORT(name) __attribute__((export_name(name)))

#define ZONE_LABEL "topology.gke.io/zone"
/* The PD CSI driver attaches a regional disk under the device name
 * "<disk name>_regional" (common.GetDeviceName upstream). */
#define REGIONAL_DEVICE_SUFFIX "_regional"
/* Longest part of an untrusted value quoted in an error message. */
#define QUOTE_MAX 200

static json_out out_buf; /* becomes stdout */
static json_out err_buf; /* becomes stderr */

/* ------------------------------------------------------------------------- */
/* Output                                                                     */

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (w == 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void begin(void)
{
    json_out_free(&out_buf);
    json_out_free(&err_buf);
}

/* Writes what the call produced and releases it. Every export ends here. */
static void finish(void)
{
    if (out_buf.failed || err_buf.failed) {
        static const char msg[] = "out of memory while building the output";
        write_all(2, msg, sizeof msg - 1);
    } else {
        write_all(1, out_buf.data, out_buf.len);
        write_all(2, err_buf.data, err_buf.len);
    }
    json_out_free(&out_buf);
    json_out_free(&err_buf);
}

static void out(const char *s)
{
    json_out_cstr(&out_buf, s);
}

static void out_string(const char *s, size_t n)
{
    json_out_string(&out_buf, s, n);
}

static void err(const char *s)
{
    json_out_cstr(&err_buf, s);
}

/* Starts an error message: whatever was meant for stdout is dropped. */
static void err_begin(const char *s)
{
    out_buf.len = 0;
    err(s);
}

static void err_size(size_t v)
{
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    json_out_raw(&err_buf, buf + i, sizeof buf - i);
}

/* Quotes an untrusted value for a message: JSON-escaped (one line, no control
 * characters) and cut to QUOTE_MAX bytes at a UTF-8 character boundary. */
static void err_quoted(const char *s, size_t n)
{
    if (n > QUOTE_MAX) {
        size_t cut = QUOTE_MAX;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        json_out_string(&err_buf, s, cut);
        err("...");
    } else {
        json_out_string(&err_buf, s, n);
    }
}

/* " is a string", " is an object", ... */
static void err_is_type(json_type t)
{
    err(t == JSON_ARRAY || t == JSON_OBJECT ? " is an " : " is a ");
    err(json_type_name(t));
}

/* Writes path[0, n) as a.b.'c.d' (keys containing a dot are quoted). */
static void err_path(const char *const *path, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++) {
        if (k > 0)
            err(".");
        if (strchr(path[k], '.') != NULL) {
            err("'");
            err(path[k]);
            err("'");
        } else {
            err(path[k]);
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Input                                                                      */

/* A required text variable: set, not empty, UTF-8. */
static int text_env(const char *var, const char **value, size_t *len)
{
    const char *s = getenv(var);
    size_t n;

    if (s == NULL) {
        err_begin(var);
        err(" is not set");
        return 0;
    }
    n = strlen(s);
    if (n == 0) {
        err_begin(var);
        err(" is empty");
        return 0;
    }
    if (!json_utf8_valid(s, n)) {
        err_begin(var);
        err(" is not valid UTF-8");
        return 0;
    }
    *value = s;
    *len = n;
    return 1;
}

/* A required variable holding a JSON object. */
static int object_env(const char *var, json_value *root)
{
    const char *s;
    size_t n;
    json_error e;

    s = getenv(var);
    if (s == NULL) {
        err_begin(var);
        err(" is not set");
        return 0;
    }
    n = strlen(s);
    if (n == 0) {
        err_begin(var);
        err(" is empty");
        return 0;
    }
    if (!json_parse(s, n, root, &e)) {
        err_begin(var);
        err(" is not valid JSON: ");
        err(e.message);
        err(" at byte ");
        err_size(e.offset);
        return 0;
    }
    if (root->type != JSON_OBJECT) {
        err_begin(var);
        err(" is a JSON ");
        err(json_type_name(root->type));
        err(", not an object");
        return 0;
    }
    return 1;
}

enum { FIELD_ERROR = -1, FIELD_ABSENT = 0, FIELD_PRESENT = 1 };

/*
 * Looks up path in the object `root` read from `var`.
 * FIELD_ABSENT: missing or null. FIELD_PRESENT: *value has type `want`.
 * FIELD_ERROR: something on the way, or the value, has the wrong type
 * (reported on stderr).
 */
static int get_field(const char *var, json_value root, const char *const *path, size_t n,
                     json_type want, json_value *value)
{
    size_t at = 0;

    switch (json_lookup(root, path, n, value, &at)) {
    case JSON_MISSING:
        return FIELD_ABSENT;
    case JSON_NOT_OBJECT:
        err_begin(var);
        err(": ");
        err_path(path, at);
        err_is_type(value->type);
        err(", not an object");
        return FIELD_ERROR;
    case JSON_FOUND:
        break;
    }
    if (value->type == JSON_NULL)
        return FIELD_ABSENT;
    if (value->type != want) {
        err_begin(var);
        err(": ");
        err_path(path, n);
        err_is_type(value->type);
        err(want == JSON_ARRAY || want == JSON_OBJECT ? ", not an " : ", not a ");
        err(json_type_name(want));
        return FIELD_ERROR;
    }
    return FIELD_PRESENT;
}

/* A string field, decoded into a malloc'd buffer (*str stays NULL when absent). */
static int get_string(const char *var, json_value root, const char *const *path, size_t n,
                      char **str, size_t *len)
{
    json_value v;
    int r = get_field(var, root, path, n, JSON_STRING, &v);

    *str = NULL;
    *len = 0;
    if (r != FIELD_PRESENT)
        return r;
    *str = json_string_decode(v, len);
    if (*str == NULL) {
        err_begin("out of memory while decoding ");
        err(var);
        return FIELD_ERROR;
    }
    return FIELD_PRESENT;
}

static int equals(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* ------------------------------------------------------------------------- */
/* Device lookup shared by GetPreMountCommand and GetPreResizeCommand         */

/*
 * Reads the PV's spec.csi.volumeHandle, checks it, and writes to stdout
 * "DEV=$(readlink -f /dev/disk/by-id/google-<device name>)".
 * Returns 0 (with the reason on stderr) when that is not possible.
 */
static int out_dev_assignment(void)
{
    static const char *const path[] = {"spec", "csi", "volumeHandle"};
    static const char *const var = "PERSISTENT_VOLUME_JSON";
    json_value root;
    char *handle;
    size_t len, i, nparts = 0, start = 0;
    const char *part[6];
    size_t part_len[6];
    int ok = 0;

    if (!object_env(var, &root))
        return 0;
    switch (get_string(var, root, path, 3, &handle, &len)) {
    case FIELD_ERROR:
        return 0;
    case FIELD_ABSENT:
        err_begin("spec.csi.volumeHandle not found");
        return 0;
    }
    if (len == 0) {
        err_begin("spec.csi.volumeHandle not found");
        goto done;
    }

    /* projects/<project>/{zones|regions}/<location>/disks/<name> */
    for (i = 0; i <= len; i++) {
        if (i == len || handle[i] == '/') {
            if (nparts == 6) {
                nparts++; /* too many parts */
                break;
            }
            part[nparts] = handle + start;
            part_len[nparts] = i - start;
            nparts++;
            start = i + 1;
        }
    }
    if (nparts != 6 || !equals(part[0], part_len[0], "projects") || part_len[1] == 0 ||
        !(equals(part[2], part_len[2], "zones") || equals(part[2], part_len[2], "regions")) ||
        part_len[3] == 0 || !equals(part[4], part_len[4], "disks") || part_len[5] == 0) {
        err_begin(var);
        err(": spec.csi.volumeHandle ");
        err_quoted(handle, len);
        err(" is not of the form projects/<project>/zones/<zone>/disks/<name>"
            " or projects/<project>/regions/<region>/disks/<name>");
        goto done;
    }
    /* The name goes into a shell command: only GCE name characters pass. */
    for (i = 0; i < part_len[5]; i++) {
        char c = part[5][i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            err_begin(var);
            err(": spec.csi.volumeHandle ");
            err_quoted(handle, len);
            err(" has a disk name with characters outside [a-z0-9-]");
            goto done;
        }
    }

    out("DEV=$(readlink -f /dev/disk/by-id/google-");
    json_out_raw(&out_buf, part[5], part_len[5]);
    if (equals(part[2], part_len[2], "regions"))
        out(REGIONAL_DEVICE_SUFFIX);
    out(")");
    ok = 1;
done:
    free(handle);
    return ok;
}

/* ------------------------------------------------------------------------- */
/* Exports                                                                    */

EXPORT("IsStorageClassValid")
void IsStorageClassValid(void)
{
    static const char *const var = "STORAGE_CLASS_JSON";
    static const char *const mode_path[] = {"volumeBindingMode"};
    static const char *const expansion_path[] = {"allowVolumeExpansion"};
    json_value root, v;
    char *mode = NULL;
    size_t mode_len = 0;
    int has_mode, has_expansion, expansion = 0;

    begin();
    if (!object_env(var, &root))
        goto done;
    /* Both fields are type-checked before deciding, so a malformed class is
     * always an error, never merely "invalid". */
    has_mode = get_string(var, root, mode_path, 1, &mode, &mode_len);
    if (has_mode == FIELD_ERROR)
        goto done;
    has_expansion = get_field(var, root, expansion_path, 1, JSON_BOOL, &v);
    if (has_expansion == FIELD_ERROR)
        goto done;
    if (has_expansion == FIELD_PRESENT)
        json_get_bool(v, &expansion);

    /* Absent is invalid: the API server defaults it to Immediate. */
    if (has_mode != FIELD_PRESENT || !equals(mode, mode_len, "WaitForFirstConsumer")) {
        out("false");
        err("only volumeBindingMode WaitForFirstConsumer is supported");
    } else if (!expansion) {
        out("false");
        err("only allowVolumeExpansion true is supported");
    } else {
        out("true");
    }
done:
    free(mode);
    finish();
}

EXPORT("GetStorageClassAllowedTopology")
void GetStorageClassAllowedTopology(void)
{
    static const char *const var = "NODE_JSON";
    static const char *const path[] = {"metadata", "labels", ZONE_LABEL};
    json_value root;
    char *zone = NULL;
    size_t len = 0;

    begin();
    if (!object_env(var, &root))
        goto done;
    switch (get_string(var, root, path, 3, &zone, &len)) {
    case FIELD_ERROR:
        goto done;
    case FIELD_ABSENT:
        err_begin("metadata.labels.'" ZONE_LABEL "' not found");
        goto done;
    }
    if (len == 0) { /* an empty zone selects nothing: same as the EBS driver */
        err_begin("metadata.labels.'" ZONE_LABEL "' not found");
        goto done;
    }
    out("[{\"matchLabelExpressions\":[{\"key\":\"" ZONE_LABEL "\",\"values\":[");
    out_string(zone, len);
    out("]}]}]");
done:
    free(zone);
    finish();
}

EXPORT("GetPVCStub")
void GetPVCStub(void)
{
    const char *name, *ns, *sc;
    size_t name_len, ns_len, sc_len;

    begin();
    if (!text_env("PVC_NAME", &name, &name_len) ||
        !text_env("PVC_NAMESACE", &ns, &ns_len) || /* sic: the ABI's spelling */
        !text_env("STORAGE_CLASS_NAME", &sc, &sc_len))
        goto done;
    out("{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":");
    out_string(name, name_len);
    out(",\"namespace\":");
    out_string(ns, ns_len);
    out("},\"spec\":{\"storageClassName\":");
    out_string(sc, sc_len);
    out("}}");
done:
    finish();
}

EXPORT("GetCSIDriverNamespace")
void GetCSIDriverNamespace(void)
{
    begin();
    out("kube-system");
    finish();
}

EXPORT("GetCSIDriverPodLabels")
void GetCSIDriverPodLabels(void)
{
    begin();
    out("{\"k8s-app\":\"gcp-compute-persistent-disk-csi-driver\"}");
    finish();
}

/* The host appends " && " and the mount steps, so no trailing newline. */
EXPORT("GetPreMountCommand")
void GetPreMountCommand(void)
{
    begin();
    if (out_dev_assignment())
        out(" &&\n(mkfs.${FS} \"$DEV\" || true)");
    finish();
}

EXPORT("GetPreResizeCommand")
void GetPreResizeCommand(void)
{
    begin();
    out_dev_assignment();
    finish();
}

/* The PD CSI node plugin grows the file system itself. */
EXPORT("IsFileSystemManaged")
void IsFileSystemManaged(void)
{
    begin();
    out("true");
    finish();
}

EXPORT("WaitForVolumeAttachmentMeta")
void WaitForVolumeAttachmentMeta(void)
{
    begin();
    finish();
}
