"""What ``OPTIONS`` answers: DRF's description of a view, without a body for actions that take none.

DRF's ``SimpleMetadata`` describes the POST/PUT body from ``view.get_serializer()``, which asserts when a viewset
has no serializer class — as one whose only action takes no body (``POST /data-sources/{id}/scan/``) — so an
``OPTIONS`` request there was a 500.
"""
from rest_framework.metadata import SimpleMetadata


def takes_no_body(view) -> bool:
    """A view with no serializer at all: its actions take no body (the browsable API's forms skip it too)."""
    # Lazy: DRF imports this module while it defines APIView, the base of GenericAPIView (an import cycle).
    from rest_framework.generics import GenericAPIView

    return (getattr(view, "serializer_class", None) is None
            and getattr(type(view), "get_serializer_class", None) is GenericAPIView.get_serializer_class)


class Metadata(SimpleMetadata):
    def determine_actions(self, request, view):
        if takes_no_body(view):
            return {}
        return super().determine_actions(request, view)
