"""How the OpenAPI schema describes Racine's API beyond what drf-spectacular infers from views and serializers.

Every operation declares the error responses it can give, in the one error format of config.problems
(``application/problem+json``), so clients and schema-driven tests (tests.support.openapi, schemathesis) know
the shape of a 4xx as well as of a 200.
"""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from config.problems import PROBLEM_CONTENT_TYPE, TITLES


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Dotted path of the field; null for the whole body.")
    code = serializers.CharField()
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details. Some problems add members (a conflicting scan's ``run``, for example)."""

    type = serializers.CharField(help_text="`urn:racine:problem:<code>`.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `validation_error`, `mfa_required`.")
    instance = serializers.CharField(allow_null=True, help_text="The path of the request.")
    request_id = serializers.CharField(allow_null=True, help_text="Finds the server's log lines for this request.")
    errors = FieldErrorSerializer(many=True, required=False, help_text="Field errors of a validation problem.")
    retry_after = serializers.IntegerField(required=False, help_text="Seconds to wait, on a 429.")


BODY_METHODS = {"POST", "PUT", "PATCH"}
# The titles config.problems gives, plus statuses answered before DRF sees the request.
DESCRIPTIONS = {413: "Request body too large", **TITLES}


class RacineAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the problem responses each operation can give."""

    def _problem_statuses(self) -> list[int]:
        statuses = [401, 403, 429]
        has_body = self.method in BODY_METHODS
        # Services refuse writes they cannot do (a used classification, a rule set in use) as 400 too.
        if self.method != "GET" or any(parameter.get("in") == "query" for parameter in self._get_parameters()):
            statuses.append(400)
        # A missing object; a page past the end of a list (DRF's paginator); an id in a body that names an
        # object the caller cannot see (bulk decisions, detection on demand read those as missing).
        if "{" in self.path or has_body or self._get_pagination_parameters():
            statuses.append(404)
        if self.method != "GET":
            statuses.append(409)
        if has_body:
            statuses += [413, 415]
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._problem_statuses():
            declared = responses.get(str(status))
            if declared is None:
                problem = OpenApiResponse(ProblemSerializer, description=DESCRIPTIONS[status])
                responses[str(status)] = self._get_response_for_code(problem, str(status),
                                                                     [PROBLEM_CONTENT_TYPE], direction)
            elif "content" not in declared:
                # A view described the problem in words only (e.g. a 409's extra member): add its shape.
                problem = OpenApiResponse(ProblemSerializer, description=declared.get("description", ""))
                responses[str(status)] = self._get_response_for_code(problem, str(status),
                                                                     [PROBLEM_CONTENT_TYPE], direction)
        if any(parameter.get("in") == "query" for parameter in self._get_parameters()):
            # The HTTP server refuses a request line past its limit (gunicorn: 4,094 bytes) before Racine sees
            # the request, so this answer has no problem body.
            responses["414"] = {"description": "Request line too long (the query string is past the HTTP "
                                               "server's limit)"}
        return responses


class SingleObjectSchema(RacineAutoSchema):
    """For a viewset whose ``list`` route answers one object about the caller (``/me/``, ``/mfa/``), not an
    array: drf-spectacular takes every ``list`` action for a collection."""

    def _is_list_view(self, serializer=None) -> bool:
        return False
