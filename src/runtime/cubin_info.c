/*
** cubin_info.c — a kernel's symbol, registers and stack frame, read from its
** cubin (see cubin_info.h). ELF parsing is libelf's; the .nv.info layout is
** NVIDIA's (what cuobjdump -elf prints): a run of attributes, each a format
** byte, an attribute byte and either a 16-bit value (formats 1-3) or a 16-bit
** size and that many bytes (format 4). Per-function attributes sit in the
** section named ".nv.info" as {u32 symbol index, u32 value}.
*/
#include "cubin_info.h"

#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHT_CUDA_INFO   0x70000000u   /* SHT_LOPROC: the .nv.info sections */
#define EIFMT_SVAL      4
#define EIATTR_FRAME_SIZE 0x11
#define EIATTR_REGCOUNT   0x2f

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static int            elf_ok;

static void elf_init(void) { elf_ok = elf_version(EV_CURRENT) != EV_NONE; }

/* libelf may convert an image in place: it works on a private copy (*copy, freed by the caller). *eh gets the header. */
static Elf *open_cubin(const void *cubin, size_t len, char **copy, GElf_Ehdr *eh, const char **why)
{
    *copy = NULL;
    pthread_once(&elf_once, elf_init);
    if (!elf_ok) return *why = "libelf cannot be initialized", NULL;
    if (!(*copy = malloc(len ? len : 1))) return *why = "out of memory", NULL;
    memcpy(*copy, cubin, len);
    Elf *e = elf_memory(*copy, len);
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, eh)) {
        if (e) elf_end(e);
        return *why = "not an ELF file (a cubin is)", NULL;
    }
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_CUDA) {
        elf_end(e);
        return *why = "an ELF file but not a 64-bit CUDA cubin (e_machine is not EM_CUDA)", NULL;
    }
    return e;
}

/* The symbol table index of kernel's defining function symbol, -1 if none. */
static long function_symbol(Elf *e, const char *kernel)
{
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
            if (name && strcmp(name, kernel) == 0) return (long)i;
        }
    }
    return -1;
}

/* ELF ABI version 8 and later (CUDA 12's OS/ABI 0x41) keep the SM number in bits 8..15 of e_flags, earlier ones in
** bits 0..7. (sm_90 and sm_90a cubins carry the same number.) */
int dsmlpR_cubin_sm(const void *cubin, size_t len, const char *kernel, int *defines, const char **why)
{
    char *copy;
    GElf_Ehdr eh;
    Elf *e = open_cubin(cubin, len, &copy, &eh, why);
    if (!e) return free(copy), -1;
    *defines = function_symbol(e, kernel) >= 0;
    elf_end(e);
    free(copy);
    return eh.e_ident[EI_OSABI] == 0x41 ? (int)((eh.e_flags >> 8) & 0xff) : (int)(eh.e_flags & 0xff);
}

static uint32_t get32(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Reads sym's register count and frame size from one .nv.info section; -1 when its attributes do not parse. */
static int scan_info(const unsigned char *p, size_t n, uint32_t sym, int *regs, long *frame)
{
    size_t i = 0;
    while (i + 4 <= n) {
        const unsigned fmt = p[i], attr = p[i + 1], size = p[i + 2] | (unsigned)p[i + 3] << 8;
        if (fmt < 1 || fmt > EIFMT_SVAL) return -1;
        if (fmt != EIFMT_SVAL) {
            i += 4;
            continue;
        }
        if (i + 4 + size > n) return -1;
        if (size == 8 && get32(p + i + 4) == sym) {
            if (attr == EIATTR_REGCOUNT) *regs = (int)get32(p + i + 8);
            if (attr == EIATTR_FRAME_SIZE) *frame = (long)get32(p + i + 8);
        }
        i += 4 + size;
    }
    return i == n ? 0 : -1;
}

int dsmlpR_cubin_resources(const void *cubin, size_t len, const char *kernel, cubin_resources *out, const char **why)
{
    char *copy;
    GElf_Ehdr eh;
    Elf *e = open_cubin(cubin, len, &copy, &eh, why);
    if (!e) return free(copy), -1;
    int regs = -1, rc = 0;
    long frame = -1;
    size_t shstrndx;
    const long sym = function_symbol(e, kernel);
    if (sym < 0) *why = "the cubin does not define the kernel", rc = -1;
    else if (elf_getshdrstrndx(e, &shstrndx) != 0) *why = "the cubin has no section names", rc = -1;
    for (Elf_Scn *scn = rc ? NULL : elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_CUDA_INFO) continue;
        const char *name = elf_strptr(e, shstrndx, sh.sh_name);
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!name || strcmp(name, ".nv.info") != 0 || !d) continue;
        if (scan_info(d->d_buf, d->d_size, (uint32_t)sym, &regs, &frame) != 0) {
            *why = "the cubin's .nv.info attributes do not parse", rc = -1;
            break;
        }
    }
    if (!rc && regs < 0) *why = "the cubin records no register count for the kernel", rc = -1;
    if (!rc) out->regs = regs, out->frame_bytes = frame < 0 ? 0u : (unsigned)frame;
    elf_end(e);
    free(copy);
    return rc;
}
