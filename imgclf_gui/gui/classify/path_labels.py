"""How the batch table names a file: by where it is in what the user dropped, not by its bare name.

Five rows of "IMG_0000.jpg" from five folders tell a user nothing. A file found in a dropped folder is
named by its path inside that folder ("garden/IMG_0000.jpg"), with the folder's own name in front when
more than one thing was dropped; a dropped file by its name, with as many parent folders as it takes to
tell it from the other dropped files ("2023/IMG_0000.jpg" beside "2024/IMG_0000.jpg"). No Qt here.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath


def _suffix(path: PurePath, depth: int) -> str:
    return PurePath(*path.parts[-depth:]).as_posix()


def distinct_suffixes(paths: Sequence[PurePath]) -> dict[PurePath, str]:
    """Each path's shortest ending (its name, or more) that no other path of ``paths`` shares."""
    unique = list(dict.fromkeys(paths))
    depth = dict.fromkeys(unique, 1)
    while True:
        groups: dict[str, list[PurePath]] = defaultdict(list)
        for path in unique:
            groups[_suffix(path, depth[path])].append(path)
        grew = False
        for group in groups.values():
            if len(group) > 1:
                for path in group:
                    if depth[path] < len(path.parts):
                        depth[path] += 1
                        grew = True
        if not grew:
            return {path: _suffix(path, depth[path]) for path in unique}


def path_labeller(dropped: Sequence[Path]) -> Callable[[Path], str]:
    """A function naming each file found in ``dropped`` (what was dropped or opened) for the table."""
    dropped = [Path(p) for p in dropped]
    names = distinct_suffixes(dropped)
    alone = len(dropped) == 1
    # the deepest first, should a folder and a folder inside it both be dropped
    by_depth = sorted(dropped, key=lambda p: len(p.parts), reverse=True)

    def label(path: Path) -> str:
        for item in by_depth:
            if path == item:
                return names[item]
            if path.is_relative_to(item):  # found in this dropped folder
                inside = path.relative_to(item).as_posix()
                return inside if alone else f"{names[item]}/{inside}"
        return str(path)

    return label
