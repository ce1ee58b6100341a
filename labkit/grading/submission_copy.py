"""The one copy of a submission's files the grader makes: bounded, never through a link.

Design note: the grader may be root, and a submission folder may be its owner's live one (a
learner's notebook) or an upload (Gradescope's, `labkit grade --many`'s folders). So a copy takes
only the folder's top-level regular files (a submission is exercises/'s layout: nothing it needs
is in a subfolder), at most MAX_SUBMISSION_FILES of them (besides the files asked for first) and
MAX_SUBMISSION_BYTES in all, each at most MAX_SUBMISSION_FILE, and opens the folder and each file
once, without following a link or blocking on a named pipe. What was left out is returned with
the reason, in words a learner reads (Submission.file says it when a check needs that file).
The runner copies a submission into each check's folder with it, and the Gradescope entry point
(labkit.classroom.gradescope) copies an upload with it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_MiB = 1 << 20
MAX_SUBMISSION_FILE = 1 * _MiB  # files bigger than this are not copied

#: Of a submission's top-level files, the most a copy takes (besides the files asked for first,
#: a check's own): a folder of 100,000 files, or of 1 MiB ones, would otherwise be copied for
#: every check, as root, before any timeout applies.
MAX_SUBMISSION_FILES = 64
MAX_SUBMISSION_BYTES = 8 * _MiB
#: The key of `skipped` saying why files beyond those bounds were not copied (a file name is never "").
SKIPPED_REST = ""


def copy_submission(src: Path, dst: Path, first: tuple[str, ...] = ()) -> dict[str, str]:
    """The submission's top-level files (the exercises, the check's own files `first`), each at
    most MAX_SUBMISSION_FILE, at most MAX_SUBMISSION_FILES and MAX_SUBMISSION_BYTES in all; what
    was left out and why, {name: reason} (SKIPPED_REST: why the rest was).

    Each file is opened once, never through a symbolic link and without blocking, and copied from
    that open file: a file swapped for a link to solutions/ or a named pipe after it was looked at
    is not read through (the grader may be root, and the folder may be its owner's live one)."""
    dst.mkdir()
    try:   # the folder itself is opened once, not through a link, and its files found from it
        folder = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        why = ("the submission folder is a symbolic link: submit the folder itself"
               if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(src)
               else f"the submission folder could not be read ({exc.strerror})")
        return {SKIPPED_REST: why}
    try:
        return _copy_files(folder, dst, first)
    finally:
        os.close(folder)


def _copy_files(folder: int, dst: Path, first: tuple[str, ...]) -> dict[str, str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        return {SKIPPED_REST: f"the submission folder could not be read ({exc.strerror})"}
    skipped: dict[str, str] = {}
    present = set(names)
    copied, total = 0, 0
    order = [n for n in first if n in present] + [n for n in names if n not in first]
    for looked, name in enumerate(order):   # (folders and refused files count as looked at)
        if copied >= MAX_SUBMISSION_FILES + len(first) or total >= MAX_SUBMISSION_BYTES \
                or looked >= 4 * MAX_SUBMISSION_FILES + len(first):
            skipped[SKIPPED_REST] = (f"was not copied: the grader copies at most {MAX_SUBMISSION_FILES} "
                                     f"files and {MAX_SUBMISSION_BYTES >> 20} MiB of a submission "
                                     f"(submit the exercises' files only)")
            break
        why, size = _copy_file(folder, name, dst / name, MAX_SUBMISSION_BYTES - total)
        if why:
            skipped[name] = why
        elif size is not None:
            copied, total = copied + 1, total + size
    return skipped


NOT_A_FILE = "is not a regular file (a named pipe, a socket or a device): submit the file itself"


def _copy_file(folder: int, name: str, dst: Path, room: int) -> tuple[str, int | None]:
    """Copy file `name` of the open `folder` from one open of it: ("", its size) or (why not,
    None)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link: submit the file itself", None
        if exc.errno == errno.ENXIO:       # (what opening a unix socket says)
            return NOT_A_FILE, None
        return f"could not be read ({exc.strerror})", None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):   # (not copied; said only if a check asks for it by name)
            return "is a folder, not a file: submit the file itself", None
        if not stat.S_ISREG(st.st_mode):   # a named pipe would block the copy; a device has no end
            return NOT_A_FILE, None
        limit = min(MAX_SUBMISSION_FILE, room)
        data = os.read(fd, limit + 1) if st.st_size <= limit else b""
        if st.st_size > MAX_SUBMISSION_FILE or len(data) > MAX_SUBMISSION_FILE:
            return f"is larger than {MAX_SUBMISSION_FILE} bytes, the most a file may be", None
        if st.st_size > limit or len(data) > limit:
            return (f"was not copied: the grader copies at most {MAX_SUBMISSION_BYTES >> 20} MiB of "
                    f"a submission (submit the exercises' files only)"), None
        while len(data) < st.st_size:          # (a short read: a file system's own limit per read)
            more = os.read(fd, limit + 1 - len(data))
            if not more:
                break
            data += more
    except OSError as exc:
        return f"could not be read ({exc.strerror})", None
    finally:
        os.close(fd)
    dst.write_bytes(data)
    return "", len(data)
