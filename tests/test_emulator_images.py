"""The emulator reads image parts as a vision model's server would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from image_samples import encoded, image_part
from test_emulator import chat, open_client

from aimo_magic.emulator import EmulatorHandle


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[httpx2.Client]:
    with open_client(emulator) as c:
        yield c


def parts(text: str, *images: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}, *images]


def test_echo_reports_count_types_and_pixel_sizes(client: httpx2.Client) -> None:
    response = chat(client, parts("look ::echo", image_part(64, 32), image_part(20, 10, "JPEG")))
    assert response.status_code == 200, response.text
    facts = json.loads(response.json()["choices"][0]["message"]["content"])["images"]
    assert facts["count"] == 2
    assert [(i["mime"], i["width"], i["height"]) for i in facts["items"]] == [
        ("image/png", 64, 32),
        ("image/jpeg", 20, 10),
    ]
    assert facts["items"][0]["bytes"] == len(encoded(64, 32))


def test_echo_without_images_says_none(client: httpx2.Client) -> None:
    facts = json.loads(chat(client, "::echo").json()["choices"][0]["message"]["content"])
    assert facts["images"] == {"count": 0, "items": []}


def test_the_default_answer_mentions_the_image(client: httpx2.Client) -> None:
    response = chat(client, parts("What is in this chart?", image_part(300, 200)))
    text = response.json()["choices"][0]["message"]["content"]
    assert text.startswith("I received an image (image/png, 300×200 px)")
    plain = chat(client, "What is in this chart?").json()["choices"][0]["message"]["content"]
    assert "I received" not in plain


def test_text_only_models_answer_400_as_the_api_does(client: httpx2.Client) -> None:
    for model in ("DeepSeek-V3-1", "anthropic/claude-3.5-haiku"):
        response = chat(client, parts("hi", image_part(8, 8)), model=model)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert f"Model '{model}' does not support image input" in error["message"]
    assert chat(client, "hi", model="DeepSeek-V3-1").status_code == 200


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("data:image/png;base64,!!!", "invalid base64"),
        ("data:image/png;base64,AAAA", "invalid image data"),
        ("data:text/plain;base64,AAAA", "invalid image type"),
        ("ftp://example.org/x.png", "must be https:// or data:"),
    ],
)
def test_broken_image_data_gets_400(client: httpx2.Client, url: str, words: str) -> None:
    response = chat(client, parts("hi", {"type": "image_url", "image_url": {"url": url}}))
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert "messages[0].content[1]" in response.json()["error"]["message"]


def test_remote_urls_are_accepted_without_a_size(client: httpx2.Client) -> None:
    url = "https://example.org/chart.png"
    response = chat(client, parts("::echo", {"type": "image_url", "image_url": {"url": url}}))
    facts = json.loads(response.json()["choices"][0]["message"]["content"])["images"]
    unknown = {"mime": None, "width": None, "height": None, "bytes": None}
    assert facts["items"] == [{**unknown, "url": url}]
