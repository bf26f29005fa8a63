"""Weights placed afresh in memory between passes (backends: place_weights_afresh): the
same model, answering the same, from new memory; and the allowance the placements leave
on paired ratios (judge.stats.instance_allowance)."""

from __future__ import annotations

import math

import pytest
import torch

from pytest_llmperf.backends.transformers_backend import TransformersBackend
from pytest_llmperf.judge.stats import instance_allowance
from tests.models import tiny
from tiny_gpt2 import gpt2

GREEDY = {"max_new_tokens": 6, "do_sample": False}


def backend() -> TransformersBackend:
    torch.manual_seed(0)
    tokenizer = tiny.build_tokenizer()
    model = gpt2(tokenizer, n_layer=1, n_embd=16, n_head=2).eval()
    return TransformersBackend("untrained", model, tokenizer, torch.device("cpu"))


def test_placed_afresh_the_weights_move_and_the_answers_stay() -> None:
    model = backend()
    weights = dict(model._model.named_parameters())
    before = {name: p.data_ptr() for name, p in weights.items()}
    values = {name: p.detach().clone() for name, p in weights.items()}
    answer = model.complete("Question: 2 + 2?", GREEDY, seed=0).text

    assert model.places_weights_afresh
    model.place_weights_afresh()

    after = dict(model._model.named_parameters())
    assert all(after[name].data_ptr() != before[name] for name in before)
    assert all(torch.equal(after[name], values[name]) for name in values)
    # tied weights stay one tensor (GPT-2 ties its output layer to its embedding)
    assert model._model.lm_head.weight.data_ptr() == model._model.transformer.wte.weight.data_ptr()
    assert model.complete("Question: 2 + 2?", GREEDY, seed=0).text == answer


def test_a_model_that_cannot_clone_keeps_its_placement_and_says_so(monkeypatch) -> None:
    model = backend()

    def out_of_memory(self):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(torch.Tensor, "clone", out_of_memory)
    model.place_weights_afresh()
    assert not model.places_weights_afresh  # so its ratios get no allowance for it


def test_the_allowance_shrinks_with_the_root_of_the_placements() -> None:
    assert instance_allowance(0.0, 5) == 0.0
    # 3.09 standard deviations of the placements' mean: 0.1% a side, normal
    assert instance_allowance(0.03, 1) == pytest.approx(math.expm1(3.0902 * 0.03), rel=1e-4)
    assert instance_allowance(0.03, 4) == pytest.approx(math.expm1(3.0902 * 0.015), rel=1e-4)
    assert instance_allowance(0.03, 0) == instance_allowance(0.03, 1)
