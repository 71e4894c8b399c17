"""What a model can take, checked before sending: images for text-only models, prompts
larger than a model's listed context. The rules on their own, then ``aimo_magic.compare``
against the emulator on loopback (the cells are tested in a kernel: test_cell_magic.py,
test_images_kernel.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import aimo_magic
from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.model_fit import DoesNotFit, context_refusal, image_refusal
from aimo_magic.core.types import Model
from aimo_magic.emulator import EmulatorHandle

CATALOGUE = parse_catalogue(
    {
        "data": [
            {
                "name": "vision",
                "context_length": 8_000,
                "architecture": {
                    "input_modalities": ["text", "image"],
                    "output_modalities": ["text"],
                },
            },
            {
                "name": "words",
                "context_length": 32_000,
                "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            },
            {"name": "long", "context_length": 1_000_000},
            {"name": "unlisted"},
        ]
    }
)
VISION, WORDS, LONG, UNLISTED = CATALOGUE


def test_images_are_refused_for_text_only_models_and_only_them() -> None:
    assert image_refusal([VISION], 1, CATALOGUE) is None
    assert image_refusal([WORDS], 0, CATALOGUE) is None, "no image, nothing to refuse"
    assert image_refusal([None], 2, CATALOGUE) is None, "unchecked: the server decides"
    alone = image_refusal([WORDS], 2, CATALOGUE)
    assert alone == (
        "words takes text only, so 2 images were not sent; models that take images: "
        "vision (e.g. `%%aimo vision`)."
    )
    # "long" lists no modalities: it is not refused, the server decides.
    compared = image_refusal([VISION, WORDS, LONG], 1, CATALOGUE)
    assert compared == (
        "words takes text only, so the image was not sent to any of the compared models; "
        "leave it out of the comparison, or compare models that take images: vision."
    )
    two = image_refusal([WORDS, Model(name="plain", display_name="Plain")], 1, [])
    assert two is not None and two.startswith("words and plain take text only")
    assert "leave them out of the comparison." in two


def test_a_prompt_larger_than_a_context_is_refused_naming_larger_ones() -> None:
    assert context_refusal([WORDS], 32_000, CATALOGUE) is None, "exactly full still fits"
    assert context_refusal([UNLISTED, None], 10**9, CATALOGUE) is None, "no context listed"
    line = context_refusal([VISION, WORDS, LONG], 40_000, CATALOGUE)
    assert line == (
        "The prompt is about 40,000 tokens, but the contexts of vision (8,000) and words "
        "(32,000) hold fewer, so nothing was sent: send part of the data ({df.head()}) or a "
        "summary ({df.describe()}) instead of all of it, or pick a model with a larger "
        "context (long holds 1,000,000)."
    )
    none_fit = context_refusal([LONG], 2_000_000, CATALOGUE, what="Row 3's prompt")
    assert none_fit is not None and none_fit.startswith("Row 3's prompt is about 2,000,000")
    assert none_fit.endswith("instead of all of it; no listed model has a context that large.")


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_requests()
    yield emulator


def picture() -> Image.Image:
    return Image.linear_gradient("L").resize((64, 48))


def test_compare_refuses_images_for_a_text_only_model_before_sending(
    emu: EmulatorHandle,
) -> None:
    buffer = io.BytesIO()
    picture().save(buffer, format="PNG")
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is it?"},
                aimo_magic.image(buffer.getvalue()),
            ],
        }
    ]
    with pytest.raises(DoesNotFit, match="DeepSeek-V3-1 takes text only") as refused:
        aimo_magic.compare(
            messages, "openai/gpt-4o,DeepSeek-V3-1", api_key=emu.api_key, base_url=emu.base_url
        )
    assert isinstance(refused.value, ValueError)
    assert emu.requests == []


def test_compare_refuses_a_prompt_larger_than_a_context_before_sending(
    emu: EmulatorHandle,
) -> None:
    huge = "word " * 160_000
    with pytest.raises(DoesNotFit, match="DeepSeek-V3-1's context holds 163,840"):
        aimo_magic.compare(
            huge, "openai/gpt-4.1,DeepSeek-V3-1", api_key=emu.api_key, base_url=emu.base_url
        )
    assert emu.requests == []


def test_models_without_a_catalogue_entry_are_not_refused() -> None:
    assert isinstance(UNLISTED, Model) and UNLISTED.takes_images is None
    assert image_refusal([UNLISTED], 3, CATALOGUE) is None


@pytest.fixture
def batch_env(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> EmulatorHandle:
    for name, value in {
        "AIMO_API_KEY": emu.api_key,
        "AIMO_BASE_URL": emu.base_url,
        "AIMO_CACHE_DIR": str(tmp_path / "cache"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AIMO_MODEL", raising=False)
    return emu


def test_a_batch_refuses_rows_larger_than_the_context_before_the_first_request(
    batch_env: EmulatorHandle,
) -> None:
    import pandas as pd

    huge = "word " * 160_000  # about 200,000 tokens
    rows = pd.Series(["short", huge, "short too", huge + huge], index=["a", "b", "c", "d"])
    with pytest.raises(DoesNotFit) as refused:
        aimo_magic.batch("Summarise: {}", rows, model="DeepSeek-V3-1", progress=False)
    line = str(refused.value)
    assert line.startswith("2 rows do not fit (rows b, d). Row d's prompt is about 400,0"), line
    assert "but DeepSeek-V3-1's context holds 163,840, so nothing was sent" in line
    assert "shorten what the rows put in the prompt" in line and "openai/gpt-4.1" in line
    assert batch_env.requests == []
    answered = aimo_magic.batch("Summarise: {}", rows, model="openai/gpt-4.1", progress=False)
    assert answered.notna().all() and len(batch_env.requests) == 4


def test_a_rows_size_is_a_lower_bound_that_formats_nothing() -> None:
    from aimo_magic.batching.template import Template

    class Loud:
        def __format__(self, spec: str) -> str:
            raise AssertionError("measuring a row must not format its values")

    template = Template("About {name!r}: {text:.100} ({price:>12.2f}) {obj}")
    row = {"name": "lamp", "text": "x" * 5_000, "price": 2.5, "obj": Loud()}
    assert template.least_chars(row) == len("About : ") + 4 + 100 + len(" () ") + 0
    assert Template("{}").least_chars("word " * 3) == 15


def test_a_row_cut_by_its_format_spec_is_not_refused(batch_env: EmulatorHandle) -> None:
    rows = [{"text": "word " * 160_000}]
    values = aimo_magic.batch(
        "Summarise: {text:.2000}", rows, model="DeepSeek-V3-1", progress=False
    )
    assert values[0] is not None and len(batch_env.requests) == 1
