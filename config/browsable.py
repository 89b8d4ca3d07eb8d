"""A POST-only action opened in a browser: its browsable-API page, not a 405.

The browsable API draws a page with a GET; on an action that only takes POST that GET was a "405 Method not
allowed" problem above the form, which reads as if the endpoint were broken. With `PostFormPageMixin`, a GET that
the browsable API renders (a browser's ``Accept``, or ``?format=api``) answers 200 with what to send, and the form
below stays as it was; a GET from any other client (JSON) is still the 405 it was.
"""
from __future__ import annotations

from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response


class PostFormPageMixin:
    def http_method_not_allowed(self, request, *args, **kwargs):
        action_map = getattr(self, "action_map", None) or {}
        if request.method == "GET" and "post" in action_map and isinstance(
                getattr(request, "accepted_renderer", None), BrowsableAPIRenderer):
            return Response(self.post_form_page(action_map["post"]))
        return super().http_method_not_allowed(request, *args, **kwargs)

    def post_form_page(self, action: str) -> dict:
        """What the page shows above the form: how to use the action ``action``."""
        return {"usage": "Send this with POST: fill in the form below (or its raw data as JSON). A GET reads "
                         "nothing here."}
