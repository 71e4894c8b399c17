"""A whole tool loop offline, through the openai SDK over real HTTP: a model offered tools
calls the most fitting one with arguments read from the prompt, answers from the results
it is sent (quoting them), and ``::tool`` directives script exact calls, several per step.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai
import pytest

from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-0000"
MODEL = "openai/gpt-4o"


def function(name: str, description: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            },
        },
    }


WEATHER = function(
    "get_weather",
    "The weather in a city.",
    city={"type": "string", "minLength": 2},
    unit={"type": "string", "enum": ["celsius", "fahrenheit"]},
)
STATS = function(
    "column_stats",
    "Summary statistics of one column of the sales data.",
    column={"type": "string"},
)
CHART = function(
    "save_chart",
    "Plot a column and save the figure to a file.",
    column={"type": "string"},
    path={"type": "string"},
)
BOOKING = function(
    "book_table",
    "Book a table at the restaurant.",
    guests={"type": "integer", "minimum": 1, "maximum": 12},
    day={"type": "string", "enum": ["friday", "saturday", "sunday"]},
)
TOOLS = [WEATHER, STATS, CHART, BOOKING]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def sdk(emulator: EmulatorHandle) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.base_url + "/v1", api_key=KEY, max_retries=0)


def ask(emulator: EmulatorHandle, messages: list[dict[str, Any]], **params: Any) -> Any:
    params.setdefault("tools", TOOLS)
    return sdk(emulator).chat.completions.create(model=MODEL, messages=messages, **params)


def calls_for(emulator: EmulatorHandle, prompt: str, **params: Any) -> list[tuple[str, Any]]:
    message = ask(emulator, [{"role": "user", "content": prompt}], **params).choices[0].message
    return [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]


@pytest.mark.parametrize(
    ("prompt", "name", "arguments"),
    [
        ("What's the weather in Paris?", "get_weather", {"city": "Paris"}),
        ("Weather for Oslo in fahrenheit, please", "get_weather", {"unit": "fahrenheit"}),
        ("Use column_stats on the orders column.", "column_stats", {"column": "orders"}),
        ("Summary statistics of `revenue`, please", "column_stats", {"column": "revenue"}),
        (
            "Plot the revenue column and save the chart as spread.png",
            "save_chart",
            {"column": "revenue", "path": "spread.png"},
        ),
        ("Book a table for 4 guests on saturday", "book_table", {"guests": 4, "day": "saturday"}),
    ],
)
def test_the_most_fitting_tool_is_called_with_arguments_from_the_prompt(
    emulator: EmulatorHandle, prompt: str, name: str, arguments: dict[str, Any]
) -> None:
    ((called, given),) = calls_for(emulator, prompt)
    assert called == name
    jsonschema.validate(given, SCHEMAS[name])
    assert arguments.items() <= given.items(), given
    assert calls_for(emulator, prompt) == [(called, given)], "the same call every time"


def test_a_prompt_no_tool_fits_gets_text(emulator: EmulatorHandle) -> None:
    assert calls_for(emulator, "Hello there, how are you?") == []
    assert calls_for(emulator, "Hello there", tool_choice="none") == []
    ((name, _),) = calls_for(emulator, "Hello there", tool_choice="required")
    assert name == "get_weather", "required: the first when none fits"


def test_the_answer_after_results_quotes_them(emulator: EmulatorHandle) -> None:
    question = "Which column of the sales data varies most?"
    first = ask(emulator, [{"role": "user", "content": question}])
    call = first.choices[0].message.tool_calls[0]
    result = '{"column": "revenue", "std": 22.75, "mean": 131.5}'
    messages = [
        {"role": "user", "content": question},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    final = ask(emulator, messages)
    text = final.choices[0].message.content
    assert final.choices[0].finish_reason == "stop" and not final.choices[0].message.tool_calls
    assert result in text and f"`column_stats({call.function.arguments})`" in text
    assert question in text
    streamed = sdk(emulator).chat.completions.create(
        model=MODEL, messages=messages, tools=TOOLS, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text


def test_tool_directives_script_several_calls_in_one_step_offered_or_not(
    emulator: EmulatorHandle,
) -> None:
    prompt = (
        'Go ::tool column_stats {"column": "units"} ::tool delete_everything {"confirm": true} '
        '::tool column_stats {"column": 5}'
    )
    message = ask(emulator, [{"role": "user", "content": prompt}]).choices[0].message
    scripted = [(c.function.name, c.function.arguments) for c in message.tool_calls]
    assert scripted == [
        ("column_stats", '{"column": "units"}'),
        ("delete_everything", '{"confirm": true}'),  # not offered: for a refusal test
        ("column_stats", '{"column": 5}'),  # does not validate: for a validation test
    ]
    assert len({c.id for c in message.tool_calls}) == 3
    results = [
        {"role": "tool", "tool_call_id": c.id, "content": f"result {n}"}
        for n, c in enumerate(message.tool_calls)
    ]
    messages = [
        {"role": "user", "content": prompt},
        message.model_dump(exclude_none=True),
        *results,
    ]
    text = ask(emulator, messages).choices[0].message.content
    assert all(f"returned: result {n}" in text for n in range(3))


def test_then_separates_scripted_steps(emulator: EmulatorHandle) -> None:
    prompt = '::tool get_weather {"city": "Oslo"} ::then ::tool save_chart {} ::tool x {}'
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    steps = []
    for _ in range(3):
        message = ask(emulator, messages).choices[0].message
        if not message.tool_calls:
            break
        steps.append([c.function.name for c in message.tool_calls])
        messages.append(message.model_dump(exclude_none=True))
        messages += [
            {"role": "tool", "tool_call_id": c.id, "content": f"done {c.function.name}"}
            for c in message.tool_calls
        ]
    assert steps == [["get_weather"], ["save_chart", "x"]]
    assert "done save_chart" in message.content and "done x" in message.content


def test_required_calls_at_every_step_so_a_loop_meets_its_limit(emulator: EmulatorHandle) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather in Rome"}]
    for step in range(4):
        message = ask(emulator, messages, tool_choice="required").choices[0].message
        assert message.tool_calls, f"step {step} calls again"
        messages.append(message.model_dump(exclude_none=True))
        messages.append(
            {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "sunny"}
        )


def test_several_calls_stream_in_openai_deltas(emulator: EmulatorHandle) -> None:
    prompt = '::tool get_weather {"city": "Oslo", "unit": "celsius"} ::tool column_stats {}'
    with sdk(emulator).chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": prompt}],
        tools=TOOLS,
        stream_options={"include_usage": True},
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city": "Oslo", "unit": "celsius"}'),
        ("column_stats", "{}"),
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    whole = ask(emulator, [{"role": "user", "content": prompt}])
    assert final.usage is not None and whole.usage is not None
    assert final.usage.completion_tokens == whole.usage.completion_tokens


def test_a_bad_tool_directive_is_a_400(emulator: EmulatorHandle) -> None:
    with pytest.raises(openai.BadRequestError, match="::tool needs a function name"):
        ask(emulator, [{"role": "user", "content": "::tool {}"}])


def test_an_argument_the_prompt_does_not_give_takes_its_default(emulator: EmulatorHandle) -> None:
    parameters = {
        "type": "object",
        "properties": {
            "column": {"type": "string", "enum": ["revenue", "orders"]},
            "name": {"type": "string", "default": "chart"},
        },
        "required": ["column"],
    }
    chart = {"type": "function", "function": {"name": "save_chart", "parameters": parameters}}
    ((name, given),) = calls_for(
        emulator, "Save a chart of the revenue with save_chart.", tools=[chart]
    )
    assert (name, given) == ("save_chart", {"column": "revenue", "name": "chart"})
