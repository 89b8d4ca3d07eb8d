"""The v1 API router: every app registers its viewsets here, so guard tests can walk one registry."""
from rest_framework.routers import APIRootView, DefaultRouter

from accounts.api.auth_urls import register as register_accounts_auth
from accounts.api.urls import register as register_accounts
from catalog.api.classifications import register as register_classifications
from catalog.api.curation import register as register_curation
from catalog.api.glossary import register as register_glossary
from catalog.api.lineage import register as register_lineage
from catalog.api.openlineage import register as register_openlineage
from catalog.api.properties import register as register_properties
from catalog.api.search import register as register_search
from catalog.api.suggestions import register as register_suggestions
from catalog.api.urls import register as register_catalog
from scanning.api.rules import register as register_classification_rules
from scanning.api.urls import register as register_scanning
from sources.api.urls import register as register_sources


class RacineApiRootView(APIRootView):
    """Racine's API: data sources and their connection tests; scans, their runs and the changes (drift) they
    found; the catalog of assets and its search; classifications with their evidence and review; classification
    rules, scan rule sets and detection on demand; suggestions from the data (terms and descriptions for stewards
    to accept); lineage (the graph around an asset, impact analysis, SQL and OpenLineage events to record it from);
    workspaces, members, audit events, API tokens and your second factor.
    Each link below lists one kind of resource.

    In a browser, log in (your password, then your second factor); other clients send an API token:
    Authorization: Bearer rac_…  (create one from a verified session at /api/v1/tokens/, or with
    manage.py create_token). Every operation is described at /api/v1/docs/; errors are RFC 9457 problem details.
    """

    name = "Racine API, version 1"


class RacineRouter(DefaultRouter):
    APIRootView = RacineApiRootView

    def get_api_root_view(self, api_urls=None):
        # Two viewsets register under one prefix (sources' data sources and scanning's scan actions on them; the
        # catalog's assets and their curation): DRF's root keeps the last, which may have no list, and silently
        # drops the prefix. The registration that lists names it.
        api_root_dict = {}
        list_name = self.routes[0].name
        for prefix, viewset, basename in self.registry:
            if hasattr(viewset, "list"):
                api_root_dict.setdefault(prefix, list_name.format(basename=basename))
        return self.APIRootView.as_view(api_root_dict=api_root_dict)


router = RacineRouter()
# Curation before the catalog: its /assets/bulk/ must be matched before the asset list's /assets/{id}/.
for register in (register_accounts, register_accounts_auth, register_sources, register_curation, register_catalog,
                 register_scanning, register_classifications, register_classification_rules, register_glossary,
                 register_suggestions, register_lineage, register_openlineage, register_properties,
                 register_search):
    register(router)
