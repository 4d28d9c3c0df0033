"""The desktop entry, icons and AppStream metainfo: valid, and installed/removed for the current user."""
from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from configparser import ConfigParser
from pathlib import Path

import pytest

from imgclf_gui.core.support.resources import ICON_SIZES

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.imgclf.imgclf"
DESKTOP = ROOT / "resources" / f"{APP_ID}.desktop"
METAINFO = ROOT / "resources" / f"{APP_ID}.metainfo.xml"
INSTALLER = ROOT / "packaging" / "install_desktop_entry.sh"


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(path)
    return dict(parser["Desktop Entry"])


def _install(data_home: Path, *args: str) -> subprocess.CompletedProcess:
    # The installer looks for imgclf-gui in the checkout's .venv, then on PATH: put the scripts folder of
    # the environment running the tests first on PATH, as activating it would, wherever that environment lives.
    path = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    env = dict(os.environ, XDG_DATA_HOME=str(data_home), PATH=path)
    return subprocess.run(["bash", str(INSTALLER), *args], capture_output=True, text=True, env=env, timeout=60)


def test_desktop_entry_names_the_app_its_icon_and_command():
    entry = _desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "imgclf"
    assert entry["Icon"] == APP_ID, "the icon name must match the hicolor files the installer writes"
    assert entry["Exec"].split()[0] == "imgclf-gui"
    assert entry["Terminal"] == "false"


def test_metainfo_launches_the_desktop_entry():
    import xml.etree.ElementTree as ET

    component = ET.parse(METAINFO).getroot()
    assert component.get("type") == "desktop-application"
    assert component.findtext("id") == APP_ID
    assert component.find("launchable").text == DESKTOP.name
    assert {b.text for b in component.iter("binary")} == {"imgclf", "imgclf-gui"}


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0 and "error" not in result.stdout.lower(), result.stdout


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstream not installed")
def test_metainfo_passes_appstreamcli_validate():
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_installer_puts_entry_icons_and_metainfo_under_xdg_data_home_and_removes_them(tmp_path):
    data = tmp_path / "data home"  # a space, as in many real home folders
    fake_app = tmp_path / "my apps" / "imgclf-gui"
    fake_app.parent.mkdir()
    fake_app.write_text("#!/bin/sh\n")
    fake_app.chmod(0o755)

    result = _install(data, "--exec", str(fake_app))
    assert result.returncode == 0, result.stderr

    desktop = data / "applications" / f"{APP_ID}.desktop"
    entry = _desktop_entry(desktop)
    assert entry["Exec"] == f'"{fake_app}"', "a path with spaces must be quoted for the launcher"
    assert entry["Icon"] == APP_ID
    for size in ICON_SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").read_bytes() == METAINFO.read_bytes()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout

    result = _install(data, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not desktop.exists()
    assert not list((data / "icons").rglob(f"{APP_ID}.png"))
    assert not (data / "metainfo" / f"{APP_ID}.metainfo.xml").exists()


def test_installer_defaults_to_the_installed_imgclf_gui(tmp_path):
    result = _install(tmp_path)
    assert result.returncode == 0, result.stderr
    entry = _desktop_entry(tmp_path / "applications" / f"{APP_ID}.desktop")
    command = Path(entry["Exec"].strip('"'))
    installed = {ROOT / ".venv" / "bin" / "imgclf-gui", Path(sysconfig.get_path("scripts")) / "imgclf-gui"}
    assert command.is_absolute() and command.resolve() in {p.resolve() for p in installed}, entry["Exec"]
    assert os.access(command, os.X_OK)
    assert entry["TryExec"] == str(command)
