/* args.c — dsmlp-compile's command line: options, --help, --version. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
    "usage: dsmlp-compile MODEL.lua [options]\n"
    "       dsmlp-compile --list | --clear | --import BUNDLE [options]\n"
    "\n"
    "Ahead-of-time kernel caching: runs the model script, plans every layer for\n"
    "each target arch and compiles every kernel the plans need into the kernel\n"
    "store (each unique kernel once), so that later runs compile nothing.\n"
    "\n"
    "options:\n"
    "  --arch A[,B...]   target archs: %s\n"
    "                    (default: the local GPU's arch, else sm_90)\n"
    "  --cache-dir DIR   kernel store directory (default: $DSMLP_CACHE_DIR,\n"
    "                    else $XDG_CACHE_HOME/dsmlp, else ~/.cache/dsmlp)\n"
    "  --bundle OUT      after compiling, write a bundle file holding exactly\n"
    "                    this model's kernels (all requested archs)\n"
    "  --weights PATH    a safetensors checkpoint (file, directory, or\n"
    "                    model.safetensors.index.json): check that it holds\n"
    "                    every parameter of every model layer of the layers\n"
    "                    built with dsmlp.hf (names, dtypes, shapes; no data\n"
    "                    read); with --verify, run with its real weights\n"
    "  --import BUNDLE   load a bundle into the store first: every entry (all\n"
    "                    archs: a bundle for a mixed fleet); a bundle from\n"
    "                    another dsmlp version, truncated or altered is refused\n"
    "                    and nothing changes\n"
    "  --import-local    with --import: store only this GPU's arch's entries\n"
    "  --sign KEY        sign the --bundle with this secret key file (Ed25519)\n"
    "  --trust PUB       with --import: accept only bundles signed by this\n"
    "                    public key (repeatable: any of them)\n"
    "  --keygen PREFIX   write a new key pair PREFIX.key (secret, mode 0600)\n"
    "                    and PREFIX.pub; never replaces existing files\n"
    "  --list            list the store: key, kernel, arch, size, age\n"
    "  --clear           remove every entry from the store (before compiling)\n"
    "  --explain         print each layer's plan (steps, fusions, kernel keys)\n"
    "  --verify          on a GPU: run each layer on random inputs at a few\n"
    "                    token counts against the CPU reference; print the\n"
    "                    relative error and pass/fail per layer; a tensor-\n"
    "                    parallel layer runs its P ranks as P processes, one\n"
    "                    per GPU, against the unsharded (P = 1) reference\n"
    "  --tp-oversubscribe  with --verify: run P ranks on fewer GPUs (ranks\n"
    "                    share GPUs; peer-memory all-reduce, no NCCL)\n"
    "  --tune            on a GPU: time the main steps against the weight-\n"
    "                    streaming route (each tile variant and grid) for\n"
    "                    T <= 8, 16, 32, 64, 128 and store the decision as a\n"
    "                    tuning record (kept in the store, carried by --bundle)\n"
    "  --stream-max-tokens N  weight-streaming route for T <= N (1..128),\n"
    "                    0 none, -1 auto (default: quantized weights only)\n"
    "  --stream-pipe N   1 (default): the weight-streaming route also gets the\n"
    "                    shared-memory W ring variants ([out,in], T <= 8, sm_90);\n"
    "                    0: not\n"
    "  --quantize SPEC   build every dsmlp.mlp / dsmlp.preset layer that does not\n"
    "                    choose its own weights with quantized weights: int8\n"
    "                    (DeepSpeed's groups), fp8 (e4m3, per channel), or e.g.\n"
    "                    int8:groups=8,scale_dtype=f16 / int8:per_channel /\n"
    "                    fp8:groups=4 (docs/quant.md)\n"
    "  -O, --option NAME=VALUE  a compile option for every layer (list below)\n"
    "  -j, --jobs N      compile with N threads (default: number of cores)\n"
    "  --json            the summary line and --list as JSON on standard output\n"
    "  -q, --quiet       print only errors and warnings\n"
    "  -h, --help        this text\n"
    "  --version         versions of dsmlp-compile and dsmlp\n"
    "\n"
    "Progress goes to standard error: a bar on a terminal (plain lines when\n"
    "NO_COLOR is set or TERM=dumb), else one line per compiled kernel.\n"
    "\n"
    "Order of work: --clear, --import, --weights, compile, --explain, --tune, --bundle,\n"
    "--verify, --list. MODEL.lua may be omitted with --list, --clear, --import and\n"
    "--keygen. A bundle is code: importing one trusts whoever made it; sign bundles\n"
    "and import them with --trust to know who that was (docs/kernel-store.md).\n"
    "\n"
    "exit codes:\n"
    "  0  success\n"
    "  1  other error (out of memory, internal)\n"
    "  2  usage error (unknown option, missing value, bad arch, bad -j)\n"
    "  3  script error (missing file, Lua error, no layers)\n"
    "  4  compile error (planning or NVRTC failed)\n"
    "  5  kernel store or bundle error (I/O; compiled kernels that could not\n"
    "     be written to the store; bundle corrupt, truncated, or from another\n"
    "     dsmlp version or arch)\n"
    "  6  --verify: a layer's error exceeded its tolerance\n"
    "  7  --verify: no GPU present (the kernels were compiled; nothing verified)\n"
    "  8  --verify: a tensor-parallel layer needs P GPUs and fewer are present\n"
    "     (the other layers were verified and passed)\n"
    "  9  --weights: the checkpoint is missing, malformed, or does not hold the\n"
    "     model's parameters (the message names the file and the tensor)\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dsmlp-compile: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int args_arch_known(const char *arch)
{
    for (int i = 0; dsmlp_arch_name(i); i++)
        if (strcmp(arch, dsmlp_arch_name(i)) == 0) return 1;
    return 0;
}

/* "sm_80, sm_86, ..." from the library's one arch table. */
static const char *arch_list(void)
{
    static char list[256];
    if (!list[0])
        for (int i = 0; dsmlp_arch_name(i); i++) {
            if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, dsmlp_arch_name(i), sizeof list - strlen(list) - 1);
        }
    return list;
}

