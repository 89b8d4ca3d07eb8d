"""What the catalog shows on a data source's page (sources.admin.PAGE_PARTS): the sections of the source's own asset
(catalog.source_assets) — its curation with the "Edit curation" link, its databases, properties and curation
history — as on any asset's page, since the data source's page is that asset's page (catalog.admin_assets.asset_url).
"""
from __future__ import annotations

from catalog.admin_assets import sections_for
from catalog.models import Asset
from catalog.selectors import asset_list
from catalog.source_assets import source_asset_ensure
from sources.admin import page_part


@page_part(key="catalog", title="In the catalog", template="admin/catalog/asset/source_sections.html", order=10)
def source_asset_sections(request, source):
    """The source asset's sections for a user who may see it. A source whose asset is not there yet (its
    ``datasource.created`` event still on its way) has it made now: the page is where a steward curates it."""
    visible = asset_list(user=request.user).filter(data_source=source, type=Asset.Type.SOURCE)
    asset = visible.first()
    if asset is None and not Asset.objects.filter(data_source=source, type=Asset.Type.SOURCE).exists():
        source_asset_ensure(data_source=source)
        asset = visible.first()
    if asset is None:
        return None
    return {"asset": asset, "sections": sections_for(request, asset)}
