"""The second factor and API tokens over the API: ``/api/v1/mfa/…`` and ``/api/v1/tokens/``."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import mfa
from accounts.api.auth_serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateInput,
    ApiTokenSerializer,
    BackupCodesSerializer,
    CodeInput,
    EnrolConfirmInput,
    EnrolStartInput,
    MfaStatusSerializer,
    OptionalCodeInput,
    TotpEnrolmentSerializer,
)
from accounts.authentication import MfaRequired, api_token_create, api_token_revoke, require_verified_session
from accounts.models import ApiToken
from config.problems import Conflict
from config.schema import SingleObjectSchema


def _problem_from(error: mfa.MfaError) -> exceptions.APIException:
    if isinstance(error, mfa.InvalidCode):
        return exceptions.ValidationError({"code": [exceptions.ErrorDetail(error.message, code=error.code)]})
    if isinstance(error, mfa.InvalidPassword):
        return exceptions.ValidationError({"password": [exceptions.ErrorDetail(error.message, code=error.code)]})
    if isinstance(error, mfa.TooManyAttempts):
        return exceptions.Throttled(wait=error.wait_seconds, detail=error.message, code=error.code)
    if isinstance(error, (mfa.AlreadyEnrolled, mfa.NotEnrolled)):
        return Conflict(error.message, code=error.code)
    if isinstance(error, mfa.VerificationRequired):
        return MfaRequired(error.message)
    return exceptions.PermissionDenied(error.message, code=error.code)


class MfaViewSet(viewsets.ViewSet):
    """The calling user's second factor. Changes need a session: a token cannot enrol, verify or disable."""

    # These endpoints are how a session becomes verified, so the MFA gate cannot apply to them.
    mfa_exempt = True
    schema = SingleObjectSchema()

    def _session_only(self, request) -> None:
        if isinstance(request.auth, ApiToken):
            raise exceptions.PermissionDenied("Manage your second factor from a logged-in session, not a token.",
                                              code="session_required")

    @extend_schema(responses=MfaStatusSerializer)
    def list(self, request):
        user = request.user
        return Response(MfaStatusSerializer({
            "enrolled": mfa.has_device(user),
            # A token request is treated as verified by the MFA gate, but it is not a verified *session*.
            "verified": not isinstance(request.auth, ApiToken) and mfa.is_verified(user),
            "required": mfa.mfa_required_for(user),
            "backup_codes_remaining": mfa.backup_codes_remaining(user),
        }).data)

    def _password_check(self, request, data) -> None:
        """A password sent with an enrolment request is checked first, and counts as the recent check."""
        if "password" in data.validated_data:
            mfa.confirm_password(request=request, user=request.user, password=data.validated_data["password"])

    @extend_schema(request=EnrolStartInput, responses={201: TotpEnrolmentSerializer})
    @action(detail=False, methods=["post"], url_path="totp/enrol", url_name="totp-enrol")
    def totp_enrol(self, request):
        """Start enrolling an authenticator. Needs a password check from the last
        ``RACINE_MFA_ENROL_PASSWORD_MAX_AGE`` minutes: the login's, or ``password`` in this request."""
        self._session_only(request)
        data = EnrolStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            self._password_check(request, data)
            enrolment = mfa.totp_enrol_start(request=request, user=request.user)
        except mfa.MfaError as error:
            raise _problem_from(error) from None
        return Response(TotpEnrolmentSerializer({"otpauth_url": enrolment.otpauth_url, "secret": enrolment.secret,
                                                 "qr_svg": enrolment.qr_svg}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=EnrolConfirmInput, responses=BackupCodesSerializer)
    @action(detail=False, methods=["post"], url_path="totp/confirm", url_name="totp-confirm")
    def totp_confirm(self, request):
        """Confirm the authenticator with its first code; the same recent password check as the start."""
        self._session_only(request)
        data = EnrolConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            self._password_check(request, data)
            codes = mfa.totp_enrol_confirm(request=request, user=request.user, code=data.validated_data["code"])
        except mfa.MfaError as error:
            raise _problem_from(error) from None
        return Response(BackupCodesSerializer({"backup_codes": codes}).data)

    @extend_schema(request=CodeInput, responses=MfaStatusSerializer)
    @action(detail=False, methods=["post"])
    def verify(self, request):
        self._session_only(request)
        data = CodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            mfa.verify(request=request, user=request.user, code=data.validated_data["code"])
        except mfa.MfaError as error:
            raise _problem_from(error) from None
        return self.list(request)

    @extend_schema(request=None, responses=BackupCodesSerializer)
    @action(detail=False, methods=["post"], url_path="backup-codes", url_name="backup-codes")
    def backup_codes(self, request):
        self._session_only(request)
        try:
            codes = mfa.backup_codes_regenerate(request=request, user=request.user)
        except mfa.MfaError as error:
            raise _problem_from(error) from None
        return Response(BackupCodesSerializer({"backup_codes": codes}).data)

    @extend_schema(request=OptionalCodeInput, responses={204: None})
    @action(detail=False, methods=["post"])
    def disable(self, request):
        self._session_only(request)
        data = OptionalCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            mfa.disable(request=request, user=request.user, code=data.validated_data.get("code") or None)
        except mfa.MfaError as error:
            raise _problem_from(error) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The calling user's own API tokens. A token belongs to one user, not to a workspace, so the scope is
    "mine" rather than ``restrict()``: another user's token answers 404, for everyone (staff included)."""

    queryset = ApiToken.objects.none()  # the real one is per request (get_queryset); this names the model
    serializer_class = ApiTokenSerializer
    filterset_fields = ["scope"]
    ordering_fields = ["created_at", "expires_at", "last_used_at", "name"]
    search_fields = ["name", "prefix"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(request=ApiTokenCreateInput, responses={201: ApiTokenCreatedSerializer})
    def create(self, request, *args, **kwargs):
        require_verified_session(request)
        data = ApiTokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        api_token, secret = api_token_create(user=request.user, acting_user=request.user, request=request,
                                             **data.validated_data)
        api_token.token = secret
        return Response(ApiTokenCreatedSerializer(api_token).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        api_token_revoke(api_token=self.get_object(), acting_user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        api_token = api_token_revoke(api_token=self.get_object(), acting_user=request.user, request=request)
        return Response(ApiTokenSerializer(api_token).data)
