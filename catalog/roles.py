"""What each role may do in the catalog (see accounts.roles for how roles build on one another). Glossary terms,
tags and lineage edges are declared ahead of their models: their permissions apply once those are migrated."""
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
    },
    Role.DATA_STEWARD: {
        "catalog.asset": READ_WRITE | {"classify"},
        "catalog.classification": READ_WRITE,
        "catalog.assetclassification": FULL | {"confirm"},
        "catalog.glossaryterm": FULL,
        "catalog.tag": FULL,
        "catalog.propertydefinition": FULL,
        "catalog.lineageedge": FULL,
    },
    Role.DATA_OWNER: {
        "catalog.asset": READ_WRITE | {"classify"},
        "catalog.assetclassification": READ_WRITE | {"confirm"},
        "catalog.glossaryterm": READ_WRITE,
    },
})
