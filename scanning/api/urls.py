from scanning.api import views


def register(router) -> None:
    # Data sources are catalog objects, served here because their writes are scanning's services.
    router.register("data-sources", views.DataSourceViewSet, basename="datasource")
    router.register("scan-rule-sets", views.ScanRuleSetViewSet, basename="scanruleset")
    router.register("scans", views.ScanViewSet, basename="scan")
    router.register("scan-runs", views.ScanRunViewSet, basename="scanrun")
    router.register("asset-changes", views.AssetChangeViewSet, basename="assetchange")
