"""Your own images: ``--data DIR``, one folder of images per class.

The layout is ``keras.utils.image_dataset_from_directory``'s: ``DIR/<class name>/<image file>``
(sub-folders of a class folder count as that class), the classes in alphanumeric order of their
folder names, files ending .png, .jpg, .jpeg, .bmp or .gif. Step 1 lists the files, splits the
list into train and test files (stratified by class, ``--test-size``, seeded by the data seed),
and decodes the images a batch of files at a time into the work dir's split, which later steps
map from disk rather than load (``mapped_arrays.py``): the images are never all in memory at
once, here or later.

Every image becomes float32 pixel values 0-255 (what Keras's own loader gives; members bring
their own ``Rescaling``), of the first image's height and width and of its colour mode
(grayscale: 1 channel; anything else: RGB, 3 channels). An image of another size is resized
(bilinear) and counted. ``predict --input`` takes such a folder too, or image files, read the
same way. The split's record names the folder and holds a SHA-256 of every file's relative path
and bytes, so a later step refuses a folder that changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.model_selection import train_test_split

from stackgen.data import inputs
from stackgen.trust.errors import StackgenError
from stackgen.workdir import mapped_arrays

SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
FILES_PER_BATCH = 256
BATCH_BYTES = 64 * 1024 * 1024  # and at most this many bytes of decoded pixels a batch
GRAY = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")  # modes of one channel (and alpha)


def class_files(folder: Path, where: str) -> tuple[list[Path], np.ndarray, list[str]]:
    """(every image file, its class index, the class names) of a folder of class folders."""
    if not folder.is_dir():
        raise StackgenError(f"{where}: no such folder")
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    files, labels = [], []
    for index, name in enumerate(names):
        found = image_files(folder / name)
        if not found:
            raise StackgenError(
                f"{where}: the class folder {name!r} holds no images ({', '.join(SUFFIXES)})"
            )
        files += found
        labels += [index] * len(found)
    if len(names) < 2:
        raise StackgenError(
            f"{where}: {len(names)} class folder{'' if len(names) == 1 else 's'}; it needs one "
            "folder of images per class (DIR/<class>/<image>), at least two"
        )
    return files, np.array(labels, dtype=np.int64), names


def image_files(folder: Path) -> list[Path]:
    """The image files under ``folder``, at any depth, in sorted order."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / n for n in sorted(names) if n.lower().endswith(SUFFIXES)]
    return found


