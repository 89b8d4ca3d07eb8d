"""The OpenLineage namespaces a data source answers to.

An OpenLineage event names a dataset by a namespace — where it lives, ``postgres://db.example.com:5432``,
``mysql://db:3306``, ``snowflake://org-account``, ``bigquery`` — and a name in it (``shop.public.orders``). A source
answers to the namespaces it declares, or, when it declares none, to the one its connection settings give in
OpenLineage's naming convention (https://openlineage.io/docs/spec/naming): ``postgres://host:port`` for PostgreSQL,
``mysql://host:port`` for MySQL / MariaDB, the same from a SQLAlchemy URL of those dialects. Nothing is derived for
SQLite (a file has no agreed namespace) nor for other dialects: their namespaces carry what Racine's settings do not
(a Snowflake account, a Redshift cluster), so they are declared.

Namespaces are compared as written except for the scheme and the host, which are case-insensitive.
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MAX_NAMESPACES = 20
MAX_NAMESPACE_LENGTH = 1024
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
# The schemes of the engines whose namespace Racine derives, by SQLAlchemy backend name.
SCHEMES = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
# ``scheme`` (bigquery) or ``scheme://authority[/path]``: no spaces, no credentials (``user:password@``), which
# would be kept in clear in the source's settings and shown to every reader.
_NAMESPACE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)(?:://(?P<authority>[^\s/@]+)(?P<path>/[^\s]*)?)?$",
                        re.IGNORECASE)


def namespace_normalized(namespace: str) -> str:
    """``namespace`` as compared: the scheme and host lower-cased, no trailing slash."""
    namespace = namespace.strip().rstrip("/")
    match = _NAMESPACE.match(namespace)
    if match is None:
        return namespace
    scheme, authority, path = match.group("scheme", "authority", "path")
    if authority is None:
        return scheme.lower()
    return f"{scheme.lower()}://{authority.lower()}{path or ''}"


def namespaces_validated(value) -> list[str]:
    """The declared namespaces, normalized and without repeats; a ValidationError saying which one is wrong."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Give a list of namespaces (strings).")
    if len(value) > MAX_NAMESPACES:
        raise ValidationError(f"At most {MAX_NAMESPACES} namespaces; {len(value)} were given.")
    cleaned: list[str] = []
    for item in value:
        if len(item) > MAX_NAMESPACE_LENGTH:
            raise ValidationError(f"A namespace holds at most {MAX_NAMESPACE_LENGTH} characters.")
        if not _NAMESPACE.match(item.strip().rstrip("/")):
            raise ValidationError(
                f"{item!r} is not an OpenLineage namespace: write scheme://host:port (postgres://db.example.com:5432, "
                "snowflake://org-account) or a bare scheme (bigquery), without spaces or credentials.")
        normalized = namespace_normalized(item)
        if normalized not in cleaned:
            cleaned.append(normalized)
    return cleaned


def namespace_derived(*, engine: str, host: str, port: int | None, options: dict | None) -> str | None:
    """The namespace OpenLineage integrations give a source of these connection settings, or None when Racine
    cannot tell it."""
    if engine in ("postgresql", "mysql"):
        scheme = SCHEMES[engine]
    elif engine == "sqlalchemy":
        try:
            url = make_url((options or {}).get("url", ""))
        except ArgumentError:
            return None
        scheme, host, port = SCHEMES.get(url.get_backend_name()), url.host or "", url.port
        if scheme is None:
            return None
    else:
        return None
    if not host:
        return None
    return namespace_normalized(f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}")


def namespaces_in_use(source) -> list[str]:
    """The namespaces ``source`` answers to: those it declares, else the derived one (if any)."""
    if source.openlineage_namespaces:
        return list(source.openlineage_namespaces)
    derived = namespace_derived(engine=source.engine, host=source.host, port=source.port, options=source.options)
    return [derived] if derived else []
