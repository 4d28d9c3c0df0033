"""What a command says about the project's own state files before it works on a project."""
from __future__ import annotations

import os
import sys


def report_project_state(root: str | os.PathLike[str], command: str) -> None:
    """Print (to stderr) one line per damaged state file that was set aside (``check_project_state``);
    nothing for a healthy project or a folder that is no project yet."""
    from imgclf_gui.core.review.project_state import check_project_state

    for note in check_project_state(root):
        print(f"imgclf {command}: {note}", file=sys.stderr)
