from catalog.api import views


def register(router) -> None:
    # Classifications register from catalog.api.classifications.
    router.register("assets", views.AssetViewSet, basename="asset")