int cli_exit_for(dsmlp_status s, int phase_default)
{
    switch (s) {
    case DSMLP_OK: return CLI_EXIT_OK;
    case DSMLP_ERR_NOMEM: return CLI_EXIT_OTHER;
    case DSMLP_ERR_SCRIPT: return CLI_EXIT_SCRIPT;
    case DSMLP_ERR_COMPILE: return CLI_EXIT_COMPILE;
    case DSMLP_ERR_IO:
    case DSMLP_ERR_CORRUPT:
    case DSMLP_ERR_VERSION: return CLI_EXIT_STORE;
    default: return phase_default;
    }
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fputs("dsmlp-compile: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputs(" (see --help)\n", stderr);
    return CLI_EXIT_USAGE;
}

/* "--arch sm_80,sm_90": split, validate, drop repeats. The strings point into
** argv, which lives as long as the program. */
static int parse_arch(char *list, cli_opts *o)
{
    if (!*list) return usage_error("--arch needs at least one arch%s%s", "", "");
    for (char *save = NULL, *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        if (!args_arch_known(a))
            return usage_error("bad arch '%s' in --arch: expected one of %s", a, arch_list());
        int seen = 0;
        for (int i = 0; i < o->narch; i++) seen |= strcmp(o->arch[i], a) == 0;
        if (seen) continue;
        if (o->narch == CLI_MAX_ARCH) return usage_error("too many archs in --arch%s%s", "", "");
        o->arch[o->narch++] = a;
    }
    if (o->narch == 0) return usage_error("--arch needs at least one arch%s%s", "", "");
    return -1;
}

static int parse_jobs(const char *s, cli_opts *o)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1024)
        return usage_error("-j needs a whole number from 1 to 1024, got '%s'%s", s, "");
    o->jobs = (int)v;
    return -1;
}

/* Options taking a value accept "--opt VALUE" and "--opt=VALUE" ("-jN" too). */
/* The long options; `val` is the option's code (short letter or OPT_*). */
enum { OPT_CACHE_DIR = 256, OPT_BUNDLE, OPT_IMPORT, OPT_SIGN, OPT_TRUST, OPT_KEYGEN, OPT_STREAM, OPT_LIST, OPT_CLEAR,
       OPT_EXPLAIN, OPT_VERIFY, OPT_IMPORT_LOCAL, OPT_JSON, OPT_TUNE, OPT_TP_OVER, OPT_ARCH, OPT_VERSION, OPT_WEIGHTS,
       OPT_QUANTIZE, OPT_STREAM_PIPE };
