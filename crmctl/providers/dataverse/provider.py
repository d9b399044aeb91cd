"""The Dataverse provider: Dynamics 365 configuration through the Dataverse Web API.

Read: a constant number of requests per kind (see `reads`). Apply: one change
at a time, in plan order (see `writes`), then one PublishXml for the tables
and global choices that changed; a change Dataverse refuses stops the apply
there, and crmctl restores what came before it. Plan: what Dataverse cannot
do is refused up front, at the manifest line (`plan_diagnostics`): a column's
data type cannot change after it is created. ValidationRule is planned for
no resource, each named with the reason: business rules cannot be authored
through the Web API. Drift is attributed from the audit history (`audits`),
where the environment audits the tables crmctl manages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crmctl.errors import Diagnostic, ProviderError, Severity
from crmctl.model import Resource
from crmctl.plan.model import Change
from crmctl.providers.base import (
    ApplyResult,
    ChangeFailure,
    ChangeLogEntry,
    unsupported_warnings,
)
from crmctl.providers.dataverse import (
    audit,
    checks,
    columns,
    fieldsecurity,
    reads,
    resolve,
    retention,
    rules,
    security,
    userprofiles,
)
from crmctl.providers.dataverse.auth import BearerAuth, Credentials, TokenSource
from crmctl.providers.dataverse.webapi import WebApi
from crmctl.providers.dataverse.writes import Writer
from crmctl.providers.http import HttpClient

__all__ = ["DataverseProvider", "SUPPORTED_KINDS"]

SUPPORTED_KINDS: tuple[str, ...] = ("CustomObject", "CustomField", "DuplicateRule", "Role")
SUPPORTED_KINDS += ("PermissionSet", "User", "RetentionPolicy")
_METADATA = frozenset({"CustomObject", "CustomField"})
#: The platform cuts a synchronous request at about four minutes: never wait that long.
_LONGEST_READ = 230.0
_SHOWN = 5
_NOT_AUTHORED = (
    "not planned: Dataverse business rules cannot be authored through the Web API "
    "(docs/dynamics.md, ValidationRule); the rule is not applied on this environment"
)


class DataverseProvider:
    """One Dataverse environment behind crmctl's provider protocol."""

    type = "dataverse"
    #: Seconds after which no request sent can still land (resolve.py; `inFlightCutSeconds`).
    in_flight_cut: float = resolve.DEFAULT_CUT

    def __init__(self, api: WebApi, tokens: TokenSource | None = None) -> None:
        self.api = api
        self.tokens = tokens
        self.snapshot = reads.Snapshot()
        self._read_kinds: set[str] = set()

    @classmethod
    def from_config(cls, config: dict[str, Any], project_dir: Path) -> DataverseProvider:
        """Build from an environment's `provider:` block (signs in on the first request)."""
        credentials = Credentials.from_config(config)
        timeout = min(float(config.get("timeout", 60)), _LONGEST_READ)
        tokens = TokenSource(credentials, timeout=timeout)
        http = HttpClient(credentials.url, timeout=(10.0, timeout), secrets=credentials.secrets)
        http.session.auth = BearerAuth(tokens, http.secrets)
        provider = cls(WebApi(http, config.get("solution")), tokens)
        provider.in_flight_cut = resolve.cut_from_config(config)
        return provider

    @property
    def requests_made(self) -> int:
        """Requests sent to the Web API (for benchmarks and tests; sign-in not counted)."""
        return self.api.http.requests_made

    def describe(self) -> str:
        return f"dataverse {self.api.http.base_url}"

    def supported_kinds(self) -> tuple[str, ...]:
        return SUPPORTED_KINDS

    @property
    def warnings(self) -> list[Diagnostic]:
        """What the last read could not express."""
        return unsupported_warnings("Dataverse", self.snapshot.notes, _SHOWN)

    # --- reading ---------------------------------------------------------------------
    def read(self, kinds: Iterable[str]) -> list[Resource]:
        kinds = set(kinds) & set(SUPPORTED_KINDS)
        self.snapshot = reads.Snapshot()
        out: list[Resource] = []
        if kinds & _METADATA:
            out.extend(reads.read_metadata(self.api, self.snapshot, kinds))
        if kinds & {"Role", "PermissionSet", "User"}:
            units = reads.read_units(self.api, self.snapshot)
            if "Role" in kinds:
                out.extend(units)
        if kinds & {"PermissionSet", "User"}:
            roles = reads.read_roles(self.api, self.snapshot)
            # A user holds a permission set with fields through its profile too (userprofiles).
            fields = fieldsecurity.read_profiles(self.api, self.snapshot.profiles)
            if "PermissionSet" in kinds:
                fieldsecurity.attach(roles, fields, self.snapshot.notes)
                out.extend(roles)
        if "User" in kinds:
            out.extend(reads.read_users(self.api, self.snapshot))
        if "DuplicateRule" in kinds:
            out.extend(reads.read_rules(self.api, self.snapshot))
        if "RetentionPolicy" in kinds:
            out.extend(
                retention.read_policies(self.api, self.snapshot.retention, self.snapshot.notes)
            )
        self._read_kinds = kinds
        return out

    def _ensure_read(self, changes: Sequence[Change]) -> None:
        """The ids the writes need come from a read: make one if this process has none."""
        needed = {c.kind for c in changes}
        if needed & {"PermissionSet", "User", "Role"}:
            # Users too: a profile that comes to grant fields takes in its role's holders.
            needed |= {"Role", "PermissionSet", "User"}
        if needed & _METADATA:
            needed |= {"DuplicateRule"}  # their rules are published again after a change
        if not needed <= self._read_kinds:
            self.read(set(SUPPORTED_KINDS))

    # --- planning --------------------------------------------------------------------
    def requires_replace(
        self, kind: str, before: dict[str, Any], after: dict[str, Any]
    ) -> str | None:
        # Dataverse replaces nothing: what it cannot change is refused (plan_diagnostics).
        return None

    def unstored_keys(self, kind: str) -> frozenset[str]:
        """Spec keys Dataverse has no place for, kept in git only (LeavesKeysUnstored)."""
        return columns.UNSTORED.get(kind, frozenset())

    def plan_diagnostics(
        self, desired: Mapping[str, Resource], changes: Sequence[Change]
    ) -> list[Diagnostic]:
        """What Dataverse cannot do, at the manifest line: errors refuse the plan."""
        out: list[Diagnostic] = []
        for change in changes:
            resource = desired.get(change.address)
            where = resource.location("type") if resource is not None else change.source
            if resource is not None and change.after is not None:
                out.extend(_change_notes(resource, change))
            if (
                change.kind == "CustomField"
                and change.after
                and not columns.metadata_type(change.after)
            ):
                out.append(
                    Diagnostic(
                        f"a {change.after.get('type')} field has no Dataverse column type; refused",
                        where or change.source,
                        change.address,
                        hint="Dataverse columns: Text, Email, Phone, Url, AutoNumber, LongTextArea, "
                        "Number, Currency, Date, DateTime, Checkbox, Picklist, MultiPicklist, Lookup",
                        code="dataverse-unsupported-type",
                    )
                )
                continue
            if change.kind == "CustomField" and resource is not None and change.after:
                out.extend(checks.option_value_refusals(resource, change))
            if change.kind == "CustomField" and change.before and change.after:
                refusal = columns.type_change_refusal(change.before, change.after)
                if refusal:
                    out.append(
                        Diagnostic(
                            f"{refusal}; refused",
                            where or change.source,
                            change.address,
                            hint="keep the column's type, or declare a new column and remove this one",
                            code="dataverse-immutable",
                        )
                    )
        out.extend(checks.root_unit_refusals(desired, changes, self.snapshot))
        out.extend(checks.option_prefix_warnings(self.api, desired, changes))
        published: dict[str, list[Resource]] = {}
        for resource in desired.values():
            out.extend(_resource_notes(resource))
            if resource.kind == "RetentionPolicy":
                out.extend(retention.refusals(resource))
            if resource.kind == "DuplicateRule" and resource.spec.get("active", True):
                published.setdefault(resource.name.partition(".")[0], []).append(resource)
        for table, active in sorted(published.items()):
            if len(active) > rules.MAX_PUBLISHED:
                for resource in active[rules.MAX_PUBLISHED :]:
                    out.append(
                        Diagnostic(
                            f"Dataverse publishes at most {rules.MAX_PUBLISHED} duplicate rules "
                            f"per table; {len(active)} active rules are declared for {table}",
                            resource.location("active") or resource.location(),
                            resource.address,
                            hint="set active: false on the rules that can wait",
                            code="dataverse-limit",
                        )
                    )
        return out

    # --- writing ---------------------------------------------------------------------
    def apply(self, changes: list[Change]) -> ApplyResult:
        return self.apply_write(changes, uuid.uuid4().hex, None)

    def apply_write(
        self, changes: list[Change], write_id: str, note_ref: Callable[[str], None] | None
    ) -> ApplyResult:
        """Apply as write `write_id`: new rows get ids from it, journaled (see `resolve`)."""
        plain = self.api
        tracked = resolve.TrackedApi(plain, write_id, note_ref, self.in_flight_cut)
        self.api = tracked
        try:
            result = self._apply(changes)
        finally:
            self.api = plain
        tracked.settled()
        return result

    def resolve_write(self, write_id: str, refs: Sequence[str] = ()) -> bool:
        """Wait out the platform's cut since the write's last request (unless every request
        was answered); whether any of it landed."""
        until, rows = resolve.parse_refs(refs)
        if until is None:  # no request of the write was sent
            return False
        if resolve.SETTLED not in refs:
            resolve.wait_out(write_id, until, self.in_flight_cut)
        return resolve.UNCHECKED in refs or resolve.landed(self.api, rows)

    def _apply(self, changes: list[Change]) -> ApplyResult:
        result = ApplyResult()
        if not changes:
            return result
        self._ensure_read(changes)
        writer = Writer(self.api, self.snapshot)
        try:
            for change in changes:
                try:
                    if change.kind == "RetentionPolicy":
                        retention.write_policy(self.api, change, self.snapshot.retention)
                    else:
                        writer.apply(change)
                    if change.kind == "PermissionSet":
                        if (change.after or {}).get("fields"):
                            # Securing a column PUTs its whole definition as read, and a
                            # read shows published labels: publish what this apply relabelled
                            # first, or the PUT would write the old labels back.
                            writer.publish()
                        granted = userprofiles.profile_id(self.snapshot.profiles, change.name)
                        fieldsecurity.write_profile(self.api, change, self.snapshot.profiles)
                        userprofiles.grant_holders(self.api, self.snapshot, change.name, granted)
                except ProviderError as exc:
                    result.failed.append(ChangeFailure(change.address, exc.message))
                    break
                result.applied.append(change.address)
        finally:
            # What was written is published even when a later change failed: restore reads it.
            try:
                writer.publish()
                writer.republish_rules()
            except ProviderError as exc:
                if not result.failed and result.applied:
                    last = result.applied.pop()
                    result.failed.append(ChangeFailure(last, f"publishing failed: {exc.message}"))
        return result

    # --- the audit history -----------------------------------------------------------
    def change_log(self, since: str | None = None) -> list[ChangeLogEntry]:
        """Changes to the rows crmctl reads (roles, business units, users) from `audits`."""
        try:
            return audit.entries(self.api, self.snapshot, since)
        except ProviderError as exc:
            self.snapshot.notes.setdefault(
                f"the audit history could not be read ({exc.message}); drift names no one", []
            )
            return []

    def change_log_actor(self) -> str | None:
        """The application user crmctl signs in as (WhoAmI)."""
        return audit.whoami(self.api)

    def close(self) -> None:
        self.api.http.close()


