from accounts.api import auth_views


def register(router) -> None:
    router.register("mfa", auth_views.MfaViewSet, basename="mfa")
    router.register("tokens", auth_views.ApiTokenViewSet, basename="apitoken")
