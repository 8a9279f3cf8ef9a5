#!/usr/bin/env python3
"""The TRACT objectives in PyTorch, as the reference for tract's: loss and gradient with respect to the logits.

Reads one JSON object on standard input:
  ce_logits [N, V] and ce_labels [N] (or null): cross-entropy, mean over the N target tokens;
  score_logits [B, V], gold [B] and score_ids [5] (or null): RAFT = mean over examples of (gold - sum_k k p(k))^2,
    p the softmax over the full vocabulary at the score position (renormalize: over the five score tokens);
  lambda: total = CE + lambda * RAFT (CoT-RAFT), or CE alone, or RAFT alone.
Prints {"total", "ce", "raft", "ce_grad", "score_grad"}: the values and d total / d logits, computed in float32.
"""
import json
import sys

import torch
import torch.nn.functional as F


def main():
    q = json.load(sys.stdin)
    total = None
    out = {"ce": None, "raft": None, "ce_grad": None, "score_grad": None}
    ce_logits = score_logits = None
    if q.get("ce_logits") is not None:
        ce_logits = torch.tensor(q["ce_logits"], dtype=torch.float32, requires_grad=True)
        ce = F.cross_entropy(ce_logits, torch.tensor(q["ce_labels"], dtype=torch.long))
        out["ce"] = ce.item()
        total = ce
    if q.get("score_logits") is not None:
        score_logits = torch.tensor(q["score_logits"], dtype=torch.float32, requires_grad=True)
        p = torch.softmax(score_logits, dim=-1)[:, torch.tensor(q["score_ids"], dtype=torch.long)]
        if q.get("renormalize"):
            p = p / p.sum(dim=-1, keepdim=True)
        expected = p @ torch.arange(1, 6, dtype=torch.float32)
        raft = ((torch.tensor(q["gold"], dtype=torch.float32) - expected) ** 2).mean()
        out["raft"] = raft.item()
        total = raft if total is None else total + q["lambda"] * raft
    total.backward()
    out["total"] = total.item()
    if ce_logits is not None:
        out["ce_grad"] = ce_logits.grad.tolist()
    if score_logits is not None:
        out["score_grad"] = score_logits.grad.tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
