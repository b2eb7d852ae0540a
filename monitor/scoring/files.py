"""Files the scoring commands read and write, made safe: a model is written
beside its final path and renamed into place, an output path is checked before
minutes of training, and an input file that cannot be read says why in one line.

Standard library only; ``textmodel`` (save, load, read_labelled_csv) and the CLI
use it. Errors are ``ValueError`` with a short reason the caller prefixes with
the path, except a failed write, which re-raises its ``OSError``."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a new file in ``path``'s folder (the same file system, so the
    rename is atomic), fsync it and rename it over ``path``. On any failure (a full
    disk, Ctrl-C) the new file is removed and ``path`` is untouched; a crash can
    leave only a hidden ``.NAME.*.tmp`` file, never a truncated ``path``."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:  # 0o666 and O_EXCL: the umask applies as for any new file; never reuse one
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself survive a power cut (POSIX; skipped where a folder
    cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_model_target(path: Path) -> None:
    """ValueError if a model should not or could not be saved at ``path``: a folder,
    an existing file that is not a model (a typo must not overwrite the training
    data), a folder that cannot be written in or created. Creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"is a directory; give a file name such as {path / 'model.npz'}")
    if path.exists() and not looks_like_model(path):
        raise ValueError("exists and is not a model file; not overwriting it")
    existing = next(p for p in (path.parent, *path.parent.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"{existing} is a file, not a folder")
    try:
        if existing == path.parent:  # try it: permissions, a read-only mount
            tempfile.TemporaryFile(dir=existing).close()
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise ValueError(f"cannot write in {existing} ({_why(exc)})") from None


def looks_like_model(path: Path) -> bool:
    """A saved model of any format version (a retrain may replace an old one):
    an ``.npz`` archive with the metadata entry."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "meta.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def read_utf8(path: Path) -> str:
    """A whole UTF-8 text file (BOM allowed); ValueError with a one-line reason
    otherwise: no such file, a directory, unreadable, not UTF-8."""
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except IsADirectoryError:
        raise ValueError("is a directory, not a file") from None
    except OSError as exc:
        raise ValueError(f"cannot read ({_why(exc)})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


NEGATIVE_LABELS = frozenset({"1", "negative", "complaint", "neg"})
OTHER_LABELS = frozenset({"0", "positive", "neutral", "pos", "other"})


def read_labelled_csv(path: Path) -> tuple[list[str], list[int]]:
    """Texts and 0/1 labels from the user format: UTF-8 CSV (BOM allowed) with a
    header naming ``text`` and ``label``; other columns ignored, empty texts skipped.

    Labels 1/negative/complaint/neg -> 1 and 0/positive/neutral/pos/other -> 0;
    anything else is an error naming its line, so a typo never trains silently.
    A cell may be as long as the file: a 5 MB scraped post is a post, not an error."""
    content = read_utf8(path)
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(content) + 1))
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        return _labelled_rows(reader)
    except csv.Error as exc:  # none known with that limit, but never a traceback
        raise ValueError(f"line {reader.line_num}: {exc}") from None
    finally:
        csv.field_size_limit(limit)  # the csv module's limit is process-wide


def _labelled_rows(reader) -> tuple[list[str], list[int]]:  # noqa: ANN001 (a csv reader)
    header = [h.strip().casefold() for h in next(reader, [])]
    missing = [c for c in ("text", "label") if c not in header]
    if missing:
        raise ValueError(f"the header needs columns text and label; missing {', '.join(missing)}")
    ti, li = header.index("text"), header.index("label")
    texts: list[str] = []
    labels: list[int] = []
    line = reader.line_num + 1
    for row in reader:
        text = row[ti].strip() if ti < len(row) else ""
        if text:
            value = row[li].strip() if li < len(row) else ""
            key = value.casefold()
            if key in NEGATIVE_LABELS:
                labels.append(1)
            elif key in OTHER_LABELS:
                labels.append(0)
            else:
                raise ValueError(f"line {line}: label {value!r} is not one of 1/negative/"
                                 "complaint/neg or 0/positive/neutral/pos/other")
            texts.append(text)
        line = reader.line_num + 1
    return texts, labels
