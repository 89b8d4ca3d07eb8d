"""The data source form of the admin: connection settings, a write-only password, and the driver options as one
form field each, with help, instead of the model's JSON. The options a connector accepts and their validators are
``sources.connectors.base.ALLOWED_OPTIONS``; ``DRIVER_OPTIONS`` gives each of them a field, and
``tests/sources/test_admin_source_page.py::test_every_allowed_option_has_a_form_field`` fails when the two differ
(an option added to a connector without a field, or a field for an option no connector takes)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from accounts.admin import ServiceValidatedForm
from sources import services
from sources.connectors.base import ALLOWED_OPTIONS, MYSQL_CHARSETS
from sources.models import DataSource
from sources.openlineage import namespaces_validated


@dataclass(frozen=True)
class DriverOption:
    """One driver option of one engine as a form field (named ``<engine>_<key>``)."""

    engine: str
    key: str
    field: forms.Field

    @property
    def name(self) -> str:
        return f"{self.engine}_{self.key}"

    def stored(self, value) -> str | None:
        """The option's value in ``DataSource.options`` (strings, as the drivers take them); None leaves it out."""
        if value in (None, "", False):
            return None
        return "true" if value is True else str(value)


def _ca_help(what: str) -> str:
    return (f"{what} A file below {' or '.join(settings.RACINE_TLS_CA_DIRS)} (RACINE_TLS_CA_DIRS). Blank: none.")


DRIVER_OPTIONS = (
    DriverOption("postgresql", "sslmode", forms.ChoiceField(
        label="TLS (sslmode)", required=False,
        choices=[("", "Driver default (prefer: TLS when the server offers it)"),
                 ("disable", "disable: never TLS"), ("allow", "allow: TLS only if the server insists"),
                 ("prefer", "prefer: TLS when the server offers it, unverified"),
                 ("require", "require: always TLS, certificate not checked"),
                 ("verify-ca", "verify-ca: TLS, certificate signed by the CA file"),
                 ("verify-full", "verify-full: TLS, certificate and host name checked")],
        help_text="Whether the connection is encrypted and how the server's certificate is checked.")),
    DriverOption("postgresql", "sslrootcert", forms.CharField(
        label="CA file (sslrootcert)", required=False, max_length=4096,
        help_text=_ca_help("The certificate authority the server's certificate must chain to (verify-ca, "
                           "verify-full); “system” uses the operating system's trust store (libpq 16+).")),
    ),
    DriverOption("postgresql", "connect_timeout", forms.IntegerField(
        label="Connect timeout (s)", required=False, min_value=1, max_value=9999,
        help_text=f"Seconds to wait for the server to answer. It can only shorten Racine's own limit "
                  f"({settings.RACINE_CONNECT_TIMEOUT} s, RACINE_CONNECT_TIMEOUT), never lengthen it.")),
    DriverOption("postgresql", "application_name", forms.CharField(
        label="Application name", required=False, max_length=63,
        help_text="How the sessions appear in the server's pg_stat_activity. Blank: racine-scanner.")),
    DriverOption("mysql", "ssl_ca", forms.CharField(
        label="CA file (ssl_ca)", required=False, max_length=4096,
        help_text=_ca_help("The certificate authority of the server's certificate; setting it turns TLS on."))),
    DriverOption("mysql", "ssl_verify_cert", forms.BooleanField(
        label="Verify the server's certificate", required=False,
        help_text="Check the server's certificate against the CA file above.")),
    DriverOption("mysql", "charset", forms.ChoiceField(
        label="Character set", required=False,
        choices=[("", "Driver default (utf8mb4)"), *((name, name) for name in sorted(MYSQL_CHARSETS))],
        help_text="The client character set. Sets whose characters may end in a backslash byte (gbk, big5, "
                  "sjis, …) are not offered: they break the escaping of values.")),
    DriverOption("sqlalchemy", "url", forms.CharField(
        label="SQLAlchemy URL", required=False, max_length=8192, widget=forms.TextInput(attrs={"size": 60}),
        help_text="dialect+driver://user@host:port/database, without the password (enter it in the password "
                  "field). Drivers: postgresql+psycopg, mysql+pymysql or mariadb+pymysql; other dialects as "
                  "SQLAlchemy names them. Query parameters: sslmode, connect_timeout, application_name "
                  "(PostgreSQL) or charset (MySQL).")),
)


