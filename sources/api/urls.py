from sources.api import views


def register(router) -> None:
    router.register("data-sources", views.DataSourceViewSet, basename="datasource")
