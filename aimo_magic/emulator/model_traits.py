"""How good and how fast each emulator model is, and how its providers differ.

So that an evaluation run against the emulator shows what one run against AiMo would
(models that differ, a price/quality frontier, providers of one model that disagree),
every model has an *accuracy* on questions with a checkable answer and *timing factors*,
and every provider shifts both a little (a provider may serve a quantised copy, or sit on
slower hardware). The figures are made up but plausible, and fixed: the same in every run.
Models and providers not in the tables get figures from a hash of their names.
"""

from __future__ import annotations

from dataclasses import dataclass

from aimo_magic.emulator.seeds import stable_fraction

MODEL_ACCURACY: dict[str, float] = {
    "openai/gpt-4o": 0.96,
    "openai/gpt-4o-mini": 0.86,
    "openai/gpt-4.1": 0.95,
    "google/gemini-2.5-pro": 0.97,
    "google/gemini-2.5-flash": 0.9,
    "anthropic/claude-sonnet-4": 0.96,
    "anthropic/claude-3.5-haiku": 0.84,
    "meta-llama/llama-3.3-70b-instruct": 0.8,
    "mistralai/mistral-small-3.1-24b-instruct": 0.74,
    "qwen/qwen3-coder": 0.85,
    "DeepSeek-V3-1": 0.92,
    "DeepSeek-R1-Distill-Qwen-32B": 0.7,
    "gpt-oss-120b": 0.88,
    "Llama-3.2-11B-Vision-Instruct": 0.6,
}
PROVIDER_ACCURACY_SHIFT: dict[str, float] = {
    "nebula-gpu": 0.0,
    "solstice-labs": -0.03,
    "atlas-infer": -0.05,
    "helios-compute": -0.04,
    "quasar-nodes": -0.06,
    "akash-ml": -0.09,
}
# (first-token latency factor, tokens-per-second factor): 1.0 is the server's own pace.
MODEL_TIMING: dict[str, tuple[float, float]] = {
    "openai/gpt-4o": (1.0, 1.0),
    "openai/gpt-4o-mini": (0.6, 1.6),
    "openai/gpt-4.1": (1.1, 0.9),
    "google/gemini-2.5-pro": (1.5, 0.8),
    "google/gemini-2.5-flash": (0.5, 2.0),
    "anthropic/claude-sonnet-4": (1.2, 0.85),
    "anthropic/claude-3.5-haiku": (0.6, 1.5),
    "meta-llama/llama-3.3-70b-instruct": (0.9, 1.1),
    "mistralai/mistral-small-3.1-24b-instruct": (0.5, 1.8),
    "qwen/qwen3-coder": (1.0, 1.0),
    "DeepSeek-V3-1": (1.3, 0.8),
    "DeepSeek-R1-Distill-Qwen-32B": (0.8, 1.2),
    "gpt-oss-120b": (0.9, 1.3),
    "Llama-3.2-11B-Vision-Instruct": (0.7, 1.4),
}
PROVIDER_TIMING: dict[str, tuple[float, float]] = {
    "nebula-gpu": (1.0, 1.0),
    "solstice-labs": (1.2, 0.9),
    "atlas-infer": (0.9, 1.1),
    "helios-compute": (1.1, 1.2),
    "quasar-nodes": (0.8, 0.9),
    "akash-ml": (1.6, 0.7),
}


@dataclass(frozen=True)
class Timing:
    """Factors on the server's first-token latency and streaming pace."""

    latency: float
    speed: float


def model_accuracy(model: str) -> float:
    if model in MODEL_ACCURACY:
        return MODEL_ACCURACY[model]
    return round(0.55 + 0.35 * stable_fraction("accuracy", model), 3)


def provider_shift(provider: str) -> float:
    if provider in PROVIDER_ACCURACY_SHIFT:
        return PROVIDER_ACCURACY_SHIFT[provider]
    return round(-0.08 * stable_fraction("shift", provider), 3)


def accuracy(model: str, provider: str) -> float:
    """How often ``model`` served by ``provider`` gets a checkable answer right."""
    return min(1.0, max(0.0, model_accuracy(model) + provider_shift(provider)))


def _factors(table: dict[str, tuple[float, float]], name: str) -> tuple[float, float]:
    if name in table:
        return table[name]
    return (
        round(0.6 + 0.9 * stable_fraction("latency", name), 2),
        round(0.6 + 0.9 * stable_fraction("speed", name), 2),
    )


def timing(model: str, provider: str) -> Timing:
    """How much slower to start (latency) and faster to stream (speed) than the server's
    own pace ``model`` is when ``provider`` serves it."""
    model_latency, model_speed = _factors(MODEL_TIMING, model)
    provider_latency, provider_speed = _factors(PROVIDER_TIMING, provider)
    return Timing(model_latency * provider_latency, model_speed * provider_speed)
