"""OpenAPI descriptions of Racine's authentication, for drf-spectacular."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        # Swagger UI's "Authorize" asks for this: the token alone, it adds "Bearer " itself.
        return {"type": "http", "scheme": "bearer",
                "description": "An API token (`rac_…`), sent as `Authorization: Bearer rac_…`. Create one with "
                               "`POST /api/v1/tokens/` from a session verified by your second factor, or with "
                               "`manage.py create_token`. In Swagger UI, paste the token alone under Authorize."}
