"""``ModelSelector``: search the catalogue, compare providers and prices, pick the default.

A click on "Use this model" sets the default model of ``%%aimo`` cells; a default set
elsewhere (``%aimo use``, ``%config AimoMagics.model``) shows here at once. Every
failure is shown inside the panel: a traceback from a click handler would be invisible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from aimo_magic.core.pricing import PriceBasis, price_basis
from aimo_magic.widgets import labels
from aimo_magic.widgets.binding import MagicsSettings, bind
from aimo_magic.widgets.search import MAX_SHOWN, SearchIndex
from aimo_magic.widgets.snapshot import PanelPicture, snapshot_html

if TYPE_CHECKING:
    from IPython.display import DisplayHandle

    from aimo_magic.core.resolution import Choices
    from aimo_magic.core.types import Model
    from aimo_magic.session import AimoSession

SEARCH_HINT = "name, provider, modality… e.g. “llama free”"


def failure_message(exc: BaseException) -> str:
    """One line for the panel; unexpected errors are redacted like the client's own."""
    from aimo_magic.core.errors import AimoError
    from aimo_magic.core.secrets import redact

    if isinstance(exc, AimoError):
        return str(exc)
    return redact(f"Could not load the model catalogue: {type(exc).__name__}: {exc}")


class ModelSelector(widgets.VBox):
    """A panel to find a model and provider and make it the default for ``%%aimo``.

    ``ModelSelector()`` in a notebook works on the session of the loaded extension
    (loading it if needed). ``session=`` or ``magics=`` choose the session
    explicitly; ``options=`` (``Choices``: base URL, timeout...) wins over the session's settings.
    The parts are attributes (``search``, ``models``, ``providers``, ``use_button``,
    ``refresh_button``, ``status``, ``details``, ``default_label``) so code can drive it.
    """

    def __init__(
        self,
        session: AimoSession | None = None,
        magics: MagicsSettings | None = None,
        *,
        options: Choices | None = None,
        search: str = "",
        load: bool = True,
        **kwargs: Any,
    ) -> None:
        # Set first: ipywidgets calls close() even on a panel whose __init__ failed.
        self._unsubscribe: Callable[[], None] | None = None
        self._displays: list[DisplayHandle] = []
        self._binding = bind(session, magics, options)
        self._index: SearchIndex | None = None
        self._quiet_depth = 0
        self.search = widgets.Text(
            value=search,
            placeholder=SEARCH_HINT,
            description="Search",
            continuous_update=True,
            layout=widgets.Layout(flex="1 1 auto"),
        )
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Fetch the model catalogue again"
        )
        self.status = widgets.HTML(labels.LOADING)
        self.models = widgets.Select(options=[], rows=12, layout=widgets.Layout(width="100%"))
        self.details = widgets.HTML()
        self.providers = widgets.RadioButtons(options=[], layout=widgets.Layout(width="100%"))
        self.use_button = widgets.Button(
            description="Use this model",
            button_style="primary",
            icon="check",
            disabled=True,
            tooltip="Make the selected id the default model of the following %%aimo cells",
        )
        self.default_label = widgets.HTML()
        self.provider_heading = widgets.HTML(labels.provider_heading())
        self._basis: PriceBasis | None = None
        super().__init__(
            children=[
                widgets.HBox([self.search, self.refresh_button]),
                self.status,
                self.models,
                self.details,
                self.provider_heading,
                self.providers,
                widgets.HBox([self.use_button, self.default_label]),
            ],
            **kwargs,
        )
        self.search.observe(self._on_search, names="value")
        self.models.observe(self._on_model, names="value")
        self.providers.observe(self._on_provider, names="value")
        self.use_button.on_click(lambda _button: self.choose())
        self.refresh_button.on_click(lambda _button: self.load(refresh=True))
        self._unsubscribe = self.session.on_default_model(self._on_default_changed)
        self._show_default()
        if load:
            self.load()

    def __repr__(self) -> str:
        return f"<ModelSelector selected={self.selected_id!r} default={self.default_id!r}>"

    # Public API ------------------------------------------------------------
    @property
    def session(self) -> AimoSession:
        return self._binding.session

    @property
    def selected_id(self) -> str | None:
        """The id a click on "Use this model" would set: routing name or pinned provider."""
        value = self.providers.value
        return str(value) if value else None

    @property
    def default_id(self) -> str | None:
        """The session's default model, with an alias resolved to its id."""
        return self.session.default_model_id

    @property
    def loaded(self) -> bool:
        return self._index is not None

    def load(self, *, refresh: bool = False) -> None:
        """Fetch (or reuse) the catalogue; a failure is shown and the old list kept.

        The saved picture of the panel is refreshed before the frontend hears of the new
        list, so a frontend that re-renders the panel for it does so while it still says
        "Loading", never under the user's hands."""
        self.status.value = labels.LOADING
        self.refresh_button.disabled = True
        failure: str | None = None
        try:
            catalogue = self.session.catalogue(self._binding.fixed_options, refresh=refresh)
        except Exception as exc:
            failure = failure_message(exc)
        finally:
            self.refresh_button.disabled = False
        with self._held():
            if failure is not None:
                self._show_failure(failure)
            else:
                self.refresh_button.description = "Refresh"
                self._index = SearchIndex(catalogue)
                self._basis = price_basis(self.session.configured.price_unit, catalogue)
                self.provider_heading.value = labels.provider_heading(self._basis)
                self._show_default()
                self._render_models(prefer_default=True)
            self._update_snapshots()

    def ensure_loaded(self) -> None:
        if self._index is None:
            self.load()

    def choose(self, model_id: str | None = None) -> None:
        """Make ``model_id`` (else the selected id) the default of ``%%aimo`` cells."""
        chosen = model_id or self.selected_id
        if not chosen:
            self.status.value = labels.error_html("Pick a model in the list first.")
            return
        try:
            self._binding.choose(chosen)
        except Exception as exc:
            self.status.value = labels.error_html(f"Could not set the default: {exc}")

    def snapshot_html(self) -> str:
        """The panel as HTML, for frontends without its widget state."""
        models = [label for label, _ in self.models.options]
        providers = [label for label, _ in self.providers.options]
        return snapshot_html(
            PanelPicture(
                status_html=self.status.value,
                models=models,
                selected_model=self.models.index,
                details_html=self.details.value,
                providers=providers,
                selected_provider=self.providers.index,
                default_html=self.default_label.value,
                provider_heading=self.provider_heading.value,
            )
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget, with a ``text/html`` picture of it for when it cannot be shown."""
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        data["text/html"] = self.snapshot_html()
        return data

    def _ipython_display_(self) -> None:
        """Shown with a display id, so the picture can follow when the list arrives."""
        from IPython.display import display

        handle = display(self._repr_mimebundle_(), raw=True, display_id=True)
        if handle is not None:
            self._displays.append(handle)

    def close(self) -> None:
        """Stop following the session's default, then close the panel and its parts."""
        self._displays.clear()
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            with suppress(ValueError):  # already removed
                unsubscribe()
        for child in self._descendants():
            child.close()
        super().close()

    # Rendering -------------------------------------------------------------
    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Programmatic changes to the lists must not re-enter the observers."""
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    @contextmanager
    def _held(self) -> Iterator[None]:
        """Hold every part's sync: the frontend gets the new state when this ends."""
        with ExitStack() as stack:
            for part in (self, *self._descendants()):
                stack.enter_context(part.hold_sync())
            yield

    def _update_snapshots(self) -> None:
        if self._displays:
            bundle = self._repr_mimebundle_()
            for handle in self._displays:
                handle.update(bundle, raw=True)

    def _descendants(self) -> Iterator[widgets.Widget]:
        stack = list(self.children)
        while stack:
            child = stack.pop()
            stack.extend(getattr(child, "children", ()))
            yield child

    def _default_model_name(self) -> str | None:
        default = self.default_id
        if not default or self._index is None:
            return None
        from aimo_magic.core.catalogue import find_model

        found = find_model(self._index.models, default)
        return found[0].name if found else None

    def _render_models(self, *, prefer_default: bool = False) -> None:
        index = self._index
        if index is None:
            return
        query = self.search.value
        matches = index.search(query, MAX_SHOWN)
        default_name = self._default_model_name()
        options = [
            (
                (labels.DEFAULT_MARK if m.name == default_name else "") + labels.model_label(m),
                m.name,
            )
            for m in matches.shown
        ]
        wanted = [default_name if prefer_default else None, self.models.value]
        self._replace_options(self.models, options, wanted)
        status = labels.count_html(matches.total, len(options), len(index), query)
        if self.session.find_key()[0] is None:
            status += labels.NO_KEY_NOTE
        self.status.value = status
        self._render_providers(prefer_default=prefer_default)

    def _render_providers(self, *, prefer_default: bool = False) -> None:
        model: Model | None = self._index.get(self.models.value) if self._index else None
        if model is None:
            with self._quiet():
                self.providers.options = []
            self.details.value = ""
            self.use_button.disabled = True
            return
        default = self.default_id
        choices = [(labels.ROUTE_LABEL, model.name)]
        choices += [
            (labels.provider_label(offer, self._basis), offer.id) for offer in model.providers
        ]
        choices = [
            (f"{label}  [current default]" if value == default else label, value)
            for label, value in choices
        ]
        wanted = [default if prefer_default else None, self.providers.value]
        self._replace_options(self.providers, choices, wanted)
        self._show_selection(model)

    def _replace_options(
        self, widget: Any, options: list[tuple[str, str]], wanted: list[str | None]
    ) -> None:
        """New options, keeping the first wanted value still offered, else the first one."""
        values = [value for _, value in options]
        keep = next((v for v in wanted if v in values), values[0] if values else None)
        with self._quiet():
            widget.options = options
            widget.value = keep

    def _show_selection(self, model: Model) -> None:
        self.details.value = labels.model_details_html(model, self.selected_id)
        self.use_button.disabled = self.selected_id is None

    def _show_default(self) -> None:
        models = self._index.models if self._index is not None else None
        self.default_label.value = labels.default_html(self.default_id, models)

    def _show_failure(self, message: str) -> None:
        self.status.value = labels.error_html(message)
        if self._index is None:
            self.refresh_button.description = "Retry"

    # Events ----------------------------------------------------------------
    def _on_search(self, _change: dict[str, Any]) -> None:
        self._guarded(self._render_models)

    def _on_model(self, _change: dict[str, Any]) -> None:
        if not self._quiet_depth:
            self._guarded(self._render_providers)

    def _on_provider(self, _change: dict[str, Any]) -> None:
        if self._quiet_depth or self._index is None:
            return
        model = self._index.get(self.models.value)
        if model is not None:
            self._show_selection(model)

    def _on_default_changed(self, _model_id: str | None) -> None:
        """Called by the session from whoever changed the default: must never raise."""
        self._guarded(self._show_default)
        self._guarded(self._render_models)

    def _guarded(self, update: Any) -> None:
        try:
            update()
        except Exception as exc:
            self.status.value = labels.error_html(f"The selector could not update: {exc}")
