/*
** test_lua_api.c — the low-level graph API from Lua (every op, values,
** graph lifetime), how scripts hand layers back, the sandbox's libraries,
** and script graphs run by the reference executor against C-built graphs.
*/
#include <stdio.h>
#include <sys/stat.h>
#include "test_lua_util.h"

/* ------------------------------------------------------------ every op */

static const char *ops_script =
    "local g = dsmlp.graph('ops')\n"
    "local x = g:input('x', 'f32', 64)\n"
    "local r = g:input('r', 'f32', 64)\n"
    "local nw = g:param_vector('nw', 'f32', 64)\n"
    "local nb = g:param_vector('nb', 'f32', 64)\n"
    "local s = g:add(x, r)\n"
    "local h = g:scale(s, 0.5)\n"
    "local n1 = g:layernorm(h, nw, nb, 1e-5)\n"
    "local n2 = g:layernorm(h, nw, nil, 1e-6)\n"
    "local n3 = g:rmsnorm(n1, nw, 1e-5)\n"
    "local w1 = g:param_matrix('w1', 'f32', 64, 256, 'in_out')\n"
    "local b1 = g:param_vector('b1', 'f32', 256)\n"
    "local u = g:bias(g:matmul(n3, w1), b1)\n"
    "local a = g:silu(g:relu(g:gelu_erf(g:gelu_tanh(g:gelu(u)))))\n"
    "a = g:activation(a, 'gelu_erf')\n"
    "local gt = g:gated(a, 'silu')\n"
    "local wq = g:param_matrix('w2q', 'i8', 64, 128, 'out_in')\n"
    "local sc = g:param_vector('w2s', 'f32', 4)\n"
    "local w2 = g:dequant(wq, sc, 4, 'f32')\n"
    "local y = g:matmul(gt, w2)\n"
    "local z = g:all_reduce(g:add(y, n2))\n"
    "-- value and graph introspection\n"
    "local tag, n = x:shape(); assert(tag == 'T' and n == 64)\n"
    "local rows, cols = w1:shape(); assert(rows == 64 and cols == 256)\n"
    "assert(select('#', nw:shape()) == 1 and nw:shape() == 64)\n"
    "assert(gt:cols() == 128 and u:op() == 'bias' and w2:op() == 'dequant' and wq:dtype() == 'i8')\n"
    "assert(x:id() == 0 and x:graph() == g and x == x and x ~= r)\n"
    "assert(tostring(x):find('x f32 %[T,64%]'), tostring(x))\n"
    "assert(tostring(w1):find('%[64,256%] in_out'), tostring(w1))\n"
    "assert(g:name() == 'ops' and getmetatable(g) == 'dsmlp.graph')\n"
    "g:output('out', z)\n"
    "assert(tostring(g) == \"dsmlp.graph 'ops' (\" .. g:size() .. ' values)', tostring(g))\n"
    "assert(g:dump():find('dequant'))\n"
    "return {ops = g}\n";

