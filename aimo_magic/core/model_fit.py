"""Whether a request fits the models it goes to, decided before anything is sent.

A model's catalogue entry says two things a request can break: that it takes text only
(images sent to it are refused by the server, or paid for and ignored), and how many
tokens its context holds (a prompt far larger is refused after the upload, or cut).
These are pure functions: the caller gives the catalogue entries of the models a
request goes to (one for a cell, one per model for a comparison, one per row's model
for a batch), what the request carries, and gets the one line to show, or None. A
model the catalogue does not describe (not checked, nothing listed) passes: the server
decides.

The size is the estimate of ``core.tokens`` (about four characters a token): good enough
to tell a prompt that clearly cannot fit, which is all that is refused here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aimo_magic.core.catalogue import image_models
from aimo_magic.core.types import Model

LARGER_SUGGESTIONS = 3
SEND_LESS = (
    "send part of the data ({df.head()}) or a summary ({df.describe()}) instead of all of it"
)


class DoesNotFit(ValueError):
    """The request cannot go to the chosen model; the message says why and what to do."""


def _names(models: Sequence[Model]) -> str:
    names = list(dict.fromkeys(m.name for m in models))
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _described(models: Iterable[Model | None]) -> list[Model]:
    return [m for m in models if m is not None]


def image_refusal(
    models: Sequence[Model | None], images: int, catalogue: Iterable[Model]
) -> str | None:
    """The line for images going to models the catalogue lists as text only, or None.

    With several models (a comparison) every text-only one is named, since the
    request goes to all of them or to none.
    """
    text_only = [m for m in _described(models) if m.takes_images is False]
    if not images or not text_only:
        return None
    what = "the image was" if images == 1 else f"{images} images were"
    takers = image_models(catalogue)
    if len(models) == 1:
        if takers:
            advice = f"models that take images: {', '.join(takers)} (e.g. `%%aimo {takers[0]}`)"
        else:
            advice = "no model in the catalogue takes images"
        return f"{text_only[0].name} takes text only, so {what} not sent; {advice}."
    verb = "takes" if len({m.name for m in text_only}) == 1 else "take"
    others = f", or compare models that take images: {', '.join(takers)}" if takers else ""
    return (
        f"{_names(text_only)} {verb} text only, so {what} not sent to any of the compared "
        f"models; leave {'it' if verb == 'takes' else 'them'} out of the comparison{others}."
    )


def context_refusal(
    models: Sequence[Model | None],
    prompt_tokens: int,
    catalogue: Iterable[Model],
    *,
    what: str = "The prompt",
    advice: str = SEND_LESS,
) -> str | None:
    """The line for a prompt larger than a model's listed context, or None.

    ``what`` names the prompt (``The prompt, with the history that would go with it,``;
    ``Row 17's prompt``); ``advice`` says how to send less. Models whose context is
    large enough are suggested, the smallest that fit first.
    """
    small = [m for m in _described(models) if m.context_length and prompt_tokens > m.context_length]
    if not small:
        return None
    if len(small) == 1:
        holds = f"{small[0].name}'s context holds {small[0].context_length:,}"
    else:
        listed = [f"{m.name} ({m.context_length:,})" for m in small]
        holds = f"the contexts of {', '.join(listed[:-1])} and {listed[-1]} hold fewer"
    fitting = sorted(
        (m for m in catalogue if (m.context_length or 0) >= prompt_tokens),
        key=lambda m: m.context_length or 0,
    )[:LARGER_SUGGESTIONS]
    if fitting:
        larger = "; ".join(f"{m.name} holds {m.context_length:,}" for m in fitting)
        pick = f", or pick a model with a larger context ({larger})"
    else:
        pick = "; no listed model has a context that large"
    return (
        f"{what} is about {prompt_tokens:,} tokens, but {holds}, so nothing was sent: "
        f"{advice}{pick}."
    )


def refuse_what_does_not_fit(
    models: Sequence[Model | None],
    messages: Sequence[Mapping[str, Any]],
    catalogue: Iterable[Model],
    *,
    what: str = "The prompt",
) -> None:
    """Raise ``DoesNotFit`` when the messages cannot go to every one of ``models``."""
    from aimo_magic.core.image_parts import count_images
    from aimo_magic.core.tokens import estimate_prompt_tokens

    listed = list(catalogue)
    refused = image_refusal(models, count_images(messages), listed) or context_refusal(
        models, estimate_prompt_tokens(messages), listed, what=what
    )
    if refused:
        raise DoesNotFit(refused)
