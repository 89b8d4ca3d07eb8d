"""The browsable API's renderer: DRF's, without body forms for an action that takes no body.

DRF draws the POST form of every page from ``view.get_serializer()``, which asserts when a viewset has no serializer
class (``/data-sources/{id}/scan/``): that page was a 500 in a browser. OPTIONS has the same rule
(config.metadata).
"""
from rest_framework import renderers

from config.metadata import takes_no_body


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def show_form_for_method(self, view, method, request, obj):
        if takes_no_body(view):
            return False
        return super().show_form_for_method(view, method, request, obj)
