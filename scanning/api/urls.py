from scanning.api import views


def register(router) -> None:
    # Only the scan action: the data source's own routes are sources' (sources.api.urls).
    router.register("data-sources", views.DataSourceScanViewSet, basename="datasource-scan")
    router.register("scan-rule-sets", views.ScanRuleSetViewSet, basename="scanruleset")
    router.register("scans", views.ScanViewSet, basename="scan")
    router.register("scan-runs", views.ScanRunViewSet, basename="scanrun")
    router.register("asset-changes", views.AssetChangeViewSet, basename="assetchange")
    router.register("detections", views.DetectionViewSet, basename="detection")
