"""Reads of ``accounts``: officers' profiles and devices, limited to what the actor may see."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from accounts import totp
from accounts.models import DeviceToken, Officer, TOTPDevice
from common.exceptions import NotFound

_PROFILE_RELATED = ("agency", "province", "district__province", "station", "beat")


def officer_profile_get(*, officer_id: int) -> Officer:
    """An officer with everything their profile shows (agency, jurisdiction) in one query."""
    officer = Officer.objects.select_related(*_PROFILE_RELATED).filter(pk=officer_id).first()
    if officer is None:
        raise NotFound("No such officer.")
    return officer


def officer_managed_get(*, actor: Officer, officer_id: int) -> Officer:
    """An officer whom ``actor`` may manage (system_admin: anyone); otherwise not there (404)."""
    if not actor.has_permission("officer.manage"):
        raise NotFound("No such officer.")
    return officer_profile_get(officer_id=officer_id)


def device_token_list(*, actor: Officer, officer: Officer) -> QuerySet[DeviceToken]:
    """``officer``'s device tokens, newest first: their own, or anyone's for a system_admin."""
    if actor.pk != officer.pk and not actor.has_permission("officer.manage"):
        return DeviceToken.objects.none()
    return DeviceToken.objects.filter(officer=officer).order_by("-id")


@dataclass(frozen=True)
class TotpEnrolment:
    otpauth_uri: str
    qr_svg_data_uri: str


def totp_enrolment_for(*, officer: Officer, secret: str) -> TotpEnrolment:
    uri = totp.provisioning_uri(
        secret, account_name=officer.username, issuer=settings.NIGRANI_TOTP_ISSUER
    )
    return TotpEnrolment(otpauth_uri=uri, qr_svg_data_uri=totp.qr_svg_data_uri(uri))


def totp_pending_enrolment_get(*, officer: Officer) -> TotpEnrolment | None:
    """The enrolment started but not yet confirmed, to show its QR code again."""
    device = TOTPDevice.objects.filter(officer=officer, confirmed_at__isnull=True).first()
    return totp_enrolment_for(officer=officer, secret=device.secret) if device else None
