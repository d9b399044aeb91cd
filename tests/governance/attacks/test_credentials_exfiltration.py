"""Attacks on credentials: an environment file cannot send a secret anywhere it likes.

Whoever edits an environment file chooses which variables crmctl reads
credentials from and which URL it sends them to. Secret variables must start
with CRMCTL_ (or be allowed by name in crmctl.yaml), and provider URLs must be
https to a host that is not link-local or a cloud metadata endpoint (plain
http only to loopback). Each attack is refused at validate with file:line and
exit 1, before any request is sent.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.e2e.helpers import live_specs

HINT_URL = (
    "  hint: crmctl sends the environment's credentials to this URL: give the CRM's own "
    "https:// address\n"
)


@pytest.fixture
def listener():
    """An HTTP server on 127.0.0.1 that records every request it receives (and answers 404)."""
    seen: list[tuple[str, str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            seen.append((self.command, self.path, dict(self.headers)))
            self.send_response(404)
            self.end_headers()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _record

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _env(project, name: str, provider: dict) -> None:
    doc = {"provider": provider, "manifests": ["manifests"]}
    (project / "environments" / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def test_credentials_token_env_naming_a_foreign_secret_is_refused(project, crmctl, listener):
    url, seen = listener
    _env(project, "evil", {"type": "sandbox", "url": url, "tokenEnv": "AWS_SECRET_ACCESS_KEY"})
    secret = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        result = crmctl(*command, "-e", "evil", env=secret)
        assert result.exit_code == 1, (command, result.output)
        assert result.err == (
            "Error: environment file environments/evil.yaml has 1 problem\n"
            "environments/evil.yaml:4: provider.tokenEnv: AWS_SECRET_ACCESS_KEY may not hold "
            "crmctl's credentials: secret variables start with CRMCTL_ or are listed in the "
            "project's allow list\n"
            "  hint: rename it to CRMCTL_AWS_SECRET_ACCESS_KEY, or add it to "
            "credentials.allowVariables in crmctl.yaml (a governance change)\n"
        )
    assert seen == []  # not one request: the secret never left the machine


def test_credentials_salesforce_secret_variables_are_checked_too(project, crmctl):
    _env(
        project,
        "evil",
        {
            "type": "salesforce",
            "instanceUrl": "https://northwind.my.salesforce.com",
            "auth": {
                "method": "client_credentials",
                "clientIdEnv": "CRMCTL_SF_CLIENT_ID",
                "clientSecretEnv": "GITHUB_TOKEN",
            },
        },
    )
    result = crmctl("validate", "-e", "evil")
    assert result.exit_code == 1
    assert (
        "environments/evil.yaml:7: provider.auth.clientSecretEnv: GITHUB_TOKEN may not hold "
        "crmctl's credentials" in result.err
    )


def test_credentials_allow_list_admits_only_the_names_it_lists(
    project, crmctl, sandbox_server, monkeypatch
):
    (project / "crmctl.yaml").write_text("credentials:\n  allowVariables: [SANDBOX_TOKEN]\n")
    _env(project, "ok", {"type": "sandbox", "url": sandbox_server.url, "tokenEnv": "SANDBOX_TOKEN"})
    _env(project, "evil", {"type": "sandbox", "url": sandbox_server.url, "tokenEnv": "OTHER_TOKEN"})
    monkeypatch.setenv("SANDBOX_TOKEN", sandbox_server.token)
    monkeypatch.setenv("OTHER_TOKEN", sandbox_server.token)
    allowed = crmctl("plan", "-e", "ok")
    assert allowed.exit_code == 0, allowed.output
    refused = crmctl("apply", "-e", "evil", "--auto-approve")
    assert refused.exit_code == 1
    assert "provider.tokenEnv: OTHER_TOKEN may not hold crmctl's credentials" in refused.err
    assert live_specs(sandbox_server.store) == {}


def test_credentials_a_bad_allow_list_is_reported_with_its_line(project, crmctl):
    (project / "crmctl.yaml").write_text("credentials:\n  allowVariables: [ok_lower]\n")
    result = crmctl("validate", "-e", "local")
    assert result.exit_code == 1
    assert result.err == (
        "Error: project file crmctl.yaml has 1 problem\n"
        "crmctl.yaml:2: credentials.allowVariables[0]: must be the NAME of an environment "
        "variable (got 'ok_lower')\n"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "http://crm.example.com",
            "must use https (plain http only to loopback: 127.0.0.1, ::1, localhost)",
        ),
        ("http://169.254.169.254/latest/meta-data/", "points at a cloud metadata endpoint"),
        ("https://169.254.169.254", "points at a cloud metadata endpoint"),
        ("https://2852039166", "points at a cloud metadata endpoint"),
        ("https://0xa9.0xfe.0xa9.0xfe", "points at a cloud metadata endpoint"),
        ("https://[::ffff:169.254.169.254]", "points at a cloud metadata endpoint"),
        (
            "http://metadata.google.internal./computeMetadata/v1/",
            "points at a cloud metadata endpoint",
        ),
        ("https://[fd00:ec2::254]", "points at a cloud metadata endpoint"),
        ("https://169.254.10.1", "points at a link-local address (169.254.0.0/16, fe80::/10)"),
        ("https://[fe80::1]:8443", "points at a link-local address (169.254.0.0/16, fe80::/10)"),
        (
            "https://deploy:hunter2@crm.example.com",
            "carries a user name or password (user@host); credentials come only from variables",
        ),
        (
            "https://token@crm.example.com",
            "carries a user name or password (user@host); credentials come only from variables",
        ),
        (
            "https://crm.example.com/\r\nX-Forward-To: evil.example",
            "contains a control character or whitespace (CR, LF, tab, space…)",
        ),
    ],
)
def test_credentials_provider_url_is_refused_at_validate(project, crmctl, url, problem):
    _env(project, "evil", {"type": "sandbox", "url": url, "tokenEnv": "CRMCTL_TOKEN"})
    result = crmctl("validate", "-e", "evil", env={"CRMCTL_TOKEN": "secret-value"})
    assert result.exit_code == 1
    assert result.err == (
        "Error: environment file environments/evil.yaml has 1 problem\n"
        f"environments/evil.yaml:3: provider.url {url!r} {problem}\n" + HINT_URL
    )
    assert "secret-value" not in result.output


@pytest.mark.parametrize("key", ["instanceUrl", "loginUrl"])
def test_credentials_salesforce_urls_are_checked_too(project, crmctl, key):
    provider = {
        "type": "salesforce",
        "instanceUrl": "https://northwind.my.salesforce.com",
        "auth": {
            "method": "client_credentials",
            "clientIdEnv": "CRMCTL_ID",
            "clientSecretEnv": "CRMCTL_SECRET",
        },
    }
    provider[key] = "http://northwind.my.salesforce.com"
    _env(project, "evil", provider)
    result = crmctl("validate", "-e", "evil")
    assert result.exit_code == 1
    assert (
        f"provider.{key} 'http://northwind.my.salesforce.com' must use https (plain http only "
        "to loopback: 127.0.0.1, ::1, localhost)\n" in result.err
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://localhost:8765",
        "http://[::1]:8765",
        "https://crm.example.com",
    ],
)
def test_credentials_loopback_http_and_https_urls_stay_valid(project, crmctl, url):
    _env(project, "fine", {"type": "sandbox", "url": url, "tokenEnv": "CRMCTL_TOKEN"})
    result = crmctl("validate", "-e", "fine")
    assert result.exit_code == 0, result.output


def test_credentials_generated_ci_plans_only_pull_requests_from_this_repository(project, crmctl):
    assert crmctl("ci", "init", "--github", "-e", "prod").exit_code == 0
    workflow = yaml.safe_load((project / ".github" / "workflows" / "crmctl.yml").read_text())
    plan = workflow["jobs"]["plan"]
    assert plan["if"] == (
        "${{ !cancelled() && github.event_name == 'pull_request' && "
        "github.event.pull_request.head.repo.full_name == github.repository }}"
    )
    assert "pull_request_target" not in workflow["on"]
    assert "secrets." not in str(workflow["jobs"]["validate"])
    # Every other job that holds secrets runs only on a push to the main branch.
    holding = {name for name, job in workflow["jobs"].items() if "secrets." in str(job)}
    assert holding == {"plan", "apply"}
    assert workflow["jobs"]["apply"]["if"] == (
        "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    )

    assert crmctl("ci", "init", "--gitlab", "-e", "staging").exit_code == 0
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["plan"]["rules"] == [
        {
            "if": '$CI_PIPELINE_SOURCE == "merge_request_event" && '
            "$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID",
            "when": "always",
        }
    ]


def test_credentials_a_token_in_the_history_remote_is_refused(project, crmctl):
    remote = (
        "https://x-access-token:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/nw/history.git"
    )
    text = (project / "environments" / "local.yaml").read_text()
    (project / "environments" / "local.yaml").write_text(
        text.replace("  path: .crmctl/history\n", f"  path: .crmctl/history\n  remote: {remote}\n")
    )
    result = crmctl("validate")
    assert result.exit_code == 1
    assert result.err == (
        "Error: environment file environments/local.yaml has 1 problem\n"
        f"environments/local.yaml:12: history.remote {remote!r} carries a password or token "
        "(user:secret@host)\n"
        "  hint: give git its credentials the usual way (an SSH key, a credential helper), "
        "never in the environment file\n"
    )


@pytest.mark.parametrize(
    "remote",
    ["git@github.com:nw/history.git", "https://github.com/nw/history.git", "../history.git"],
)
def test_credentials_ordinary_history_remotes_stay_valid(project, crmctl, remote):
    text = (project / "environments" / "local.yaml").read_text()
    (project / "environments" / "local.yaml").write_text(
        text.replace(
            "  path: .crmctl/history\n", f"  path: .crmctl/history\n  remote: '{remote}'\n"
        )
    )
    result = crmctl("validate")
    assert result.exit_code == 0, result.output
