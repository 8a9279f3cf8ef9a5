"""An independent NumPy implementation of the Hugging Face Llama forward pass (LlamaForCausalLM, also Mistral and
Qwen2), used by the tests to check the Java model: it reads config.json and the safetensors files of a model
directory and prints the logits of every position as JSON.

usage: python3 hf_llama_reference.py MODEL_DIR TOKEN_IDS_JSON
"""
import json
import math
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        raw = data[begin:end]
        if t["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif t["dtype"] == "F16":
            a = np.frombuffer(raw, "<f2")
        elif t["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(t["dtype"])
        out[name] = a.astype(np.float64).reshape(t["shape"])
    return out


def load(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        w = read_safetensors(single)
    else:
        index = json.load(open(os.path.join(model_dir, "model.safetensors.index.json")))
        w = {}
        for shard in sorted(set(index["weight_map"].values())):
            w.update(read_safetensors(os.path.join(model_dir, shard)))
    return cfg, w


def rms_norm(x, weight, eps):
    return weight * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def forward(cfg, w, ids):
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    head_dim = cfg.get("head_dim") or hidden // heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    model_type = cfg.get("model_type", "llama")

    def window_of(layer):
        # transformers: MistralAttention windows every layer; Qwen2 (use_sliding_window defaults to False) the
        # layers from max_window_layers (default 28) on; LlamaAttention never
        if model_type == "mistral":
            return cfg.get("sliding_window")
        if model_type == "qwen2" and cfg.get("use_sliding_window", False) and layer >= cfg.get("max_window_layers", 28):
            return cfg.get("sliding_window")
        return None
    t = len(ids)

    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2) / head_dim))
    freqs = np.outer(np.arange(t), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb), np.sin(emb)

    def allowed_of(layer):
        allowed = np.tril(np.ones((t, t), dtype=bool))
        window = window_of(layer)
        if window is not None:
            i, j = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
            allowed &= (i - j) < window
        return allowed

    def linear(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        return y

    h = w["model.embed_tokens.weight"][ids]
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        allowed = allowed_of(layer)
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = linear(x, p + "self_attn.q_proj").reshape(t, heads, head_dim).transpose(1, 0, 2)
        k = linear(x, p + "self_attn.k_proj").reshape(t, kv_heads, head_dim).transpose(1, 0, 2)
        v = linear(x, p + "self_attn.v_proj").reshape(t, kv_heads, head_dim).transpose(1, 0, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, heads // kv_heads, axis=0)  # transformers' repeat_kv
        v = np.repeat(v, heads // kv_heads, axis=0)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
        scores = np.where(allowed, scores, -np.inf)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        attn = (probs @ v).transpose(1, 0, 2).reshape(t, heads * head_dim)
        h = h + linear(attn, p + "self_attn.o_proj")
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(x, p + "mlp.gate_proj")
        up = linear(x, p + "mlp.up_proj")
        h = h + linear(gate / (1 + np.exp(-gate)) * up, p + "mlp.down_proj")
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return h @ head.T


def main():
    cfg, w = load(sys.argv[1])
    ids = json.loads(sys.argv[2])
    logits = forward(cfg, w, np.array(ids, dtype=np.int64))
    json.dump({"logits": logits.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
