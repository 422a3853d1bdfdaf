/*
** payload.c — what an imported store entry must look like (see payload.h).
** Reading the cubin is cubin_info.c's; this file only states the rules.
*/
#include "payload.h"
#include "cubin_info.h"

#include <stdio.h>
#include <string.h>

/* "sm_90a" -> 90; -1 if not of the form sm_NN[a]. */
static int arch_sm(const char *arch)
{
    int sm = 0, n = 0;
    if (sscanf(arch, "sm_%d%n", &sm, &n) != 1 || (arch[n] && strcmp(arch + n, "a") != 0)) return -1;
    return sm;
}

static const char *check_cubin(const char *kernel, const char *arch, const void *payload, size_t len)
{
    const int want = arch_sm(arch);
    if (want < 0) return "the entry's arch is not of the form sm_NN";
    const char *why = NULL;
    int defined = 0;
    const int sm = dsmlpR_cubin_sm(payload, len, kernel, &defined, &why);
    if (sm < 0) return why;
    if (sm != want) return "the cubin is for another GPU architecture than the entry says";
    return defined ? NULL : "the cubin does not define the entry's kernel";
}

/* A tuning record: the header line, then printable text only. */
static const char *check_tuning(const void *payload, size_t len)
{
    static const char head[] = PAYLOAD_TUNE_HEADER "\n";
    const unsigned char *p = payload;
    if (len < sizeof head - 1 || memcmp(p, head, sizeof head - 1) != 0)
        return "a tuning record must start with the line \"" PAYLOAD_TUNE_HEADER "\"";
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n' || p[i] == '\t' || p[i] == '\r'))
            return "a tuning record must be printable text";
    return NULL;
}

const char *dsmlpR_payload_check(const char *kernel, const char *arch, const void *payload, size_t len)
{
    if (strncmp(kernel, PAYLOAD_TUNE_PREFIX, sizeof PAYLOAD_TUNE_PREFIX - 1) == 0) return check_tuning(payload, len);
    return check_cubin(kernel, arch, payload, len);
}
