"""Shapes of the MFA and API-token endpoints. Rules (lifetimes, who may do what) live in the services."""
from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiToken


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its secret (which is not stored) nor its hash."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices)
    expires_at = serializers.DateTimeField(
        help_text="Required; at most the organization's max_token_lifetime_days from now.")


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret; shown in this response only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class MfaStatusSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField()
    verified = serializers.BooleanField(help_text="This session is verified by a second factor.")
    required = serializers.BooleanField(help_text="The organization requires a second factor of this user.")
    backup_codes_remaining = serializers.IntegerField()


class TotpEnrolmentSerializer(serializers.Serializer):
    otpauth_url = serializers.CharField(help_text="For authenticator apps (the QR code encodes it).")
    secret = serializers.CharField(help_text="Base32 key, for typing into an app by hand.")
    qr_svg = serializers.CharField(help_text="The QR code as an inline SVG element.")


class CodeInput(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text="A six-digit TOTP code or a backup code.")


class EnrolStartInput(serializers.Serializer):
    password = serializers.CharField(required=False, write_only=True, trim_whitespace=False, max_length=4096,
                                     style={"input_type": "password"},
                                     help_text="Your password; needed unless this session checked it recently "
                                               "(at login, or here).")


class EnrolConfirmInput(CodeInput, EnrolStartInput):
    pass


class OptionalCodeInput(serializers.Serializer):
    code = serializers.CharField(max_length=32, required=False, allow_blank=True,
                                 help_text="Needed unless this session was verified in the last five minutes.")


class BackupCodesSerializer(serializers.Serializer):
    backup_codes = serializers.ListField(child=serializers.CharField(),
                                         help_text="Shown in this response only; each works once.")
