"""Bearer-token authentication for the API, and the scope rule that comes with it."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from accounts import tokens
from accounts.models import ApiToken

# Recording every use would turn each read into a write; a minute's precision is enough to spot idle tokens.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme != self.keyword:
            return None
        token = token.strip()
        prefix = tokens.split(token)
        api_token = (ApiToken.objects.select_related("user").filter(prefix=prefix).first()
                     if prefix else None)
        if api_token is None or not tokens.matches(token, api_token.secret_hash):
            raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
        now = timezone.now()
        if not api_token.is_usable(now):
            raise exceptions.AuthenticationFailed("Token expired or revoked.", code="invalid_token")
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        return api_token.user, api_token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class TokenScopeAllows(permissions.BasePermission):
    """A read-scoped token may only read; sessions and write tokens are limited by the user's grants alone."""

    message = "This token's scope is read-only."

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiToken) and request.auth.scope == ApiToken.Scope.READ:
            return request.method in permissions.SAFE_METHODS
        return True
