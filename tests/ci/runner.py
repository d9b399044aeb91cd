"""Run generated CI files here: a GitHub job's `run:` steps and a GitLab job's script, in order.

What the code hosts do themselves is stood in for, and nothing of crmctl's: `actions/checkout`
and `setup-python` are no-ops (the project is the working folder, the fresh venv is first on
PATH), `upload-artifact` checks its files exist and yields a URL, `github-script` (JavaScript)
is replaced by reading the comment file it would post. GitLab's notes API is a small HTTP
server on 127.0.0.1 that records what the job's own script sends it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "tests", "bench", "*.egg-info", "__pycache__", ".*cache"
)


def build_wheel(folder: Path) -> None:
    """Build a wheel of this checkout into `folder`, from a copy (pip builds a folder in place).

    With the build backend of this venv (the test extra holds [build-system]'s requirements,
    which pip checks): an isolated build environment would install setuptools every run.
    """
    source = folder / "crmctl-source"
    shutil.copytree(REPO, source, ignore=_IGNORED, symlinks=True)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder)),
            *("--no-build-isolation", "--check-build-dependencies", str(source)),
        ],
        check=True,
        timeout=600,
    )
    shutil.rmtree(source)


#: The `pip` command of the venv, as pip's own launcher script: pip comes from the .pth below.
_PIP = """#!{python}
import sys
from pip._internal.cli.main import main
sys.exit(main())
"""


def fresh_venv(tmp_path: Path, wheel: Path) -> tuple[Path, str]:
    """A new venv (no crmctl in it) and a pip requirement for `wheel` (this checkout, built).

    The venv sees this interpreter's installed packages (crmctl's dependencies and pip) through
    a .pth file, so the install step needs no download, and making the venv needs no
    `ensurepip`: its `pip` command is pip's launcher, run by the venv's python, so it installs
    into the venv as setup-python's pip would.
    """
    venv = tmp_path / "fresh-venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
    )
    (site,) = (venv / "lib").glob("python3*/site-packages")
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "_crmctl_test_deps.pth").write_text("\n".join(deps) + "\n")
    pip = venv / "bin" / "pip"
    pip.write_text(_PIP.format(python=venv / "bin" / "python"))
    pip.chmod(0o755)
    return venv / "bin", f"crmctl @ {wheel.as_uri()}"


def base_env(bin_dir: Path, home: Path) -> dict[str, str]:
    """A CI runner's environment: the venv first on PATH, nothing of this test process's crmctl."""
    keep = ("LANG", "LC_ALL", "TMPDIR", "PIP_CONFIG_FILE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PIP_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        HOME=str(home),
        NO_COLOR="1",
        CI="true",
    )
    return env


@dataclass
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class GitHubRun:
    """One job's run: what each step did, the artifacts it uploaded, the comment it posted."""

    steps: list[StepResult] = field(default_factory=list)
    artifacts: dict[str, list[Path]] = field(default_factory=dict)
    comment: str | None = None

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if s.returncode != 0), None)


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _substitute(text: str, context: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        node: Any = context
        for part in match.group(1).split("."):
            assert isinstance(node, dict) and part in node, f"unknown expression {match.group(0)}"
            node = node[part]
        return str(node)

    return _EXPRESSION.sub(value, text)


def _read_pairs(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        key, sep, val = line.partition("=")
        if sep:
            pairs[key] = val
    path.write_text("")
    return pairs


def run_github_job(
    job: dict[str, Any],
    cwd: Path,
    env: dict[str, str],
    secrets: dict[str, str],
    runner_temp: Path,
) -> GitHubRun:
    """Run a job's steps in order, stopping at the first failing one (as GitHub does)."""
    run = GitHubRun()
    outputs: dict[str, dict[str, str]] = {}
    context = {"secrets": secrets, "github": {"actor": "octo-admin"}, "steps": outputs}
    runner_temp.mkdir(exist_ok=True)
    output_file, env_file = runner_temp / "output", runner_temp / "env"
    exported: dict[str, str] = {}
    for index, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {index}"
        step_outputs: dict[str, str] = {}
        if "uses" in step:
            action = step["uses"].split("@")[0]
            if action == "actions/upload-artifact":
                paths = [cwd / p for p in step["with"]["path"].split()]
                assert all(p.exists() for p in paths), f"{name}: missing {paths}"
                run.artifacts[step["with"]["name"]] = paths
                step_outputs["artifact-url"] = f"https://ci.example/artifacts/{step['id']}"
            elif action == "actions/github-script":
                script = step["with"]["script"]
                assert "readFileSync('comment.md'" in script, script
                run.comment = (cwd / "comment.md").read_text(encoding="utf-8")
            else:
                assert action in ("actions/checkout", "actions/setup-python"), action
            run.steps.append(StepResult(name, 0, "", ""))
        else:
            step_env = dict(env)
            step_env.update(exported)
            for scope in (job.get("env", {}), step.get("env", {})):
                step_env.update({k: _substitute(str(v), context) for k, v in scope.items()})
            step_env.update(
                GITHUB_OUTPUT=str(output_file),
                GITHUB_ENV=str(env_file),
                RUNNER_TEMP=str(runner_temp),
            )
            output_file.write_text("")
            env_file.write_text("")
            assert "${{" not in step["run"], f"{name}: expressions belong in env, not in run"
            done = subprocess.run(
                ["bash", "-e", "-c", step["run"]],
                cwd=cwd,
                env=step_env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            run.steps.append(StepResult(name, done.returncode, done.stdout, done.stderr))
            step_outputs = _read_pairs(output_file)
            exported.update(_read_pairs(env_file))
            if done.returncode != 0:
                break
        if "id" in step:
            outputs[step["id"]] = {"outputs": step_outputs}
    return run


def run_gitlab_job(
    pipeline: dict[str, Any], job: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A job's before_script and script in one shell, as the GitLab runner does."""
    spec = pipeline[job]
    lines = [*spec.get("before_script", pipeline["default"]["before_script"]), *spec["script"]]
    job_env = dict(env)
    for key, val in pipeline.get("variables", {}).items():
        job_env[key] = _expand(str(val), env)
    return subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + "\n".join(lines)],
        cwd=cwd,
        env=job_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), value)


@dataclass
class Note:
    method: str
    path: str
    token: str | None
    body: dict[str, Any] | None


class GitLabNotes:
    """GitLab's merge-request notes API, as much of it as the plan job calls."""

    def __init__(self) -> None:
        self.requests: list[Note] = []
        self.notes: list[dict[str, Any]] = []
        notes = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, data: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                token = self.headers.get("PRIVATE-TOKEN")
                notes.requests.append(Note(self.command, self.path, token, body))
                if self.command == "GET":
                    self._reply(200, notes.notes)
                elif self.command == "POST":
                    note = {"id": len(notes.notes) + 1, "body": body["body"]}
                    notes.notes.append(note)
                    self._reply(201, note)
                else:
                    note_id = int(self.path.rsplit("/", 1)[1])
                    notes.notes[note_id - 1]["body"] = body["body"]
                    self._reply(200, notes.notes[note_id - 1])

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v4"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
