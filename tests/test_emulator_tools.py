"""Tool calls the OpenAI way: forced, required or mentioned tools get a call whose arguments
validate against the tool's schema, whole and streamed, through the openai SDK and
LangChain."""

from __future__ import annotations

import json
from typing import Any, Literal

import jsonschema
import openai
import pydantic
import pytest

from aimo_magic.emulator import EmulatorHandle
from aimo_magic.emulator.schema import schema_instance

KEY = "aimo-sk-v2-test-0000"
MODEL = "openai/gpt-4o"


class Address(pydantic.BaseModel):
    street: str = pydantic.Field(min_length=12)
    postcode: str | None = None


class Booking(pydantic.BaseModel):
    """Book a table."""

    guests: int = pydantic.Field(ge=50, le=60, multiple_of=7)
    price: float = pydantic.Field(gt=0, lt=1)
    when: str = pydantic.Field(json_schema_extra={"format": "date-time"})
    kind: Literal["lunch", "dinner"]
    tags: list[str] = pydantic.Field(min_length=3, max_length=3)
    address: Address
    notes: list[Address] = []


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
BOOKING = {
    "type": "function",
    "function": {"name": "book_table", "parameters": Booking.model_json_schema()},
}


def sdk(emulator: EmulatorHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.base_url + "/v1", api_key=KEY, max_retries=0)


def forced(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def call(emulator: EmulatorHandle, prompt: str, **params: Any) -> Any:
    return sdk(emulator).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": prompt}], **params
    )


SCHEMAS = [
    WEATHER["function"]["parameters"],
    Booking.model_json_schema(),
    {"type": "array", "items": {"type": "integer"}, "minItems": 3, "uniqueItems": True},
    {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 100}]},
    {"allOf": [{"$ref": "#/$defs/a"}, {"required": ["b"]}], "$defs": {"a": {"type": "object"}}},
    {"type": ["null", "string"], "format": "email", "maxLength": 40},
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "required": ["kids"],
            }
        },
        "$ref": "#/$defs/node",
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_instances_validate_against_their_schema(schema: dict[str, Any]) -> None:
    jsonschema.validate(schema_instance(schema), schema)


def test_a_forced_tool_is_called_with_valid_arguments(emulator: EmulatorHandle) -> None:
    completion = call(
        emulator, "Book me something", tools=[WEATHER, BOOKING], tool_choice=forced("book_table")
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    tool_call = choice.message.tool_calls[0]
    assert tool_call.type == "function" and tool_call.id.startswith("call_")
    assert tool_call.function.name == "book_table"
    Booking.model_validate_json(tool_call.function.arguments)
    jsonschema.validate(json.loads(tool_call.function.arguments), Booking.model_json_schema())
    assert completion.usage is not None and completion.usage.completion_tokens > 5


def test_a_streamed_tool_call_comes_in_openai_deltas(emulator: EmulatorHandle) -> None:
    chunks = list(
        call(
            emulator,
            "Weather please",
            tools=[WEATHER],
            tool_choice=forced("get_weather"),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    first = deltas[0].tool_calls
    assert first is not None and first[0].index == 0
    assert first[0].id is not None and first[0].id.startswith("call_")
    assert first[0].type == "function" and first[0].function is not None
    assert first[0].function.name == "get_weather"
    pieces = [d.tool_calls[0] for d in deltas[1:] if d.tool_calls]
    assert len(pieces) > 3, "arguments come in pieces"
    assert all(p.id is None and p.function is not None and not p.function.name for p in pieces)
    arguments = "".join(p.function.arguments or "" for p in pieces if p.function)
    jsonschema.validate(json.loads(arguments), WEATHER["function"]["parameters"])
    assert all(not d.content for d in deltas)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    whole = call(emulator, "Weather please", tools=[WEATHER], tool_choice=forced("get_weather"))
    assert whole.usage is not None and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_the_sdk_stream_helper_assembles_the_call(emulator: EmulatorHandle) -> None:
    with sdk(emulator).chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        tools=[BOOKING],
        tool_choice="required",
        stream_options={"include_usage": True},  # OpenAI's layout: finish_reason in choices
    ) as stream:
        final = stream.get_final_completion()
    tool_calls = final.choices[0].message.tool_calls
    assert tool_calls is not None and tool_calls[0].function.name == "book_table"
    Booking.model_validate_json(tool_calls[0].function.arguments)
    assert final.choices[0].finish_reason == "tool_calls"


def test_the_rule_for_auto_required_and_none(emulator: EmulatorHandle) -> None:
    tools = [WEATHER, BOOKING]

    def tool_name(prompt: str, **params: Any) -> str | None:
        message = call(emulator, prompt, tools=tools, **params).choices[0].message
        return message.tool_calls[0].function.name if message.tool_calls else None

    assert tool_name("What's it like outside?") is None
    assert tool_name("Use book_table for four", tool_choice="auto") == "book_table"
    assert tool_name("Call GET_WEATHER for Oslo") == "get_weather"
    assert tool_name("get_weatherman") is None
    assert tool_name("anything", tool_choice="required") == "get_weather"
    assert tool_name("please book_table", tool_choice="required") == "book_table"
    assert tool_name("get_weather now", tool_choice="none") is None
    answered = [
        {"role": "user", "content": "get_weather for Oslo"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    after = sdk(emulator).chat.completions.create(model=MODEL, messages=answered, tools=tools)
    assert after.choices[0].finish_reason == "stop" and after.choices[0].message.content


def test_bad_tool_requests_get_a_400(emulator: EmulatorHandle) -> None:
    with pytest.raises(openai.BadRequestError, match="not among the 'tools'"):
        call(emulator, "hi", tools=[WEATHER], tool_choice=forced("nope"))
    with pytest.raises(openai.BadRequestError, match="type 'function'"):
        call(emulator, "hi", tools=[{"type": "web_search"}])


def test_langchain_function_calling_structured_output(emulator: EmulatorHandle) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    model = langchain_openai.ChatOpenAI(
        model=MODEL, base_url=emulator.base_url + "/v1", api_key=KEY, max_retries=0
    )
    structured = model.with_structured_output(Booking, method="function_calling")
    booking = structured.invoke("Book a table for dinner")
    assert isinstance(booking, Booking)
    assert booking.kind == "dinner", "the enum value the prompt names"
    assert 50 <= booking.guests <= 60
