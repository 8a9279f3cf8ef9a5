#!/usr/bin/env python3
"""Greedy decoding throughput of the same Llama model in PyTorch eager mode with a KV cache, for a side-by-side
with `tract bench generate`.

The model is built from a tract/Hugging Face config.json (random weights: throughput does not depend on them, and
every run decodes exactly --new tokens, no stop), the prompt of --prompt random tokens is prefilled once, then
--new tokens are decoded one step at a time with keys and values written into a preallocated cache (as Hugging
Face's static cache does), at batch 1 and --batch, with the same number of threads.

    python3 torch_eager_generate_bench.py --config models/small/config.json --prompt 125 --new 256 --threads 2
"""
import argparse
import json
import statistics
import time

import torch

from torch_eager_train_bench import Llama, rotate_half


def rope(c, positions):
    hd = c["hidden_size"] // c["num_attention_heads"]
    inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.outer(positions.float(), inv)
    ang = torch.cat((ang, ang), dim=-1)
    return ang.cos(), ang.sin()


def forward(model, ids, start, caches):
    """Runs ids [B, T] at positions start..start+T-1, writing keys and values into caches; logits of the last slot."""
    c = model.c
    b, t = ids.shape
    cos, sin = rope(c, torch.arange(start, start + t))
    end = start + t
    mask = None
    if t > 1:
        mask = torch.full((t, end), float("-inf")).triu(start + 1)
    x = model.embed(ids)
    for blk, (kc, vc) in zip(model.blocks, caches):
        y = blk.n1(x)
        q = blk.q(y).view(b, t, blk.nh, blk.hd).transpose(1, 2)
        k = blk.k(y).view(b, t, blk.nkv, blk.hd).transpose(1, 2)
        v = blk.v(y).view(b, t, blk.nkv, blk.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        kc[:, :, start:end] = k
        vc[:, :, start:end] = v
        k, v = kc[:, :, :end], vc[:, :, :end]
        if blk.nkv != blk.nh:
            k = k.repeat_interleave(blk.nh // blk.nkv, dim=1)
            v = v.repeat_interleave(blk.nh // blk.nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / blk.hd ** 0.5
        if mask is not None:
            scores = scores + mask
        att = torch.softmax(scores, dim=-1) @ v
        x = x + blk.o(att.transpose(1, 2).reshape(b, t, -1))
        y = blk.n2(x)
        x = x + blk.down(torch.nn.functional.silu(blk.gate(y)) * blk.up(y))
    return model.head(model.norm(x[:, -1]))


def generate(model, batch, prompt, new):
    c = model.c
    hd = c["hidden_size"] // c["num_attention_heads"]
    caches = [(torch.zeros(batch, c["num_key_value_heads"], prompt + new, hd),
               torch.zeros(batch, c["num_key_value_heads"], prompt + new, hd)) for _ in model.blocks]
    ids = torch.randint(0, c["vocab_size"], (batch, prompt))
    t0 = time.perf_counter()
    logits = forward(model, ids, 0, caches)
    for i in range(new):
        nxt = logits.argmax(-1, keepdim=True)
        if i + 1 < new:
            logits = forward(model, nxt, prompt + i, caches)
    return batch * new / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    p.add_argument("--prompt", type=int, default=125)
    p.add_argument("--new", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1, help="untimed repetitions first")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.config) as f:
        c = json.load(f)
    model = Llama(c).eval()
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "prompt_tokens": a.prompt,
           "new_tokens": a.new}
    with torch.inference_mode():
        for batch in sorted({1, a.batch}):
            rates = []
            for r in range(a.warmup + a.repeats):
                rate = generate(model, batch, a.prompt, a.new)
                if r >= a.warmup:
                    rates.append(rate)
            out["batch%d_new_tokens_per_s" % batch] = {"median": statistics.median(rates), "min": min(rates),
                                                        "max": max(rates)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
