"""What each role may do in the catalog (see accounts.roles for how roles build on one another). Glossary terms,
tags and lineage were declared ahead of their models: a permission applies once its model is migrated."""
from accounts.roles import FULL, MEMBERS, READ_WRITE, VIEW, Role, declare

declare({
    MEMBERS: {
        "catalog.asset": VIEW,
        "catalog.classification": VIEW,
        "catalog.assetclassification": VIEW,
        "catalog.glossaryterm": VIEW,
        "catalog.tag": VIEW,
        "catalog.propertydefinition": VIEW,
        "catalog.lineageedge": VIEW,
        # Deciding a suggestion is curating its asset (catalog.curation.may_curate), checked by the services.
        "catalog.suggestion": VIEW,
        "catalog.externalasset": VIEW,
        # What lineage read from a view's or routine's definition, and why it could not (written by the system).
        "catalog.definitionlineage": VIEW,
    },
    Role.DATA_STEWARD: {
        "catalog.asset": READ_WRITE | {"classify"},
        "catalog.classification": READ_WRITE,
        "catalog.assetclassification": FULL | {"confirm"},
        "catalog.glossaryterm": FULL,
        "catalog.tag": FULL,
        "catalog.propertydefinition": FULL,
        "catalog.lineageedge": FULL,
        "catalog.externalasset": FULL,
        # The texts lineage was read from: query logs hold literal values, so not for every member.
        "catalog.lineagerecord": FULL,
    },
    Role.AUDITOR: {"catalog.lineagerecord": VIEW},
    Role.DATA_OWNER: {
        "catalog.asset": READ_WRITE | {"classify"},
        "catalog.assetclassification": READ_WRITE | {"confirm"},
        "catalog.glossaryterm": READ_WRITE,
    },
})
