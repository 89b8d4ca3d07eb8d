from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from accounts.views import ApiLoginView
from catalog.admin_search import asset_search_view
from config import health, metrics
from config.api_router import router
from config.problems import api_not_found

handler400 = "config.problems.bad_request"  # a body over the size limit is 413 (admin included), not 400

urlpatterns = [
    # Stewards work in the admin: the site's front door leads there.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics.metrics, name="metrics"),
    # Data sources moved from catalog to the sources app: bookmarks of their admin pages keep working.
    re_path(r"^admin/catalog/datasource/(?P<rest>.*)$",
            RedirectView.as_view(url="/admin/sources/datasource/%(rest)s", permanent=True, query_string=True)),
    # The admin header's search box (before the admin's own URLs, whose catch-all would take it for an app).
    path("admin/search/", admin.site.admin_view(asset_search_view), name="asset-search"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include((router.urls, "api"), namespace="api")),
    # DRF's login and logout pages, under the names its templates use; the login goes through the second factor.
    path("api-auth/", include(([path("login/", ApiLoginView.as_view(), name="login"),
                                path("logout/", LogoutView.as_view(), name="logout")], "rest_framework"))),
    # Anything else under /api/ answers in the API's error format, in DEBUG too (never Django's HTML 404).
    re_path(r"^api/", api_not_found),
]
