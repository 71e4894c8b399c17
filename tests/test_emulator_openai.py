"""Conformance: the official openai SDK talks to the emulator unchanged."""

from __future__ import annotations

import openai
import pytest

from aimo_magic.emulator import BROKE_KEY, EmulatorHandle

KEY = "aimo-sk-v2-test-0000"


def sdk(emulator: EmulatorHandle, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.base_url + "/v1", api_key=key, max_retries=0)


def test_sdk_non_streaming(emulator: EmulatorHandle) -> None:
    completion = sdk(emulator).chat.completions.create(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "::words 12"}]
    )
    assert completion.choices[0].message.content is not None
    assert len(completion.choices[0].message.content.split()) == 12
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.model.endswith(":openai/gpt-4o")


def test_sdk_streaming_both_layouts(emulator: EmulatorHandle) -> None:
    client = sdk(emulator)
    messages = [{"role": "user", "content": "Streaming works"}]
    whole = client.chat.completions.create(model="DeepSeek-V3-1", messages=messages)
    aimo = list(
        client.chat.completions.create(model="DeepSeek-V3-1", messages=messages, stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in aimo if c.choices)
    assert text == whole.choices[0].message.content
    assert aimo[-1].model_extra is not None
    assert aimo[-1].model_extra["finish_reason"] == "stop"
    openai_way = list(
        client.chat.completions.create(
            model="DeepSeek-V3-1",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert openai_way[-1].choices == []
    assert openai_way[-1].usage is not None and whole.usage is not None
    assert openai_way[-1].usage.total_tokens == whole.usage.total_tokens
    assert openai_way[-2].choices[0].finish_reason == "stop"


def test_sdk_sees_aimo_errors(emulator: EmulatorHandle) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        sdk(emulator).chat.completions.create(
            model="nobody/nothing", messages=[{"role": "user", "content": "hi"}]
        )
    assert "nobody/nothing" in str(not_found.value)
    with pytest.raises(openai.APIStatusError) as broke:
        sdk(emulator, BROKE_KEY).chat.completions.create(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert broke.value.status_code == 402
    assert "Insufficient balance" in str(broke.value)


def test_sdk_lists_models_in_the_openai_shape(emulator: EmulatorHandle) -> None:
    page = sdk(emulator).models.list(extra_query={"shape": "openai"})
    assert "openai/gpt-4o" in [m.id for m in page.data]


def test_sdk_lists_model_ids_in_the_aimo_shape(emulator: EmulatorHandle) -> None:
    page = sdk(emulator).models.list()
    ids = [m.id for m in page.data]
    assert None not in ids
    assert {"openai/gpt-4o", "DeepSeek-V3-1"} <= set(ids)
    assert all(m.id == (m.model_extra or {}).get("name") for m in page.data)
