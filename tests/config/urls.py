"""The product's URLs plus API views that fail on purpose, to test the one error format."""
from django.http import JsonResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.problems import Conflict
from config.tasks import worker_ping_task
from config.urls import urlpatterns as product_urlpatterns


class NameInput(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    tags = serializers.ListField(child=serializers.IntegerField())


class ValidatingView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        NameInput(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


class Never(BasePermission):
    def has_permission(self, request, view):
        return False


class ForbiddenView(APIView):
    permission_classes = [Never]

    def get(self, request):
        return Response({})


class ConflictView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        raise Conflict("A scan of this source is already running.", extra={"running_run": 7})


class OncePerMinute(AnonRateThrottle):
    rate = "1/minute"


class ThrottledView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [OncePerMinute]

    def get(self, request):
        return Response({"ok": True})


class BrokenView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("database password is hunter2")  # must never reach the client


def plain_broken_view(request):
    raise RuntimeError("plain view failure with secret hunter2")


def plain_body_view(request):
    return JsonResponse({"length": len(request.body)})  # reading the body checks DATA_UPLOAD_MAX_MEMORY_SIZE


class EnqueuePingView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        return Response({"task_id": worker_ping_task.delay().id})


urlpatterns = [
    path("api/v1/_test/validate", ValidatingView.as_view()),
    path("api/v1/_test/forbidden", ForbiddenView.as_view()),
    path("api/v1/_test/conflict", ConflictView.as_view()),
    path("api/v1/_test/throttled", ThrottledView.as_view()),
    path("api/v1/_test/broken", BrokenView.as_view()),
    path("api/v1/_test/plain-broken", plain_broken_view),
    path("api/v1/_test/plain-body", plain_body_view),
    path("api/v1/_test/enqueue-ping", EnqueuePingView.as_view()),
    *product_urlpatterns,
]
