"""Installing imgclf like a user would: the wheel and sdist carry the icons and entry points, the installed
commands start, and ``imgclf doctor`` tells the truth on a machine with no network."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

from imgclf_gui import __version__
from imgclf_gui.core.support.resources import ICON_SIZES, app_icon_path, app_icon_paths

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's console scripts sit next to its python
PACKAGE_RESOURCES = ROOT / "imgclf_gui" / "resources"


def _run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def _resource_files() -> set[str]:
    """Package data on disk, as wheel member names (imgclf_gui/resources/...)."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE_RESOURCES.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def _source_copy(tmp_path: Path) -> Path:
    """What a build reads, copied out of the shared checkout so builds never write into it."""
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("imgclf_gui", "resources", "packaging"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    (src / "docs").mkdir()
    if (ROOT / "docs" / "INSTALL.md").exists():
        shutil.copy2(ROOT / "docs" / "INSTALL.md", src / "docs" / "INSTALL.md")
    return src


def _build_wheel(source: Path, out: Path) -> Path:
    # No build isolation: setuptools is in the venv, and CI machines may have no index to fetch it from.
    result = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                   str(source), "-w", str(out)], timeout=600)
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("imgclf-*.whl")
    return wheel


def _entry_points(wheel: zipfile.ZipFile) -> ConfigParser:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    parser = ConfigParser()
    parser.read_string(wheel.read(name).decode())
    return parser


# --- fast checks on the checkout -----------------------------------------------------------------------

def test_pyproject_declares_both_commands_and_the_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["imgclf"] == "imgclf_gui.cli:main"
    assert project["project"]["gui-scripts"]["imgclf-gui"] == "imgclf_gui.__main__:main"
    assert "resources/**/*" in project["tool"]["setuptools"]["package-data"]["imgclf_gui"]


def test_app_icon_exists_in_every_size_desktops_ask_for():
    from PIL import Image

    for size, path in zip(ICON_SIZES, app_icon_paths()):
        with Image.open(path) as image:
            assert image.size == (size, size), path
            assert image.mode == "RGBA", "the icon's rounded corners need transparency"
    assert app_icon_path(256).name == "imgclf-256.png"
    assert app_icon_path(20).name == "imgclf-24.png"  # the next size up, never a blurry upscale
    assert app_icon_path(4096).name == "imgclf-512.png"
    assert (ROOT / "resources" / "icons" / "imgclf.ico").is_file()


