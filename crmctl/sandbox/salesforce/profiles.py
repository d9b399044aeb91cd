"""A Profile deploy updates the org's profile; it does not replace it.

Salesforce designed a Profile deploy "to overlay the existing Profile
settings in a target org" (Metadata API Developer Guide, Profile): each
permission or assignment the file names is set, and the ones it leaves out
keep their values. This module overlays a deployed profile on the one the
org keeps:

    merged = merge(stored_element_or_None, deployed_element)

An entry of a repeated element is named by its key (`objectPermissions` by
`object`, `layoutAssignments` by its object and record type …) and replaces
the stored entry of the same key in place, or is added after the last entry
of its kind. A single element (`custom`, `description`, `userLicense`,
`loginHours`) replaces the stored one. A repeated element with no key here
(`loginIpRanges`) replaces all the stored ones, as the file lists them all.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

from crmctl.sandbox.salesforce import mdxml

__all__ = ["merge", "KEYS"]

#: Repeated element -> the child elements that name an entry.
KEYS: dict[str, tuple[str, ...]] = {
    "applicationVisibilities": ("application",),
    "categoryGroupVisibilities": ("dataCategoryGroup",),
    "classAccesses": ("apexClass",),
    "customMetadataTypeAccesses": ("name",),
    "customPermissions": ("name",),
    "customSettingAccesses": ("name",),
    "externalDataSourceAccesses": ("externalDataSource",),
    "fieldPermissions": ("field",),
    "flowAccesses": ("flow",),
    "objectPermissions": ("object",),
    "pageAccesses": ("apexPage",),
    "recordTypeVisibilities": ("recordType",),
    "tabVisibilities": ("tab",),
    "userPermissions": ("name",),
}
_SINGLE = frozenset({"custom", "description", "fullName", "loginHours", "userLicense"})


def _key(item: ET.Element) -> tuple[str, ...] | None:
    if item.tag == "layoutAssignments":
        # One layout per object and record type: the layout's name starts with its object.
        layout = mdxml.text(item, "layout") or ""
        return (layout.partition("-")[0], mdxml.text(item, "recordType") or "")
    names = KEYS.get(item.tag)
    return tuple(mdxml.text(item, n) or "" for n in names) if names else None


def merge(stored: ET.Element | None, deployed: ET.Element) -> ET.Element:
    """The profile the org keeps after `deployed` (a Profile element) is deployed."""
    if stored is None:
        return copy.deepcopy(deployed)
    out = copy.deepcopy(stored)
    replaced: set[str] = set()  # keyless repeated tags the deploy lists again
    for item in deployed:
        item = copy.deepcopy(item)
        key = _key(item)
        same = [old for old in out if old.tag == item.tag]
        if key is not None:
            match = next((old for old in same if _key(old) == key), None)
        elif item.tag in _SINGLE:
            match = same[0] if same else None
        else:
            if item.tag not in replaced:
                for old in same:
                    out.remove(old)
                replaced.add(item.tag)
            same, match = [old for old in out if old.tag == item.tag], None
        if match is not None:
            out[list(out).index(match)] = item
        elif same:
            out.insert(list(out).index(same[-1]) + 1, item)
        else:
            later = [i for i, old in enumerate(out) if old.tag > item.tag]
            out.insert(later[0] if later else len(out), item)
    return out
