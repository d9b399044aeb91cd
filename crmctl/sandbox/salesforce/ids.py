"""Salesforce record ids: a 3-character key prefix per object, 15 or 18 characters.

An id is the object's key prefix and 12 base-62 characters (15, case-sensitive);
its 18-character form adds 3 characters that encode, for each block of 5, which
characters are upper case, so that the id survives case-insensitive tools.
The APIs answer 18-character ids and accept either form (`normal_id`).

Ids here are derived from a stable key (a row's name), so that the same row has
the same id in every answer and after a restart.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = [
    "KEY_PREFIXES",
    "METADATA_PREFIXES",
    "ORG_ID",
    "ORG_ID_15",
    "sf_id",
    "to18",
    "normal_id",
    "metadata_id",
]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

#: Key prefixes of the sObjects this org answers (as Salesforce assigns them).
KEY_PREFIXES: dict[str, str] = {
    "Organization": "00D",
    "User": "005",
    "UserRole": "00E",
    "Profile": "00e",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "SetupAuditTrail": "0Ym",
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "Case": "500",
    "Task": "00T",
    "Event": "00U",
    "Campaign": "701",
}

#: Key prefixes of the setup rows behind Metadata API components (listMetadata's `id`).
METADATA_PREFIXES: dict[str, str] = {
    "CustomObject": "01I",
    "CustomField": "00N",
    "ValidationRule": "03d",
    "Role": "00E",
    "PermissionSet": "0PS",
    "Profile": "00e",
    "DuplicateRule": "0Bm",
    "MatchingRule": "0JD",
    "GlobalValueSet": "0Nt",
    "RecordType": "012",
    "ListView": "00B",
    "Layout": "00h",
    "CompactLayout": "0AH",
    "WebLink": "00b",
    "FieldSet": "0IX",
    "BusinessProcess": "019",
    "QuickAction": "09D",
    "CustomTab": "01r",
    "CustomApplication": "02u",
    "FlexiPage": "0M0",
    "Flow": "301",
    "ApexClass": "01p",
    "ApexTrigger": "01q",
    "StaticResource": "081",
    "EmailTemplate": "00X",
    "Report": "00O",
    "Dashboard": "01Z",
    "Queue": "00G",
    "Group": "00G",
    "CustomLabel": "101",
}


def to18(id15: str) -> str:
    """The 18-character, case-safe form of a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, c in enumerate(id15[start : start + 5]) if "A" <= c <= "Z")
        suffix += _SUFFIX[bits]
    return id15 + suffix


def _body(key: str) -> str:
    number = int.from_bytes(hashlib.sha1(key.lower().encode()).digest()[:10], "big")
    body = ""
    for _ in range(12):
        number, digit = divmod(number, 62)
        body += _B62[digit]
    return body


def sf_id(sobject: str, key: str) -> str:
    """The stable 18-character id of a row of `sobject` (derived from `key`, its name)."""
    return to18(KEY_PREFIXES[sobject] + _body(key))


def metadata_id(type_name: str, full_name: str) -> str:
    """The 18-character id of the setup row behind a Metadata API component."""
    return to18(METADATA_PREFIXES.get(type_name, "000") + _body(f"{type_name}/{full_name}"))


def normal_id(value: Any) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None for a malformed one."""
    if not isinstance(value, str) or len(value) not in (15, 18):
        return None
    if not value.isascii() or not value.isalnum():
        return None
    full = to18(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None  # the suffix does not belong to these 15 characters
    return full


#: This org's id (a stable, valid 00D id), 15 and 18 characters.
ORG_ID = sf_id("Organization", "crmctl sandbox org")
ORG_ID_15 = ORG_ID[:15]
