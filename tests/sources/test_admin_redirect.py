"""Data sources' admin pages moved from /admin/catalog/datasource/ to /admin/sources/datasource/ with the model:
the old addresses (bookmarks, links in old messages) redirect to the new ones."""
import pytest


@pytest.mark.parametrize(("old", "new"), [
    ("/admin/catalog/datasource/", "/admin/sources/datasource/"),
    ("/admin/catalog/datasource/7/change/", "/admin/sources/datasource/7/change/"),
    ("/admin/catalog/datasource/?engine__exact=sqlite", "/admin/sources/datasource/?engine__exact=sqlite"),
])
def test_old_admin_addresses_redirect_to_the_sources_app(client, old, new):
    response = client.get(old)
    assert response.status_code == 301
    assert response["Location"] == new
