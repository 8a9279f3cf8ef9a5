class LlamaInference(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  # The decoder of LlamaModel.forward for inference, op for op, as one TorchScript call: the same aten operations
  # in the same order on the same tensors, so its outputs equal the step-by-step path bit for bit.
  #   ws: embed, final norm, head, then per layer input norm, qkv weight, qkv bias, o weight, o bias,
  #       post-attention norm, gate_up weight, gate_up bias, down weight, down bias (empty tensor = no bias)
  #   consts: eps, attention scale, mean column (hidden x 1 of 1/hidden), rotary inverse frequencies, rotate_half
  #   ints: layers, heads, kv heads, head size, cached positions, sliding window (0 = none), cache used,
  #         key mask given, float32 model, logits of the last slot instead of hidden states, first cached slot
  #         attended (the key mask covers the slots from it on)
  def forward(self: __torch__.LlamaInference, ids: Tensor, positions: Tensor, key_mask: Tensor, ws: List[Tensor],
      consts: List[Tensor], kc: List[Tensor], vc: List[Tensor], ints: List[int]) -> Tensor:
    # a named range for the profiler (`tract bench generate` counts the operations inside it)
    span = ops.profiler._record_function_enter_new("tract::llama_inference", None)
    layers = ints[0]
    heads = ints[1]
    kv_heads = ints[2]
    d = ints[3]
    past = ints[4]
    window = ints[5]
    use_cache = ints[6] == 1
    has_mask = ints[7] == 1
    fp32 = ints[8] == 1
    last_logits = ints[9] == 1
    first = ints[10]
    eps = consts[0]
    scale = consts[1]
    mean_col = consts[2]
    inv_freq = consts[3]
    rotation = consts[4]
    b = ids.size(0)
    t = ids.size(1)
    s = past + t
    a = s - first
    h = torch.embedding(ws[0], ids)
    freqs = torch.mul(positions.to(6).reshape([b, t, 1]), inv_freq)
    emb = torch.unsqueeze(torch.cat([freqs, freqs], 2), 1)
    cos = torch.cos(emb)
    sin = torch.sin(emb)
    if not fp32:
      cos = cos.type_as(h)
      sin = sin.type_as(h)
    window_applies = window > 0 and s > window
    need_mask = t != 1 or has_mask or window_applies
    mask = key_mask
    if need_mask:
      k_slot = torch.arange(first, s, dtype=3, device=ids.device).reshape([1, a])
      q_slot = torch.arange(past, past + t, dtype=3, device=ids.device).reshape([t, 1])
      allowed = torch.le(k_slot, q_slot)
      if window_applies:
        allowed = torch.logical_and(allowed, torch.lt(torch.sub(q_slot, k_slot), window))
      allowed = allowed.reshape([1, 1, 1, t, a])
      if has_mask:
        allowed = torch.logical_and(allowed, key_mask.reshape([b, 1, 1, 1, a]))
      mask = torch.mul(torch.sub(allowed.to(6), 1.0), 3.4028234663852886e+38)
    group = heads // kv_heads
    for i in range(layers):
      base = 3 + 10 * i
      x = self.rms(h, ws[base], mean_col, eps, fp32)
      qkv = self.linear(x, ws[base + 1], ws[base + 2])
      parts = qkv.reshape([b, t, heads + 2 * kv_heads, d]).permute([0, 2, 1, 3])
      qk = parts.narrow(1, 0, heads + kv_heads)
      v = parts.narrow(1, heads + kv_heads, kv_heads)
      qk = torch.add(torch.mul(qk, cos), torch.mul(torch.matmul(qk, rotation), sin))
      q = qk.narrow(1, 0, heads)
      k = qk.narrow(1, heads, kv_heads)
      if use_cache:
        kc[i].narrow(2, past, t).copy_(k)
        vc[i].narrow(2, past, t).copy_(v)
        k = kc[i].narrow(2, first, a)
        v = vc[i].narrow(2, first, a)
      scores = torch.mul(torch.matmul(q.reshape([b, kv_heads, group * t, d]), k.permute([0, 1, 3, 2])), scale)
      if not fp32:
        scores = scores.to(6)
      if need_mask:
        scores = torch.add(scores.reshape([b, kv_heads, group, t, a]), mask).reshape([b, kv_heads, group * t, a])
      probs = torch.softmax(scores, 3)
      if not fp32:
        probs = probs.type_as(h)
      attn = torch.matmul(probs, v).reshape([b, heads, t, d]).permute([0, 2, 1, 3]).reshape([b, t, heads * d])
      h = torch.add(h, self.linear(attn, ws[base + 3], ws[base + 4]))
      x = self.rms(h, ws[base + 5], mean_col, eps, fp32)
      gate_up = self.linear(x, ws[base + 6], ws[base + 7])
      half = gate_up.size(-1) // 2
      gate = gate_up.narrow(-1, 0, half)
      act = torch.mul(torch.mul(gate, torch.sigmoid(gate)), gate_up.narrow(-1, half, half))
      h = torch.add(h, self.linear(act, ws[base + 8], ws[base + 9]))
    h = self.rms(h, ws[1], mean_col, eps, fp32)
    if last_logits:
      h = torch.linear(h.select(1, t - 1), ws[2]).to(6)
    ops.profiler._record_function_exit(span)
    return h
  # Training: the same decoder, no cache, called with gradients on so that the engine records it for the backward
  # pass (the same operations as LlamaModel's step-by-step forward, so the same gradients). ints as in forward.
  def decode_for_training(self: __torch__.LlamaInference, ids: Tensor, positions: Tensor, key_mask: Tensor,
      ws: List[Tensor], consts: List[Tensor], ints: Tensor) -> Tensor:
    li = annotate(List[int], [])
    for j in range(ints.size(0)):
      li.append(int(ints[j]))
    no_cache = annotate(List[Tensor], [])
    return self.forward(ids, positions, key_mask, ws, consts, no_cache, no_cache, li)
  def rms(self: __torch__.LlamaInference, x: Tensor, w: Tensor, mean_col: Tensor, eps: Tensor, fp32: bool) -> Tensor:
    x32 = x
    if not fp32:
      x32 = x.to(6)
    normed = torch.div(x32, torch.sqrt(torch.add(torch.matmul(torch.square(x32), mean_col), eps)))
    if not fp32:
      normed = normed.type_as(x)
    return torch.mul(normed, w)
  def linear(self: __torch__.LlamaInference, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    if b.numel() == 0:
      return torch.linear(x, w)
    return torch.linear(x, w, b)
