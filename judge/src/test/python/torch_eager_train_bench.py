#!/usr/bin/env python3
"""Training throughput of the same Llama model in PyTorch eager mode, for a side-by-side with `tract bench train`.

The model is built from a tract/Hugging Face config.json (random weights: throughput does not depend on them), then
trained for --warmup + --steps optimizer steps on batches of --batch sequences of --length tokens with the causal
LM cross-entropy, gradient clipping at 1.0 and AdamW, as tract's trainer does. Every token is real, so the figure
to compare is tract's `padded_tokens_per_s` (the work its engine does, padding included) at the same batch and
mean padded length, with the same number of threads.

    python3 torch_eager_train_bench.py --config models/small/config.json --batch 8 --length 190 --threads 2
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.nh, self.nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = h // self.nh
        bias = c.get("model_type") == "qwen2"
        self.q = nn.Linear(h, self.nh * self.hd, bias=bias)
        self.k = nn.Linear(h, self.nkv * self.hd, bias=bias)
        self.v = nn.Linear(h, self.nkv * self.hd, bias=bias)
        self.o = nn.Linear(self.nh * self.hd, h, bias=False)
        self.gate = nn.Linear(h, c["intermediate_size"], bias=False)
        self.up = nn.Linear(h, c["intermediate_size"], bias=False)
        self.down = nn.Linear(c["intermediate_size"], h, bias=False)
        self.n1 = RmsNorm(h, c["rms_norm_eps"])
        self.n2 = RmsNorm(h, c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        y = self.n1(x)
        q = self.q(y).view(b, t, self.nh, self.hd).transpose(1, 2)
        k = self.k(y).view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = self.v(y).view(b, t, self.nkv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if self.nkv != self.nh:
            k = k.repeat_interleave(self.nh // self.nkv, dim=1)
            v = v.repeat_interleave(self.nh // self.nkv, dim=1)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask) if hasattr(F, "scaled_dot_product_attention") \
            else torch.softmax((q @ k.transpose(-1, -2)) / self.hd ** 0.5 + mask, dim=-1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(b, t, -1))
        y = self.n2(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RmsNorm(c["hidden_size"], c["rms_norm_eps"])
        self.head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings"):
            self.head.weight = self.embed.weight

    def forward(self, ids):
        t = ids.shape[1]
        hd = self.c["hidden_size"] // self.c["num_attention_heads"]
        inv = 1.0 / (self.c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(t).float(), inv)
        ang = torch.cat((ang, ang), dim=-1)
        cos, sin = ang.cos(), ang.sin()
        mask = torch.full((t, t), float("-inf")).triu(1)
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        return self.head(self.norm(x))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--steps", type=int, default=10, help="optimizer steps per measured repetition")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2, help="untimed repetitions first")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.config) as f:
        c = json.load(f)
    model = Llama(c)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, c["vocab_size"], (a.batch, a.length))

    def step():
        logits = model(ids)[:, :-1]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    rates, ms = [], []
    for r in range(a.warmup + a.repeats):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        dt = time.perf_counter() - t0
        if r >= a.warmup:
            rates.append(a.steps * a.batch * a.length / dt)
            ms.append(1000 * dt / a.steps)
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": a.batch, "length": a.length,
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokens_per_s": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)},
        "ms_per_step": {"median": statistics.median(ms), "min": min(ms), "max": max(ms)},
    }))


if __name__ == "__main__":
    main()
