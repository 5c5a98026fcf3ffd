#!/usr/bin/env python3
"""The project's two commands; needs nothing but Python 3.11+.

    python3 manage.py demo    set up everything and run the demo portal at http://127.0.0.1:5000
    python3 manage.py test    install what the tests need and run the whole suite

Both create ``.venv`` on first use and re-install only when ``pyproject.toml`` changes, so they
can be run again at any time without breaking or duplicating anything.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
INSTANCE = Path(os.environ.get("PORTAL_INSTANCE_PATH", ROOT / "instance"))

# Debian packages the browser tests drive, and Node.js for the local OpenID Connect provider.
TEST_DEBIAN_PACKAGES = {
    "chromium": "/usr/bin/chromium",
    "nodejs": "/usr/bin/node",
    "npm": "/usr/bin/npm",
}


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=False)  # noqa: S603
    if check and completed.returncode != 0:
        sys.exit(completed.returncode)
    return completed.returncode


def ensure_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (manage.py runs on any python3 first)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")


def ensure_venv() -> None:
    if PY.exists():
        return
    say("creating the virtual environment in .venv")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    except (subprocess.CalledProcessError, OSError):
        # Debian splits ensurepip into python3-venv; install it when we are allowed to.
        if shutil.which("apt-get") and os.geteuid() == 0:
            say("installing Debian's python3-venv")
            apt_install([f"python{sys.version_info.major}.{sys.version_info.minor}-venv"])
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        else:
            sys.exit("Python's venv module cannot create environments here; install python3-venv")


def ensure_installed(extra: str) -> None:
    """Install the project (editable) with ``extra``, unless done for this pyproject already."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extra or 'base'}-{digest}"
    if stamp.exists():
        return
    say(f"installing the portal and its dependencies ({extra or 'base'})")
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extra}]" if extra else "."
    run(PY, "-m", "pip", "install", "--quiet", "--editable", target)
    for old in VENV.glob(f".installed-{extra or 'base'}-*"):
        old.unlink()
    stamp.touch()


def apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages, env=env)


def ensure_debian_packages() -> None:
    missing = [pkg for pkg, path in TEST_DEBIAN_PACKAGES.items() if not Path(path).exists()]
    if not missing:
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say(f"installing Debian packages for the browser tests: {' '.join(missing)}")
        apt_install(missing)
    else:
        print(f"note: {' '.join(missing)} missing; tests that need them are skipped", flush=True)


def ensure_node_packages() -> None:
    """npm packages the tests use (axe-core, the local OpenID provider), from package-lock."""
    package_json = ROOT / "tests" / "node" / "package.json"
    if not package_json.exists() or not shutil.which("npm"):
        return
    lock = package_json.with_name("package-lock.json")
    digest = hashlib.sha256(
        package_json.read_bytes() + (lock.read_bytes() if lock.exists() else b"")
    ).hexdigest()[:16]
    stamp = package_json.parent / "node_modules" / f".installed-{digest}"
    if stamp.exists():
        return
    say("installing the tests' npm packages")
    command = "ci" if lock.exists() else "install"
    run("npm", command, "--no-audit", "--no-fund", "--silent", "--prefix", package_json.parent)
    stamp.touch()


def portal_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PORTAL_INSTANCE_PATH", str(INSTANCE))
    env.setdefault("FLASK_APP", "portal")
    return env


def flask(*args: str, env: dict[str, str] | None = None) -> None:
    run(BIN / "flask", *args, env=env or portal_env())


def install_demo_instance() -> None:
    """The demo firm's policy, settings and files, copied once; never overwrites the firm's own."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    for name, source in (
        ("policy.toml", ROOT / "instance" / "policy.example.toml"),
        ("config.toml", ROOT / "instance" / "config.demo.toml"),
    ):
        if not (INSTANCE / name).exists() and source.exists():
            shutil.copyfile(source, INSTANCE / name)
    demo = ROOT / "instance" / "demo"
    if demo.is_dir() and demo.resolve() != (INSTANCE / "demo").resolve():
        shutil.copytree(demo, INSTANCE / "demo", dirs_exist_ok=True)


def sets_task_queue(config: Path) -> bool:
    """Whether the instance's config.toml chooses a task queue itself."""
    import tomllib  # Python 3.11+, checked by ensure_python()

    try:
        with config.open("rb") as fh:
            return "task_queue" in tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return False


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The queue worker (mail, the outbox sweeper, purging, reminders) beside the web server.

    Two threads; ``-m 1`` polls the SQLite queue at least every second, so that a sign-in
    code reaches the terminal within a second or two.
    """
    say("starting the queue worker (huey_consumer portal.worker.huey)")
    command = [str(BIN / "huey_consumer"), "portal.worker.huey", "-w", "2", "-k", "thread"]
    return subprocess.Popen([*command, "-m", "1", "-q"], cwd=ROOT, env=env)  # noqa: S603


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a helper gracefully (SIGINT), or kill it after 10 seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def demo() -> None:
    ensure_python()
    ensure_venv()
    ensure_installed("")
    install_demo_instance()
    env = portal_env()
    env.setdefault("PORTAL_SECURE_COOKIES", "false")  # the demo is served over plain http
    if "PORTAL_TASK_QUEUE" not in env and not sets_task_queue(INSTANCE / "config.toml"):
        # an instance from before the demo had a worker: queue in instance/huey.db all the same
        env["PORTAL_TASK_QUEUE"] = "sqlite"
    flask("i18n", "compile", env=env)
    flask("db", "upgrade", env=env)
    flask("demo", "load", env=env)
    helpers: list[subprocess.Popen[bytes]] = []
    # Stopped by a service manager or `timeout` (SIGTERM) as by Ctrl+C: nothing left running.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if (ROOT / "simulators").is_dir():
            say("starting the vendor simulators on 127.0.0.1:5101-5105")
            helpers.append(subprocess.Popen([str(PY), "-m", "simulators"], cwd=ROOT, env=env))  # noqa: S603
        helpers.append(start_worker(env))
        time.sleep(1)
        say("portal at http://127.0.0.1:5000  (Ctrl+C stops everything)")
        run(BIN / "flask", "run", "--host", "127.0.0.1", "--port", "5000", env=env, check=False)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in helpers:
            stop(proc)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def test(pytest_args: list[str]) -> None:
    ensure_python()
    ensure_venv()
    ensure_installed("test")
    ensure_debian_packages()
    ensure_node_packages()
    code = run(PY, "-m", "pytest", *pytest_args, check=False)
    if code == 5:
        print("no tests ran: that is a failure, not a pass", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test"}:
        sys.exit(__doc__)
    if argv[0] == "demo":
        demo()
    else:
        test(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
