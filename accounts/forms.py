"""The web sign-in form (password plus authenticator or recovery code), also the admin's."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.models import Officer
from accounts.services import Channel, MfaRequired, auth_login_check
from common.exceptions import ApplicationError
from common.middleware import client_ip


class OfficerLoginForm(forms.Form):
    """Checks all three factors through ``auth_login_check`` (lockout, throttle and audit
    included). Shaped like Django's AuthenticationForm so ``LoginView`` and the admin take it."""

    channel = Channel.WEB

    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(strip=False, widget=forms.PasswordInput)
    otp = forms.CharField(
        label="Authenticator code or recovery code",
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user_cache: Officer | None = None
        # Set when the password was right but no authenticator is enrolled yet.
        self.mfa_required_officer_id: int | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            result = auth_login_check(
                username=cleaned["username"],
                password=cleaned["password"],
                otp=cleaned.get("otp") or "",
                client_ip=client_ip(self.request) if self.request is not None else None,
                channel=self.channel,
            )
        except MfaRequired as exc:
            self.mfa_required_officer_id = exc.officer_id
            raise ValidationError(exc.message, code=exc.code) from exc
        except ApplicationError as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        self.confirm_login_allowed(result.officer)
        self.user_cache = result.officer
        return cleaned

    def confirm_login_allowed(self, user: Officer) -> None:
        """Hook for the admin's staff check."""

    def get_user(self) -> Officer | None:
        return self.user_cache


class AdminLoginForm(OfficerLoginForm):
    """The Django admin's sign-in: the same three factors, then staff only."""

    channel = Channel.ADMIN

    def confirm_login_allowed(self, user: Officer) -> None:
        if not user.is_staff:
            raise ValidationError(
                "This account may not use the administration site.", code="not_staff"
            )


class TotpConfirmForm(forms.Form):
    otp = forms.CharField(
        label="Code shown by the app",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
