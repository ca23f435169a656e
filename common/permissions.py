"""The one DRF permission class: the view names the permission, the role table decides.

A view sets ``required_permission`` to one permission name for every method, or to a dict by
method (``"GET"``, ``"POST"``, …) with two fallbacks: ``"read"`` for the safe methods (GET, HEAD,
OPTIONS) and ``"*"`` for every other. A tuple of names means any one of them. Anonymous callers
get 401, a role without the permission 403; the object's jurisdiction is the selectors' business
(404), not this class's. ``common`` knows nothing of roles: it asks the user's own
``has_permission``.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

Needed = str | tuple[str, ...]


def needed_permission(required: Needed | Mapping[str, Needed] | None, method: str) -> Needed | None:
    """What ``required_permission`` asks of a request with this method (module docstring)."""
    if not isinstance(required, Mapping):
        return required
    if method in required:
        return required[method]
    if method in SAFE_METHODS and "read" in required:
        return required["read"]
    return required.get("*")


class HoldsPermission(BasePermission):
    """The view's ``required_permission`` (module docstring)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        needed = needed_permission(getattr(view, "required_permission", None), request.method or "")
        if not needed:
            return False
        names = (needed,) if isinstance(needed, str) else needed
        return any(user.has_permission(name) for name in names)
