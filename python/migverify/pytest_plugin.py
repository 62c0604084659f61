"""pytest plugin for migverify: `pytest --migverify` runs one `migverify cycle` per session and
turns each of its checks into a pytest item, `migverify::<check>[<revisions>]`, that passes or
fails with migverify's message (and the schema diff or the rows that show a finding).

Settings, on the command line or in pytest's ini (`[tool.pytest.ini_options]`):

  --migverify / migverify = true         run the gate in this session
  --migverify-migrations DIR / migverify_migrations   the migration project (default ".")
  --migverify-args ARGS / migverify_args  more arguments for `migverify cycle` (shell words)

Everything else (rows, budget, allowed changes, ...) is read by migverify itself from the
project's migverify.toml. The alembic helper runs in the interpreter pytest runs in, so the
project's own dependencies are there, unless the arguments name another with --python.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("migverify", "database migrations, proven by migverify")
    group.addoption(
        "--migverify",
        action="store_true",
        default=None,
        help="run migverify's cycle on the migration project, one item per check",
    )
    group.addoption(
        "--migverify-migrations",
        metavar="DIR",
        default=None,
        help="the migration project (default: ini migverify_migrations, else .)",
    )
    group.addoption(
        "--migverify-args",
        metavar="ARGS",
        default=None,
        help="more arguments for `migverify cycle`, as shell words",
    )
    parser.addini("migverify", "run migverify's cycle in every session", type="bool", default=False)
    parser.addini("migverify_migrations", "the migration project", default=".")
    parser.addini("migverify_args", "more arguments for `migverify cycle`", default="")


def _setting(config, name):
    given = config.getoption(name)
    return given if given is not None else config.getini(name)


def _binary():
    """The migverify installed beside this plugin (the wheel's script), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "migverify")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("migverify") or "migverify"


def _command(config, report_path):
    migrations = _setting(config, "migverify_migrations") or "."
    migrations = os.path.join(str(config.rootpath), migrations)
    args = shlex.split(_setting(config, "migverify_args") or "")
    command = [_binary(), "cycle", "-m", migrations, "--format", "json", "--report", report_path]
    if "--python" not in args:
        command += ["--python", sys.executable]
    return command + args


def _run(config):
    with tempfile.TemporaryDirectory(prefix="migverify-pytest-") as tmp:
        report_path = os.path.join(tmp, "report.json")
        command = _command(config, report_path)
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except OSError as error:
            return None, command, "cannot run {}: {}".format(command[0], error), None
        report = None
        if os.path.isfile(report_path):
            with open(report_path) as f:
                text = f.read()
            if text.strip():
                report = json.loads(text)
        return report, command, done.stderr.strip(), done.returncode


def _failure_text(entry):
    details = entry.get("details") or {}
    parts = [entry.get("message") or entry.get("error") or ""]
    if details.get("diff"):
        parts.append(details["diff"])
    for finding in details.get("findings", []):
        parts.append(finding)
    for row in details.get("rows", []):
        parts.append(
            "{} {}: before {} after {}".format(
                row.get("table"), row.get("key"), row.get("before"), row.get("after")
            )
        )
    return "\n".join(part for part in parts if part)


class MigverifyItem(pytest.Item):
    def __init__(self, *, outcome, text, **kwargs):
        super().__init__(**kwargs)
        self.outcome = outcome
        self.text = text

    def runtest(self):
        if self.outcome == "fail":
            raise MigverifyFailure(self.text)
        if self.outcome == "warn":
            self.warn(pytest.PytestWarning("migverify: " + self.text))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MigverifyFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name


class MigverifyFailure(Exception):
    pass


class MigverifyRun(pytest.Collector):
    """The gate's run, the parent of its items: their ids read `migverify::<check>[...]`."""

    def collect(self):
        return []


def _items(report, command, stderr, code):
    """(name, outcome, text) for each item the run gives."""
    if report is None or report.get("verdict") == "error":
        message = (report or {}).get("error") or stderr or "migverify exited with {}".format(code)
        return [("run", "fail", "{}\n(command: {})".format(message, " ".join(map(shlex.quote, command))))]
    if report.get("verdict") == "skipped":
        return [("run", "skip", report.get("message") or "nothing to test")]
    span = ",".join(report.get("revisions") or []) or "{}..{}".format(
        report.get("from"), report.get("to")
    )
    items = []
    for step in report.get("steps", []):
        if step.get("status") in ("error", "over_budget"):
            name = "{}[{}->{}]".format(step["name"], step["from"], step["to"])
            items.append((name, "fail", step.get("error") or step["status"]))
    for check in report.get("checks", []):
        name = "{}[{}]".format(check["name"], span)
        items.append((name, check["status"], _failure_text(check)))
    seen = {}
    unique = []
    for name, outcome, text in items:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = "{}#{}".format(name, seen[name])
        unique.append((name, outcome, text))
    return unique


def pytest_collection_modifyitems(session, config, items):
    if not _setting(config, "migverify"):
        return
    report, command, stderr, code = _run(config)
    run = MigverifyRun.from_parent(session, name="migverify", nodeid="migverify")
    for name, outcome, text in _items(report, command, stderr, code):
        if outcome == "skip":
            item = MigverifyItem.from_parent(run, name=name, outcome="pass", text=text)
            item.add_marker(pytest.mark.skip(reason=text))
        else:
            item = MigverifyItem.from_parent(run, name=name, outcome=outcome, text=text)
        items.append(item)
