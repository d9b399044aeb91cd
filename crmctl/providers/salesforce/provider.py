"""The Salesforce provider: configuration through the Metadata API, users through REST.

Read: `listMetadata` (three calls) and one `retrieve` of every component
(polled with `checkRetrieveStatus`), plus two SOQL queries for users and
their permission-set assignments: the number of calls does not grow with
the number of components.

Apply: consecutive configuration changes go into one deploy (package.xml,
destructiveChangesPre.xml for replaced components, destructiveChangesPost.xml
for deleted ones) with rollbackOnError, so Salesforce saves all of them or
none; each refused component is reported on its change. User changes go
through sObject Collections (see `users`). `validate` runs the same deploy
with checkOnly: Salesforce checks it and saves nothing.

RetentionPolicy has no Salesforce equivalent and is not supported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from crmctl.errors import Diagnostic, ProviderError, Severity
from crmctl.kinds.standard import STANDARD_OBJECTS
from crmctl.kinds.standard_field import CUSTOMISABLE_SYSTEM_FIELDS
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.base import (
    ApplyResult,
    ChangeFailure,
    ChangeLogEntry,
    unsupported_warnings,
)
from crmctl.providers.http import HttpClient
from crmctl.providers.salesforce import audit_trail, package
from crmctl.providers.salesforce.auth import Credentials
from crmctl.providers.salesforce.connection import Connection
from crmctl.providers.salesforce.merge import MergeError
from crmctl.providers.salesforce.metadata_api import DeployResult, MetadataClient
from crmctl.providers.salesforce.rest import RestClient
from crmctl.providers.salesforce.users import UserAccess, UserDefaults

__all__ = ["SalesforceProvider", "SUPPORTED_KINDS"]

SUPPORTED_KINDS = (
    "CustomObject",
    "GlobalValueSet",
    "CustomField",
    "StandardField",
    "RecordType",
    "ValidationRule",
    "DuplicateRule",
    "Role",
    "PermissionSet",
    "User",
)
_METADATA_KINDS = frozenset(SUPPORTED_KINDS) - {"User"}
_LOOKUPS = ("Lookup", "MasterDetail")
_SHOWN = 5  # addresses listed per warning


class SalesforceProvider:
    """One Salesforce org behind crmctl's provider protocol."""

    type = "salesforce"

    def __init__(self, connection: Connection, user_defaults: UserDefaults | None = None) -> None:
        self.connection = connection
        self.metadata = MetadataClient(connection)
        self.rest = RestClient(connection)
        self.users = UserAccess(self.rest, user_defaults or UserDefaults())
        self._notes: dict[str, list[str]] = {}  # note -> addresses it is about
        self._rule_counts: dict[str, int] = {}  # duplicate rules per object, for sortOrder
        self._live_names: dict[str, set[str]] = {}  # names per kind at the last read
        self._labels: dict[str, str] = {}  # address -> label at the last read (audit trail)
        # The org's XML of every component at the last read, by (Metadata API type, name):
        # an update changes this, not a file built from the spec alone.
        self._xml: dict[tuple[str, str], package.Component] = {}

    @classmethod
    def from_config(cls, config: dict[str, Any], project_dir: Path) -> SalesforceProvider:
        """Build from an environment's `provider:` block (logs in on first use)."""
        credentials = Credentials.from_config(config)
        http = HttpClient(
            config["instanceUrl"],
            timeout=(10.0, float(config.get("timeout", 60))),
            secrets=credentials.secrets,
        )
        connection = Connection(
            http, credentials, config["instanceUrl"], str(config.get("apiVersion", "61.0"))
        )
        return cls(connection, UserDefaults.from_config(config.get("userDefaults")))

    def describe(self) -> str:
        return f"salesforce {self.connection.instance_url}"

    def supported_kinds(self) -> tuple[str, ...]:
        return SUPPORTED_KINDS

    @property
    def warnings(self) -> list[Diagnostic]:
        """What the last read could not express, and API usage past 80 %."""
        out = [
            Diagnostic(f"Salesforce: {w}", severity=Severity.WARNING, code="api-usage")
            for w in self.connection.warnings
        ]
        out.extend(unsupported_warnings("Salesforce", self._notes, _SHOWN))
        return out

    # --- reading ---------------------------------------------------------------------
    def read(self, kinds: Iterable[str]) -> list[Resource]:
        kinds = set(kinds) & set(SUPPORTED_KINDS)
        self._notes.clear()
        out: list[Resource] = []
        if kinds & _METADATA_KINDS:
            out.extend(self._read_metadata(kinds & _METADATA_KINDS))
        if "User" in kinds:
            out.extend(self.users.read())
        self._live_names = {}
        for resource in out:
            self._live_names.setdefault(resource.kind, set()).add(resource.name)
            self._labels[resource.address] = str(resource.spec.get("label") or "")
        return out

    # --- the audit trail -------------------------------------------------------------
    def change_log(self, since: str | None = None) -> list[ChangeLogEntry]:
        """Setup changes from SetupAuditTrail (one SOQL query), from ISO time `since`.

        Entries are matched to components by `audit_trail`; a user without View
        Setup cannot read the trail, and then drift names no one (a warning says why).
        """
        try:
            rows = self.rest.query(audit_trail.query_for(since))
        except ProviderError as exc:
            self.connection.warnings.append(f"the Setup Audit Trail could not be read: {exc}")
            return []
        return audit_trail.entries(rows, self._labels)

    def change_log_actor(self) -> str | None:
        """The user crmctl logs in as: the JWT subject, or who the token belongs to."""
        if self.connection.credentials.username:
            return self.connection.credentials.username
        info = self.connection.rest("GET", "/services/oauth2/userinfo")
        return info.get("preferred_username") if isinstance(info, dict) else None

    def _read_metadata(self, kinds: set[str]) -> list[Resource]:
        types = sorted({t for k in kinds for t in package.MetadataTypes[k]})
        listed = self.metadata.list_metadata(types)
        if kinds & {"PermissionSet", "StandardField"}:
            # Permission sets come back with permissions only for components in the same
            # retrieve: ask for the standard objects and fields crmctl knows too.
            listed.setdefault("CustomObject", []).extend(STANDARD_OBJECTS)
            listed.setdefault("CustomField", []).extend(
                f"{obj}.{f}"
                for obj, fields in STANDARD_OBJECTS.items()
                for f in (*fields, *CUSTOMISABLE_SYSTEM_FIELDS)
            )
        members = {t: sorted(set(names)) for t, names in listed.items() if names}
        contents = package.ZipContents()
        for chunk in _chunks(members, 10_000):
            part = package.read_zip(self.metadata.retrieve(chunk))
            contents.components.extend(part.components)
            contents.problems.extend(part.problems)
        out = []
        self._rule_counts.clear()
        self._xml = {}
        for component in contents.components:
            address = f"{component.kind}/{component.full_name}"
            if component.element is not None:
                self._xml[(component.type, component.full_name)] = component
            if component.type == "MatchingRule" or component.kind not in kinds:
                continue
            if component.kind == "StandardField" and not component.converted.spec:
                continue  # nothing customised: Salesforce's field as it comes
            if component.converted.spec is None:
                for note in component.converted.notes:
                    self._notes.setdefault(note, []).append(address)
                self._notes.setdefault("left alone (cannot be managed by crmctl)", []).append(
                    address
                )
                continue
            out.append(Resource(component.kind, component.full_name, component.converted.spec))
            if component.kind == "DuplicateRule":
                obj = component.full_name.partition(".")[0]
                self._rule_counts[obj] = self._rule_counts.get(obj, 0) + 1
        for file_name, problem in contents.problems:
            self._notes.setdefault(problem, []).append(file_name)
        return out

    # --- writing ---------------------------------------------------------------------
    def apply(self, changes: list[Change]) -> ApplyResult:
        return self.apply_write(changes, "", None)

    def apply_write(
        self, changes: list[Change], write_id: str, note_ref: Callable[[str], None] | None
    ) -> ApplyResult:
        """Apply; each deploy's id goes to `note_ref` as soon as Salesforce has queued it."""
        result = ApplyResult()
        for is_user, segment in _segments(changes):
            part = (
                self.users.apply(segment)
                if is_user
                else self._deploy(segment, on_submitted=note_ref)
            )
            result.applied.extend(part.applied)
            if part.failed:
                result.failed.extend(part.failed)
                break
        return result

    def validate(self, changes: list[Change]) -> list[ChangeFailure]:
        """Check the changes without saving anything: a checkOnly deploy, and user references."""
        metadata = [c for c in changes if c.kind in _METADATA_KINDS]
        failures: list[ChangeFailure] = []
        if metadata:
            failures.extend(self._deploy(metadata, check_only=True).failed)
        users = [c for c in changes if c.kind == "User"]
        if users:
            failures.extend(self._check_users(users, metadata))
        order = {c.address: i for i, c in enumerate(changes)}
        return sorted(failures, key=lambda f: order.get(f.address, len(order)))

    def resolve_write(self, write_id: str, refs: Sequence[str] = ()) -> bool:
        """Wait for the deploys of a write whose answer was lost; whether any saved anything.

        Salesforce cannot refuse a deploy later, but a queued deploy always ends:
        once it has, the next read shows all it did. Not covered: a deploy sent by a
        process that died before Salesforce answered with its id, and user changes
        (synchronous REST, which Salesforce finishes or drops with the connection).
        """
        return any([self.metadata.deploy_landed(ref) for ref in refs])

    def _deploy(
        self,
        changes: list[Change],
        check_only: bool = False,
        on_submitted: Callable[[str], None] | None = None,
    ) -> ApplyResult:
        """One deploy of `changes` (checkOnly for validate): the same zip either way."""
        # A standard field cannot be deleted: leaving the manifests resets what was customised.
        upserts = [
            Resource(c.kind, c.name, c.after if c.after is not None else {})
            for c in changes
            if c.after is not None or c.kind == "StandardField"
        ]
        deletes = [c for c in changes if c.action is Action.DELETE and c.kind != "StandardField"]
        counts = dict(self._rule_counts)  # a new duplicate rule goes after its object's others
        sort_orders = {}
        for c in changes:
            if c.kind == "DuplicateRule" and c.action is Action.CREATE:
                obj = c.name.partition(".")[0]
                counts[obj] = counts.get(obj, 0) + 1
                sort_orders[c.name] = counts[obj]
        try:
            zip_bytes = package.deploy_zip(
                upserts,
                delete_pre=[(c.kind, c.name) for c in changes if c.action is Action.REPLACE],
                delete_post=[(c.kind, c.name) for c in deletes],
                version=self.connection.api_version,
                sort_orders=sort_orders,
                live=self._live(changes),
            )
        except MergeError as exc:
            return ApplyResult(
                failed=[
                    ChangeFailure(c.address, exc.failures[c.address])
                    for c in changes
                    if c.address in exc.failures
                ]  # fmt: skip
            )
        deployed = self.metadata.deploy(
            zip_bytes, check_only=check_only, rollback_on_error=True, on_submitted=on_submitted
        )
        if deployed.success and not check_only:
            self._rule_counts = counts
        if deployed.success:
            return ApplyResult(applied=[] if check_only else [c.address for c in changes])
        return ApplyResult(failed=_failures(changes, deployed))

    def _live(self, changes: list[Change]) -> dict[str, package.Live]:
        """The org's XML of every component the changes update, by address.

        It comes from the last read; components that read did not cover (an
        apply without a plan in this process) are fetched in one retrieve.
        """
        updates = [
            c
            for c in changes
            if c.before is not None
            and (c.action is Action.UPDATE or (c.kind == "StandardField" and c.after is None))
        ]
        missing: dict[str, list[str]] = {}
        for change in updates:
            for type_name in package.MetadataTypes[change.kind]:
                if (type_name, change.name) not in self._xml:
                    missing.setdefault(type_name, []).append(change.name)
        if missing:
            for component in package.read_zip(self.metadata.retrieve(missing)).components:
                if component.element is not None:
                    self._xml[(component.type, component.full_name)] = component
        live = {}
        for change in updates:
            found = self._xml.get((package.MetadataTypes[change.kind][0], change.name))
            if found is None or found.element is None:
                continue  # not in the org after all: written from the spec
            matching = self._xml.get(("MatchingRule", change.name))
            live[change.address] = package.Live(
                change.before or {},
                found.element,
                matching.element if matching is not None else None,
            )
        return live

    def _check_users(self, users: list[Change], metadata: list[Change]) -> list[ChangeFailure]:
        if not self._live_names:
            self.read(["Role", "PermissionSet"])
        live = self._live_names.get("Role", set()) | self._live_names.get("PermissionSet", set())
        created = {c.name for c in metadata if c.kind in ("Role", "PermissionSet") and c.after}
        deleted = {c.name for c in metadata if c.kind in ("Role", "PermissionSet") and not c.after}
        known = (live | created) - deleted
        failures = []
        for change in users:
            spec = change.after or {}
            missing = [
                n
                for n in [spec.get("role"), *spec.get("permissionSets", [])]
                if n and n not in known
            ]
            if missing:
                failures.append(
                    ChangeFailure(change.address, f"{', '.join(missing)} will not exist in the org")
                )
        return failures

    def requires_replace(
        self, kind: str, before: dict[str, Any], after: dict[str, Any]
    ) -> str | None:
        if kind != "CustomField":
            return None
        old, new = before.get("type"), after.get("type")
        computed = ("Formula", "Summary")
        if old != new and (old in computed or new in computed):
            return f"Salesforce cannot convert a {old} field to {new}; it is deleted and re-created (its data is lost)"
        if (old in _LOOKUPS) != (new in _LOOKUPS):
            return f"Salesforce cannot convert a {old} field to {new}; it is deleted and re-created (its data is lost)"
        if old in _LOOKUPS and before.get("referenceTo") != after.get("referenceTo"):
            return (
                "a relationship field cannot point at another object; it is deleted and re-created"
            )
        return None

    def close(self) -> None:
        self.connection.http.close()