ENGINE_LABELS = dict(DataSource.Engine.choices)


def option_fieldsets() -> list[tuple[str, dict]]:
    """One admin fieldset per engine with options; the classes let the form's script show only the chosen
    engine's (``racine/datasource_form.js``)."""
    engines = list(dict.fromkeys(option.engine for option in DRIVER_OPTIONS))
    return [(f"{ENGINE_LABELS[engine]} options", {
        "fields": [option.name for option in DRIVER_OPTIONS if option.engine == engine],
        "classes": ["engine-options", f"engine-{engine}"],
        "description": f"Used when the engine is {ENGINE_LABELS[engine]}; other engines ignore them. Blank fields "
                       "keep the driver's default.",
    }) for engine in engines]


def _with_option_fields(form_class):
    """Declare each option's field on the form, so that the admin's fieldsets may name it."""
    for option in DRIVER_OPTIONS:
        form_class.base_fields[option.name] = form_class.declared_fields[option.name] = option.field
    return form_class


@_with_option_fields
class DataSourceForm(ServiceValidatedForm):
    password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave blank to keep the stored secret; it is dropped when engine, host, port, "
                  "database, username or options change and you may not read it.")
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")
    openlineage_namespaces = forms.CharField(
        label="OpenLineage namespaces", required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="One a line, as OpenLineage events name this source's datasets: postgres://db.example.com:5432, "
                  "mysql://db:3306, snowflake://org-account, bigquery. Blank: the one the connection settings "
                  "give (PostgreSQL, MySQL / MariaDB), shown below the field once saved.")

    class Meta:
        model = DataSource
        fields = ["workspace", "name", "engine", "host", "port", "database", "username", "openlineage_namespaces"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["openlineage_namespaces"] = "\n".join(self.instance.openlineage_namespaces or [])
        stored = self.instance.options or {}
        # The options as this form would store them unchanged ("false" and no value are one to the driver): the
        # options are changed only when they differ from these, or an unrelated save would rewrite them.
        self.unchanged_options = {}
        for option in self._engine_options(self.instance.engine):
            if option.key in stored:
                value = stored[option.key]
                if isinstance(option.field, forms.BooleanField):
                    value = str(value).lower() in ("true", "1", "yes")
                self.initial.setdefault(option.name, value)
                if option.stored(value) is not None:
                    self.unchanged_options[option.key] = option.stored(value)

    def _engine_options(self, engine: str | None) -> list[DriverOption]:
        return [option for option in DRIVER_OPTIONS if option.engine == engine]

    def clean_openlineage_namespaces(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["openlineage_namespaces"].splitlines()]
        return namespaces_validated([line for line in lines if line])

    def clean(self):
        cleaned = super().clean()
        engine = cleaned.get("engine")
        options = {}
        for option in self._engine_options(engine):
            value = option.stored(cleaned.get(option.name))
            if value is None:
                continue
            if not ALLOWED_OPTIONS[engine][option.key](value):
                self.add_error(option.name, "This value is not accepted by the driver.")
            options[option.key] = value
        cleaned["options"] = options
        return cleaned

    def _post_clean(self):
        # The options are not a field of this form (the admin's fieldsets leave them out): set them on the
        # instance before the model's and the service's validation read it.
        if "options" in self.cleaned_data:
            self.instance.options = self.cleaned_data["options"]
        super()._post_clean()

    def validate(self, instance) -> None:
        """The service's validation, with its errors about the model's ``options`` put on the option's field."""
        try:
            services.validate_settings(instance)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict") or "options" not in exc.error_dict:
                raise
            errors = dict(exc.error_dict)
            for error in errors.pop("options"):
                text = " ".join(error.messages)
                about = [option.name for option in self._engine_options(instance.engine) if f"'{option.key}'" in text]
                errors.setdefault(about[0] if about else NON_FIELD_ERRORS, []).append(error)
            raise ValidationError(errors) from None

    @cached_property
    def changed_data(self):
        # The options count as changed when what would be stored differs (not when a field of another engine was
        # touched), so that the admin passes them to the service, which compares and audits.
        changed = super().changed_data
        if "options" in self.cleaned_data and self.cleaned_data["options"] != self.unchanged_options:
            changed = [*changed, "options"]
        return changed
