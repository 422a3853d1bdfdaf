/*
** payload.c — what an imported store entry must look like (see payload.h).
** ELF parsing is libelf's (elfutils); this file only states the rules.
*/
#include "payload.h"

#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static int            elf_ready;

static void elf_init(void) { elf_ready = elf_version(EV_CURRENT) != EV_NONE; }

/* "sm_90a" -> 90; -1 if not of the form sm_NN[a]. */
static int arch_sm(const char *arch)
{
    int sm = 0, n = 0;
    if (sscanf(arch, "sm_%d%n", &sm, &n) != 1 || (arch[n] && strcmp(arch + n, "a") != 0)) return -1;
    return sm;
}

/* The SM number a cubin was built for: ELF ABI version 8 and later (CUDA
** 12's OS/ABI 0x41) keep it in bits 8..15 of e_flags, earlier ones in bits
** 0..7. (sm_90 and sm_90a cubins carry the same number.) */
static int cubin_sm(const GElf_Ehdr *eh)
{
    return eh->e_ident[EI_OSABI] == 0x41 ? (int)((eh->e_flags >> 8) & 0xff) : (int)(eh->e_flags & 0xff);
}

/* 1 when the symbol tables of e define kernel as a function. */
static int defines_function(Elf *e, const char *kernel)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(e, &shstrndx) != 0) return 0;
    for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0) continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d) continue;
        size_t n = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < n; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF)
                continue;
            const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
            if (name && strcmp(name, kernel) == 0) return 1;
        }
    }
    return 0;
}

static const char *check_cubin(const char *kernel, const char *arch, const void *payload, size_t len)
{
    pthread_once(&elf_once, elf_init);
    if (!elf_ready) return "libelf cannot be initialized";
    int want = arch_sm(arch);
    if (want < 0) return "the entry's arch is not of the form sm_NN";
    /* libelf may convert the image in place: it works on a private copy. */
    char *copy = malloc(len ? len : 1);
    if (!copy) return "out of memory";
    memcpy(copy, payload, len);
    const char *why = NULL;
    Elf *e = elf_memory(copy, len);
    GElf_Ehdr eh;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
        why = "the payload is not an ELF file (a cubin is)";
    else if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_CUDA)
        why = "the payload is an ELF file but not a 64-bit CUDA cubin (e_machine is not EM_CUDA)";
    else if (cubin_sm(&eh) != want)
        why = "the cubin is for another GPU architecture than the entry says";
    else if (!defines_function(e, kernel))
        why = "the cubin does not define the entry's kernel";
    if (e) elf_end(e);
    free(copy);
    return why;
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