class Reader:
    """Decodes image files to float32 arrays [rows, h, w, c] of one shape: the first image's
    size and colour mode unless given."""

    def __init__(self, files: list[Path], shape: tuple[int, int, int] | None = None):
        if shape is None:  # the first image's size; grayscale only if every image is
            _, height, width = _header(files[0])
            gray = all(_header(path)[0] in GRAY for path in files)
            shape = (height, width, 1 if gray else 3)
        self.shape = tuple(int(s) for s in shape)
        self.resized = 0
        self.per_batch = max(1, min(FILES_PER_BATCH, BATCH_BYTES // (4 * int(np.prod(shape)))))
        self.file_hashes: dict[Path, bytes] = {}  # each file read's SHA-256, for the digest

    def read(self, files: list[Path]) -> np.ndarray:
        out = np.empty((len(files), *self.shape), np.float32)
        for i, path in enumerate(files):
            with _readable(path):
                data = path.read_bytes()
                self.file_hashes[path] = hashlib.sha256(data).digest()
                image = Image.open(io.BytesIO(data))
                image.load()
                out[i] = self.pixels(image)
        return out

    def pixels(self, image) -> np.ndarray:
        """One image's float32 values 0-255 at this reader's shape; 16-bit values scaled."""
        height, width, channels = self.shape
        if image.mode.startswith("I;16") or image.mode in ("I", "F"):
            wide = np.asarray(image, np.float32)
            scale = 255.0 / 65535.0 if image.mode != "F" and wide.max(initial=0) > 255 else 1.0
            image = Image.fromarray(np.clip(wide * scale, 0, 255).astype(np.uint8), mode="L")
        image = image.convert("L" if channels == 1 else "RGB")
        if (image.height, image.width) != (height, width):
            image = image.resize((width, height), Image.Resampling.BILINEAR)
            self.resized += 1
        return np.asarray(image, np.float32).reshape(self.shape)

    def batches(self, files: list[Path]) -> Iterator[np.ndarray]:
        for start in range(0, len(files), self.per_batch):
            yield self.read(files[start : start + self.per_batch])

    def to_disk(self, files: list[Path]) -> np.ndarray:
        """Every image of ``files`` in one float32 array on disk (a memory map of a file
        already unlinked: its space is freed when the array is), written a batch at a time."""
        out = mapped_arrays.empty_on_disk((len(files), *self.shape))
        start = 0
        for batch in self.batches(files):
            out[start : start + len(batch)] = batch
            start += len(batch)
        return out


@contextlib.contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Any of Pillow's many ways to refuse a file, as one line naming it."""
    try:
        yield
    except (StackgenError, MemoryError):
        raise
    except Exception as exc:
        raise StackgenError(f"{path}: not an image this can read ({exc})") from None


def _header(path: Path) -> tuple[str, int, int]:
    """An image's colour mode, height and width, from its header alone."""
    with _readable(path), Image.open(path) as image:
        return image.mode, image.height, image.width


def folder_digest(
    folder: Path, files: list[Path] | None = None, known: dict[Path, bytes] | None = None
) -> str:
    """SHA-256 over every image file of the folder's class folders (``files``, when already
    listed), in order: its path relative to ``folder`` and the SHA-256 of its bytes (``known``
    ones, for files already read, are not read again)."""
    if files is None:
        files, _, _ = class_files(folder, f"--data {folder}")
    known = known or {}
    digest = hashlib.sha256()
    for path in files:
        digest.update(os.fsencode(path.relative_to(folder).as_posix()) + b"\0")
        digest.update(known[path] if path in known else hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_images(folder: Path, test_size: float, seed: int) -> tuple[dict, dict]:
    """(arrays, params) for a folder of class folders: the file list split stratified into
    train and test files, each part's images decoded a batch at a time."""
    where = f"--data {folder}"
    files, labels, names = class_files(folder, where)
    counts = np.bincount(labels)
    if counts.min() < 2:
        thin = names[int(np.argmin(counts))]
        raise StackgenError(
            f"{where}: the class folder {thin!r} holds one image; a stratified train/test "
            "split needs at least two of every class"
        )
    rows = np.arange(len(files))
    try:
        train, test = train_test_split(
            rows, test_size=test_size, stratify=labels, random_state=seed
        )
    except ValueError as exc:
        raise StackgenError(f"{where}: --test-size {test_size} cannot split it ({exc})") from None
    train, test = np.sort(train), np.sort(test)
    reader = Reader(files)
    train_X = reader.to_disk([files[i] for i in train])
    test_X = reader.to_disk([files[i] for i in test])
    params = {
        "source": "arrays",
        "images": {
            "folder": True,
            "shape": list(reader.shape),
            "resized": reader.resized,
            "files": len(files),
        },
        "file": str(folder),
        "file_name": folder.name,
        "sha256": folder_digest(folder, files, reader.file_hashes),  # no file read twice
        "rows": len(files),
        "train_rows": len(train),
        "task": "classification",
        "task_reason": "one folder of images per class",
        "inputs": {"X": list(reader.shape)},
        "input_names": None,
        "shared_rows": inputs.shared_rows(train_X, test_X),
        "class_names": names,
    }
    arrays = {
        "train_X": train_X,
        "train_y": labels[train],
        "test_X": test_X,
        "test_y": labels[test],
    }
    return arrays, params


def read_for_predict(given: list[Path], shape: tuple[int, int, int]) -> tuple[list[Path], Reader]:
    """The image files ``predict --input`` names (a folder of them, class folders or not, or
    the files themselves), and a reader of them at the split's image shape."""
    files: list[Path] = []
    for path in given:
        if path.is_dir():
            files += image_files(path)
        elif path.is_file():
            files.append(path)
        else:
            raise StackgenError(f"--input {path}: no such file or folder")
    if not files:
        raise StackgenError(f"--input {given[0]}: no images ({', '.join(SUFFIXES)}) in it")
    return files, Reader(files, shape)
