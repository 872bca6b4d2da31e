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
    LAZY_AUTO_BYTES,
    Dataset,
    LazyArray,
    Split,
    check_lazy,
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


def plan(
    path: str | os.PathLike[str],
    *,
    seed: int = SEED,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    color: str | None = None,
) -> tuple[FolderScan, dict[str, Any], list[np.ndarray]]:
    """Scan a folder and split its files before decoding: ``(scan, spec, [train, val, test])``.

    The split is over the candidate files, so :func:`load` and the streaming reader in
    :mod:`tflbench.data.stream` agree on which file lands in which split.
    """
    found = scan(path)
    spec = pp.with_defaults(preprocessing, input_size=input_size, color=color or "rgb")
    fr = resolve_fractions(fractions)
    parts = stratified_split(found.labels, fr, seed)
    check_splits_not_empty([len(p) for p in parts], f"Image folder '{found.root}'", fr)
    return found, spec, parts


class BatchDecoder:
    """Decode files batch by batch into preprocessed float32, remembering what was skipped.

    The target size is ``spec["resize"]`` or, without one, the size of the first decoded image;
    a later image of another size raises :class:`DataError`.
    """

    def __init__(self, spec: Mapping[str, Any], root: Path | None = None) -> None:
        self.spec = dict(spec)
        self.root = root
        self.resize: tuple[int, int] | None = (
            (int(spec["resize"][0]), int(spec["resize"][1])) if "resize" in spec else None
        )
        self.size = self.resize
        self.first_file: Path | None = None
        self.skipped: list[Skipped] = []

    def decode(self, files: Sequence[Path], labels: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """``(x float32 NHWC, y)`` for the readable files among ``files``."""
        imgs: list[np.ndarray] = []
        keep: list[int] = []
        for i, f in enumerate(files):
            try:
                img = decode_image(f, self.resize, self.spec.get("color", "rgb"),
                                   self.spec.get("interpolation", "bilinear"))
            except SkipImage as exc:
                self.skipped.append(Skipped(Path(f), exc.reason, exc.detail))
                continue
            if self.first_file is None:
                self.first_file = Path(f)
                self.size = self.size or (img.shape[0], img.shape[1])
            elif self.size is not None and img.shape[:2] != self.size:
                raise DataError(
                    f"Images in '{self.root or Path(f).parent}' differ in size: "
                    f"'{self.first_file}' is {self.size[1]}x{self.size[0]}, '{f}' is "
                    f"{img.shape[1]}x{img.shape[0]} (width x height). Give an input size to "
                    "resize them all, e.g. input_size=224 or the spec 'folder:PATH?size=224'."
                )
            imgs.append(img)
            keep.append(i)
        if not imgs:
            return np.empty((0,), dtype=np.float32), labels[:0]
        x = pp.apply_preprocessing(np.stack(imgs), self.spec)  # already sized and coloured
        return x, labels[np.asarray(keep, dtype=np.int64)]


_BATCH = 256


class FolderArray(LazyArray):
    """Image files decoded and preprocessed as their rows are read (``lazy=True``)."""

    def __init__(self, files: Sequence[Path], spec: Mapping[str, Any], root: Path | None,
                 sample_shape: Sequence[int]) -> None:
        super().__init__(np.arange(len(files)), sample_shape, np.float32)
        self.files = tuple(files)
        self.spec = dict(spec)
        self.root = root

    def _read(self, rows: np.ndarray) -> np.ndarray:
        decoder = BatchDecoder(self.spec, self.root)
        x, _ = decoder.decode([self.files[i] for i in rows], np.arange(len(rows)))
        if decoder.skipped:
            s = decoder.skipped[0]
            raise DataError(
                f"'{s.path}' can no longer be read ({s.reason}: {s.detail}); it changed since "
                f"'{self.root}' was loaded. Load the folder again."
            )
        return x


def _decode_part(decoder: BatchDecoder, files: Sequence[Path], keep_pixels: bool
                 ) -> tuple[np.ndarray | None, np.ndarray, tuple[int, ...] | None]:
    """Decode ``files`` batch by batch: ``(pixels or None, positions of the readable files,
    sample shape or None when none was readable)``."""
    x: np.ndarray | None = None
    shape: tuple[int, ...] | None = None
    kept: list[np.ndarray] = []
    n = 0
    for start in range(0, len(files), _BATCH):
        batch = files[start : start + _BATCH]
        xb, pos = decoder.decode(batch, np.arange(start, start + len(batch)))
        if not len(pos):
            continue
        shape = shape or tuple(xb.shape[1:])
        if keep_pixels:
            if x is None:
                x = np.empty((len(files), *shape), dtype=np.float32)
            x[n : n + len(pos)] = xb
        kept.append(pos)
        n += len(pos)
    return (None if x is None else x[:n]), np.concatenate(kept or [np.empty(0, np.int64)]), shape


def _estimated_bytes(found: FolderScan, spec: Mapping[str, Any]) -> int:
    """Float32 bytes of the decoded folder, from the size of the first readable image."""
    channels = 1 if spec.get("color") == "grayscale" else 3
    if "resize" in spec:
        h, w = (int(d) for d in spec["resize"])
        return len(found.files) * h * w * channels * 4
    for f in found.files[:10]:
        try:
            img = decode_image(f, None, spec.get("color", "rgb"))
        except SkipImage:
            continue
        return len(found.files) * img.shape[0] * img.shape[1] * channels * 4
    return 0


def load(
    path: str | os.PathLike[str],
    *,
    seed: int = SEED,
    fractions: Sequence[float] | str | None = None,
    preprocessing: str | Mapping[str, Any] | None = None,
    input_size: Any = None,
    color: str | None = None,
    name: str | None = None,
    lazy: bool | str = False,
) -> Dataset:
    """Load an image folder into a :class:`Dataset` (see the module docstring).

    Files are split first (seeded, stratified over the candidate files), then decoded batch by
    batch straight into float32, so peak memory is about the float32 dataset itself.

    With ``lazy=True`` every file is still decoded once, to find the unreadable ones and the
    image size, but the pixels are dropped: each split's ``x`` is a :class:`FolderArray` that
    decodes the files again when its rows are read. ``lazy="auto"`` is lazy when the float32
    images would exceed :data:`~tflbench.data.base.LAZY_AUTO_BYTES`.
    """
    found, spec, parts = plan(path, seed=seed, fractions=fractions,
                              preprocessing=preprocessing, input_size=input_size, color=color)
    choice = check_lazy(lazy)
    on_demand = (_estimated_bytes(found, spec) > LAZY_AUTO_BYTES if choice == "auto"
                 else bool(choice))
    decoder = BatchDecoder(spec, found.root)
    part_files = [[found.files[i] for i in part] for part in parts]
    decoded = [_decode_part(decoder, files, not on_demand) for files in part_files]
    ys = [found.labels[part][pos] for part, (_, pos, _) in zip(parts, decoded, strict=True)]

    skipped = [*found.skipped, *decoder.skipped]
    kept = np.concatenate(ys)
    for c, cname in enumerate(found.class_names):
        if not (kept == c).any():
            cdir = found.root / cname
            why = "; ".join(skip_notes([s for s in skipped if cdir in s.path.parents], cdir))
            raise DataError(
                f"Class folder '{cdir}' holds no readable images (all "
                f"{int((found.labels == c).sum())} were skipped: {why}). Replace the files or "
                "remove the folder."
            )
    check_splits_not_empty([len(y) for y in ys], f"Image folder '{found.root}'",
                           resolve_fractions(fractions))
    shape = next(sh for _, _, sh in decoded if sh is not None)

    notes = skip_notes(skipped, found.root)
    for line in notes:
        log.warning("%s: %s", found.root, line)
    counts = Counter(int(v) for v in kept)
    assert decoder.size is not None
    spec.update({
        "resize": [int(decoder.size[0]), int(decoder.size[1])],
        "input_shape": [int(d) for d in shape],
        "layout": "NHWC", "dtype": "float32", "raw_dtype": "uint8",
    })
    splits = [
        Split(FolderArray([files[i] for i in pos], spec, found.root, shape) if on_demand
              else (x if x is not None else np.empty((0, *shape), np.float32)), y)
        for files, (x, pos, _), y in zip(part_files, decoded, ys, strict=True)
    ]
    return Dataset(
        name=name or found.root.resolve().name,
        class_names=found.class_names,
        train=splits[0],
        val=splits[1],
        test=splits[2],
        preprocessing=spec,
        source=f"folder:{found.root.resolve()}",
        notes=notes + (
            f"{len(kept)} images in {len(found.class_names)} classes (smallest class: "
            f"{min(counts.values())}, largest: {max(counts.values())})",
        ),
    )
