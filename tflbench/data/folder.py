"""Image folders: one sub-folder per class, like TFLite Model Maker's ``DataLoader.from_folder``.

::

    ROOT/
      daisy/  001.jpg 002.png ...
      rose/   ...

Class names are the sorted sub-folder names. Files ending in ``.jpg``, ``.jpeg``, ``.png``,
``.bmp`` or ``.gif`` are decoded with Pillow (the first frame of a GIF), converted to RGB (or
grayscale), resized to the input size and preprocessed. Files that are not images, cannot be
decoded or hold an unsupported pixel mode (16/32-bit integer or float) are skipped; the counts
and reasons are kept in :attr:`Dataset.notes` and logged.

The split is seeded and stratified: ``fractions`` (train, val, test) default to 0.8/0.1/0.1;
two numbers (train, test), e.g. 0.9/0.1, take the validation part as 10% of the training part.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tflbench.data import preprocess as pp
from tflbench.data.base import (
    Dataset,
    Split,
    check_splits_not_empty,
    resolve_fractions,
    stratified_split,
)
from tflbench.errors import DataError

log = logging.getLogger(__name__)

SEED = 1234
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
#: Pillow modes that convert to 8-bit RGB / L without losing meaning.
SUPPORTED_MODES = frozenset(
    {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}
)

NOT_IMAGE = "not an image file"
UNREADABLE = "unreadable"
WRONG_MODE = "unsupported pixel mode"


@dataclass(frozen=True)
class Skipped:
    """A file left out, with the reason (one of the module's reason constants) and detail."""

    path: Path
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class FolderScan:
    """Candidate image files by class, found without decoding anything."""

    root: Path
    class_names: tuple[str, ...]
    files: tuple[Path, ...]
    labels: np.ndarray
    skipped: tuple[Skipped, ...]


class SkipImage(Exception):
    """Raised by :func:`decode_image` for a file that must be skipped."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def scan(root: str | os.PathLike[str]) -> FolderScan:
    """List class folders and their image files; raise :class:`DataError` on a bad layout."""
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataError(
            f"Image folder not found. Received: '{base}'. Give a directory holding one "
            "sub-folder per class, e.g. ROOT/cat/*.jpg and ROOT/dog/*.jpg."
        )
    entries = sorted(base.iterdir(), key=lambda p: p.name)
    class_dirs = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    loose = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if not class_dirs:
        hint = f" It holds {len(loose)} image file(s) directly;" if loose else ""
        raise DataError(
            f"Image folder '{base}' has no class sub-folders.{hint} Put each class's images in "
            f"its own sub-folder, e.g. '{base}/cat/1.jpg' and '{base}/dog/2.jpg'."
        )
    if len(class_dirs) == 1:
        raise DataError(
            f"Image folder '{base}' has a single class folder ('{class_dirs[0].name}'). A "
            "classifier needs at least two classes: add one sub-folder per class next to it, "
            f"e.g. '{base}/{class_dirs[0].name}/' and '{base}/other/'."
        )
    files: list[Path] = []
    labels: list[int] = []
    skipped: list[Skipped] = []
    for label, d in enumerate(class_dirs):
        found = 0
        for p in sorted(_walk_files(d)):
            if p.suffix.lower() in IMAGE_EXTENSIONS:
                files.append(p)
                labels.append(label)
                found += 1
            else:
                skipped.append(Skipped(p, NOT_IMAGE, f"extension '{p.suffix or '(none)'}'"))
        if found == 0:
            raise DataError(
                f"Class folder '{d}' holds no images ({', '.join(IMAGE_EXTENSIONS)}). Add "
                "images to it or remove the folder."
            )
    return FolderScan(
        root=base,
        class_names=tuple(d.name for d in class_dirs),
        files=tuple(files),
        labels=np.asarray(labels, dtype=np.int64),
        skipped=tuple(skipped),
    )


def _walk_files(d: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(d):
        dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            yield Path(dirpath) / name


def decode_image(
    path: str | os.PathLike[str],
    size: tuple[int, int] | None,
    color: str = "rgb",
    interpolation: str = "bilinear",
) -> np.ndarray:
    """Decode one image to uint8 ``(H, W, C)``; C is 3 for ``rgb``, 1 for ``grayscale``.

    Raises :class:`SkipImage` when the file cannot be decoded or has an unsupported mode.
    """
    image_mod = pp.pillow()
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with image_mod.open(path) as img:
                if getattr(img, "n_frames", 1) > 1:
                    img.seek(0)
                img.load()
                if img.mode not in SUPPORTED_MODES:
                    raise SkipImage(WRONG_MODE, f"mode {img.mode}")
                if img.mode in ("P", "PA") and "transparency" in img.info:
                    img = img.convert("RGBA")
                img = img.convert("L" if color == "grayscale" else "RGB")
                if size is not None and img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), getattr(
                        image_mod.Resampling, interpolation.upper()))
                arr = np.asarray(img, dtype=np.uint8)
    except SkipImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise SkipImage(UNREADABLE, str(exc).splitlines()[0] if str(exc) else
                        type(exc).__name__) from None
    return arr[..., None] if arr.ndim == 2 else arr


def skip_notes(skipped: Sequence[Skipped], root: Path | None = None) -> tuple[str, ...]:
    """One line per reason: how many files were skipped and up to three examples."""
    notes = []
    by_reason: dict[str, list[Skipped]] = {}
    for s in skipped:
        by_reason.setdefault(s.reason, []).append(s)
    for reason in (NOT_IMAGE, UNREADABLE, WRONG_MODE):
        items = by_reason.get(reason, [])
        if not items:
            continue
        examples = "; ".join(
            f"{_rel(s.path, root)} ({s.detail})" for s in items[:3]
        ) + ("; ..." if len(items) > 3 else "")
        notes.append(f"skipped {len(items)} file(s), {reason}: {examples}")
    return tuple(notes)


def _rel(p: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(p.relative_to(root))
        except ValueError:
            pass
    return str(p)


def load(
    path: str | os.PathLike[str],
    *,
    seed: int = SEED,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    color: str | None = None,
    name: str | None = None,
) -> Dataset:
    """Load an image folder into a :class:`Dataset` (see the module docstring)."""
    found = scan(path)
    spec = pp.with_defaults(preprocessing, input_size=input_size, color=color or "rgb")
    fr = resolve_fractions(fractions)
    size = tuple(spec["resize"]) if "resize" in spec else None
    interpolation = spec.get("interpolation", "bilinear")

    n = len(found.files)
    raw: np.ndarray | None = None
    keep = np.zeros(n, dtype=bool)
    skipped = list(found.skipped)
    first_file: Path | None = None
    for i, f in enumerate(found.files):
        try:
            img = decode_image(f, size, spec["color"], interpolation)
        except SkipImage as exc:
            skipped.append(Skipped(f, exc.reason, exc.detail))
            continue
        if raw is None:
            first_file = f
            raw = np.empty((n, *img.shape), dtype=np.uint8)
            size = (img.shape[0], img.shape[1])
        elif img.shape != raw.shape[1:]:
            raise DataError(
                f"Images in '{found.root}' differ in size: '{first_file}' is "
                f"{raw.shape[2]}x{raw.shape[1]}, '{f}' is {img.shape[1]}x{img.shape[0]} "
                "(width x height). Give an input size to resize them all, e.g. "
                "input_size=224 or the spec 'folder:PATH?size=224'."
            )
        raw[i] = img
        keep[i] = True
    labels = found.labels
    for c, cname in enumerate(found.class_names):
        if not keep[labels == c].any():
            cdir = found.root / cname
            why = "; ".join(skip_notes([s for s in skipped if cdir in s.path.parents], cdir))
            raise DataError(
                f"Class folder '{cdir}' holds no readable images (all "
                f"{int((labels == c).sum())} were skipped: {why}). Replace the files or remove "
                "the folder."
            )
    assert raw is not None and size is not None
    idx_kept = np.flatnonzero(keep)
    y = labels[idx_kept]
    parts = stratified_split(y, fr, seed)
    check_splits_not_empty([len(p) for p in parts], f"Image folder '{found.root}'", fr)

    spec = {**spec, "resize": [int(size[0]), int(size[1])]}
    splits = []
    for p in parts:
        rows = idx_kept[p]
        x = np.empty((len(rows), *raw.shape[1:]), dtype=np.float32)
        for start in range(0, len(rows), 512):
            x[start : start + 512] = pp.apply_preprocessing(raw[rows[start : start + 512]], spec)
        splits.append(Split(x, labels[rows]))
    del raw

    notes = skip_notes(skipped, found.root)
    for line in notes:
        log.warning("%s: %s", found.root, line)
    counts = Counter(int(v) for v in y)
    spec.update({
        "input_shape": [int(d) for d in splits[0].x.shape[1:]],
        "layout": "NHWC", "dtype": "float32", "raw_dtype": "uint8",
    })
    return Dataset(
        name=name or found.root.resolve().name,
        class_names=found.class_names,
        train=splits[0],
        val=splits[1],
        test=splits[2],
        preprocessing=spec,
        source=f"folder:{found.root.resolve()}",
        notes=notes + (
            f"{len(y)} images in {len(found.class_names)} classes (smallest class: "
            f"{min(counts.values())}, largest: {max(counts.values())})",
        ),
    )
