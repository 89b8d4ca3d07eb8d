from accounts.api import views


def register(router) -> None:
    router.register("me", views.MeViewSet, basename="me")
    router.register("users", views.UserViewSet, basename="user")
    router.register("workspaces", views.WorkspaceViewSet, basename="workspace")
    router.register("memberships", views.MembershipViewSet, basename="membership")
    router.register("audit-events", views.AuditEventViewSet, basename="auditevent")
