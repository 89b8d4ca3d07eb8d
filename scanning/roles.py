"""What each role may do with scans (see accounts.roles for how roles build on one another)."""
from accounts.roles import FULL, MEMBERS, VIEW, Role, declare

declare({
    MEMBERS: {
        "scanning.scan": VIEW,
        "scanning.scanrun": VIEW,
        "scanning.scanruleset": VIEW,
        "scanning.assetchange": VIEW,
        "scanning.classificationrule": VIEW,
    },
    Role.DATA_STEWARD: {
        "scanning.scan": FULL | {"run"},
        "scanning.scanruleset": FULL,
        "scanning.classificationrule": FULL,
    },
})
