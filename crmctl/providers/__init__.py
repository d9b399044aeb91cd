"""Providers: one adapter per CRM, created by name from the environment's `provider.type`."""

from __future__ import annotations

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


def register_provider(type_: str, factory: ProviderFactory) -> None:
    """Make a provider type available to environment files."""
    PROVIDERS[type_] = factory


def _sandbox(config: dict[str, Any], project_dir: Path) -> Provider:
    from crmctl.providers.sandbox import SandboxProvider

    return SandboxProvider.from_config(config, project_dir)


register_provider("sandbox", _sandbox)


def _salesforce(config: dict[str, Any], project_dir: Path) -> Provider:
    from crmctl.providers.salesforce import SalesforceProvider

    return SalesforceProvider.from_config(config, project_dir)


register_provider("salesforce", _salesforce)


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
