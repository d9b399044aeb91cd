"""One module per manifest kind: canonical form, dependencies and reference checks."""

from __future__ import annotations

from crmctl.kinds.base import ConfigIndex, KindHandler
from crmctl.kinds.custom_field import CustomFieldKind
from crmctl.kinds.custom_object import CustomObjectKind
from crmctl.kinds.duplicate_rule import DuplicateRuleKind
from crmctl.kinds.global_value_set import GlobalValueSetKind
from crmctl.kinds.permission_set import PermissionSetKind
from crmctl.kinds.record_type import RecordTypeKind
from crmctl.kinds.retention_policy import RetentionPolicyKind
from crmctl.kinds.role import RoleKind
from crmctl.kinds.standard_field import StandardFieldKind
from crmctl.kinds.user import UserKind
from crmctl.kinds.validation_rule import ValidationRuleKind
from crmctl.schemas import KINDS

__all__ = ["HANDLERS", "KINDS", "ConfigIndex", "KindHandler", "handler"]

HANDLERS: dict[str, KindHandler] = {
    h.kind: h
    for h in (
        CustomObjectKind(),
        GlobalValueSetKind(),
        CustomFieldKind(),
        StandardFieldKind(),
        RecordTypeKind(),
        ValidationRuleKind(),
        DuplicateRuleKind(),
        RetentionPolicyKind(),
        RoleKind(),
        PermissionSetKind(),
        UserKind(),
    )
}
assert set(HANDLERS) == set(KINDS)


def handler(kind: str) -> KindHandler:
    """The handler of a kind (KeyError for an unknown kind)."""
    return HANDLERS[kind]
