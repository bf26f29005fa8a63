"""Served models: what the plugin's endpoint client adds, and what serving does to ratios.

1. Client overhead. The plugin's EndpointBackend and a bare client (the standard library's
   http.client, reading the stream line by line) ask the same `transformers serve` for the
   same prompt, in pairs whose order a seeded coin picks. Both take end-to-end latency at
   the last chunk and TTFT at the first chunk with text. Ratios near 1.0 mean httpx, the
   stream parsing and the token counting add nothing a user's own client would not see.
2. Dilution. The slow checkpoint's latency ratio to the baseline, measured in process and
   through the server (both models served), in pairs: the server's fixed cost per request
   (HTTP, JSON, the tokenizer, scheduling) is added to both sides and shrinks the ratio.

    python benchmarks/endpoints.py [--pairs N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmperf.backends.endpoint import EndpointBackend
from pytest_llmperf.backends.transformers_backend import TransformersBackend
from pytest_llmperf.judge.stats import paired_ratio
from pytest_llmperf.settings.endpoint_spec import parse_endpoint
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.models.tiny import QUESTIONS, build_all, prompt_for
from tests.servers import serve_checkpoints

GREEDY = {"do_sample": False, "num_beams": 1, "max_new_tokens": 32}


def bare_client_ms(base_url: str, model: str, prompt: str) -> tuple[float, float]:
    """(latency, TTFT) in ms as a user's own minimal client would take them."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    body = json.dumps(
        {"model": model, "prompt": prompt, "max_tokens": 32, "temperature": 0.0, "stream": True}
    )
    started = time.perf_counter()
    connection.request(
        "POST", f"{parts.path}/completions", body, {"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    first = last = None
    for raw in response:
        line = raw.decode().strip()
        if not line.startswith("data:") or line.endswith("[DONE]"):
            continue
        now = time.perf_counter()
        last = now
        chunk = json.loads(line[5:])
        if first is None and any(choice.get("text") for choice in chunk.get("choices", [])):
            first = now
    connection.close()
    assert first is not None and last is not None
    return (last - started) * 1000, (first - started) * 1000


def endpoint(url: str, path: Path) -> EndpointBackend:
    spec = parse_endpoint(f"{path}@{url}", where="--llm-candidate")
    assert spec is not None
    return EndpointBackend.connect(
        spec, flag="--llm-candidate", timeout_s=60, key_env=None, tokenizer_name=None
    )


def client_overhead(url: str, path: Path, pairs: int, seed: int) -> None:
    backend = endpoint(url, path)
    prompt = prompt_for(QUESTIONS[0])
    for _ in range(5):
        backend.complete(prompt, GREEDY, seed)
        bare_client_ms(url, str(path), prompt)
    coin = random.Random(seed)
    plugin, bare = [], []
    for _ in range(pairs):
        if coin.random() < 0.5:
            plugin.append(backend.complete(prompt, GREEDY, seed).run)
            bare.append(bare_client_ms(url, str(path), prompt))
        else:
            bare.append(bare_client_ms(url, str(path), prompt))
            plugin.append(backend.complete(prompt, GREEDY, seed).run)
    backend.close()
    latency = paired_ratio([b[0] for b in bare], [run.latency_ms for run in plugin])
    ttft = paired_ratio([b[1] for b in bare], [run.ttft_ms or 0.0 for run in plugin])
    medians = np.median([run.latency_ms for run in plugin]), np.median([b[0] for b in bare])
    print(
        f"client overhead ({pairs} pairs, {plugin[0].output_tokens} tokens): plugin / bare "
        f"http.client median latency {latency:.3f} ({medians[0]:.2f} vs {medians[1]:.2f} ms), "
        f"TTFT {ttft:.3f}"
    )


def dilution(url: str, paths: dict[str, Path], pairs: int, seed: int) -> None:
    prompts = [prompt_for(question) for question in QUESTIONS]
    local = {
        name: TransformersBackend.load(
            ModelSpec(str(paths[name]), Path.cwd()), Settings(device="cpu")
        )
        for name in ("baseline", "slow")
    }
    served = {name: endpoint(url, paths[name]) for name in ("baseline", "slow")}
    for kind, models in (("in process", local), ("served", served)):
        for model in models.values():
            for prompt in prompts:
                model.complete(prompt, GREEDY, seed)
        coin = random.Random(seed)
        base, slow = [], []
        for index in range(pairs):
            prompt = prompts[index % len(prompts)]
            order = ("baseline", "slow") if coin.random() < 0.5 else ("slow", "baseline")
            for name in order:
                run = models[name].complete(prompt, GREEDY, seed).run
                (base if name == "baseline" else slow).append(run.latency_ms)
        print(
            f"slow / baseline latency, {kind} ({pairs} pairs): {paired_ratio(base, slow):.2f}x "
            f"(medians {np.median(base):.2f} and {np.median(slow):.2f} ms)"
        )
    for model in served.values():
        model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        paths = build_all(root / "checkpoints")
        with serve_checkpoints(root / "serve.log") as url:
            client_overhead(url, paths["baseline"], args.pairs, args.seed)
            dilution(url, paths, args.pairs, args.seed)


if __name__ == "__main__":
    main()
