"""Each provider's limits on names and texts, for `crmctl validate` (no HTTP involved).

A name that is too long for the CRM is refused before a plan is made, with
the CRM's own limit, rather than by the CRM half-way through an apply.
One module per provider holds its table, with the documentation it comes
from; this package is plain data, so `config` can use it without depending
on the providers (which depend on `config`).
"""

from __future__ import annotations

from crmctl.limits.salesforce import SALESFORCE_LIMITS

__all__ = ["SANDBOX_LIMITS", "limits_for"]

#: The sandbox CRM's own limits (it is its own documentation: README, "The sandbox
#: CRM"). They are Salesforce's, so that a configuration tried in the sandbox
#: deploys to an org unchanged; RetentionPolicy, which only the sandbox has,
#: follows the other API names (80).
SANDBOX_LIMITS: dict[str, dict[str, int]] = {
    **SALESFORCE_LIMITS,
    "RetentionPolicy": {"name": 80},
}

_BY_PROVIDER = {"sandbox": SANDBOX_LIMITS, "salesforce": SALESFORCE_LIMITS}


def limits_for(provider_type: str) -> dict[str, dict[str, int]]:
    """The limits of a provider type; an unknown type gets the strictest known."""
    return _BY_PROVIDER.get(provider_type, SALESFORCE_LIMITS)
