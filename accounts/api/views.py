from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from accounts.api.serializers import MeSerializer


class MeViewSet(viewsets.ViewSet):
    """The calling user's own profile."""

    @extend_schema(responses=MeSerializer)
    def list(self, request):
        return Response(MeSerializer(request.user).data)
