"""Names and paths inside a bundle: directory slugs, case-insensitive unique names, and the one
check every manifest path and zip entry goes through before it touches the file system."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from tflbench.errors import BundleError

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(name: str) -> str:
    """``name`` reduced to a portable file name (letters, digits, ``.``, ``_``, ``-``)."""
    s = _SLUG.sub("-", name).strip(".-")
    return s or "model"


def unique_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first name not in ``taken``, compared without
    case (bundles travel to case-insensitive file systems and zip readers). The name is added
    to ``taken``."""
    name, i = base, 2
    while name.lower() in taken:
        name = f"{base}-{i}"
        i += 1
    taken.add(name.lower())
    return name


def check_relative_path(rel: Any, where: str) -> PurePosixPath:
    """Validate a bundle-relative path from a manifest or zip entry; raise :class:`BundleError`.

    Accepted: a non-empty POSIX path without a leading ``/``, drive letter, backslash, NUL, empty
    component, ``.`` or ``..``.
    """
    if not isinstance(rel, str) or not rel:
        raise BundleError(f"{where}: expected a relative file path. Received: {rel!r}.")
    bad = None
    if "\x00" in rel or "\\" in rel:
        bad = "contains a backslash or NUL byte"
    elif rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        bad = "is absolute"
    else:
        parts = rel.rstrip("/").split("/")
        if any(p in ("", ".", "..") for p in parts):
            bad = "has an empty, '.' or '..' component"
    if bad:
        raise BundleError(
            f"{where}: path {rel!r} {bad}; bundle paths must stay inside the bundle directory. "
            "The bundle is corrupt or was tampered with; re-create it with 'tflbench bundle'."
        )
    return PurePosixPath(rel.rstrip("/"))


def through_symlink(root: Path, rel: PurePosixPath) -> bool:
    """True when ``root / rel`` or any directory between ``root`` and it is a symlink."""
    p = root
    for part in rel.parts:
        p = p / part
        if p.is_symlink():
            return True
    return False


def bundle_path(root: Path, rel: str | PurePosixPath) -> Path:
    """The file system path of the bundle-relative path ``rel`` under ``root``."""
    return root.joinpath(*PurePosixPath(rel).parts)