static dsmlp_graph *ops_in_c(dsmlp_ctx *ctx)
{
    dsmlp_graph *g;
    dsmlp_value x, r, nw, nb, s, h, n1, n2, n3, w1, b1, m, u, a, gt, wq, sc, w2, y, yz, z;
    TU_OK(ctx, dsmlp_graph_create(ctx, "ops", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F32, 64, &x));
    TU_OK(ctx, dsmlp_input(g, "r", DSMLP_F32, 64, &r));
    TU_OK(ctx, dsmlp_param_vector(g, "nw", DSMLP_F32, 64, &nw));
    TU_OK(ctx, dsmlp_param_vector(g, "nb", DSMLP_F32, 64, &nb));
    TU_OK(ctx, dsmlp_add(g, x, r, &s));
    TU_OK(ctx, dsmlp_scale(g, s, 0.5, &h));
    TU_OK(ctx, dsmlp_layernorm(g, h, nw, nb, 1e-5, &n1));
    TU_OK(ctx, dsmlp_layernorm(g, h, nw, DSMLP_NONE, 1e-6, &n2));
    TU_OK(ctx, dsmlp_rmsnorm(g, n1, nw, 1e-5, &n3));
    TU_OK(ctx, dsmlp_param_matrix(g, "w1", DSMLP_F32, 64, 256, DSMLP_LAYOUT_IN_OUT, &w1));
    TU_OK(ctx, dsmlp_param_vector(g, "b1", DSMLP_F32, 256, &b1));
    TU_OK(ctx, dsmlp_matmul(g, n3, w1, &m));
    TU_OK(ctx, dsmlp_bias(g, m, b1, &u));
    TU_OK(ctx, dsmlp_gelu_tanh(g, u, &a));
    TU_OK(ctx, dsmlp_gelu_tanh(g, a, &a));
    TU_OK(ctx, dsmlp_gelu_erf(g, a, &a));
    TU_OK(ctx, dsmlp_relu(g, a, &a));
    TU_OK(ctx, dsmlp_silu(g, a, &a));
    TU_OK(ctx, dsmlp_activation(g, a, DSMLP_ACT_GELU_ERF, &a));
    TU_OK(ctx, dsmlp_gated(g, a, DSMLP_ACT_SILU, &gt));
    TU_OK(ctx, dsmlp_param_matrix(g, "w2q", DSMLP_I8, 64, 128, DSMLP_LAYOUT_OUT_IN, &wq));
    TU_OK(ctx, dsmlp_param_vector(g, "w2s", DSMLP_F32, 4, &sc));
    TU_OK(ctx, dsmlp_dequant(g, wq, sc, 4, DSMLP_F32, &w2));
    TU_OK(ctx, dsmlp_matmul(g, gt, w2, &y));
    TU_OK(ctx, dsmlp_add(g, y, n2, &yz));
    TU_OK(ctx, dsmlp_all_reduce(g, yz, &z));
    TU_OK(ctx, dsmlp_output(g, "out", z));
    return g;
}

START_TEST(every_op_from_lua)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_layers *l = tl_load_one(ctx, ops_script);
    dsmlp_graph *c = ops_in_c(ctx);
    ck_assert_msg(dsmlp_graph_equal(c, dsmlp_layers_graph(l, 0)), "Lua-built graph differs from the C-built one");
    /* every op kind appears once at least */
    int seen[DSMLP_OP_COUNT] = {0};
    for (int i = 0; i < dsmlp_graph_size(c); i++) {
        dsmlp_value_info v;
        TU_OK(ctx, dsmlp_value_get(c, i, &v));
        seen[v.op] = 1;
    }
    for (int op = 0; op < DSMLP_OP_COUNT; op++) ck_assert_msg(seen[op], "op %s not covered", dsmlp_op_name(op));

    /* the reference executor gives the same output for both graphs */
    const int64_t T = 5;
    tl_binding bl, bc;
    tl_bind_random(dsmlp_layers_graph(l, 0), T, &bl);
    tl_bind_random(c, T, &bc);
    tl_share_inputs(&bc, &bl);
    TU_OK(ctx, dsmlp_reference_run(dsmlp_layers_graph(l, 0), T, bl.t, bl.n));
    TU_OK(ctx, dsmlp_reference_run(c, T, bc.t, bc.n));
    int64_t n1, n2;
    const double *o1 = tl_output(&bl, "out", &n1), *o2 = tl_output(&bc, "out", &n2);
    ck_assert_int_eq(n1, n2);
    for (int64_t i = 0; i < n1; i++) {
        ck_assert(!isnan(o1[i]));
        ck_assert_msg(o1[i] == o2[i], "out[%lld]: %g vs %g", (long long)i, o1[i], o2[i]);
    }
    tl_binding_free(&bl);
    tl_binding_free(&bc);
    dsmlp_graph_free(c);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ numerics */

