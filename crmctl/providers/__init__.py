"""Providers: one adapter per CRM, created by name from the environment's `provider.type`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crmctl.config.environment import Environment
from crmctl.errors import ProviderError
from crmctl.providers.base import ApplyResult, ChangeFailure, Provider

__all__ = [
    "ApplyResult",
    "ChangeFailure",
    "Provider",
    "create_provider",
    "register_provider",
    "PROVIDERS",
]

ProviderFactory = Callable[[dict[str, Any], Path], Provider]
PROVIDERS: dict[str, ProviderFactory] = {}

#: The providers that ship with crmctl: type -> "module:class", imported only when an
#: environment names the type. A table of names rather than imports, so that this
#: package imports none of its provider subpackages (they import it).
BUILTIN_PROVIDERS: dict[str, str] = {
    "sandbox": "crmctl.providers.sandbox:SandboxProvider",
    "salesforce": "crmctl.providers.salesforce:SalesforceProvider",
    "dataverse": "crmctl.providers.dataverse:DataverseProvider",
}


def register_provider(type_: str, factory: ProviderFactory) -> None:
    """Make a provider type available to environment files."""
    PROVIDERS[type_] = factory


def _builtin(spec: str) -> ProviderFactory:
    module, _, attr = spec.partition(":")

    def factory(config: dict[str, Any], project_dir: Path) -> Provider:
        provider_class = getattr(importlib.import_module(module), attr)
        provider: Provider = provider_class.from_config(config, project_dir)
        return provider

    return factory


for _type, _spec in BUILTIN_PROVIDERS.items():
    register_provider(_type, _builtin(_spec))


def create_provider(env: Environment) -> Provider:
    """The provider an environment names, connected and ready."""
    type_ = env.provider["type"]
    factory = PROVIDERS.get(type_)
    if factory is None:
        raise ProviderError(
            f"provider '{type_}' of environment {env.name} is not available in this version of crmctl",
            hint=f"available providers: {', '.join(sorted(PROVIDERS))}",
            location=env.location("provider", "type"),
        )
    return factory(env.provider, env.project_dir)
