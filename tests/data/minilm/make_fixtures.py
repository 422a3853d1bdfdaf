#!/usr/bin/env python3
"""make_fixtures.py — the MLP blocks of all-MiniLM-L6-v2 on real sentences, captured
from transformers' BERT modules, for tests/test_minilm.c and tests/gpu/test_gpu_minilm.c.

Run once (needs torch and transformers; the tests do not):
    tools/fetch-minilm.sh --all /tmp/minilm        # the checkpoint with its tokenizer
    python3 tests/data/minilm/make_fixtures.py /tmp/minilm tests/data/minilm/fixtures.safetensors

For every layer i and every token of the sentences (each sentence run alone, rows
concatenated), in float32:
    layer.{i}.residual  the layer's input X (BertSelfOutput's input_tensor)
    layer.{i}.input     the attention projection without its bias, A = context · Woᵀ
                        (context captured from the module, computed in float64, rounded)
    layer.{i}.out       what transformers computes for the block: the input of
                        BertOutput.LayerNorm = LN(X + A + b_o) + dense(gelu(dense(LN(...))))
dsmlp's block (dsmlp.hf on the checkpoint's config.json: post-LN, erf GELU) maps
(input, residual) to out with the checkpoint's weights; the tests compare.
"""
import json
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoTokenizer, BertModel

SENTENCES = [   # few tokens: the fixtures stay small (T x 384 floats x 3 x 6 layers)
    "Hello world.",
    "The sky is blue.",
    "Dogs bark.",
]


def main(model_dir, out_path):
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    layers = model.encoder.layer
    caps = {}

    def hook_layer(i, layer):
        def self_output(mod, args, kwargs):
            names = ("hidden_states", "input_tensor")
            vals = list(args) + [kwargs[n] for n in names[len(args):]]
            caps[i, "context"], caps[i, "residual"] = vals[0].detach(), vals[1].detach()

        def out_norm(mod, args):
            caps[i, "out"] = args[0].detach()

        layer.attention.output.register_forward_pre_hook(self_output, with_kwargs=True)
        layer.output.LayerNorm.register_forward_pre_hook(out_norm)

    for i, layer in enumerate(layers):
        hook_layer(i, layer)
    rows = {(i, k): [] for i in range(len(layers)) for k in ("residual", "input", "out")}
    tokens = 0
    for s in SENTENCES:
        enc = tok(s, return_tensors="pt")
        tokens += enc["input_ids"].shape[1]
        with torch.no_grad():
            model(**enc)
        for i, layer in enumerate(layers):
            w = layer.attention.output.dense.weight.double()
            rows[i, "residual"].append(caps[i, "residual"][0])
            rows[i, "input"].append((caps[i, "context"][0].double() @ w.T).float())
            rows[i, "out"].append(caps[i, "out"][0])
    tensors = {f"layer.{i}.{k}": torch.cat(v).contiguous() for (i, k), v in rows.items()}
    meta = {"sentences": json.dumps(SENTENCES), "tokens": str(tokens), "layers": str(len(layers)),
            "torch": torch.__version__, "transformers": transformers.__version__}
    save_file(tensors, out_path, metadata=meta)
    print(f"{out_path}: {len(layers)} layers, {tokens} tokens, torch {torch.__version__}, "
          f"transformers {transformers.__version__}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: make_fixtures.py MODEL_DIR OUT.safetensors")
    main(sys.argv[1], sys.argv[2])
