from catalog.api import views


def register(router) -> None:
    # Data sources ("data-sources", basename "datasource") are registered by scanning.api.urls: see
    # catalog.api.views. Classifications register from catalog.api.classifications.
    router.register("assets", views.AssetViewSet, basename="asset")
