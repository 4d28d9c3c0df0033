"""``python3 dev.py test`` (and ``dev.py check``) refuses a module over 400 lines, naming it."""
from __future__ import annotations

from pathlib import Path

import dev


def _module(path: Path, lines: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"x{i} = {i}\n" for i in range(lines)), encoding="utf-8")
    return path


def test_a_module_over_400_lines_is_named_with_its_length(tmp_path):
    _module(tmp_path / "imgclf_gui" / "core" / "long.py", 401)
    _module(tmp_path / "imgclf_gui" / "core" / "at_the_limit.py", 400)
    _module(tmp_path / "tests" / "core" / "test_long.py", 450)
    _module(tmp_path / "dev.py", 10)
    assert dev.long_modules(tmp_path) == [(Path("imgclf_gui/core/long.py"), 401),
                                          (Path("tests/core/test_long.py"), 450)]

