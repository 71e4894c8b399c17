"""Directives in the last user message choose the emulator's answer and pace."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx2
import pytest
from image_samples import data_url, encoded
from test_emulator import KEY, chat, open_client, stream_events, streamed_text

from aimo_magic.emulator import DIRECTIVES, EmulatorHandle


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[httpx2.Client]:
    with open_client(emulator) as c:
        yield c


def answer(client: httpx2.Client, content: str, **body: object) -> str:
    response = chat(client, content, **body)
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


def test_every_directive_is_documented() -> None:
    import aimo_magic.emulator as package

    assert package.__doc__ is not None
    for name in DIRECTIVES:
        assert name.split()[0] in package.__doc__


def test_echo_reports_the_request_without_the_key(client: httpx2.Client) -> None:
    response = client.post(
        "/v1/chat/completions",
        headers={"X-Request-ID": "echo-1"},
        json={
            "model": "DeepSeek-V3-1",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "second ::echo"},
            ],
            "temperature": 0.3,
            "max_tokens": 4000,
            "top_p": 0.9,
            "sort": "price",
            "stream": False,
        },
    )
    text = response.json()["choices"][0]["message"]["content"]
    assert KEY not in text
    facts = json.loads(text)
    assert facts["model_requested"] == "DeepSeek-V3-1"
    assert facts["model_served"] == response.json()["model"]
    assert facts["provider_id"] == facts["model_served"].split(":")[0]
    assert facts["message_count"] == 4
    assert facts["messages"][2] == {"role": "assistant", "content": "ok"}
    assert facts["system_prompt"] == "Be brief."
    assert facts["parameters"] == {
        "temperature": 0.3,
        "max_tokens": 4000,
        "top_p": 0.9,
        "sort": "price",
        "stream": False,
    }
    assert facts["headers"]["x-request-id"] == "echo-1"
    assert facts["headers"]["authorization_present"] is True


def test_echo_shows_stream_options_when_streamed(client: httpx2.Client) -> None:
    options = {"include_usage": True}
    events = stream_events(client, "::echo", stream_options=options)
    facts = json.loads(streamed_text(events))
    assert facts["parameters"] == {"stream": True, "stream_options": options}


def test_json_response_formats_get_valid_json(client: httpx2.Client) -> None:
    data = json.loads(answer(client, "list fruit", response_format={"type": "json_object"}))
    assert data["topic"] == "list fruit"
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"enum": ["cat", "dog"]},
        },
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "pet", "schema": schema}}
    pet = json.loads(answer(client, "a pet cat ::code rust", response_format=fmt))
    assert set(pet) == {"name", "age", "tags", "kind"}
    assert isinstance(pet["age"], int) and pet["kind"] == "cat", "the enum value the prompt names"
    echoed = json.loads(answer(client, "::echo", response_format={"type": "json_object"}))
    assert echoed["parameters"]["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("language", ["python", "rust", "sql", "bash", "haskell"])
def test_code_gives_one_sentence_and_one_block(client: httpx2.Client, language: str) -> None:
    text = answer(client, f"Show recursion ::code {language}")
    sentence, fence, rest = text.partition(f"\n\n```{language}\n")
    assert fence and sentence.count(".") == 1 and "\n" not in sentence
    assert rest.count("```") == 1 and rest.rstrip().endswith("```")


def test_hostile_is_full_of_hostile_html(client: httpx2.Client) -> None:
    text = answer(client, "::hostile")
    for needle in (
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=",
        "<svg onload=alert(1)>",
        "<style>body{display:none}</style>",
        "<div onclick=",
        "data:text/html;base64,",
    ):
        assert needle in text


def test_long_gives_about_n_kilobytes(client: httpx2.Client) -> None:
    text = answer(client, "databases ::long 30")
    assert 30 * 1024 <= len(text) < 33 * 1024
    assert len(re.findall(r"^## Section", text, re.M)) > 10
    assert text.count("```") >= 20 and text.count("| a") > 10
    sections = re.findall(r"^## Section \d+: (.*)$", text, re.M)
    assert len(set(sections)) == len(sections)


@pytest.mark.parametrize("count", [0, 1, 37, 500])
def test_words_gives_exactly_n_words(client: httpx2.Client, count: int) -> None:
    assert len(answer(client, f"::words {count}").split()) == count


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("::long lots", "::long needs a number"),
        ("::words -3", "::words"),
        ("::pace fast", "::pace needs a number"),
        ("::fault", "::fault needs a spec"),
        ("::fault explode", "unknown fault 'explode'"),
    ],
)
def test_bad_directives_get_a_400_that_says_what_to_write(
    client: httpx2.Client, content: str, message: str
) -> None:
    response = chat(client, content)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_only_the_last_user_message_counts(client: httpx2.Client) -> None:
    response = client.post(
        "/v1/chat/completions",
        json={
            "model": "openai/gpt-4o",
            "messages": [
                {"role": "user", "content": "::words 3"},
                {"role": "assistant", "content": "a b c"},
                {"role": "user", "content": [{"type": "text", "text": "::words 5"}]},
            ],
        },
    )
    assert len(response.json()["choices"][0]["message"]["content"].split()) == 5


def elapsed_streaming(client: httpx2.Client, content: str, **headers: str) -> float:
    started = time.monotonic()
    events = stream_events(client, content, headers=headers)
    assert events[-1] == "[DONE]"
    return time.monotonic() - started


def test_pace_and_latency_slow_the_stream_down(client: httpx2.Client) -> None:
    # Lower bounds only: the server sleeps at least this long, however busy the machine.
    assert elapsed_streaming(client, "::words 19 ::pace 100") >= 19 / 100
    assert elapsed_streaming(client, "::words 1 ::latency 300") >= 0.3
    headers = {"X-Emulator-Tokens-Per-Second": "100", "X-Emulator-Latency-Ms": "100"}
    assert elapsed_streaming(client, "::words 19", **headers) >= 0.1 + 19 / 100


def test_image_parts_count_and_are_shortened_in_echo(client: httpx2.Client) -> None:
    image = data_url(120, 80)
    parts = [
        {"type": "text", "text": "what is this ::echo"},
        {"type": "image_url", "image_url": {"url": image}},
    ]
    with_image = chat(client, parts)
    text_only = chat(client, "what is this ::echo")
    usage = with_image.json()["usage"]
    assert usage["prompt_tokens"] == text_only.json()["usage"]["prompt_tokens"] + 85
    facts = json.loads(with_image.json()["choices"][0]["message"]["content"])
    url = facts["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,iVBOR") and len(url) < 100
    assert facts["images"] == {
        "count": 1,
        "items": [
            {"mime": "image/png", "width": 120, "height": 80, "bytes": len(encoded(120, 80))}
        ],
    }
