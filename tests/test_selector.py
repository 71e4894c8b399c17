"""The model selector driven in-process against real servers on loopback.

The widgets run without a frontend: setting a part's value is what a click or a
keystroke in the browser does to the kernel-side model, so the handlers run for real.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from html import escape
from html.parser import HTMLParser
from typing import Any

import pytest
from hostile_catalogue import HOSTILE_KEY, HOSTILE_NAME

from aimo_magic.core.resolution import Choices
from aimo_magic.core.types import Model, Pricing, ProviderOffer
from aimo_magic.emulator import EmulatorHandle, provider_id, start
from aimo_magic.emulator.served_models import DEFAULT_CATALOGUE, build_catalogue
from aimo_magic.magics.aimo_magics import AimoMagics
from aimo_magic.magics.cmd import dispatch
from aimo_magic.session import AimoSession
from aimo_magic.widgets import labels
from aimo_magic.widgets.search import MAX_SHOWN
from aimo_magic.widgets.selector import ModelSelector

KEY = "aimo-sk-v2-test-0000"
LLAMA = "meta-llama/llama-3.3-70b-instruct"
HELIOS_LLAMA = f"{provider_id('helios-compute')}:{LLAMA}"
AKASH_DEEPSEEK = f"{provider_id('akash-ml')}:DeepSeek-V3-1"


@pytest.fixture(autouse=True)
def no_aimo_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIMO_API_KEY", "AIMO_BASE_URL", "AIMO_MODEL", "AIMO_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def make_magics(**settings: Any) -> AimoMagics:
    """Settings are applied after construction: the session exists only then."""
    made = AimoMagics(shell=None)
    made.max_retries = 0
    for name, value in settings.items():
        setattr(made, name, value)
    return made


def bare_session(server: EmulatorHandle) -> tuple[AimoSession, Choices]:
    """A session with no magics around it, as plain Python code would have."""
    session = AimoSession()
    session.explicit_key = KEY
    return session, Choices(base_url=server.base_url, timeout=10, max_retries=0)


@pytest.fixture
def magics(emulator: EmulatorHandle) -> Iterator[AimoMagics]:
    made = make_magics(base_url=emulator.base_url, api_key=KEY)
    yield made
    made.session.close()


@pytest.fixture
def opened() -> Iterator[Callable[..., ModelSelector]]:
    """Make selectors that are closed after the test, as a notebook user would."""
    made: list[ModelSelector] = []

    def open_selector(**kwargs: Any) -> ModelSelector:
        selector = ModelSelector(**kwargs)
        made.append(selector)
        return selector

    yield open_selector
    for selector in made:
        selector.close()


@pytest.fixture(scope="module")
def big_emulator() -> Iterator[EmulatorHandle]:
    with start(catalogue_size=500) as handle:
        yield handle


def shown_names(selector: ModelSelector) -> list[str]:
    return [value for _, value in selector.models.options]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Searching -------------------------------------------------------------------------
def test_typing_filters_by_name_provider_modality_and_every_word(
    magics: AimoMagics, opened: Callable[..., ModelSelector]
) -> None:
    selector = opened(magics=magics)
    assert selector.loaded
    assert shown_names(selector) == [m.name for m in DEFAULT_CATALOGUE]
    assert selector.search.continuous_update is True

    selector.search.value = "quasar"
    assert shown_names(selector) == ["qwen/qwen3-coder", "DeepSeek-V3-1", "gpt-oss-120b"]

    selector.search.value = "image"
    assert shown_names(selector) == [m.name for m in DEFAULT_CATALOGUE if m.image_input]

    selector.search.value = "  LLAMA   Free "
    assert shown_names(selector) == [LLAMA, "Llama-3.2-11B-Vision-Instruct"]
    assert "2 of 14 models match" in selector.status.value

    selector.search.value = "OpenAI: GPT-4o mini"
    assert shown_names(selector) == ["openai/gpt-4o-mini"]

    selector.search.value = "llama xyz"
    assert shown_names(selector) == []
    assert "No model matches “llama xyz”" in selector.status.value
    assert selector.providers.options == ()
    assert selector.selected_id is None
    assert selector.use_button.disabled


def test_labels_carry_display_name_context_and_modalities(
    magics: AimoMagics, opened: Callable[..., ModelSelector]
) -> None:
    selector = opened(magics=magics, search="gpt-4o-mini")
    [(label, value)] = selector.models.options
    assert value == "openai/gpt-4o-mini"
    assert label == "OpenAI: GPT-4o mini · openai/gpt-4o-mini · 128,000 ctx · text+image → text"


def test_hundreds_of_models_show_a_capped_list_that_search_narrows(
    big_emulator: EmulatorHandle, opened: Callable[..., ModelSelector]
) -> None:
    session, options = bare_session(big_emulator)
    selector = opened(session=session, options=options)
    catalogue = build_catalogue(500)
    assert shown_names(selector) == [m.name for m in catalogue[:MAX_SHOWN]]
    assert f"{500 - MAX_SHOWN} more, refine the search" in selector.status.value

    selector.search.value = "kestrel 70b"
    expected = [
        m.name for m in catalogue if "kestrel" in m.name and "70b" in m.display_name.lower()
    ]
    assert 0 < len(expected) < MAX_SHOWN
    assert shown_names(selector) == expected
    assert "more, refine" not in selector.status.value
    session.close()


# Choosing ---------------------------------------------------------------------------
def test_choosing_a_provider_sets_the_pinned_id_as_the_default(
    magics: AimoMagics, opened: Callable[..., ModelSelector]
) -> None:
    selector = opened(magics=magics)
    selector.search.value = "llama 3.3"
    selector.models.value = LLAMA
    options = dict((value, label) for label, value in selector.providers.options)
    assert next(iter(options)) == LLAMA
    assert options[LLAMA] == labels.ROUTE_LABEL
    akash = f"{provider_id('akash-ml')}:{LLAMA}"
    assert options[akash].endswith(": free")
    # The emulator's AiMo-style figures read as dollars per million tokens (core.pricing).
    assert options[HELIOS_LLAMA].endswith("in $0.12 / out $0.30 per 1M tokens")

    selector.providers.value = HELIOS_LLAMA
    assert selector.selected_id == HELIOS_LLAMA
    assert "Selected id: <code>" + HELIOS_LLAMA in selector.details.value
    selector.use_button.click()
    assert magics.model == HELIOS_LLAMA
    assert magics.session.default_model == HELIOS_LLAMA
    assert f"{LLAMA} via helios-compute" in selector.default_label.value

    selector.providers.value = LLAMA
    selector.use_button.click()
    assert magics.session.default_model == LLAMA
    assert "via AiMo routing" in selector.default_label.value


def test_without_magics_a_choice_goes_to_the_session(
    emulator: EmulatorHandle, opened: Callable[..., ModelSelector]
) -> None:
    session, options = bare_session(emulator)
    selector = opened(session=session, options=options, search="deepseek v3")
    selector.providers.value = AKASH_DEEPSEEK
    selector.choose()
    assert session.default_model == AKASH_DEEPSEEK
    session.close()


def test_a_default_set_elsewhere_shows_in_the_open_selector(
    magics: AimoMagics, opened: Callable[..., ModelSelector], capsys: pytest.CaptureFixture[str]
) -> None:
    selector = opened(magics=magics)
    assert "none yet" in selector.default_label.value

    dispatch(magics, f"use {AKASH_DEEPSEEK}")
    assert "Default model" in capsys.readouterr().out
    assert "DeepSeek-V3-1 via akash-ml" in selector.default_label.value
    marked = [v for label, v in selector.models.options if label.startswith(labels.DEFAULT_MARK)]
    assert marked == ["DeepSeek-V3-1"]

    magics.model = "openai/gpt-4o"  # what %config AimoMagics.model = ... does
    assert "openai/gpt-4o via AiMo routing" in selector.default_label.value

    selector.close()
    magics.model = "gpt-oss-120b"
    assert "openai/gpt-4o via AiMo routing" in selector.default_label.value


def test_the_selector_opens_on_the_current_default(
    magics: AimoMagics, opened: Callable[..., ModelSelector]
) -> None:
    magics.model = HELIOS_LLAMA
    selector = opened(magics=magics)
    assert selector.models.value == LLAMA
    assert selector.selected_id == HELIOS_LLAMA
    current = [label for label, value in selector.providers.options if value == HELIOS_LLAMA]
    assert current[0].endswith("[current default]")


def test_aimo_select_returns_a_loaded_selector_on_the_magics_session(
    magics: AimoMagics,
) -> None:
    selector = dispatch(magics, "select qwen coder")
    try:
        assert isinstance(selector, ModelSelector)
        assert selector.session is magics.session
        assert selector.search.value == "qwen coder"
        assert shown_names(selector) == ["qwen/qwen3-coder"]
    finally:
        selector.close()


# Failures ---------------------------------------------------------------------------
def test_without_a_key_the_catalogue_is_browsable_and_the_widget_says_how_to_add_one(
    emulator: EmulatorHandle, opened: Callable[..., ModelSelector]
) -> None:
    magics = make_magics(base_url=emulator.base_url)
    selector = opened(magics=magics)
    assert selector.loaded, "listing models needs no key"
    assert len(selector.models.options) == len(DEFAULT_CATALOGUE)
    assert "No API key is set" in selector.status.value
    assert "%aimo login" in selector.status.value

    magics.api_key = KEY
    selector.refresh_button.click()
    assert "No API key is set" not in selector.status.value
    assert selector.refresh_button.description == "Refresh"
    magics.session.close()


def test_an_unreachable_server_is_one_line_inside_the_widget(
    opened: Callable[..., ModelSelector],
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/api"
    magics = make_magics(base_url=base_url, api_key=KEY, timeout=5.0)
    selector = opened(magics=magics)
    assert f"Could not reach {base_url}" in selector.status.value
    assert "\n" not in selector.status.value
    assert KEY not in selector.status.value
    assert selector.refresh_button.description == "Retry"
    magics.session.close()


def test_a_failed_refresh_keeps_the_list_and_says_why(
    magics: AimoMagics, opened: Callable[..., ModelSelector]
) -> None:
    selector = opened(magics=magics, search="gemini")
    before = selector.models.options
    magics.base_url = f"http://127.0.0.1:{closed_port()}/api"
    selector.refresh_button.click()
    assert "Could not reach" in selector.status.value
    assert selector.models.options == before
    assert selector.refresh_button.description == "Refresh"


def test_a_session_and_foreign_magics_are_refused(magics: AimoMagics) -> None:
    with pytest.raises(ValueError, match="pass only one of them"):
        ModelSelector(session=AimoSession(), magics=magics, load=False)


# Untrusted names -------------------------------------------------------------------
SAFE_TAGS = {"b", "code", "br", "span"}
SNAPSHOT_TAGS = SAFE_TAGS | {"div", "p", "ul", "li"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, [name for name, _ in attrs]))


def assert_only_our_markup(html: str, allowed: set[str] = SAFE_TAGS) -> None:
    parser = _Tags()
    parser.feed(html)
    for tag, attributes in parser.tags:
        assert tag in allowed, (tag, html)
        assert all(not name.startswith("on") for name in attributes), (tag, html)


def test_hostile_names_from_the_server_are_escaped_everywhere(
    hostile_server: str, opened: Callable[..., ModelSelector]
) -> None:
    magics = make_magics(base_url=hostile_server, api_key=KEY)
    selector = opened(magics=magics)
    assert shown_names(selector) == [HOSTILE_NAME]
    assert "\n" not in selector.models.options[0][0]
    selector.providers.value = selector.providers.options[1][1]
    selector.use_button.click()
    assert magics.session.default_model == f"{HOSTILE_KEY}:{HOSTILE_NAME}"
    selector.search.value = "<svg onload"
    assert shown_names(selector) == [HOSTILE_NAME]
    htmls = [selector.status.value, selector.details.value, selector.default_label.value]
    assert "&lt;img src=x onerror=alert(1)&gt;" in selector.details.value
    assert "via &lt;b onmouseover=alert(3)&gt;prov&lt;/b&gt;" in selector.default_label.value
    snapshot = selector._repr_mimebundle_()["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in snapshot
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in snapshot
    assert_only_our_markup(snapshot, SNAPSHOT_TAGS)
    selector.search.value = "<script>nothing"
    htmls.append(selector.status.value)
    assert "&lt;script&gt;" in selector.status.value
    for html in htmls:
        assert_only_our_markup(html)
    magics.session.close()


def test_the_widget_output_carries_an_html_picture_of_the_panel(
    magics: AimoMagics, opened: Callable[..., ModelSelector]
) -> None:
    unloaded = opened(magics=magics, load=False)
    assert labels.LOADING in unloaded._repr_mimebundle_()["text/html"]
    selector = opened(magics=magics, search="llama")
    bundle = selector._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == selector.model_id
    picture = bundle["text/html"]
    assert picture == selector.snapshot_html()
    for label, _ in selector.models.options:
        assert escape(label) in picture
    assert selector.status.value in picture and selector.details.value in picture
    for label, _ in selector.providers.options:
        assert escape(label) in picture
    assert "(prices in USD per 1M tokens, images per image)" in picture
    assert " per 1M tokens" in picture
    assert selector.default_label.value in picture
    assert_only_our_markup(picture, SNAPSHOT_TAGS)


def test_rendering_functions_escape_a_hostile_model() -> None:
    offer = ProviderOffer("k:<i>", "k", "<img src=x onerror=alert(1)>", Pricing(0.0, 0.0))
    model = Model("<i>", "<script>x</script>", providers=(offer,))
    for html in (
        labels.model_details_html(model, offer.id),
        labels.default_html(offer.id, [model]),
        labels.error_html("<img src=x onerror=alert(1)>"),
        labels.count_html(0, 0, 1, "<img src=x onerror=alert(1)>"),
    ):
        assert "<img" not in html and "<script" not in html and "<i>" not in html
        assert_only_our_markup(html)
    assert labels.provider_label(offer) == "<img src=x onerror=alert(1)> (k…): free"


def test_prices_are_shown_as_listed_with_their_unit() -> None:
    assert labels.price_text(Pricing(0.000001, 2.0, None)) == (
        "in 0.000001 / out 2.0 (as reported, per token)"
    )
    assert labels.price_text(Pricing(0.0, 0.0)) == "free"
    assert labels.price_text(None) == "price not listed"
    assert (
        labels.price_text(Pricing(None, 1.0)) == "in not listed / out 1.0 (as reported, per token)"
    )


# Import cost -----------------------------------------------------------------------
def test_loading_the_extension_does_not_import_ipywidgets() -> None:
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'aimo_magic')\n"
        "print('ipywidgets' in sys.modules)\n"
        "import aimo_magic\n"
        "aimo_magic.ModelSelector\n"
        "print('ipywidgets' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
