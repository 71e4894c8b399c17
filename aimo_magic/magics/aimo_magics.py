"""The ``%aimo`` / ``%%aimo`` magics: settings as traitlets, work delegated elsewhere.

Settings live on the class so ``%config AimoMagics.model = "..."`` and
``c.AimoMagics.model = "..."`` in ``ipython_config.py`` both work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Enum, Float, Integer, TraitError, Unicode, observe, validate

from aimo_magic.core.resolution import Choices
from aimo_magic.core.routing import ROUTES
from aimo_magic.magics.cell_options import cell_arguments
from aimo_magic.magics.figures import FigureMemory
from aimo_magic.rendering.bundles import FORMATS
from aimo_magic.session import AimoSession

if TYPE_CHECKING:
    from aimo_magic.magics.ask_context import AskContext


@magics_class
class AimoMagics(Magics):
    """Ask models on the AiMo Network from notebook cells."""

    model = Unicode(None, allow_none=True, help="Default model id or alias (else AIMO_MODEL).").tag(
        config=True
    )
    api_key = Unicode(
        None,
        allow_none=True,
        help="API key; prefer `%aimo login` or AIMO_API_KEY so it never lands in a notebook.",
    ).tag(config=True)
    base_url = Unicode(
        "", help="API base URL (else AIMO_BASE_URL, else https://devnet.aimo.network/api)."
    ).tag(config=True)
    timeout = Float(
        None,
        allow_none=True,
        help="Seconds to wait to connect, and the longest silence allowed in a stream.",
    ).tag(config=True)
    max_retries = Integer(2, help="Retries for transient failures.").tag(config=True)
    history_turns = Integer(50, help="Most past turns sent with a prompt.").tag(config=True)
    history_tokens = Integer(
        0, help="Most estimated tokens of history sent; 0 derives it from the model's context."
    ).tag(config=True)
    image_turns = Integer(
        None,
        allow_none=True,
        min=0,
        help="Send images again only from the newest N earlier turns (None: from every turn).",
    ).tag(config=True)
    render_rate = Float(10.0, help="Display updates per second while streaming.").tag(config=True)
    footer = Bool(True, help="Show model, tokens, cost and timings under answers.").tag(config=True)
    default_format = Enum(FORMATS, "markdown", help="Format when -f is not given.").tag(config=True)
    stream = Bool(True, help="Stream answers (else wait for the whole answer).").tag(config=True)
    cache = Bool(
        False,
        help="Answer %%aimo cells from the answer cache when the same request was answered "
        "before (per cell: --cache / --no-cache; `%aimo cache on|off`).",
    ).tag(config=True)
    cache_dir = Unicode(
        "",
        help="Folder of the answer cache (else AIMO_CACHE_DIR, else the platform's user "
        "cache folder).",
    ).tag(config=True)
    cache_max_mb = Float(
        200.0, help="Largest size of the answer cache in MB; least recently used answers go."
    ).tag(config=True)
    price_unit = Unicode(
        "auto",
        help="How listed prices are read: auto (inferred from the catalogue), token, "
        "thousand or million (USD per that many tokens), or listed (no dollars).",
    ).tag(config=True)
    budget = Float(
        None,
        allow_none=True,
        help="Spending cap for this session, in the unit costs are shown in (None: no cap; "
        "`%aimo budget N|off`). No request is sent that could pass it.",
    ).tag(config=True)
    check_models = Bool(
        True,
        help="Check model ids against the server's model list before sending; "
        "turn off for servers that serve models they do not list.",
    ).tag(config=True)

    tools = Unicode(
        "",
        help="Functions every %%aimo cell offers the model when it names none with --tools "
        "(NAME[,NAME...] or `all`); not offered to --compare and --each cells.",
    ).tag(config=True)

    route = Enum(
        ROUTES,
        "auto",
        help="Which provider answers: auto (AiMo's routing), cheapest (lowest price for the "
        "request), fastest (best measured here); per cell: --route.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        # The session must exist before traitlets applies configured values,
        # because their observers write into it.
        self.session = AimoSession()
        self.figures = FigureMemory()
        self.short_errors = False
        super().__init__(shell=shell, **kwargs)
        self._unsubscribe = self.session.on_default_model(self._default_model_changed)
        self.session.configured = self.request_choices()
        self.session.budget.cap = self.budget
        if self.model:
            self.session.set_default_model(self.model)
        if self.api_key:
            self.session.explicit_key = self.api_key

    def __repr__(self) -> str:
        return f"<AimoMagics model={self.session.default_model!r}>"

    def close(self) -> None:
        """Stop listening to the session and close its client (the extension is unloaded)."""
        self._unsubscribe()
        self.session.close()

    @observe("model")
    def _model_set(self, change: dict[str, Any]) -> None:
        self.session.set_default_model(change["new"] or None)

    @observe("api_key")
    def _key_set(self, change: dict[str, Any]) -> None:
        """Move a configured key into the session and out of the trait, so that
        ``%config AimoMagics`` (which prints every trait's value) never shows it."""
        if change["new"]:
            self.session.explicit_key = change["new"]
            self.api_key = None

    def _default_model_changed(self, model_id: str | None) -> None:
        if self.model != model_id:
            self.model = model_id

    def request_choices(self) -> Choices:
        """What these settings choose for requests (the session resolves them)."""
        return Choices(
            base_url=self.base_url or None,
            timeout=self.timeout,
            max_retries=self.max_retries,
            check_models=self.check_models,
            cache_dir=self.cache_dir or None,
            cache_max_mb=self.cache_max_mb,
            route=self.route,
            price_unit=self.price_unit,
        )

    @observe(
        "base_url",
        "timeout",
        "max_retries",
        "check_models",
        "cache_dir",
        "cache_max_mb",
        "route",
        "price_unit",
    )
    def _request_setting_set(self, change: dict[str, Any]) -> None:
        """Hand the session the new settings, for cells and for Python code alike."""
        self.session.configured = self.request_choices()

    @validate("price_unit")
    def _check_price_unit(self, proposal: dict[str, Any]) -> str:
        from aimo_magic.core.pricing import PriceUnitError, check_price_unit

        try:
            return check_price_unit(proposal["value"])
        except PriceUnitError as exc:
            raise TraitError(str(exc)) from None

    @validate("budget")
    def _check_budget(self, proposal: dict[str, Any]) -> float | None:
        from aimo_magic.core.budget import check_cap

        try:
            return check_cap(proposal["value"])
        except ValueError as exc:
            raise TraitError(str(exc)) from None

    @observe("budget")
    def _budget_set(self, change: dict[str, Any]) -> None:
        self.session.budget.cap = change["new"]

    @validate("cache_max_mb")
    def _check_cache_max_mb(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value <= 0:
            raise TraitError(f"cache_max_mb must be positive, got {value:g}.")
        return value

    def ask_context(self) -> AskContext:
        """The session and a snapshot of the settings, for building and running requests."""
        from aimo_magic.magics.ask_context import AskContext, AskSettings

        settings = AskSettings(
            default_format=self.default_format,
            stream=self.stream,
            render_rate=self.render_rate,
            footer=self.footer,
            history_turns=self.history_turns,
            history_tokens=self.history_tokens,
            image_turns=self.image_turns,
            short_errors=self.short_errors,
            cache=self.cache,
            tools=self.tools,
        )
        return AskContext(self.session, settings, self.shell, figures=self.figures)

    @cell_arguments
    @line_cell_magic
    def aimo(self, line: str, cell: str | None = None) -> Any:
        """Ask a model: the cell is the prompt; the answer streams in as markdown.

        ``%%aimo [MODEL] [options]`` sends the cell, with the thread's history, and
        records the exchange so the next cell continues the conversation. Write
        ``{name}`` to insert a variable's value (``{{name}}`` keeps the braces); an
        image value (a matplotlib Figure or Axes, a PIL image, IPython's Image, PNG or
        JPEG bytes; ``{plt.gcf()}`` for the last figure drawn) is sent as an image.

        ``%aimo SUBCOMMAND`` manages the session: ``%aimo help`` lists them.

        Examples::

            %%aimo openai/gpt-4o -t 0.2
            What stands out in these figures? {df.describe()}

            %%aimo openai/gpt-4o
            What does this chart show? {fig}

            %%aimo -f code --insert -c plots
            Write matplotlib code for a histogram of df.price.

            %%aimo --no-history -f json -o facts
            List three facts about Lisbon as JSON.

            %%aimo --each tickets -o labels --max-tokens 5
            Classify this ticket as billing, bug or other: {text}

            %%aimo --compare openai/gpt-4o,DeepSeek-V3-1 --keep DeepSeek-V3-1
            Explain recursion in two sentences.

        ``--compare`` asks several models at once and shows the answers side by
        side (``NAME@*`` is every provider of NAME); it is recorded in the thread
        only with ``--keep MODEL``, and ``-o`` then stores a dict of answers.

        Formats: markdown (default), text, code (fences stripped), json (parsed;
        asks the model for JSON), html (sanitised), math (LaTeX). ``--each VAR``
        asks the cell of every row of VAR ({column} names a row's field), concurrently,
        with live progress; the rows never enter the conversation. Errors end the
        cell with one line; add --debug for the full traceback. Ctrl-C or the
        stop button interrupts an answer and keeps what arrived.
        """
        if cell is None:
            from aimo_magic.magics.cmd import dispatch

            return dispatch(self, line)
        from aimo_magic.magics.ask import run_cell

        return run_cell(self.ask_context(), self.aimo.parser, line, cell)
