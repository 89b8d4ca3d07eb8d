"""Racine's admin site: django-otp's OTPAdminSite, so no admin page opens without a verified second factor.

The index is the steward's home: the panels each app contributes (``accounts.home``), then the admin's pages,
with the internal models (second-factor devices, beat's schedules, permission groups, the event outbox) gathered
under "System", which only those granted them (administrators) see.

Login is two steps: the password on the admin's login page, then the second factor on Racine's own page
(``accounts:mfa-verify``), or the enrolment page (``accounts:mfa-enrol``) for staff without a device yet, such
as the administrator ``manage.py bootstrap`` creates. Every admin view sends an unverified staff session to one
of those two pages instead of back to the login form.
"""
from __future__ import annotations

import re
from functools import update_wrapper
from urllib.parse import urlencode

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_otp.admin import OTPAdminSite

# Importing the login-protection module here connects its login signal receivers in every process: the admin
# site is loaded at start-up by RacineAdminConfig.
from accounts import home, lockout, mfa
from accounts.fields import UNSTORABLE_TEXT
from config.serializers import is_id_text

# Django's own lookups on ids in a changelist's query (``?data_source__id__exact=``, ``?id__in=1,2``): their values
# reach the database as they came, and one past a database integer ("9" * 20) was a 500 there.
ID_LOOKUP = re.compile(r"(?:^|__)(?:id|pk)(?:__exact|__in)?$")


def _holds_an_unstorable_id(request) -> bool:
    return any(part.strip().isdigit() and not is_id_text(part.strip())
               for name, values in request.GET.lists() if ID_LOOKUP.search(name)
               for value in values for part in value.split(","))

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


# The internal apps whose models the index gathers under "System", with the names an administrator knows them by.
SYSTEM_APPS = frozenset({"auth", "core", "django_celery_beat", "otp_static", "otp_totp"})
SYSTEM_MODEL_NAMES = {
    "auth.group": "Permission groups",
    "core.event": "Domain events (outbox)",
    "django_celery_beat.periodictask": "Scheduled jobs",
    "django_celery_beat.crontabschedule": "Schedules: crontab",
    "django_celery_beat.intervalschedule": "Schedules: intervals",
    "django_celery_beat.clockedschedule": "Schedules: one-off (clocked)",
    "django_celery_beat.solarschedule": "Schedules: solar events",
    "otp_static.staticdevice": "Second factor: backup codes",
    "otp_totp.totpdevice": "Second factor: authenticator apps",
}
# The steward's order of the sections (a source is registered, scanned, then its catalog reviewed); any other app
# follows, then System.
SECTION_ORDER = ("sources", "scanning", "catalog", "compliance", "governance", "accounts")


def second_factor_url(user, next_url: str) -> str:
    name = "accounts:mfa-verify" if mfa.has_device(user) else "accounts:mfa-enrol"
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


class RacineAdminSite(OTPAdminSite):
    site_header = "Racine"
    site_title = "Racine"
    index_title = "Home"
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
            # No database text holds a NUL: the lists' field filters (?status=%00, ?type=…) sent it to PostgreSQL,
            # which refused it mid-page (a 500). Refused here, once for every admin page.
            if any(UNSTORABLE_TEXT.search(value) for _name, values in request.GET.lists() for value in values):
                raise BadRequest("A query parameter holds a character no text may hold.")
            if _holds_an_unstorable_id(request):
                raise BadRequest("An id in the query is not one a database holds.")
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

    def index(self, request, extra_context=None):
        return super().index(request, {"home_panels": home.panels_for(request), **(extra_context or {})})

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:  # an app's own page (/admin/otp_totp/) lists it as it is
            return app_list
        system = [{**model, "name": SYSTEM_MODEL_NAMES.get(model["model"]._meta.label_lower, model["name"])}
                  for app in app_list if app["app_label"] in SYSTEM_APPS for model in app["models"]]
        sections = sorted((app for app in app_list if app["app_label"] not in SYSTEM_APPS), key=self._section_rank)
        if system:
            sections.append({"name": "System", "app_label": "system",
                             # No page of its own: its heading leads to it on the home. The templates mark the
                             # section whose URL is part of the path as current: "/admin/#system" is in no path.
                             "app_url": reverse("admin:index", current_app=self.name) + "#system",
                             "has_module_perms": True,
                             "models": sorted(system, key=lambda model: model["name"])})
        return sections

    @staticmethod
    def _section_rank(app) -> tuple[int, str]:
        label = app["app_label"]
        return (SECTION_ORDER.index(label) if label in SECTION_ORDER else len(SECTION_ORDER), app["name"].lower())
