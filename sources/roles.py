"""What each role may do with data sources (see accounts.roles for how roles build on one another)."""
from accounts.roles import FULL, MEMBERS, READ_WRITE, VIEW, Role, declare

declare({
    MEMBERS: {"sources.datasource": VIEW},
    Role.DATA_STEWARD: {"sources.datasource": READ_WRITE | {"test_connection"}},
    # Only the workspace admin may read a source's connection secret; analysts never see it.
    Role.WORKSPACE_ADMIN: {"sources.datasource": FULL | {"view_secret", "test_connection"}},
})
