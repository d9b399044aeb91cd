"""What the generated CI needs to know: the environment, its secrets, how to install crmctl."""

from __future__ import annotations

from dataclasses import dataclass, field

from crmctl.config.environment import Environment

__all__ = ["CiSettings", "Secret", "ci_settings", "PLAN_MARKER"]

#: First line of the plan comment on a pull request: how the job finds its comment to update it.
PLAN_MARKER = "<!-- crmctl-plan -->"


@dataclass(frozen=True)
class Secret:
    """An environment variable the environment file names for a credential."""

    name: str
    is_file: bool = False  # the variable holds the path of a file (a private key)


@dataclass
class CiSettings:
    """Everything the workflow templates are filled with."""

    environment: str
    secrets: list[Secret] = field(default_factory=list)
    manifests: list[str] = field(default_factory=lambda: ["manifests"])
    install: str = "pip install crmctl"  # the shell command: crmctl.ci.install_command(SPEC)
    branch: str = "main"
    tests: bool = False  # the project has configuration tests (crm-tests/): CI runs them
    python: str = "3.11"
    drift_cron: str = "17 3 * * *"


def _secrets(env: Environment) -> list[Secret]:
    provider = env.provider
    found = [Secret(provider["tokenEnv"])] if "tokenEnv" in provider else []
    auth = provider.get("auth", {})
    for key in ("clientIdEnv", "clientSecretEnv"):
        if key in auth:
            found.append(Secret(auth[key]))
    if "keyFileEnv" in auth:
        found.append(Secret(auth["keyFileEnv"], is_file=True))
    return found


def ci_settings(env: Environment, install: str, branch: str = "main") -> CiSettings:
    """Settings for an environment: its credential variables and manifest folders.

    `install` is the shell command that installs crmctl (see crmctl.ci.install).
    """
    return CiSettings(
        environment=env.name,
        secrets=_secrets(env),
        manifests=list(env.data.get("manifests", ["manifests"])),
        install=install,
        branch=branch,
        tests=(env.project_dir / "crm-tests").is_dir(),
    )