def _resource_notes(resource: Resource) -> list[Diagnostic]:
    """Per resource: what this environment will not do with it."""
    spec = resource.spec
    where = resource.location()
    if resource.kind == "ValidationRule":
        return [
            Diagnostic(
                _NOT_AUTHORED,
                where,
                resource.address,
                severity=Severity.WARNING,
                code="not-planned",
            )
        ]
    out: list[Diagnostic] = []
    if resource.kind == "DuplicateRule":
        refusal = rules.rule_refusals(spec)
        if refusal:
            out.append(
                Diagnostic(
                    f"{refusal}; refused",
                    resource.location("match") or where,
                    resource.address,
                    code="dataverse-unsupported",
                )
            )
    if resource.kind in ("PermissionSet", "Role"):
        label = str(spec.get("label") or "")
        if security.api_name(label) != resource.name:
            what = "security role" if resource.kind == "PermissionSet" else "business unit"
            out.append(
                Diagnostic(
                    f"a Dataverse {what} is known by its name, which is this label: the label "
                    f"'{label}' reads back as {resource.kind}/{security.api_name(label)}, not "
                    f"{resource.name}",
                    resource.location("label") or where,
                    resource.address,
                    hint=f"name it {security.api_name(label)}, or change the label to match "
                    f"(spaces and punctuation become _)",
                    code="dataverse-name",
                )
            )
    return out


def _change_notes(resource: Resource, change: Change) -> list[Diagnostic]:
    """Per change: what Dataverse will store differently from what the manifest says."""
    spec = change.after or {}
    where = resource.location()
    out: list[Diagnostic] = []
    required = spec.get("required") and not (change.before or {}).get("required")
    if resource.kind == "CustomField" and required:
        out.append(
            Diagnostic(
                "required is ApplicationRequired (business required) on Dataverse: its apps "
                "enforce it, its Web API does not (an integration or import can still leave "
                "it empty)",
                resource.location("required") or resource.location("requiredLevel") or where,
                resource.address,
                severity=Severity.WARNING,
                code="dataverse-required",
            )
        )
    return out
