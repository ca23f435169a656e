"""Web pages: sign-in (password plus second factor), authenticator enrolment, sign-out.

Officers without an authenticator who give the right password are sent to enrol one; that
page is reachable only for ``ENROL_PENDING_MINUTES`` after the password was checked, in the
same (not yet signed-in) session.
"""

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from accounts.forms import OfficerLoginForm, TotpConfirmForm
from accounts.models import Officer
from accounts.selectors import totp_pending_enrolment_get
from accounts.services import Channel, auth_logout, totp_enrol_confirm, totp_enrol_start
from common.exceptions import ApplicationError

ENROL_SESSION_KEY = "accounts.mfa_enrol"
ENROL_PENDING_MINUTES = 10


class OfficerLoginView(auth_views.LoginView):
    form_class = OfficerLoginForm
    template_name = "accounts/login.html"

    def get_default_redirect_url(self) -> str:
        return reverse("web-home")

    # LoginView only ever hands this view its own form_class; the narrower type says so.
    def form_invalid(self, form: OfficerLoginForm) -> HttpResponse:  # type: ignore[override]
        if form.mfa_required_officer_id is not None:
            self.request.session[ENROL_SESSION_KEY] = {
                "officer_id": form.mfa_required_officer_id,
                "expires": timezone.now().timestamp() + ENROL_PENDING_MINUTES * 60,
            }
            return redirect("web-totp-enrol")
        return super().form_invalid(form)


def _enrolling_officer(request: HttpRequest) -> Officer | None:
    pending = request.session.get(ENROL_SESSION_KEY)
    if not isinstance(pending, dict) or pending.get("expires", 0) < timezone.now().timestamp():
        return None
    return Officer.objects.filter(pk=pending.get("officer_id"), is_active=True).first()


@never_cache
@csrf_protect
def totp_enrol(request: HttpRequest) -> HttpResponse:
    officer = _enrolling_officer(request)
    if officer is None:
        return redirect("web-login")
    if request.method == "POST":
        form = TotpConfirmForm(request.POST)
        if form.is_valid():
            try:
                codes = totp_enrol_confirm(officer=officer, otp=form.cleaned_data["otp"])
            except ApplicationError as exc:
                form.add_error("otp", exc.message)
            else:
                del request.session[ENROL_SESSION_KEY]
                return render(request, "accounts/recovery_codes.html", {"codes": codes})
        enrolment = totp_pending_enrolment_get(officer=officer)
        if enrolment is None:
            return redirect("web-login")
    else:
        form = TotpConfirmForm()
        try:
            enrolment = totp_enrol_start(officer=officer)
        except ApplicationError:
            # Enrolled meanwhile (another tab, the app): sign in normally.
            del request.session[ENROL_SESSION_KEY]
            return redirect("web-login")
    context: dict[str, Any] = {"form": form, "enrolment": enrolment, "officer": officer}
    return render(request, "accounts/totp_enrol.html", context)


class OfficerLogoutView(auth_views.LogoutView):
    """Sign-out (POST), audited."""

    next_page = "web-login"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            auth_logout(
                officer=request.user,
                device_token=None,
                channel=Channel.WEB,
                session_key=request.session.session_key or "",
            )
        return super().post(request, *args, **kwargs)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html")
