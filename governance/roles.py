"""What each role may do with requests (see accounts.roles for how roles build on one another). Declared ahead of
the model: the permissions apply once it is migrated."""
from accounts.roles import FULL, MEMBERS, READ_WRITE, VIEW, Role, declare

declare({
    MEMBERS: {"governance.request": VIEW | {"add"}},  # any member may file a request
    Role.DATA_STEWARD: {"governance.request": READ_WRITE},
    Role.DATA_OWNER: {"governance.request": READ_WRITE | {"approve"}},
    Role.WORKSPACE_ADMIN: {"governance.request": FULL | {"approve"}},
    Role.AUDITOR: {"governance.request": VIEW},
})
