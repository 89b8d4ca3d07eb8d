"""What each role may do in compliance (see accounts.roles for how roles build on one another). Declared ahead of
the models: the permissions apply once they are migrated."""
from accounts.roles import FULL, MEMBERS, READ_WRITE, VIEW, Role, declare

declare({
    MEMBERS: {
        "compliance.framework": VIEW,
        "compliance.compliancerule": VIEW,
        "compliance.finding": VIEW,
        "compliance.score": VIEW,
    },
    Role.DATA_STEWARD: {"compliance.finding": READ_WRITE | {"acknowledge"}},
    Role.DATA_OWNER: {"compliance.finding": READ_WRITE | {"acknowledge"}},
    Role.WORKSPACE_ADMIN: {"compliance.compliancerule": FULL, "compliance.framework": READ_WRITE},
})
