"""What the browsable API and OPTIONS call a view: the model's own words ("Data sources", "Data source"), not the
class name with DRF's suffix ("Data Source List", "Api Token Instance")."""
from __future__ import annotations

from django.utils.text import capfirst
from rest_framework.views import get_view_name as drf_view_name


def view_name(view) -> str:
    if getattr(view, "name", None) is not None:  # the API root, an extra action: named where they are declared
        return view.name
    model = getattr(getattr(view, "queryset", None), "model", None)
    if model is not None and type(view).__name__.removesuffix("ViewSet") != model.__name__:
        model = None  # a view about its model, not of it (detection on assets, the scan action on a source)
    suffix = getattr(view, "suffix", None)
    if model is not None and suffix == "List":
        return capfirst(model._meta.verbose_name_plural)
    if model is not None and suffix == "Instance":
        return capfirst(model._meta.verbose_name)
    name = drf_view_name(view)  # a view with no model of its own ("Me", "Mfa"): its name, without the suffix
    return name.removesuffix(f" {suffix}") if suffix else name
