"""Schemathesis hooks for tests/fuzz/run_schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

The fuzzer runs on one API token and may revoke any token it can name, its own included: it learns ids from
``GET /api/v1/tokens/`` and feeds them to ``DELETE /api/v1/tokens/{id}/`` and ``POST …/{id}/revoke/``. Revoking
its own token would turn every later request into a 401 and end the real testing. A call aimed at its own token
goes to a decoy token of the same user instead, so both operations are still exercised on a live token.
"""
from __future__ import annotations

import os

import schemathesis

OWN_TOKEN_ID = os.environ["RACINE_FUZZ_TOKEN_ID"]
DECOY_TOKEN_ID = os.environ["RACINE_FUZZ_DECOY_TOKEN_ID"]


@schemathesis.hook
def before_call(context, case, kwargs):
    if not case.operation.path.startswith("/api/v1/tokens/{id}/") or not case.path_parameters:
        return
    if str(case.path_parameters.get("id")) == OWN_TOKEN_ID:
        case.path_parameters["id"] = DECOY_TOKEN_ID
