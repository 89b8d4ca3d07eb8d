from accounts.api import views


def register(router) -> None:
    router.register("me", views.MeViewSet, basename="me")
