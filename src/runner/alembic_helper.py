# migverify's alembic helper: one long-lived process in the project's own interpreter, driven
# over JSON lines on stdin/stdout. It uses alembic's Config, ScriptDirectory and command API, so
# it never parses CLI output. Shipped inside the migverify binary.
import ast
import inspect
import json
import os
import sys
import textwrap
import traceback
import types

# The protocol owns the real stdout; anything a migration prints goes to stderr.
protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr


def reply(**message):
    protocol.write(json.dumps(message) + "\n")


try:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.runtime.migration import MigrationContext, MigrationStep
    from alembic.script import ScriptDirectory
    import sqlalchemy
except Exception as error:  # the interpreter lacks alembic or SQLAlchemy
    reply(ok=False, fatal=True, error=f"cannot import alembic in {sys.executable}: {error}")
    sys.exit(0)

# The driver named in the URLs migverify passes: psycopg2, else psycopg 3, whichever the
# project's interpreter has.
for driver in ("psycopg2", "psycopg"):
    try:
        __import__(driver)
        break
    except ImportError:
        continue
else:
    reply(ok=False, fatal=True, error=f"cannot import a PostgreSQL driver (psycopg2 or psycopg) in {sys.executable}")
    sys.exit(0)

project, ini = sys.argv[1], sys.argv[2]
# Main options an env.py may read its URL from, besides sqlalchemy.url.
url_options = ["url", *json.loads(sys.argv[3])]
# Environment variables env.py reads, whose values hold `{url}` for the scratch database's.
url_env = json.loads(sys.argv[4])
os.chdir(project)


def config(url=None, x=()):
    cfg = Config(ini) if os.path.exists(ini) else Config()
    if not os.path.exists(ini):
        cfg.set_main_option("script_location", project)
    if url is not None:
        # Every channel an env.py may read the URL from: the ini option, -x url=, env vars.
        for option in ("sqlalchemy.url", *url_options):
            cfg.set_main_option(option, url.replace("%", "%%"))
        x = [item.replace("{url}", url) for item in x]
        cfg.cmd_opts = types.SimpleNamespace(x=[f"url={url}", *x])
        for name in ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_URL", "ALEMBIC_DATABASE_URL"):
            os.environ[name] = url
        for name, template in url_env.items():
            os.environ[name] = template.replace("{url}", url)
    return cfg


def statements(function):
    """The statements of a function, docstrings left out; None when its source cannot be read
    as a plain `def` (no source, a lambda, a callable object)."""
    try:
        definition = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    return [
        node
        for node in definition.body
        if not (isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant))
    ]


def has_down(script):
    """False when downgrade() raises NotImplementedError, or does nothing to undo an upgrade
    that does something (an empty merge revision has nothing to undo)."""
    body = statements(getattr(script.module, "downgrade", None))
    if body is None:
        return True
    if all(isinstance(node, ast.Pass) for node in body):
        up = statements(getattr(script.module, "upgrade", None))
        return up is not None and all(isinstance(node, ast.Pass) for node in up)
    if len(body) == 1 and isinstance(body[0], ast.Raise):
        raised = body[0].exc
        name = getattr(raised, "id", None) or getattr(getattr(raised, "func", None), "id", None)
        return name != "NotImplementedError"
    return True


# The revision files, read once: a long history costs seconds to read again for every step.
_script_directory = None


def script_directory():
    global _script_directory
    if _script_directory is None:
        _script_directory = ScriptDirectory.from_config(config())
    return _script_directory


def revisions():
    # In file-name order, which migverify keeps wherever parents allow: it is how people number
    # and date revision files, while alembic's walk order between branches is arbitrary.
    scripts = sorted(
        script_directory().walk_revisions("base", "heads"),
        key=lambda script: os.path.basename(script.path),
    )
    return [
        {
            "id": script.revision,
            "parents": list(script._normalized_down_revisions),
            "description": (script.doc or "").strip(),
            "has_down": has_down(script),
            "files": [os.path.basename(script.path)],
        }
        for script in scripts
    ]


# Where env.py keeps its version table, as its context.configure() says (seen by `probe`).
version_table = {}


def current(url):
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection, opts=dict(version_table)).get_current_heads()
    engine.dispose()
    return list(heads)


def probe(url, x=()):
    """The database env.py really connects to, found by running it read-only (`current`)."""
    seen = []
    original = MigrationContext.configure.__func__

    def recording(cls, connection=None, *args, **kwargs):
        if connection is not None:
            seen.append(connection.exec_driver_sql("SELECT current_database()").scalar())
        opts = kwargs.get("opts") or {}
        for key in ("version_table", "version_table_schema"):
            if opts.get(key):
                version_table[key] = opts[key]
        return original(cls, connection, *args, **kwargs)

    MigrationContext.configure = classmethod(recording)
    try:
        command.current(config(url, x))
    finally:
        MigrationContext.configure = classmethod(original)
    return seen


def handle(request):
    op = request["op"]
    if op == "revisions":
        return {"revisions": revisions()}
    if op == "probe":
        databases = probe(request["url"], request.get("x", ()))
        return {"databases": databases, **version_table}
    if op == "current":
        return {"heads": current(request["url"])}
    if op in ("apply", "revert"):
        step(config(request["url"], request.get("x", ())), request["revision"], op == "apply")
        return {}
    if op == "upgrade":
        # A fresh deploy: `alembic upgrade <head>` for each head of the state, one command each.
        cfg = config(request["url"], request.get("x", ()))
        for head in request["heads"]:
            command.upgrade(cfg, head)
        return {}
    raise ValueError(f"unknown request {op!r}")


def step(cfg, revision, upgrade):
    """Applies or reverts exactly one revision through env.py, as `command.upgrade` would but
    without choosing the revisions itself: migverify walks branches and merges one at a time,
    and alembic's heads bookkeeping (HeadMaintainer) records each move."""
    scripts = script_directory()
    script = scripts.get_revision(revision)
    make = MigrationStep.upgrade_from_script if upgrade else MigrationStep.downgrade_from_script

    def one_step(heads, context):
        return [make(scripts.revision_map, script)]

    with EnvironmentContext(cfg, scripts, fn=one_step, destination_rev=revision):
        scripts.run_env()


def last_lines(error, count=6):
    """The end of the traceback, without the exceptions it was raised from."""
    lines = "".join(traceback.format_exception(type(error), error, error.__traceback__, chain=False)).rstrip().splitlines()
    return "\n".join(lines[-count:])


reply(ok=True, ready=True, driver=driver)
for line in sys.stdin:
    try:
        reply(ok=True, **handle(json.loads(line)))
    except NotImplementedError as error:
        reply(ok=False, irreversible=True, error=str(error) or "NotImplementedError", traceback=last_lines(error))
    except Exception as error:
        message = str(error).splitlines()[0] if str(error) else ""
        reply(ok=False, error=f"{type(error).__name__}: {message}", traceback=last_lines(error))
