"""The v1 API router: every app registers its viewsets here, so guard tests can walk one registry."""
from rest_framework.routers import DefaultRouter

from accounts.api.auth_urls import register as register_accounts_auth
from accounts.api.urls import register as register_accounts
from catalog.api.classifications import register as register_classifications
from catalog.api.urls import register as register_catalog
from scanning.api.rules import register as register_classification_rules
from scanning.api.urls import register as register_scanning
from sources.api.urls import register as register_sources

router = DefaultRouter()
for register in (register_accounts, register_accounts_auth, register_sources, register_catalog, register_scanning,
                 register_classifications, register_classification_rules):
    register(router)
