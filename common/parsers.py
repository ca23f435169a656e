"""The one JSON request parser: bounded depth, no lone surrogates, an object at the top.

DRF's ``JSONParser`` hands ``json.loads`` whatever arrives, so a body nested a thousand deep
is a ``RecursionError`` (a 500, on the anonymous sign-in too: a cheap denial of service), a
lone UTF-16 surrogate (``"\\ud800"``) becomes a ``str`` the renderer cannot encode once an
error message echoes it, and ``null`` or ``[1, 2]`` reach views that expect a dict. Every
API view parses JSON through ``BoundedJSONParser`` (the default parser class, and named
explicitly where a view lists its parsers), and ``json_loads_bounded`` is the same rule for
JSON carried inside a multipart part.

Refusals are DRF ``ParseError`` (400 ``parse_error`` in the one error body) and never quote
the input: what was refused may be a CNIC or a name.
"""

import json
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deepest nesting any request of ours needs is 4 (a batch of visits with a location); 32 is
# generous and still far below Python's recursion limit.
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")

INVALID_JSON = "The body is not valid JSON."
TOO_DEEP = f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep."
SURROGATES = "The JSON contains unpaired UTF-16 surrogates."
NOT_AN_OBJECT = "The body must be a JSON object."


def _refuse_constant(name: str) -> None:
    raise ValueError("NaN and Infinity are not JSON")


def _check(value: Any, *, strings: bool = True) -> None:
    """Depth and (when ``strings``) surrogates, walked without recursion (the value may be
    1000 levels deep). Only containers are pushed: a batch of 1,000 pings is 1,000 dicts of
    scalars, and walking every scalar through the stack cost more than ``json.loads`` did."""
    if isinstance(value, str) and strings and _SURROGATE.search(value):
        raise ParseError(SURROGATES)
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        if isinstance(item, dict):
            if strings and any(_SURROGATE.search(key) for key in item):
                raise ParseError(SURROGATES)
            children: Any = item.values()
        else:
            children = item
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif strings and isinstance(child, str) and _SURROGATE.search(child):
                raise ParseError(SURROGATES)


def _may_hold_surrogates(text: str | bytes) -> bool:
    """Whether the decoded value's strings need a look: a lone surrogate comes from a ``\\u``
    escape or is in the text itself (one scan, none at all for ASCII); bytes are decoded by
    ``json`` with surrogatepass, so they always get the look."""
    if not isinstance(text, str) or "\\u" in text:
        return True
    return not text.isascii() and _SURROGATE.search(text) is not None


def json_loads_bounded(text: str | bytes, *, require_object: bool = False) -> Any:
    """``json.loads`` under the module's rules; ``ParseError`` on anything refused."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ParseError(TOO_DEEP) from None
    except (ValueError, TypeError):
        # Never the decoder's message: it quotes the input around the error.
        raise ParseError(INVALID_JSON) from None
    _check(value, strings=_may_hold_surrogates(text))
    if require_object and not isinstance(value, dict):
        raise ParseError(NOT_AN_OBJECT)
    return value


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser under the module's rules: every body is a JSON object."""

    require_object = True

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(INVALID_JSON) from None
        return json_loads_bounded(text, require_object=self.require_object)


class BoundedJSONBatchParser(BoundedJSONParser):
    """The same rules for an endpoint whose body is a JSON array (a batch of location pings):
    depth and surrogates still refused; the view says what a malformed batch is."""

    require_object = False