static const struct option long_opts[] = {
    {"arch", required_argument, NULL, OPT_ARCH},         {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
    {"bundle", required_argument, NULL, OPT_BUNDLE},     {"import", required_argument, NULL, OPT_IMPORT},
    {"sign", required_argument, NULL, OPT_SIGN},         {"trust", required_argument, NULL, OPT_TRUST},
    {"keygen", required_argument, NULL, OPT_KEYGEN},     {"option", required_argument, NULL, 'O'},
    {"jobs", required_argument, NULL, 'j'},              {"stream-max-tokens", required_argument, NULL, OPT_STREAM},
    {"list", no_argument, NULL, OPT_LIST},               {"clear", no_argument, NULL, OPT_CLEAR},
    {"explain", no_argument, NULL, OPT_EXPLAIN},         {"verify", no_argument, NULL, OPT_VERIFY},
    {"import-local", no_argument, NULL, OPT_IMPORT_LOCAL}, {"json", no_argument, NULL, OPT_JSON},
    {"tune", no_argument, NULL, OPT_TUNE},               {"tp-oversubscribe", no_argument, NULL, OPT_TP_OVER},
    {"quiet", no_argument, NULL, 'q'},                   {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},         {"weights", required_argument, NULL, OPT_WEIGHTS},
    {"quantize", required_argument, NULL, OPT_QUANTIZE}, {"stream-pipe", required_argument, NULL, OPT_STREAM_PIPE},
    {NULL, 0, NULL, 0}
};

static int print_help(void)
{
    printf(usage_text, arch_list());
    printf("\ncompile options (-O NAME=VALUE, repeatable; a model script may set them per layer:\n"
           "dsmlp.layer(name, graph, {NAME = VALUE}), which wins over -O):\n");
    dsmlp_compile_options def;
    dsmlp_compile_options_default(&def);
    for (int i = 0; dsmlp_compile_option_info(i); i++) {
        const dsmlp_option_info *oi = dsmlp_compile_option_info(i);
        if (oi->kind == DSMLP_OPTION_INTERNAL || oi->kind == DSMLP_OPTION_ARCH) continue;
        char v[32];
        dsmlp_compile_options_format(&def, i, v, sizeof v);
        printf("  %-20s %s (default %s)\n", oi->name, oi->help, v);
    }
    return CLI_EXIT_OK;
}

/* One option with its value; -1 to go on, or an exit code. */
static int take_option(int c, char *val, cli_opts *o)
{
    switch (c) {
    case OPT_ARCH: return parse_arch(val, o);
    case 'j': return parse_jobs(val, o);
    case 'q': o->quiet = 1; return -1;
    case OPT_LIST: o->list = 1; return -1;
    case OPT_CLEAR: o->clear = 1; return -1;
    case OPT_EXPLAIN: o->explain = 1; return -1;
    case OPT_VERIFY: o->verify = 1; return -1;
    case OPT_IMPORT_LOCAL: o->import_local = 1; return -1;
    case OPT_JSON: o->json = 1; return -1;
    case OPT_TUNE: o->tune = 1; return -1;
    case OPT_TP_OVER: o->tp_oversubscribe = 1; return -1;
    default: break;
    }
    const struct option *lo = NULL;
    for (const struct option *l = long_opts; l->name; l++)
        if (l->val == c) lo = l;
    char name[64];
    snprintf(name, sizeof name, c == 'O' ? "-O" : "--%s", lo ? lo->name : "?");
    if (!*val) return usage_error("option '%s' needs a non-empty value%s", name, "");
    switch (c) {
    case OPT_CACHE_DIR:
        if (strlen(val) >= PATH_MAX) {
            fprintf(stderr, "dsmlp-compile: --cache-dir: the path is %zu bytes long; the limit is %d (see --help)\n",
                    strlen(val), PATH_MAX - 1);
            return CLI_EXIT_USAGE;
        }
        o->cache_dir = val;
        return -1;
    case OPT_BUNDLE: o->bundle_out = val; return -1;
    case OPT_IMPORT: o->import_path = val; return -1;
    case OPT_SIGN: o->sign_key = val; return -1;
    case OPT_KEYGEN: o->keygen = val; return -1;
    case OPT_WEIGHTS: o->weights = val; return -1;
    case OPT_QUANTIZE: o->quantize = val; return -1;
    case 'O': {
        dsmlp_compile_options scratch;
        dsmlp_compile_options_default(&scratch);
        if (o->ncopt == 32) return usage_error("at most 32 -O options%s%s", "", "");
        if (!strncmp(val, "arch=", 5)) return usage_error("bad -O '%s': the arch is given with --arch%s", val, "");
        /* a context only for the library's message (it names the option and its range) */
        dsmlp_ctx_options co;
        dsmlp_ctx_options_default(&co);
        dsmlp_ctx *c = NULL;
        dsmlp_status ok = dsmlp_ctx_create_with(&co, &c);
        dsmlp_status s = dsmlp_compile_options_parse(ok == DSMLP_OK ? c : NULL, &scratch, val);
        char why[320] = "expected NAME=VALUE with a NAME from --help's compile options";
        if (s != DSMLP_OK && c && dsmlp_last_error(c)[0]) snprintf(why, sizeof why, "%s", dsmlp_last_error(c));
        dsmlp_ctx_free(c);
        if (s != DSMLP_OK) return usage_error("bad -O '%s': %s", val, why);
        o->copt[o->ncopt++] = val;
        return -1;
    }
    case OPT_TRUST:
        if (o->ntrust == 8) return usage_error("at most 8 --trust keys%s%s", "", "");
        o->trust[o->ntrust++] = val;
        return -1;
    case OPT_STREAM: {
        char *end;
        long v = strtol(val, &end, 10);
        if (*end || v < -1 || v > 128)
            return usage_error("--stream-max-tokens %s: need -1 (auto), 0 (none) or 1..128%s", val, "");
        o->stream_max_tokens = (int)v;
        return -1;
    }
    case OPT_STREAM_PIPE: {
        char *end;
        long v = strtol(val, &end, 10);
        if (*end || v < 0 || v > 1)
            return usage_error("--stream-pipe %s: need 0 (off) or 1 (the W ring variants)%s", val, "");
        o->stream_pipe = (int)v;
        return -1;
    }
    default: return usage_error("unknown option '%s'%s", name, "");
    }
}

/* getopt_long: "--opt VALUE", "--opt=VALUE", "-jN", "-j N", "-ONAME=V";
** the model script may come anywhere; "--" ends the options. */
int args_parse(int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->stream_max_tokens = -2;
    o->stream_pipe = -1;
    opterr = 0;   /* our messages, not getopt's */
    optind = 1;
    int c, idx;
    while ((c = getopt_long(argc, argv, ":hqj:O:", long_opts, &idx)) != -1) {
        const char *arg = argv[optind - 1];
        if (c == '?') {
            char shortname[3] = {'-', (char)optopt, '\0'};
            return usage_error("unknown option '%s'%s", optopt ? shortname : arg, "");
        }
        if (c == ':') {
            const char *name = optopt == 'j' ? "-j" : optopt == 'O' ? "-O" : arg;
            char buf[64];
            snprintf(buf, sizeof buf, "%s", name);
            char *eq = strchr(buf, '=');
            if (eq) *eq = '\0';
            return usage_error("option '%s' needs a value%s", buf, "");
        }
        if (c == 'h') return print_help();
        if (c == OPT_VERSION) {
            printf("dsmlp-compile %s (libdsmlp %s)\n", DSMLP_VERSION_STRING, dsmlp_version());
            printf("NVRTC %s (in every kernel's store key, with the dsmlp version, arch and options); built with "
                   "CUDA %d.%d\n", dsmlp_nvrtc_version(), dsmlp_cuda_version() / 1000,
                   dsmlp_cuda_version() % 1000 / 10);
            return CLI_EXIT_OK;
        }
        /* "-j=N" / "-O=..." give a value starting with '='. */
        char *val = optarg && (c == 'j' || c == 'O') && optarg[0] == '=' && arg[1] != '-' ? optarg + 1 : optarg;
        int r = take_option(c, val, o);
        if (r != -1) return r;
    }
    for (int i = optind; i < argc; i++) {
        if (o->model) return usage_error("more than one model script given: '%s' and '%s'", o->model, argv[i]);
        o->model = argv[i];
    }
    if (o->sign_key && !o->bundle_out) return usage_error("--sign needs --bundle (it signs the bundle written)%s%s", "", "");
    if (o->import_local && !o->import_path) return usage_error("--import-local needs --import%s%s", "", "");
    if (o->ntrust && !o->import_path) return usage_error("--trust needs --import (it checks the bundle imported)%s%s", "", "");
    if (o->tp_oversubscribe && !o->verify) return usage_error("--tp-oversubscribe needs --verify%s%s", "", "");
    if (!o->model) {
        if (o->tune) return usage_error("--tune needs a model script%s%s", "", "");
        if (o->bundle_out || o->explain || o->verify || o->weights || o->quantize)
            return usage_error("%s needs a model script",
                               o->bundle_out ? "--bundle" : o->explain ? "--explain" : o->verify ? "--verify"
                               : o->weights ? "--weights" : "--quantize",
                               "");
        if (!o->list && !o->clear && !o->import_path && !o->keygen)
            return usage_error("no model script given%s%s", "", "");
    }
    return -1;
}
