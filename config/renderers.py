"""The browsable API's renderer: DRF's, without body forms for an action that takes no body, and with an example
body in the raw form of a view that offers one (``browsable_example(method)``: /lineage/sql/ has no serializer to
draw an empty body from, and an empty box told a newcomer nothing).

DRF draws the POST form of every page from ``view.get_serializer()``, which asserts when a viewset has no serializer
class (``/data-sources/{id}/scan/``): that page was a 500 in a browser. OPTIONS has the same rule
(config.metadata).
"""
import json

from rest_framework import renderers

from config.metadata import takes_no_body


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def show_form_for_method(self, view, method, request, obj):
        if takes_no_body(view):
            return False
        return super().show_form_for_method(view, method, request, obj)

    def get_raw_data_form(self, data, view, method, request):
        form = super().get_raw_data_form(data, view, method, request)
        example = getattr(view, "browsable_example", None)
        if form is not None and example is not None:
            content = form.fields["_content"]  # DRF's raw form names its body field so
            body = example(method)  # before the serializer's empty fields DRF drew: the example says more
            if body is not None:
                content.initial = json.dumps(body, indent=4)
        return form
