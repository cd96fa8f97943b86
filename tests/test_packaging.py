"""The distribution as a user installs it: its name, its version, and an editable install
that type checkers can see."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from agentkit.cli import DISTRIBUTION, main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# An interpreter whose setuptools can build the project (the build-system's minimum) as a
# PEP 660 editable wheel offline, as pip's isolated build would with a fetched setuptools.
(_SETUPTOOLS,) = PYPROJECT["build-system"]["requires"]
_MINIMUM = tuple(int(x) for x in _SETUPTOOLS.removeprefix("setuptools>=").split("."))
_PROBE = (
    "import setuptools\n"
    "version = tuple(int(x) for x in setuptools.__version__.split('.')[:2])\n"
    f"assert version >= {_MINIMUM!r}, version\n"
)


def _builder() -> str | None:
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", _PROBE], capture_output=True, check=False)
            if probe.returncode == 0:
                return candidate
    return None


def test_distribution_name_is_ours_and_import_name_is_agentkit() -> None:
    assert PYPROJECT["project"]["name"] == DISTRIBUTION == "agentkit-lean"
    assert PYPROJECT["project"]["scripts"] == {"agentkit": "agentkit.cli:main"}
    assert PYPROJECT["project"]["entry-points"]["pytest11"] == {
        "agentkit": "agentkit.testing.pytest_plugin"
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # Never the bare name, which would install the unrelated project holding it.
    assert not re.search(r"pip install '?agentkit(?![-\w])", readme)
    assert "pip install 'agentkit-lean[emulator]'" in readme


def test_version_names_the_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    try:
        expected = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
        import agentkit

        expected = agentkit.__version__
    assert capsys.readouterr().out == f"agentkit ({DISTRIBUTION}) {expected}\n"


def test_editable_install_is_a_path_entry_mypy_follows(tmp_path: Path) -> None:
    builder = _builder()
    if builder is None:
        pytest.skip("no interpreter here can build a PEP 660 wheel offline")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, project / name)
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "agentkit", project / "agentkit", ignore=skip)
    hook = f"from setuptools import build_meta as b; print(b.build_editable({str(tmp_path)!r}))"
    build = subprocess.run(
        [builder, "-c", hook],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = zipfile.ZipFile(tmp_path / build.stdout.split()[-1])
    names = wheel.namelist()
    # A static path entry, not setuptools' import-hook finder (invisible to type checkers).
    assert not [n for n in names if n.endswith("_finder.py")], names
    (pth,) = [n for n in names if n.endswith(".pth")]
    assert wheel.read(pth).decode().strip() == str(project)

    # "Install" the wheel into a fresh environment (a wheel install unpacks it), with the
    # dependencies visible too, and type-check user code against it.
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    wheel.extractall(site)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    user = tmp_path / "user.py"
    user.write_text(
        "from agentkit import tool\n\n\n"
        "@tool\ndef double(n: int) -> int:\n    '''Double it.'''\n    return 2 * n\n\n\n"
        "text: str = double(2)\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-executable", str(python), "--no-incremental",
         "--strict", str(user)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    # mypy found agentkit and its types: it sees that double() returns an int.
    assert "import-not-found" not in checked.stdout and "import-untyped" not in checked.stdout
    assert 'Incompatible types in assignment (expression has type "int"' in checked.stdout, (
        checked.stdout
    )
    assert checked.returncode == 1
