"""``/accounts/``: the web sign-in for staff (admin, control room)."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="web-home"),
    path("login/", views.OfficerLoginView.as_view(), name="web-login"),
    path("logout/", views.OfficerLogoutView.as_view(), name="web-logout"),
    path("totp/enrol/", views.totp_enrol, name="web-totp-enrol"),
]