/* A script's dsmlp.mlp graph and the C builder's graph for the same config,
** both run by the reference executor on the same random data. */
static void compare_mlp(dsmlp_ctx *ctx, const char *src, const dsmlp_mlp_config *cfg, int64_t T)
{
    dsmlp_layers *l = tl_load_one(ctx, src);
    dsmlp_graph *c;
    TU_OK(ctx, dsmlp_graph_create(ctx, "c", &c));
    TU_OK(ctx, dsmlp_mlp_build(c, cfg));
    tl_binding bl, bc;
    tl_bind_random(dsmlp_layers_graph(l, 0), T, &bl);
    tl_bind_random(c, T, &bc);
    tl_share_inputs(&bc, &bl);
    TU_OK(ctx, dsmlp_reference_run(dsmlp_layers_graph(l, 0), T, bl.t, bl.n));
    TU_OK(ctx, dsmlp_reference_run(c, T, bc.t, bc.n));
    int64_t n1, n2;
    const double *o1 = tl_output(&bl, "out", &n1), *o2 = tl_output(&bc, "out", &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert_int_eq(n1, T * cfg->hidden);
    double norm = 0;
    for (int64_t i = 0; i < n1; i++) {
        ck_assert(!isnan(o1[i]));
        ck_assert_msg(o1[i] == o2[i], "%s: out[%lld] %g vs %g", src, (long long)i, o1[i], o2[i]);
        norm += o1[i] * o1[i];
    }
    ck_assert(norm > 0);
    tl_binding_free(&bl);
    tl_binding_free(&bc);
    dsmlp_graph_free(c);
    dsmlp_layers_free(l);
}

START_TEST(script_mlp_runs_like_c_mlp)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 64;
    cfg.intermediate = 96;
    cfg.dtype = DSMLP_BF16;
    cfg.activation = DSMLP_MLP_GATED_SILU;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.epsilon = 1e-5;
    cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0;
    compare_mlp(ctx, "return dsmlp.preset('llama3-8b', {hidden = 64, intermediate = 96, dtype = 'bf16'})", &cfg, 7);

    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 48;
    cfg.epsilon = 1e-5;
    cfg.dtype = DSMLP_F32;
    cfg.pre_layer_norm = 0;
    compare_mlp(ctx, "return dsmlp.mlp{hidden = 48, dtype = 'f32', pre_layer_norm = false, epsilon = 1e-5}", &cfg, 3);

    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 64;
    cfg.intermediate = 128;
    cfg.norm = DSMLP_NORM_NONE;
    cfg.norm_bias = 0;
    cfg.attn_bias = 0;
    cfg.mlp_after_attn = 0;
    cfg.int8_weights = 1;
    cfg.int8_groups = 2;
    compare_mlp(ctx, "return dsmlp.mlp{hidden = 64, intermediate = 128, norm = 'none', mlp_after_attn = false,"
                     " bias = {attn = false}, int8 = {groups = 2}}", &cfg, 4);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Two tensor-parallel ranks built by one script, run as ranks, equal the
** unsharded C graph within rounding. */
START_TEST(script_tp_ranks_sum_to_unsharded)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_layers *l = NULL;
    TU_OK(ctx, tl_load(ctx,
                       "local ranks = {}\n"
                       "for r = 0, 1 do\n"
                       "  ranks['rank' .. r] = dsmlp.mlp{hidden = 64, intermediate = 128, dtype = 'f32',\n"
                       "    activation = 'gated_silu', norm = 'rmsnorm', bias = false, epsilon = 1e-5,\n"
                       "    tp = {size = 2, rank = r}, name = 'rank' .. r}\n"
                       "end\n"
                       "return ranks\n",
                       &l));
    ck_assert_int_eq(dsmlp_layers_count(l), 2);
    ck_assert_str_eq(dsmlp_layers_name(l, 0), "rank0");
    ck_assert_str_eq(dsmlp_layers_name(l, 1), "rank1");

    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 64;
    cfg.intermediate = 128;
    cfg.dtype = DSMLP_F32;
    cfg.activation = DSMLP_MLP_GATED_SILU;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.epsilon = 1e-5;
    cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0;
    dsmlp_graph *full;
    TU_OK(ctx, dsmlp_graph_create(ctx, "full", &full));
    TU_OK(ctx, dsmlp_mlp_build(full, &cfg));
    const int64_t T = 6;
    tl_binding bf, br[2];
    tl_bind_random(full, T, &bf);
    TU_OK(ctx, dsmlp_reference_run(full, T, bf.t, bf.n));
    for (int r = 0; r < 2; r++) {
        dsmlp_mlp_config rc = cfg;
        rc.tp_size = 2;
        rc.tp_rank = r;
        tl_bind_random(dsmlp_layers_graph(l, r), T, &br[r]);
        for (int i = 0; i < br[r].n; i++) {   /* shards of the full parameters, inputs copied */
            dsmlp_host_tensor *t = &br[r].t[i];
            if (t->dtype == DSMLP_F64) continue;
            for (int j = 0; j < bf.n; j++)
                if (strcmp(bf.t[j].name, t->name) == 0) {
                    if (strcmp(t->name, "input") == 0 || strcmp(t->name, "residual") == 0)
                        memcpy(t->data, bf.t[j].data, (size_t)br[r].count[i] * sizeof(float));
                    else
                        TU_OK(ctx, dsmlp_mlp_shard(ctx, &rc, t->name, bf.t[j].data, t->data));
                }
        }
    }
    dsmlp_graph *graphs[2] = {(dsmlp_graph *)dsmlp_layers_graph(l, 0), (dsmlp_graph *)dsmlp_layers_graph(l, 1)};
    const dsmlp_host_tensor *binds[2] = {br[0].t, br[1].t};
    int nb[2] = {br[0].n, br[1].n};
    TU_OK(ctx, dsmlp_reference_run_ranks(graphs, 2, T, binds, nb));
    int64_t n, m;
    const double *want = tl_output(&bf, "out", &n), *got = tl_output(&br[0], "out", &m);
    ck_assert_int_eq(n, m);
    double err = tu_max_abs_diff(want, got, n), scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    ck_assert_msg(err <= 1e-5 * scale, "TP=2 differs from TP=1 by %g (scale %g)", err, scale);
    for (int r = 0; r < 2; r++) tl_binding_free(&br[r]);
    tl_binding_free(&bf);
    dsmlp_graph_free(full);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ layers */

START_TEST(layer_forms)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_layers *l = NULL;
    /* array: named after the graphs, in order */
    TU_OK(ctx, tl_load(ctx, "return {dsmlp.mlp{hidden = 64, name = 'b'}, dsmlp.mlp{hidden = 64, name = 'a'}}", &l));
    ck_assert_int_eq(dsmlp_layers_count(l), 2);
    ck_assert_str_eq(dsmlp_layers_name(l, 0), "b");
    ck_assert_str_eq(dsmlp_layers_name(l, 1), "a");
    dsmlp_layers_free(l);
    /* named table: sorted by name; dsmlp.layer calls come first */
    TU_OK(ctx, tl_load(ctx,
                       "dsmlp.layer('zz_first', dsmlp.mlp{hidden = 64})\n"
                       "return {layer2 = dsmlp.mlp{hidden = 64}, layer10 = dsmlp.mlp{hidden = 32},"
                       " attn = dsmlp.mlp{hidden = 16}}",
                       &l));
    ck_assert_int_eq(dsmlp_layers_count(l), 4);
    const char *want[] = {"zz_first", "attn", "layer10", "layer2"};
    for (int i = 0; i < 4; i++) ck_assert_str_eq(dsmlp_layers_name(l, i), want[i]);
    ck_assert_ptr_null(dsmlp_layers_name(l, 4));
    ck_assert_ptr_null(dsmlp_layers_graph(l, -1));
    dsmlp_layers_free(l);
    /* one graph returned directly; only dsmlp.layer and nothing returned */
    l = tl_load_one(ctx, "return dsmlp.mlp{hidden = 64, name = 'solo'}");
    ck_assert_str_eq(dsmlp_layers_name(l, 0), "solo");
    dsmlp_layers_free(l);
    l = tl_load_one(ctx, "dsmlp.layer('only', dsmlp.mlp{hidden = 64})");
    ck_assert_str_eq(dsmlp_layers_name(l, 0), "only");
    dsmlp_layers_free(l);
    /* the same graph under two names: both listed, freed once (ASan checks) */
    TU_OK(ctx, tl_load(ctx, "local g = dsmlp.preset('gpt2')\nreturn {a = g, b = g}", &l));
    ck_assert_int_eq(dsmlp_layers_count(l), 2);
    ck_assert_ptr_eq(dsmlp_layers_graph(l, 0), dsmlp_layers_graph(l, 1));
    dsmlp_layers_free(l);
    dsmlp_layers_free(NULL);
    ck_assert_int_eq(dsmlp_layers_count(NULL), 0);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Graphs outlive the Lua state; values keep their graph alive; graphs that
** are not returned are freed by the collector (LeakSanitizer checks). */
START_TEST(graph_lifetime)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_layers *l = tl_load_one(ctx,
                                  "for i = 1, 200 do local g = dsmlp.preset('gpt2'); g:size() end\n"
                                  "local x\n"
                                  "do local g = dsmlp.graph('kept'); x = g:input('x', 'f16', 8) end\n"
                                  "collectgarbage(); collectgarbage()\n"
                                  "local h\n"
                                  "do local g <close> = dsmlp.graph('closed'); h = g end\n"
                                  "assert(tostring(h) == 'dsmlp.graph (closed)')\n"
                                  "h:close()  -- idempotent\n"
                                  "local e = dsmlp.graph('e'); e:close(); e = nil; collectgarbage()\n"
                                  "return {kept = x:graph():output('y', x)}\n");
    const dsmlp_graph *g = dsmlp_layers_graph(l, 0);
    ck_assert_str_eq(dsmlp_graph_name(g), "kept");
    ck_assert_int_eq(dsmlp_graph_size(g), 2);
    char *text = NULL;
    TU_OK(ctx, dsmlp_graph_dump(g, &text));   /* still valid after lua_close */
    ck_assert_ptr_nonnull(strstr(text, "x"));
    dsmlp_free(text);
    dsmlp_layers_free(l);

    /* a finalizer running at lua_close cannot touch a graph handed to the
    ** host: the userdata no longer owns it */
    l = tl_load_one(ctx, "local g = dsmlp.preset('gpt2')\n"
                         "local n = g:size()\n"
                         "setmetatable({}, {__gc = function() g:input('late', 'f16', 8) end})\n"
                         "return g\n");
    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 768;
    cfg.epsilon = 1e-5;
    dsmlp_graph *c;
    TU_OK(ctx, dsmlp_graph_create(ctx, "c", &c));
    TU_OK(ctx, dsmlp_mlp_build(c, &cfg));
    ck_assert(dsmlp_graph_equal(c, dsmlp_layers_graph(l, 0)));
    dsmlp_graph_free(c);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ sandbox */

START_TEST(sandbox_libraries)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_layers *l = tl_load_one(ctx,
                                  "assert(require('dsmlp') == dsmlp and require('string') == string)\n"
                                  "assert(os == nil and io == nil and debug == nil and package == nil)\n"
                                  "assert(dofile == nil and loadfile == nil)\n"
                                  "assert(load('return 1 + 1')() == 2)\n"
                                  "local f, err = load(string.dump(function() end))\n"
                                  "assert(f == nil and err:find('binary'), err)\n"
                                  "assert(not pcall(load, 'return 1', 'x', 'b'))\n"
                                  "local env = {}; load('y = 3', 'c', 't', env)(); assert(env.y == 3 and y == nil)\n"
                                  "assert(math.sqrt(16) == 4 and utf8.char(72) == 'H' and table.concat({1,2}) == '12')\n"
                                  "local ok, e = pcall(require, 'os')\n"
                                  "assert(not ok and e:find(\"module 'os' is not available\"), e)\n"
                                  "assert(dsmlp.version == '" DSMLP_VERSION_STRING "')\n"
                                  "return dsmlp.mlp{hidden = 64}");
    dsmlp_layers_free(l);

    /* allow_io: the full standard library */
    dsmlp_script_options o = tl_options();
    o.allow_io = 1;
    TU_OK(ctx, dsmlp_script_load_string(ctx,
                                        "assert(type(os.time()) == 'number' and io.write and debug.traceback)\n"
                                        "assert(require('dsmlp') == dsmlp and package.loadlib)\n"
                                        "return dsmlp.mlp{hidden = 64}",
                                        "io.lua", &o, &l));
    dsmlp_layers_free(l);
    /* NULL options = defaults */
    TU_OK(ctx, dsmlp_script_load_string(ctx, "return dsmlp.mlp{hidden = 64}", NULL, NULL, &l));
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* options.lua_path: the directory of dsmlp.lua, or the file itself. */
START_TEST(lua_path_option)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_script_options o = tl_options();
    dsmlp_layers *l = NULL;
    o.lua_path = DSMLP_SOURCE_DIR "/lua";
    TU_OK(ctx, dsmlp_script_load_string(ctx, "return dsmlp.preset('gpt2')", "m.lua", &o, &l));
    dsmlp_layers_free(l);
    o.lua_path = DSMLP_SOURCE_DIR "/lua/dsmlp.lua";
    TU_OK(ctx, dsmlp_script_load_string(ctx, "return dsmlp.preset('gpt2')", "m.lua", &o, &l));
    dsmlp_layers_free(l);
    /* a broken dsmlp.lua is reported with its own file:line */
    char *dir = tu_tmpdir("lua_path");
    char path[1024];
    snprintf(path, sizeof path, "%s/dsmlp.lua", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("local C = ...\n\nreturn C +\n", f);
    fclose(f);
    o.lua_path = dir;
    TU_CHECK(ctx, dsmlp_script_load_string(ctx, "return 1", "m.lua", &o, &l), DSMLP_ERR_SCRIPT);
    TU_MSG_HAS(ctx, "dsmlp.lua:");
    o.lua_path = "/nonexistent/dir/dsmlp.lua";
    TU_CHECK(ctx, dsmlp_script_load_string(ctx, "return 1", "m.lua", &o, &l), DSMLP_ERR_SCRIPT);
    TU_MSG_HAS(ctx, "cannot open /nonexistent/dir/dsmlp.lua");
    tu_rmtree(dir);
    free(dir);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* ------------------------------------------------------------ examples */

static dsmlp_layers *load_example(dsmlp_ctx *ctx, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/%s", DSMLP_SOURCE_DIR, name);
    dsmlp_script_options o = tl_options();
    dsmlp_layers *l = NULL;
    TU_OK(ctx, dsmlp_script_load(ctx, path, &o, &l));
    ck_assert_int_ge(dsmlp_layers_count(l), 1);
    return l;
}

static void assert_layer_is(dsmlp_ctx *ctx, const dsmlp_layers *l, int i, const dsmlp_mlp_config *cfg)
{
    dsmlp_graph *g;
    TU_OK(ctx, dsmlp_graph_create(ctx, "c", &g));
    TU_OK(ctx, dsmlp_mlp_build(g, cfg));
    ck_assert_msg(dsmlp_graph_equal(g, dsmlp_layers_graph(l, i)), "layer %s differs from the C config",
                  dsmlp_layers_name(l, i));
    dsmlp_graph_free(g);
}

START_TEST(bundled_examples)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_mlp_config cfg;

    dsmlp_layers *l = load_example(ctx, "gpt2.lua");
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 768;
    cfg.intermediate = 3072;
    cfg.epsilon = 1e-5;
    assert_layer_is(ctx, l, 0, &cfg);
    dsmlp_layers_free(l);

    l = load_example(ctx, "llama3-8b.lua");
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 4096;
    cfg.intermediate = 14336;
    cfg.dtype = DSMLP_BF16;
    cfg.activation = DSMLP_MLP_GATED_SILU;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.epsilon = 1e-5;
    cfg.layout = DSMLP_LAYOUT_OUT_IN;
    cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0;
    assert_layer_is(ctx, l, 0, &cfg);
    dsmlp_layers_free(l);

    l = load_example(ctx, "llama70b-tp8-rank0.lua");
    cfg.hidden = 8192;
    cfg.intermediate = 28672;
    cfg.tp_size = 8;
    cfg.tp_rank = 0;
    assert_layer_is(ctx, l, 0, &cfg);
    dsmlp_layers_free(l);

    l = load_example(ctx, "bert.lua");
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = 768;
    cfg.intermediate = 3072;
    cfg.pre_layer_norm = 0;
    cfg.epsilon = 1e-12;
    cfg.activation = DSMLP_MLP_GELU_ERF;   /* BERT's hidden_act "gelu" is the exact erf form */
    assert_layer_is(ctx, l, 0, &cfg);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* examples/custom.lua builds a SwiGLU block by hand with the low-level API;
** with the builder's parameter names it computes what dsmlp_mlp_build's
** LLaMA block computes (f32, so only summation order differs). */
START_TEST(custom_example_matches_builder)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_layers *l = load_example(ctx, "custom.lua");
    const dsmlp_graph *g = dsmlp_layers_graph(l, 0);
    dsmlp_value_info v;
    TU_OK(ctx, dsmlp_value_get(g, 0, &v));
    ck_assert_int_eq(v.op, DSMLP_OP_INPUT);
    int64_t H = v.dims[1];
    /* find w2 ([in,out]: rows = I) */
    int64_t I = 0;
    for (int i = 0; i < dsmlp_graph_size(g); i++) {
        TU_OK(ctx, dsmlp_value_get(g, i, &v));
        if (v.op == DSMLP_OP_PARAM && strcmp(v.name, "w2") == 0) I = v.dims[0];
    }
    ck_assert_int_gt(I, 0);
    dsmlp_mlp_config cfg;
    dsmlp_mlp_config_default(&cfg);
    cfg.hidden = H;
    cfg.intermediate = I;
    cfg.dtype = DSMLP_F32;
    cfg.activation = DSMLP_MLP_GATED_SILU;
    cfg.norm = DSMLP_NORM_RMSNORM;
    cfg.epsilon = 1e-5;
    cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0;
    dsmlp_graph *c;
    TU_OK(ctx, dsmlp_graph_create(ctx, "c", &c));
    TU_OK(ctx, dsmlp_mlp_build(c, &cfg));
    const int64_t T = 3;
    tl_binding bl, bc;
    tl_bind_random(g, T, &bl);
    tl_bind_random(c, T, &bc);
    tl_share_inputs(&bc, &bl);
    TU_OK(ctx, dsmlp_reference_run_f64(g, T, bl.t, bl.n));
    TU_OK(ctx, dsmlp_reference_run_f64(c, T, bc.t, bc.n));
    int64_t n, m;
    const double *got = tl_output(&bl, "out", &n), *want = tl_output(&bc, "out", &m);
    ck_assert_int_eq(n, m);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    double rel = sqrt(num / den);
    printf("custom.lua vs dsmlp_mlp_build (H=%lld, I=%lld, T=%lld): relative error %.3g\n", (long long)H,
           (long long)I, (long long)T, rel);
    ck_assert_msg(rel <= 1e-6, "custom.lua differs from the builder's block: %g", rel);
    tl_binding_free(&bl);
    tl_binding_free(&bc);
    dsmlp_graph_free(c);
    dsmlp_layers_free(l);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lua_api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_op_from_lua);
    tcase_add_test(tc, script_mlp_runs_like_c_mlp);
    tcase_add_test(tc, script_tp_ranks_sum_to_unsharded);
    tcase_add_test(tc, layer_forms);
    tcase_add_test(tc, graph_lifetime);
    tcase_add_test(tc, sandbox_libraries);
    tcase_add_test(tc, lua_path_option);
    tcase_add_test(tc, bundled_examples);
    tcase_add_test(tc, custom_example_matches_builder);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
