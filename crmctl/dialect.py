"""Name dialects: how a CRM's names tell custom from standard, one function per question.

An environment's provider decides the dialect of its manifests' names
(`dialect_of(provider type)`). Salesforce (and the sandbox, which speaks it)
marks custom objects and fields with `__c`; Dataverse marks custom tables and
columns with the publisher prefix (`nw_invoice`, `account.nw_region`), and its
standard tables have none (`account`, `contact`). Validation, plan ordering and
the import ask these functions, never the suffix or the prefix directly, so a
Dataverse organisation is checked and ordered exactly as a Salesforce one is.

Light on purpose (no jsonschema): `crmctl.schemas` re-exports the dialect names.
"""

from __future__ import annotations

import re

__all__ = [
    "DEFAULT_DIALECT",
    "DATAVERSE",
    "dialect_of",
    "provider_title",
    "is_standard_object",
    "is_custom_object",
    "is_custom_field",
    "is_custom_relationship",
    "publisher_prefix",
    "microsoft_prefix",
    "MICROSOFT_PREFIXES",
]

#: Salesforce's names are the default (the sandbox speaks them too).
DEFAULT_DIALECT = "salesforce"
DATAVERSE = "dataverse"
_DIALECTS = {"dataverse": DATAVERSE}
_PROVIDER_TITLES = {"dataverse": "Dataverse"}

#: A Dataverse publisher prefix: 2 to 8 letters or digits, starting with a letter, then `_`
#: (the schemas' pattern; `pre__assets` is one: prefix `pre`, name `_assets`).
_PUBLISHER_PREFIXED = re.compile(r"[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]*[A-Za-z0-9]")
#: Dataverse's own columns that look prefixed: the composite address parts (`address1_city`).
_DATAVERSE_STANDARD_COLUMN = re.compile(r"address[1-3]_[A-Za-z0-9_]+")
#: Prefixes of the tables and columns Microsoft's own solutions add to an environment
#: (Dynamics 365 apps `msdyn_`, `msdynce_`, `msdynmkt_`; Power Pages `adx_`, `mspp_`;
#: Customer Voice `msfp_`; the catalog `mspcat_`): Microsoft Learn's table reference lists
#: them among Dataverse's tables (`reference/entities/adx_setting`, `msdyn_…`). They are the
#: environment's standard tables, never the organisation's publisher's.
MICROSOFT_PREFIXES = frozenset({"adx", "msdyn", "msdynce", "msdynmkt", "msfp", "mspp", "mspcat"})


def publisher_prefix(name: str) -> str | None:
    """The publisher prefix of a Dataverse custom table's or column's name (`nw` of
    `nw_invoice`), else None: a standard name, Microsoft's, or a Salesforce `__c` name."""
    if _PUBLISHER_PREFIXED.fullmatch(name) is None or name.lower().endswith("__c"):
        return None
    prefix = name.partition("_")[0]
    return None if prefix.lower() in MICROSOFT_PREFIXES else prefix


def microsoft_prefix(name: str) -> str | None:
    """The prefix of a name in Microsoft's own namespace (`msdyn` of `msdyn_workorder`)."""
    prefix, underscore, _ = name.partition("_")
    return prefix if underscore and prefix.lower() in MICROSOFT_PREFIXES else None


def _prefixed(name: str) -> bool:
    """A Dataverse name with a publisher prefix (a Salesforce `__c` name never is one)."""
    return publisher_prefix(name) is not None


def dialect_of(provider_type: str) -> str:
    """The name dialect of a provider type (`dataverse`, else `salesforce`)."""
    return _DIALECTS.get(provider_type, DEFAULT_DIALECT)


def provider_title(provider_type: str) -> str:
    """A provider type as people write it (`Dataverse`)."""
    return _PROVIDER_TITLES.get(provider_type, provider_type)


def is_standard_object(name: str, dialect: str = DEFAULT_DIALECT) -> bool:
    """Whether `name` is a standard object's (table's) name, which needs no declaration.

    Both dialects' standard names have no underscore at all (`Contract`,
    `systemuser`): `__c`, `__mdt` … mark Salesforce custom objects, and a
    single underscore is a Dataverse publisher prefix, except Microsoft's own
    (`msdyn_workorder`, `adx_setting`: `MICROSOFT_PREFIXES`).
    """
    if not name or not name[0].isalpha():
        return False
    if dialect == DATAVERSE and "_" in name:
        return microsoft_prefix(name) is not None and not name.endswith("_")
    return "_" not in name


def is_custom_object(name: str, dialect: str = DEFAULT_DIALECT) -> bool:
    """Whether `name` is a custom object (table) a CustomObject manifest creates."""
    if dialect == DATAVERSE:
        return _prefixed(name)
    return name.lower().endswith("__c")


def is_custom_field(field: str, dialect: str = DEFAULT_DIALECT) -> bool:
    """Whether a field's own name (`Region__c`, `nw_region`) is a custom field's.

    A custom field must be declared (as a CustomField) to be used; a standard
    field of a standard object crmctl does not list is taken on trust.
    """
    if dialect == DATAVERSE:
        return _prefixed(field) and _DATAVERSE_STANDARD_COLUMN.fullmatch(field) is None
    return field.lower().endswith("__c")


def is_custom_relationship(name: str, dialect: str = DEFAULT_DIALECT) -> bool:
    """Whether a formula's relationship name is a custom lookup's (`Account__r`).

    Dataverse has no formula relationship names: none of its names is one.
    """
    if dialect == DATAVERSE:
        return False
    return name.lower().endswith("__r")
