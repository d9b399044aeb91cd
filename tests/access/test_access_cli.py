"""`crmctl access`: exact reports from the manifests and from the live CRM, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SandboxServer

PII_REPORT = """\
Effective access in environment 'local', from the manifests:

Consent__c.Contact__c  [PII]
  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)

Consent__c.IP_Address__c  [PII]
  amara.okafor@northwind.example     read        via Data_Steward
  chloe.martin@northwind.example     read, edit  via Marketing
  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)

Contact.Date_Of_Birth__c  [Sensitive]
  amara.okafor@northwind.example     read        via Data_Steward
  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)

Contact.National_Id__c  [Sensitive]
  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)
  tomas.berg@northwind.example       read        via Security_Officer, ViewAllData (Security_Officer)

Contact.Personal_Mobile__c  [PII]
  amara.okafor@northwind.example     read, edit  via Data_Steward
  kenji.watanabe@northwind.example   read        via Service_Agent
  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)

Invoice__c.Billing_Email__c  [PII]
  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)

Lead.LinkedIn_Profile__c  [PII]
  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)

8 users, 0 objects, 7 fields, 13 grants.
"""


def test_personal_data_report(project: Path, crmctl) -> None:
    r = crmctl("access", "--classification", "PII,Sensitive")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out == PII_REPORT
    # Repeating the option is the same as a list; classifications ignore case.
    assert crmctl("access", "--classification", "pii", "--classification", "sensitive").out == (
        PII_REPORT
    )


def test_csv_for_one_field(project: Path, crmctl) -> None:
    r = crmctl("access", "--field", "Contact.National_Id__c", "--format", "csv")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out == (
        "user,role,object,field,classification,permissions,via\n"
        "priya.shah@northwind.example,Operations,Contact,National_Id__c,Sensitive,read edit,"
        "admin: ModifyAllData (CRM_Admin)\n"
        "tomas.berg@northwind.example,Operations,Contact,National_Id__c,Sensitive,read,"
        '"Security_Officer, ViewAllData (Security_Officer)"\n'
    )


def test_objects_and_fields_by_name_and_glob(project: Path, crmctl) -> None:
    r = crmctl("access", "--field", "Invoice__c", "--field", "Invoice__c.Amount*")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out == (
        "Effective access in environment 'local', from the manifests:\n"
        "\n"
        "Invoice__c (object)\n"
        "  ines.moreau@northwind.example      read"
        "                                            via Sales_Rep\n"
        "  jonas.lindqvist@northwind.example  read"
        "                                            via Sales_Rep\n"
        "  maria.garcia@northwind.example     read"
        "                                            via Sales_Rep\n"
        "  priya.shah@northwind.example       read, create, edit, delete, viewAll, modifyAll"
        "  via admin: ModifyAllData (CRM_Admin)\n"
        "  tomas.berg@northwind.example       read, viewAll"
        "                                   via ViewAllData (Security_Officer)\n"
        "\n"
        "Invoice__c.Amount__c  [Confidential]\n"
        "  ines.moreau@northwind.example      read        via Sales_Rep\n"
        "  jonas.lindqvist@northwind.example  read        via Sales_Rep\n"
        "  maria.garcia@northwind.example     read        via Sales_Rep\n"
        "  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)\n"
        "\n"
        "8 users, 1 object, 1 field, 9 grants.\n"
    )


def test_a_field_only_admins_hold_lists_only_them(project: Path, crmctl) -> None:
    r = crmctl("access", "--field", "Subscription__c.Auto_Renew__c")
    assert r.out.splitlines()[2:5] == [
        "Subscription__c.Auto_Renew__c  [Internal]",
        "  priya.shah@northwind.example       read, edit  via admin: ModifyAllData (CRM_Admin)",
        "",
    ]
    r = crmctl(
        "access", "--field", "Lead.LinkedIn_Profile__c", "--user", "chloe.martin@northwind.example"
    )
    # Only what the chosen users hold is listed.
    assert r.out == (
        "Effective access in environment 'local', from the manifests:\n\n"
        "1 user, 0 objects, 1 field, 0 grants.\n"
    )


def test_overrides_of_the_environment_apply(project: Path, crmctl) -> None:
    r = crmctl(
        "access",
        "-e",
        "staging",
        "--user",
        "ines.moreau@northwind.example,maria.garcia@northwind.example",
        "--field",
        "Subscription__c.Discount__c",
    )
    assert (r.exit_code, r.err) == (0, "")
    assert r.out == (
        "Effective access in environment 'staging', from the manifests:\n"
        "\n"
        "Subscription__c.Discount__c  [Confidential]\n"
        "  maria.garcia@northwind.example  read, edit  via Sales_Rep\n"
        "\n"
        "Inactive users (no access): ines.moreau@northwind.example\n"
        "\n"
        "2 users, 0 objects, 1 field, 1 grant.\n"
    )


def test_json(project: Path, crmctl) -> None:
    r = crmctl(
        "access",
        "--user",
        "kenji.watanabe@northwind.example",
        "--field",
        "Contact*",
        "--format",
        "json",
    )
    assert (r.exit_code, r.err) == (0, "")
    assert json.loads(r.out) == {
        "environment": "local",
        "source": "manifests",
        "users": [
            {
                "name": "kenji.watanabe@northwind.example",
                "role": "Service_Agent",
                "active": True,
                "admin": False,
                "permissionSets": ["Service_Agent"],
            }
        ],
        "targets": [
            {"object": "Contact", "field": None, "classification": None},
            {"object": "Contact", "field": "Date_Of_Birth__c", "classification": "Sensitive"},
            {"object": "Contact", "field": "Interests__c", "classification": "Internal"},
            {"object": "Contact", "field": "Last_Contacted__c", "classification": "Internal"},
            {"object": "Contact", "field": "National_Id__c", "classification": "Sensitive"},
            {"object": "Contact", "field": "Personal_Mobile__c", "classification": "PII"},
            {"object": "Contact", "field": "Preferred_Language__c", "classification": "Internal"},
        ],
        "grants": [
            {"user": "kenji.watanabe@northwind.example", "object": "Contact", "field": None,
             "permissions": ["read", "edit"],
             "via": {"read": ["Service_Agent"], "edit": ["Service_Agent"]}},
            {"user": "kenji.watanabe@northwind.example", "object": "Contact",
             "field": "Last_Contacted__c", "permissions": ["read", "edit"],
             "via": {"read": ["Service_Agent"], "edit": ["Service_Agent"]}},
            {"user": "kenji.watanabe@northwind.example", "object": "Contact",
             "field": "Personal_Mobile__c", "permissions": ["read"],
             "via": {"read": ["Service_Agent"]}},
            {"user": "kenji.watanabe@northwind.example", "object": "Contact",
             "field": "Preferred_Language__c", "permissions": ["read", "edit"],
             "via": {"read": ["Service_Agent"], "edit": ["Service_Agent"]}},
        ],
    }  # fmt: skip


def test_unknown_names_are_errors_with_hints(project: Path, crmctl) -> None:
    r = crmctl("access", "--user", "tomas.berg@northwind.exmple")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: no User named 'tomas.berg@northwind.exmple'\n"
        "hint: did you mean 'tomas.berg@northwind.example'?\n"
    )
    r = crmctl("access", "--classification", "Secret")
    assert (r.exit_code, r.err) == (
        1,
        "Error: unknown classification 'Secret'\n"
        "hint: classifications: Public, Internal, Confidential, PII, Sensitive\n",
    )
    r = crmctl("access", "--field", "Contact.National_ID")
    assert (r.exit_code, r.err) == (
        1,
        "Error: no object or custom field matches Contact.National_ID\n"
        "hint: did you mean 'Contact.National_Id__c'?\n",
    )


def test_live_reads_the_crm_and_agrees_with_the_manifests(
    http_project: Path, sandbox_server: SandboxServer, crmctl
) -> None:
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    live = crmctl("access", "--live", "--format", "json")
    assert (live.exit_code, live.err) == (0, "")
    manifests = crmctl("access", "--format", "json")
    assert json.loads(live.out) == {**json.loads(manifests.out), "source": "live"}
    # A change made in the CRM shows up with --live only.
    store = sandbox_server.store
    spec = store.get_config("PermissionSet", "Marketing")["spec"]
    spec["fields"]["Contact.Date_Of_Birth__c"] = ["read"]
    store.put_config("PermissionSet", "Marketing", spec, actor="someone")
    r = crmctl("access", "--live", "--field", "Contact.Date_Of_Birth__c", "--format", "csv")
    assert r.out.splitlines()[1] == (
        "amara.okafor@northwind.example,Operations,Contact,Date_Of_Birth__c,Sensitive,read,"
        "Data_Steward"
    )
    assert r.out.splitlines()[2] == (
        "chloe.martin@northwind.example,Marketing_Manager,Contact,Date_Of_Birth__c,Sensitive,read,"
        "Marketing"
    )
    assert "chloe" not in crmctl("access", "--field", "Contact.Date_Of_Birth__c").out


def test_live_against_an_unreachable_crm_is_a_clear_error(project: Path, crmctl) -> None:
    (project / "environments" / "down.yaml").write_text(
        "description: nobody listens here\n"
        "provider: {type: sandbox, url: 'http://127.0.0.1:9', tokenEnv: CRMCTL_DOWN_TOKEN}\n"
        "manifests: [manifests]\n"
    )
    r = crmctl(
        "access", "-e", "down", "--live", env={"CRMCTL_DOWN_TOKEN": "x", "CRMCTL_HTTP_RETRIES": "0"}
    )
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: GET http://127.0.0.1:9/api/v1/config/CustomObject: cannot reach the CRM"
        " (connection refused)\nhint: check the URL and that the server is running\n"
    )
