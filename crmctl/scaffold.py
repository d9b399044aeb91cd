"""`crmctl init`: the files of a new project, ready for `crmctl plan` against the sandbox."""

from __future__ import annotations

from pathlib import Path

from crmctl.config.project import is_project_root

__all__ = [
    "GITIGNORE",
    "GITIGNORE_LINES",
    "LOCAL_ENVIRONMENT",
    "EXAMPLE_MANIFEST",
    "EXAMPLE_TEST",
    "project_files",
    "gitignore_text",
    "existing_project",
]

LOCAL_ENVIRONMENT = "environments/local.yaml"
DYNAMICS_ENVIRONMENT = "environments/dynamics.yaml"
EXAMPLE_MANIFEST = "manifests/example.yaml"
EXAMPLE_TEST = "crm-tests/example.yaml"
GITIGNORE = ".gitignore"

_LOCAL = """\
# The embedded sandbox CRM: it runs inside crmctl, keeps everything in a local
# SQLite file and needs no account and no credentials. crmctl uses this
# environment when -e is not given ($CRMCTL_ENV overrides that).
#
# For a real org, add environments/prod.yaml (provider: salesforce or dataverse;
# credentials come from environment variables it names, never from this file),
# then: crmctl plan -e prod. See docs/ in the crmctl repository.
description: Embedded sandbox CRM on this machine (no account needed)
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests:
  - manifests
history:
  path: .crmctl/history
"""

_EXAMPLE = """\
# An example to start from: a field on Account and a validation rule that uses it.
# Edit it, or replace it with what your CRM holds (crmctl import, or
# crmctl import --from sfdx DIR for a Salesforce DX project).
apiVersion: crmctl/v1
kind: CustomField
metadata:
  name: Account.Annual_Revenue__c
  owner: crm-admins
spec:
  type: Currency
  label: Annual Revenue
  precision: 16
  scale: 2
  classification: Confidential
---
apiVersion: crmctl/v1
kind: ValidationRule
metadata:
  name: Account.Revenue_Not_Negative
  owner: crm-admins
spec:
  condition: Annual_Revenue__c < 0
  errorMessage: Annual revenue cannot be negative.
  errorField: Annual_Revenue__c
"""

_EXAMPLE_TEST = """\
# Configuration tests: `crmctl test` runs each case against a throwaway sandbox
# built from the manifests. One YAML document per case.
case: Annual revenue cannot be negative
record:
  create: Account
  values: {Name: Example Ltd, Annual_Revenue__c: -1}
  expect:
    rejected:
      field: Annual_Revenue__c
      message: Annual revenue cannot be negative.
---
case: A positive annual revenue is accepted
record:
  create: Account
  values: {Name: Example Ltd, Annual_Revenue__c: 250000}
  expect: accepted
"""

#: What a crmctl project keeps out of git: local state, and private keys and secrets.
GITIGNORE_LINES = [
    "# crmctl's local state: the embedded sandbox's database, the history, locks",
    ".crmctl/",
    "# Private keys and secrets never belong in git (JWT keys, approval signing keys)",
    "*.key",
    "*.pem",
    "*.p12",
    "*.pfx",
    "id_rsa",
    "id_ecdsa",
    "id_ed25519",
    ".env",
]


_DYNAMICS = """\
# A Dynamics 365 (Dataverse) environment: its manifests use Dataverse logical names
# (nw_invoice, account.nw_region). Fill in url and tenantId, then export the two
# variables named below (an application user's client id and secret: never put the
# values in this file) and run: crmctl validate -e dynamics && crmctl plan -e dynamics
description: Dynamics 365 (Dataverse) environment
provider:
  type: dataverse
  url: https://YOUR-ORG.crm.dynamics.com
  tenantId: YOUR-TENANT.onmicrosoft.com
  clientIdEnv: CRMCTL_DV_CLIENT_ID
  clientSecretEnv: CRMCTL_DV_CLIENT_SECRET
manifests:
  - manifests
history:
  path: .crmctl/history-dynamics
"""


def project_files(example: bool = True, dataverse: bool = False) -> dict[str, str]:
    """Path (relative to the project) -> content. Without `example`: the environment only.

    With `dataverse`, the environment is a Dataverse one (environments/dynamics.yaml):
    the embedded sandbox speaks Salesforce names, not Dataverse ones.
    """
    if dataverse:
        return {DYNAMICS_ENVIRONMENT: _DYNAMICS}
    files = {LOCAL_ENVIRONMENT: _LOCAL}
    if example:
        files[EXAMPLE_MANIFEST] = _EXAMPLE
        files[EXAMPLE_TEST] = _EXAMPLE_TEST
    return files


def gitignore_text(existing: str | None) -> str | None:
    """The .gitignore with crmctl's lines added where missing; None when nothing is missing."""
    have = {line.strip() for line in (existing or "").splitlines()}
    missing = [line for line in GITIGNORE_LINES if line.strip() not in have]
    if not any(not line.startswith("#") for line in missing):
        return None
    text = existing or ""
    if text and not text.endswith("\n"):
        text += "\n"
    if text:
        text += "\n"
    return text + "\n".join(missing) + "\n"


def existing_project(folder: Path) -> bool:
    """Whether `folder` already holds a crmctl project."""
    return is_project_root(folder)
