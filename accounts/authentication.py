"""API authentication: bearer tokens (their life cycle, authentication and scope rule) and the MFA gate.

Tokens are created only from an MFA-verified session (or by an operator with ``manage.py create_token``), so a
token request is never asked for a second factor; session requests by users the organization requires MFA of
are refused with ``mfa_required`` until the session is verified.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from accounts import audit, mfa, tokens
from accounts.actors import SystemActor, require_actor
from accounts.models import ApiToken, Organization, User

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
        api_token = token_with_user(prefix) if prefix else None
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


def token_with_user(prefix: str) -> ApiToken | None:
    """The token with ``prefix`` and its user, as ``select_related("user")`` would read them, in one statement.

    Every API request authenticates: building that query through the ORM (its select list of both models'
    columns compiled anew each time) cost 2 ms of CPU per request under the API benchmark's load, four times what
    executing this fixed statement and building the two instances costs (docs/benchmarks.md, "Third round").
    """
    alias = router.db_for_read(ApiToken)
    connection = connections[alias]
    look_up = _token_look_up(alias)
    with connection.cursor() as cursor:
        cursor.execute(look_up.statement, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, expression, converters in look_up.converters:
        for converter in converters:  # the backend's and the fields' own, as the ORM's compiler applies them
            values[index] = converter(values[index], expression, connection)
    split = len(look_up.token_fields)
    api_token = ApiToken.from_db(alias, look_up.token_fields, values[:split])
    api_token.user = User.from_db(alias, look_up.user_fields, values[split:])
    return api_token


@dataclass(frozen=True)
class _TokenLookUp:
    statement: str
    token_fields: list[str]  # attribute names the statement's columns fill, in order: the token's, then the user's
    user_fields: list[str]
    converters: list[tuple[int, object, list]]  # (column index, its expression, converters) where there are any


@cache
def _token_look_up(alias: str) -> _TokenLookUp:
    """The token look-up for the database ``alias``, from the two models' own columns."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = [("t", field) for field in ApiToken._meta.concrete_fields] + [
        ("u", field) for field in User._meta.concrete_fields]
    statement = (f"SELECT {', '.join(f'{table}.{quote(field.column)}' for table, field in columns)} "
                 f"FROM {quote(ApiToken._meta.db_table)} t JOIN {quote(User._meta.db_table)} u "
                 f"ON u.{quote(User._meta.pk.column)} = t.{quote(ApiToken._meta.get_field('user').column)} "
                 f"WHERE t.{quote(ApiToken._meta.get_field('prefix').column)} = %s")
    converters = []
    for index, (_, field) in enumerate(columns):
        expression = field.get_col(field.model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if found:
            converters.append((index, expression, found))
    split = len(ApiToken._meta.concrete_fields)
    attnames = [field.attname for _, field in columns]
    return _TokenLookUp(statement, attnames[:split], attnames[split:], converters)


class TokenScopeAllows(permissions.BasePermission):
    """A read-scoped token may only read; a lineage-scoped token may only use the views that say they take lineage
    (``accepts_lineage_tokens = True``: the OpenLineage endpoint); sessions and write tokens are limited by the
    user's grants alone."""

    message = "This token's scope is read-only."

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return True
        if request.auth.scope == ApiToken.Scope.READ:
            return request.method in permissions.SAFE_METHODS
        if request.auth.scope == ApiToken.Scope.LINEAGE:
            self.message = "This token's scope is lineage: it may only send lineage events."
            return getattr(view, "accepts_lineage_tokens", False)
        return True


class MfaRequired(exceptions.PermissionDenied):
    default_detail = "Verify your second factor (MFA) in this session first."
    default_code = "mfa_required"


class MfaVerified(permissions.BasePermission):
    """Session users the organization requires MFA of must have verified this session.

    In DEFAULT_PERMISSION_CLASSES, so every API view is covered unless it opts out with ``mfa_exempt = True``
    (the MFA endpoints, which are how a session gets verified).
    """

    message = MfaRequired.default_detail
    code = MfaRequired.default_code

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated:
            return True  # IsAuthenticated answers 401 first; this gate is only about verified sessions
        if isinstance(request.auth, ApiToken):
            # django-otp's middleware knows only session users: a token user has no is_verified() at all.
            # Tokens are minted from verified sessions, so the second factor was checked at creation.
            return True
        if getattr(view, "mfa_exempt", False):
            return True
        # Anything that is not a token (session, or any scheme added later) is treated like a session:
        # fail closed rather than let a new authentication class skip the second factor.
        return not mfa.mfa_required_for(user) or mfa.is_verified(user)


def require_verified_session(request) -> None:
    """Raise MfaRequired unless ``request`` comes from a session verified by a second factor."""
    if isinstance(request.auth, ApiToken):
        raise MfaRequired("API tokens cannot do this; use a session verified by your second factor.")
    if not mfa.is_verified(request.user):
        raise MfaRequired()


# --- Token life cycle -------------------------------------------------------------------------------------
def max_token_lifetime() -> timedelta:
    organization = Organization.objects.order_by("pk").only("max_token_lifetime_days").first()
    return timedelta(days=organization.max_token_lifetime_days if organization else 90)


@transaction.atomic
def api_token_create(*, user: User, name: str, scope: str, expires_at: datetime,
                     acting_user: User | SystemActor, request=None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the secret, which exists nowhere else afterwards.

    The caller has checked *who* may create it (a verified session of ``user``, or an operator); this checks
    what the organization allows: an expiry in the future and within ``max_token_lifetime_days``.
    """
    require_actor(acting_user)
    now = timezone.now()
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": f"Choose one of: {', '.join(ApiToken.Scope.values)}."})
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    lifetime = max_token_lifetime()
    if expires_at > now + lifetime:
        raise ValidationError({"expires_at": f"Tokens may live at most {lifetime.days} days "
                                             "(the organization's max_token_lifetime_days)."})
    if not user.is_active:
        raise ValidationError("Inactive users cannot hold tokens.")
    secret, prefix = tokens.generate()
    api_token = ApiToken.objects.create(user=user, name=name, prefix=prefix, secret_hash=tokens.digest(secret),
                                        scope=scope, expires_at=expires_at)
    audit.record(event="token.created", actor=acting_user, obj=api_token, request=request,
                 extra={"prefix": prefix, "user": user.pk, "scope": scope,
                        "expires_at": expires_at.isoformat()})
    return api_token, secret


@transaction.atomic
def api_token_revoke(*, api_token: ApiToken, acting_user: User | SystemActor, request=None) -> ApiToken:
    """Revoke ``api_token`` at once. Revoking a revoked token changes nothing and records nothing."""
    require_actor(acting_user)
    revoked = ApiToken.objects.filter(pk=api_token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_token.refresh_from_db(fields=["revoked_at"])
    if revoked:
        audit.record(event="token.revoked", actor=acting_user, obj=api_token, request=request,
                     extra={"prefix": api_token.prefix, "user": api_token.user_id})
    return api_token
