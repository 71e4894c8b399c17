"""aimo-magic: the AiMo Network from a Jupyter notebook.

``%load_ext aimo_magic`` registers the magics; ``aimo_magic.Client`` works from plain
Python, ``aimo_magic.batch`` asks one prompt template of every row of a dataset,
``aimo_magic.evaluate`` asks it of several models and scores the answers, and
``@aimo_magic.tool`` / ``aimo_magic.ask`` let a model call your functions.
Names are resolved lazily so that loading the extension stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aimo_magic._version import __version__

if TYPE_CHECKING:
    from aimo_magic.batching import Batch, BatchError, batch
    from aimo_magic.core import (
        AimoError,
        AnswerCache,
        APIConnectionError,
        APITimeoutError,
        AsyncClient,
        AuthenticationError,
        Budget,
        BudgetError,
        CacheUnavailableError,
        ChatResult,
        Client,
        ComparedAnswer,
        CompareInterrupted,
        DoesNotFit,
        FellBack,
        ImageError,
        IncompleteStreamError,
        InvalidRequestError,
        MissingKeyError,
        Model,
        NotFoundError,
        NotRecordedError,
        PaymentError,
        RateLimitError,
        RouteError,
        ServerError,
        StreamRestart,
        Tool,
        ToolsResult,
        Usage,
        ask,
        compare,
        image,
        record_answers,
        save_answers,
        stop_using_answers,
        tool,
        use_answers,
    )
    from aimo_magic.evaluation import (
        Evaluation,
        EvaluationError,
        EvaluationInterrupted,
        ScoreError,
        evaluate,
    )
    from aimo_magic.widgets.selector import ModelSelector

_CORE_NAMES = {
    "AimoError",
    "AnswerCache",
    "APIConnectionError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "Budget",
    "BudgetError",
    "CacheUnavailableError",
    "ChatResult",
    "Client",
    "ComparedAnswer",
    "CompareInterrupted",
    "DoesNotFit",
    "FellBack",
    "ImageError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "MissingKeyError",
    "Model",
    "NotFoundError",
    "NotRecordedError",
    "PaymentError",
    "RateLimitError",
    "RouteError",
    "ServerError",
    "StreamRestart",
    "Tool",
    "ToolsResult",
    "Usage",
    "ask",
    "compare",
    "image",
    "record_answers",
    "save_answers",
    "stop_using_answers",
    "tool",
    "use_answers",
}

_BATCH_NAMES = {"Batch", "BatchError", "batch"}
_EVALUATION_NAMES = {
    "Evaluation",
    "EvaluationError",
    "EvaluationInterrupted",
    "ScoreError",
    "evaluate",
}

__all__ = sorted(
    [
        *_CORE_NAMES,
        *_BATCH_NAMES,
        *_EVALUATION_NAMES,
        "ModelSelector",
        "__version__",
        "load_ipython_extension",
    ]
)


def __getattr__(name: str) -> Any:
    if name in _CORE_NAMES:
        return getattr(importlib.import_module("aimo_magic.core"), name)
    if name in _BATCH_NAMES:
        return getattr(importlib.import_module("aimo_magic.batching"), name)
    if name in _EVALUATION_NAMES:
        return getattr(importlib.import_module("aimo_magic.evaluation"), name)
    if name == "ModelSelector":
        return importlib.import_module("aimo_magic.widgets.selector").ModelSelector
    raise AttributeError(f"module 'aimo_magic' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext aimo_magic``: register the ``%aimo`` and ``%%aimo`` magics."""
    from aimo_magic.magics.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from aimo_magic.magics.extension import unload

    unload(ipython)
