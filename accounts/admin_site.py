"""Racine's admin site: django-otp's OTPAdminSite, so no admin page opens without a verified second factor.

Login is two steps: the password on the admin's login page, then the second factor on Racine's own page
(``accounts:mfa-verify``), or the enrolment page (``accounts:mfa-enrol``) for staff without a device yet, such
as the administrator ``manage.py bootstrap`` creates. Every admin view sends an unverified staff session to one
of those two pages instead of back to the login form.
"""
from __future__ import annotations

from functools import update_wrapper
from urllib.parse import urlencode

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_otp.admin import OTPAdminSite

# Importing the login-protection module here connects its login signal receivers in every process: the admin
# site is loaded at start-up by RacineAdminConfig.
from accounts import lockout, mfa


class LockoutMessageMixin:
    """A password form that says when a lockout refused the attempt; a locked name or address gets the same
    message whether or not the account exists."""

    def get_invalid_login_error(self):
        if lockout.is_locked(request=self.request, username=self.cleaned_data.get("username")):
            return ValidationError(lockout.LOCKED_MESSAGE, code="locked_out")
        return super().get_invalid_login_error()


class RacineAdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The admin's password step (staff only)."""


class RacineLoginForm(LockoutMessageMixin, AuthenticationForm):
    """The browsable API's password step: any active user."""


def second_factor_url(user, next_url: str) -> str:
    name = "accounts:mfa-verify" if mfa.has_device(user) else "accounts:mfa-enrol"
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


class RacineAdminSite(OTPAdminSite):
    site_header = "Racine"
    site_title = "Racine"
    index_title = "Data governance"
    login_form = RacineAdminLoginForm
    # Django's own login template (branded through site_header), not django-otp's: the code is asked for on
    # the next page, where a user without a device can enrol instead.
    login_template = "admin/login.html"

    def __init__(self, name: str = "admin"):
        # OTPAdminSite defaults to "otpadmin"; every reverse("admin:…") in Django and in Racine needs "admin".
        super().__init__(name)

    def _needs_second_factor(self, request) -> bool:
        user = request.user
        return (user.is_authenticated and user.is_active and user.is_staff
                and not mfa.is_verified(user))

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if self._needs_second_factor(request):
                if request.path == reverse("admin:logout", current_app=self.name):
                    return view(request, *args, **kwargs)  # LogoutView protects itself against CSRF
                return HttpResponseRedirect(second_factor_url(request.user, request.get_full_path()))
            return checked(request, *args, **kwargs)

        return update_wrapper(never_cache(inner), view)

    def login(self, request, extra_context=None):
        if request.method == "GET" and self._needs_second_factor(request):
            next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return HttpResponseRedirect(second_factor_url(request.user, next_url))
        return super().login(request, extra_context)
