"""The second-factor pages: enrol, verify, backup codes, disable. They look like the admin and work for users who
are logged in but not yet verified (the admin's login and the browsable API's send them here).

Also the browsable API's login, which hands over to the same second-factor pages as the admin's."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import mfa
from accounts.admin_site import RacineLoginForm, second_factor_url


class CodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=32, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                                         "inputmode": "text", "size": 12}))


class PasswordForm(forms.Form):
    password = forms.CharField(label="Password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                                                 "autofocus": True}))


class OptionalCodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=32, strip=True, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "size": 12}))


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse("admin:index") if request.user.is_staff else reverse("accounts:mfa-status")


def _render(request, template: str, title: str, **context):
    base = admin.site.each_context(request)
    # No app list or sidebar on these pages: they are also seen by sessions not yet allowed into the admin.
    base.update(available_apps=[], is_nav_sidebar_enabled=False, title=title, next=_next_url(request),
                is_verified=mfa.is_verified(request.user))
    base.update(context)
    return render(request, template, base)


def _error(form: forms.Form, error: mfa.MfaError) -> None:
    if isinstance(error, mfa.TooManyAttempts):
        wait = error.wait_seconds
        form.add_error(None, f"Too many wrong codes: wait about {wait} s, then try again." if wait < 120 else
                       f"Too many wrong codes: wait about {round(wait / 60)} minutes, then try again.")
    else:
        field = next((name for name in ("code", "password") if name in form.fields), None)
        form.add_error(field, error.message)


@never_cache
@login_required
def status(request):
    return _render(request, "accounts/mfa_status.html", "Two-factor authentication",
                   enrolled=mfa.has_device(request.user), required=mfa.mfa_required_for(request.user),
                   backup_codes_remaining=mfa.backup_codes_remaining(request.user))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    user = request.user
    if mfa.has_device(user):
        messages.info(request, "An authenticator is already set up.")
        target = "accounts:mfa-status" if mfa.is_verified(user) else "accounts:mfa-verify"
        return HttpResponseRedirect(f"{reverse(target)}?next={_next_url(request)}")
    if "password" in request.POST:
        return _enrol_password_check(request)
    try:
        return _enrol_code_step(request)
    except mfa.PasswordCheckRequired:  # no password check in this session, or too old: ask for the password
        return _enrol_password_check(request)


def _enrol_code_step(request):
    """The QR code and the first code of the new authenticator."""
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.totp_enrol_confirm(request=request, user=request.user, code=form.cleaned_data["code"])
        except mfa.PasswordCheckRequired:
            raise
        except mfa.MfaError as error:
            _error(form, error)
        else:
            # Rendered, not redirected: the backup codes are shown this once and never stored in clear.
            return _render(request, "accounts/mfa_backup_codes.html", "Your backup codes", codes=codes)
    enrolment = mfa.totp_enrol_start(request=request, user=request.user)
    return _render(request, "accounts/mfa_enrol.html", "Set up two-factor authentication", form=form,
                   qr_svg=enrolment.qr_svg, secret=enrolment.secret)


def _enrol_password_check(request):
    """The password step of the enrolment page, shown when the session's last password check is too old."""
    form = PasswordForm(request.POST if "password" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            mfa.confirm_password(request=request, user=request.user, password=form.cleaned_data["password"])
        except mfa.MfaError as error:
            _error(form, error)
        else:
            return HttpResponseRedirect(f"{reverse('accounts:mfa-enrol')}?{urlencode({'next': _next_url(request)})}")
    return _render(request, "accounts/mfa_password.html", "Confirm your password", form=form,
                   max_age_minutes=int(mfa.password_check_max_age().total_seconds() // 60))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    user = request.user
    if not mfa.has_device(user):
        return HttpResponseRedirect(f"{reverse('accounts:mfa-enrol')}?next={_next_url(request)}")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            mfa.verify(request=request, user=user, code=form.cleaned_data["code"])
        except mfa.MfaError as error:
            _error(form, error)
        else:
            return HttpResponseRedirect(_next_url(request))
    return _render(request, "accounts/mfa_verify.html", "Verify it’s you", form=form)


@never_cache
@login_required
@require_POST
def backup_codes(request):
    try:
        codes = mfa.backup_codes_regenerate(request=request, user=request.user)
    except mfa.VerificationRequired:
        return HttpResponseRedirect(f"{reverse('accounts:mfa-verify')}?next={reverse('accounts:mfa-status')}")
    except mfa.NotEnrolled:
        return HttpResponseRedirect(reverse("accounts:mfa-enrol"))
    return _render(request, "accounts/mfa_backup_codes.html", "Your new backup codes", codes=codes)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def disable(request):
    if not mfa.has_device(request.user):
        return HttpResponseRedirect(reverse("accounts:mfa-status"))
    form = OptionalCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            mfa.disable(request=request, user=request.user, code=form.cleaned_data["code"] or None)
        except mfa.MfaError as error:
            _error(form, error)
        else:
            messages.success(request, "Two-factor authentication is off. Set it up again to use the admin.")
            return HttpResponseRedirect(reverse("accounts:mfa-status"))
    return _render(request, "accounts/mfa_disable.html", "Turn off two-factor authentication", form=form,
                   fresh=mfa.recently_verified(request))


class ApiLoginView(LoginView):
    """The browsable API's login (``/api-auth/login/``): the password here, then, like the admin's login, the
    second-factor page (verify, or enrol for a user whose role requires a factor they do not have yet), then
    ``next``. Without that step every API page of a user the organization requires MFA of answers
    ``mfa_required``."""

    template_name = "rest_framework/login.html"
    authentication_form = RacineLoginForm

    def get(self, request, *args, **kwargs):
        if request.user.is_authenticated and _needs_second_factor(request.user):
            return HttpResponseRedirect(second_factor_url(request.user, self.get_success_url()))
        return super().get(request, *args, **kwargs)

    def get_default_redirect_url(self):
        return reverse("api:api-root")

    def form_valid(self, form):
        response = super().form_valid(form)
        if _needs_second_factor(form.get_user()):
            return HttpResponseRedirect(second_factor_url(form.get_user(), self.get_success_url()))
        return response


def _needs_second_factor(user) -> bool:
    """A user the organization requires MFA of, or who has a device (a verified session can do more, such as
    creating tokens), and whose session is not verified yet."""
    return (mfa.mfa_required_for(user) or mfa.has_device(user)) and not mfa.is_verified(user)
