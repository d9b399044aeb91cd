"""The Metadata API calls crmctl makes: listMetadata, retrieve and deploy, with polling.

    client = MetadataClient(connection)
    names = client.list_metadata(["CustomObject", "CustomField", "ValidationRule"])
    zip_bytes = client.retrieve({"CustomField": ["Account.Region__c"]})
    result = client.deploy(zip_bytes, check_only=True)      # DeployResult

A retrieve or deploy is asynchronous: the call answers an id, and
`checkRetrieveStatus` / `checkDeployStatus` are polled (waits growing from
0.1 s to 5 s) until it is done. The number of calls does not depend on the
number of components: listMetadata takes three types per call, and one
retrieve holds up to 10,000 components.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from xml.sax.saxutils import escape

from crmctl.errors import ProviderError
from crmctl.providers.salesforce import metadata_xml as mx
from crmctl.providers.salesforce.connection import Connection

__all__ = ["MetadataClient", "DeployResult", "DeployFailure", "MAX_RETRIEVE"]

#: Components one retrieve may hold (Salesforce's limit).
MAX_RETRIEVE = 10_000
_LIST_BATCH = 3  # listMetadata accepts three queries per call


@dataclass(frozen=True)
class DeployFailure:
    """One component Salesforce refused in a deploy."""

    component_type: str
    full_name: str
    file_name: str
    problem: str


@dataclass
class DeployResult:
    """The outcome of a deploy: success, or the component failures (nothing saved)."""

    id: str
    success: bool
    status: str
    check_only: bool
    failures: list[DeployFailure] = field(default_factory=list)
    error: str | None = None  # a failure of the deploy as a whole


class MetadataClient:
    """Metadata API calls over one connection."""

    def __init__(
        self,
        connection: Connection,
        poll_start: float = 0.1,
        poll_max: float = 5.0,
        timeout: float = 1800.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.poll_start, self.poll_max, self.timeout = poll_start, poll_max, timeout
        self._sleep = sleep

    @property
    def version(self) -> str:
        return self.connection.api_version

    def list_metadata(self, types: Iterable[str]) -> dict[str, list[str]]:
        """Every component's full name, by type (three types per call)."""
        types = list(types)
        out: dict[str, list[str]] = {t: [] for t in types}
        for start in range(0, len(types), _LIST_BATCH):
            batch = types[start : start + _LIST_BATCH]
            queries = "".join(
                f"<met:queries><met:type>{escape(t)}</met:type></met:queries>" for t in batch
            )
            body = (
                f"<met:listMetadata>{queries}<met:asOfVersion>{self.version}"
                "</met:asOfVersion></met:listMetadata>"
            )
            response = self.connection.soap("listMetadata", partial(str, body))
            for result in mx.children(response, "result"):
                type_name, full_name = mx.text(result, "type"), mx.text(result, "fullName")
                if type_name in out and full_name:
                    out[type_name].append(full_name)
        return out

    def retrieve(self, members: Mapping[str, Iterable[str]]) -> bytes:
        """A zip of the named components (unpackaged, singlePackage)."""
        types = "".join(
            "<met:types>"
            + "".join(f"<met:members>{escape(m)}</met:members>" for m in sorted(set(names)))
            + f"<met:name>{escape(type_name)}</met:name></met:types>"
            for type_name, names in sorted(members.items())
            if names
        )
        response = self.connection.soap(
            "retrieve",
            lambda: (
                "<met:retrieve><met:retrieveRequest>"
                f"<met:apiVersion>{self.version}</met:apiVersion>"
                "<met:singlePackage>true</met:singlePackage>"
                f"<met:unpackaged>{types}<met:version>{self.version}</met:version></met:unpackaged>"
                "</met:retrieveRequest></met:retrieve>"
            ),
        )
        process = _async_id(response, "retrieve")
        result = self._poll(
            "checkRetrieveStatus",
            lambda: (
                "<met:checkRetrieveStatus>"
                f"<met:asyncProcessId>{escape(process)}</met:asyncProcessId>"
                "<met:includeZip>true</met:includeZip></met:checkRetrieveStatus>"
            ),
        )
        if mx.text(result, "status") != "Succeeded":
            message = mx.text(result, "errorMessage") or mx.text(result, "status")
            raise ProviderError(f"the Metadata API retrieve {process} failed: {message}")
        try:
            return base64.b64decode(mx.text(result, "zipFile") or "")
        except ValueError:
            raise ProviderError("the Metadata API retrieve answered an invalid zip") from None

    def deploy(
        self,
        zip_bytes: bytes,
        check_only: bool = False,
        rollback_on_error: bool = True,
        on_submitted: Callable[[str], None] | None = None,
    ) -> DeployResult:
        """Deploy a zip (all or nothing with rollbackOnError) and wait for its result.

        `on_submitted` hears the deploy's id as soon as Salesforce has queued it, so
        that a caller who loses the answer later can still ask how it ended.
        """
        encoded = base64.b64encode(zip_bytes).decode("ascii")
        flag = {True: "true", False: "false"}
        response = self.connection.soap(
            "deploy",
            lambda: (
                f"<met:deploy><met:ZipFile>{encoded}</met:ZipFile><met:DeployOptions>"
                "<met:allowMissingFiles>false</met:allowMissingFiles>"
                "<met:autoUpdatePackage>false</met:autoUpdatePackage>"
                f"<met:checkOnly>{flag[check_only]}</met:checkOnly>"
                "<met:ignoreWarnings>false</met:ignoreWarnings>"
                "<met:performRetrieve>false</met:performRetrieve>"
                "<met:purgeOnDelete>false</met:purgeOnDelete>"
                f"<met:rollbackOnError>{flag[rollback_on_error]}</met:rollbackOnError>"
                "<met:singlePackage>true</met:singlePackage>"
                "<met:testLevel>NoTestRun</met:testLevel>"
                "</met:DeployOptions></met:deploy>"
            ),
        )
        process = _async_id(response, "deploy")
        if on_submitted is not None:
            on_submitted(process)
        result = self._poll(
            "checkDeployStatus",
            lambda: (
                "<met:checkDeployStatus>"
                f"<met:asyncProcessId>{escape(process)}</met:asyncProcessId>"
                "<met:includeDetails>true</met:includeDetails></met:checkDeployStatus>"
            ),
        )
        failures = []
        details = mx.child(result, "details")
        for item in mx.children(details, "componentFailures") if details is not None else []:
            failures.append(
                DeployFailure(
                    mx.text(item, "componentType") or "",
                    mx.text(item, "fullName") or "",
                    mx.text(item, "fileName") or "",
                    mx.text(item, "problem") or "refused without a message",
                )
            )
        return DeployResult(
            id=process,
            success=mx.text(result, "success") == "true",
            status=mx.text(result, "status") or "",
            check_only=check_only,
            failures=failures,
            error=mx.text(result, "errorMessage"),
        )

    def deploy_landed(self, process: str) -> bool:
        """Wait for deploy `process` to end; whether it saved its components."""
        result = self._poll(
            "checkDeployStatus",
            lambda: (
                "<met:checkDeployStatus>"
                f"<met:asyncProcessId>{escape(process)}</met:asyncProcessId>"
                "<met:includeDetails>false</met:includeDetails></met:checkDeployStatus>"
            ),
        )
        return mx.text(result, "success") == "true" and mx.text(result, "checkOnly") != "true"

    def _poll(self, operation: str, body: Callable[[], str]):
        wait, started = self.poll_start, time.monotonic()
        while True:
            response = self.connection.soap(operation, body)
            result = mx.child(response, "result")
            if result is None:
                raise ProviderError(f"Metadata API {operation}: the answer has no result")
            if mx.text(result, "done") == "true":
                return result
            if time.monotonic() - started > self.timeout:
                raise ProviderError(
                    f"Metadata API {operation}: not done after {self.timeout:.0f} s; "
                    "Salesforce may still finish it",
                    hint="check Setup > Deployment Status, then run crmctl plan",
                )
            self._sleep(wait)
            wait = min(wait * 2, self.poll_max)


def _async_id(response, operation: str) -> str:
    result = mx.child(response, "result")
    process = mx.text(result, "id") if result is not None else None
    if not process:
        raise ProviderError(f"Metadata API {operation}: the answer has no process id")
    return process