def _segments(changes: list[Change]) -> list[tuple[bool, list[Change]]]:
    """Consecutive runs of configuration changes and of user changes, in plan order."""
    out: list[tuple[bool, list[Change]]] = []
    for change in changes:
        is_user = change.kind == "User"
        if out and out[-1][0] == is_user:
            out[-1][1].append(change)
        else:
            out.append((is_user, [change]))
    return out


def _chunks(members: dict[str, list[str]], size: int) -> list[dict[str, list[str]]]:
    chunks: list[dict[str, list[str]]] = [{}]
    count = 0
    for type_name, names in members.items():
        for name in names:
            if count == size:
                chunks.append({})
                count = 0
            chunks[-1].setdefault(type_name, []).append(name)
            count += 1
    return chunks


def _owner(changes: list[Change], component_type: str, full_name: str, file_name: str) -> Change:
    """The change a refused component belongs to."""
    kind = package.kind_of(component_type, full_name) if component_type in package.KIND_OF else None
    for change in changes:
        if change.kind == kind and change.name == full_name:
            return change
    for change in changes:
        if change.name == full_name:
            return change
    stem = file_name.rpartition("/")[2].rsplit(".", 1)[0]
    for change in changes:
        if stem and change.name.split(".")[0] == stem:
            return change
    return changes[0]


def _failures(changes: list[Change], deployed: DeployResult) -> list[ChangeFailure]:
    """Each refused component as a failure of its change, in plan order.

    The first failure's message also lists the others: Salesforce rolled the
    deploy back as a whole, and the first failure is the one apply shows.
    """
    problems: dict[str, list[str]] = {}
    for failure in deployed.failures:
        change = _owner(changes, failure.component_type, failure.full_name, failure.file_name)
        problems.setdefault(change.address, []).append(failure.problem)
    if not problems:
        problems[changes[0].address] = [deployed.error or f"the deploy ended {deployed.status}"]
    order = [c.address for c in changes if c.address in problems]
    failed = [ChangeFailure(a, "; ".join(problems[a])) for a in order]
    if not deployed.check_only and len(changes) > 1:
        others = "".join(f"\n      {f.address}: {f.message}" for f in failed[1:])
        note = " (Salesforce rolled the deploy back as a whole: nothing of it was saved"
        note += f"; it also refused:{others})" if others else ")"
        failed[0] = ChangeFailure(failed[0].address, failed[0].message + note)
    return failed