def test_installed_console_script_prints_the_version():
    result = _run([str(BIN / "imgclf"), "--version"], timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"imgclf {__version__}"


def test_gui_console_script_is_installed():
    script = BIN / "imgclf-gui"
    assert script.is_file(), "pip install . must create the imgclf-gui command"
    assert "imgclf_gui.__main__" in script.read_text()


# Blocks every socket in the doctor's process: a machine with no network at all.
_OFFLINE = """
import json, socket, sys
attempts = []
class NoNetwork(socket.socket):
    def connect(self, address):
        attempts.append(repr(address))
        raise OSError(101, 'Network is unreachable')
    connect_ex = connect
socket.socket = NoNetwork
def no_dns(*args, **kwargs):
    attempts.append(repr(args))
    raise socket.gaierror(-3, 'Temporary failure in name resolution')
socket.getaddrinfo = no_dns
from imgclf_gui.cli import main
code = main(['doctor', '--json', '--no-qt'])
print('\\nEXIT', code, 'NETWORK', json.dumps(attempts), 'TF', 'tensorflow' in sys.modules)
"""


def _offline_doctor(tmp_path: Path, **env_overrides: str) -> tuple[dict, int, list, bool]:
    env = dict(os.environ, HOME=str(tmp_path / "home"), KERAS_HOME=str(tmp_path / "keras"), **env_overrides)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(proxy, None)
    result = _run([sys.executable, "-c", _OFFLINE], env=env, timeout=90)
    assert result.returncode == 0, result.stderr
    report_text, _, tail = result.stdout.rpartition("\nEXIT ")
    code, _, rest = tail.partition(" NETWORK ")
    attempts, _, tf = rest.rpartition(" TF ")
    return json.loads(report_text), int(code), json.loads(attempts), tf.strip() == "True"


def test_doctor_on_an_offline_machine_reports_what_works_without_touching_the_network(tmp_path):
    report, code, attempts, imported_tensorflow = _offline_doctor(tmp_path)

    assert attempts == [], "doctor must never try the network"
    assert not imported_tensorflow, "versions come from package metadata; importing TensorFlow takes seconds"
    assert report["imgclf"] == __version__
    tf = next(p for p in report["packages"] if p["label"] == "TensorFlow")
    assert tf["version"], "TensorFlow's version must be reported"
    backbones = {b["id"]: b for b in report["backbones"]}
    assert backbones["efficientnet-lite0"]["usable"], backbones["efficientnet-lite0"]["reason"]
    for b in backbones.values():
        if b["ships_with_imgclf"]:
            assert b["usable"], f"{b['id']} ships its weights, so it must work offline: {b['reason']}"
        else:
            assert b["usable"] or b["reason"], f"{b['id']} is unusable and doctor does not say why"
    folders = {f["role"]: f for f in report["folders"]}
    assert folders["cache"]["path"] == os.environ["IMGCLF_CACHE_DIR"]
    assert folders["cache"]["writable"] and folders["config"]["writable"]
    assert report["problems"] == [] and code == 0


def test_doctor_names_a_config_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    report, code, _, _ = _offline_doctor(tmp_path, IMGCLF_CONFIG_DIR=str(blocker / "config"))

    config = next(f for f in report["folders"] if f["role"] == "config")
    assert not config["writable"] and config["problem"]
    assert any("config folder" in p for p in report["problems"])
    assert code == 1


def test_doctor_text_report_lists_the_versions_and_the_backbones():
    result = _run([str(BIN / "imgclf"), "doctor"], timeout=90)
    assert result.returncode in (0, 1), result.stderr
    for label in ("Python", "Qt", "TensorFlow", "Backbones", "efficientnet-lite0", "cache", "config"):
        assert label in result.stdout


# --- wheel and sdist, built from a copy of the checkout ------------------------------------------------

@pytest.mark.slow
def test_wheel_contains_every_resource_and_both_entry_points(tmp_path):
    wheel_path = _build_wheel(_source_copy(tmp_path), tmp_path / "wheel")
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        missing = _resource_files() - names
        assert not missing, f"package data missing from the wheel: {sorted(missing)}"
        for size in ICON_SIZES:
            assert f"imgclf_gui/resources/icons/imgclf-{size}.png" in names
        entry_points = _entry_points(wheel)
    assert entry_points["console_scripts"]["imgclf"].strip() == "imgclf_gui.cli:main"
    assert entry_points["gui_scripts"]["imgclf-gui"].strip() == "imgclf_gui.__main__:main"


@pytest.mark.slow
def test_sdist_carries_desktop_files_and_builds_a_complete_wheel(tmp_path):
    source = _source_copy(tmp_path)
    result = _run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--skip-dependency-check",
                   "-o", str(tmp_path / "sdist"), str(source)], timeout=600)
    if result.returncode != 0 and "No module named build" in result.stderr:
        pytest.skip("the 'build' package is not installed (pip install build)")
    assert result.returncode == 0, result.stderr
    (sdist,) = (tmp_path / "sdist").glob("imgclf-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        tar.extractall(tmp_path / "unpacked", filter="data")
    for needed in ("resources/io.github.imgclf.imgclf.desktop", "resources/io.github.imgclf.imgclf.metainfo.xml",
                   "packaging/imgclf.spec", "packaging/install_desktop_entry.sh",
                   "imgclf_gui/resources/icons/imgclf-256.png"):
        assert needed in names, needed
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    with zipfile.ZipFile(_build_wheel(unpacked, tmp_path / "wheel")) as wheel:
        assert not _resource_files() - set(wheel.namelist())


@pytest.mark.slow
def test_commands_installed_from_the_wheel_start(tmp_path):
    """Install the wheel on its own (dependencies come from this venv) and run what pip put in bin/."""
    wheel = _build_wheel(_source_copy(tmp_path), tmp_path / "wheel")
    target = tmp_path / "installed"
    result = _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)])
    assert result.returncode == 0, result.stderr
    # PYTHONPATH puts the wheel's copy before the editable checkout, so this really runs the installed files.
    # cwd elsewhere too: `python -c` puts the current folder first on sys.path.
    env = dict(os.environ, PYTHONPATH=str(target), QT_QPA_PLATFORM="offscreen")
    cwd = tmp_path

    version = _run([str(target / "bin" / "imgclf"), "--version"], env=env, cwd=cwd)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"imgclf {__version__}"

    where = _run([sys.executable, "-c", "from imgclf_gui.core.support.resources import app_icon_path as p; "
                  "print(p()); assert p().is_file()"], env=env, cwd=cwd)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(target)

    doctor = _run([str(target / "bin" / "imgclf"), "doctor", "--no-qt"], env=env, cwd=cwd, timeout=90)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    # The GUI entry point: the real window, offscreen, closed as soon as it has been shown.
    gui = _run([str(target / "bin" / "imgclf-gui"), "--quit-after-show", "--no-restore"], env=env, cwd=cwd,
               timeout=120)
    assert gui.returncode == 0, gui.stderr
