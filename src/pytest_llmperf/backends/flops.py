"""Floating-point operations counted over a model's forward passes.

torch's FlopCounterMode counts each matrix product from its shapes, so a count is exact and
the same on any machine. Two kinds of op it does not know are taught here: attention as it
reaches the counter on the CPU (`aten.scaled_dot_product_attention`, not a fused kernel),
and bitsandbytes' int8 matrix products (LLM.int8), which would otherwise make a quantized
model look as if it did almost no work. An int8 product counts like a float one: the
multiply-adds are the same, only their width differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def _attention(
    query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    """Scores (q @ k^T) and their weighted sum (@ v), every query head against every key:
    as torch counts its fused attention kernels."""
    *batch, heads, queries, depth = query
    keys, value_depth = key[-2], value[-1]
    return 2 * math.prod(batch) * heads * queries * keys * (depth + value_depth)


def _int8_product(weight_at: int) -> Callable[..., int]:
    """(tokens x in) @ (out x in)^T, the weight being argument `weight_at`: tokens x out
    outputs of `in` multiply-adds each."""

    def formula(activations: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
        weight = args[weight_at - 1]
        return 2 * math.prod(activations) * weight[0]

    return formula


# bitsandbytes' int8 products, and where each takes its weight: A, CA, CB for the mixed one.
_INT8_PRODUCTS = {"int8_mixed_scaled_mm": 2, "int8_scaled_mm": 1, "int8_linear_matmul": 1}


def _formulas() -> dict[Any, Callable[..., int]]:
    import torch

    formulas: dict[Any, Callable[..., int]] = {
        torch.ops.aten.scaled_dot_product_attention: _attention,
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _attention,
    }
    bitsandbytes = getattr(torch.ops, "bitsandbytes", None)
    for name, weight_at in _INT8_PRODUCTS.items():
        op = None if bitsandbytes is None else getattr(bitsandbytes, name, None)
        if op is not None:
            formulas[op] = _int8_product(weight_at)
    return formulas


def flop_counter() -> Any:
    """A FlopCounterMode to wrap generate in: `counter.get_total_flops()` afterwards."""
    from torch.utils.flop_counter import FlopCounterMode

    return FlopCounterMode(display=False, custom_mapping=_formulas())
