"""Safe output: every command that writes goes through here, and never touches a user's file.

A directory innogrid writes holds ``.innogrid-manifest.json``, a marker only innogrid
writes: its format and version, and every file innogrid wrote there with the kind of
output it belongs to (``run``, ``comparison``, ``sensitivity``, ``sweep``, ...). A target
directory is written only if it does not exist, is empty, or holds that manifest; and
then only the files the manifest lists are replaced or removed. A file innogrid did not
write is never deleted or overwritten: if one stands where an output file would go, the
write is refused (:class:`OutputError`, exit status 2 at the command line).

:func:`output_dir` writes into a temporary sibling first. A new (or empty, or wholly
ours) target is then swapped in as one rename; a target that also holds other files
gets our files moved in one by one, after a manifest naming old and new files is in
place, so a kill at any moment leaves a directory that is still recognised as ours.
The target keeps its permissions; a new one gets the umask's default.

Single files (an HTML report, a calibrated scenario) are replaced only if they carry a
marker text of the command that wrote them (:func:`write_file`).
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

__all__ = ["OutputError", "MANIFEST_NAME", "FORMAT", "VERSION", "owned", "check_output_dir",
           "check_file", "claim", "output_dir", "write_file", "atomic_write"]

MANIFEST_NAME = ".innogrid-manifest.json"
FORMAT = "innogrid-output"
VERSION = 1
_MAX_MANIFEST_BYTES = 4 << 20


class OutputError(ValueError):
    """The output cannot be written without touching something that is not ours."""


_WHY = {errno.EBUSY: "a mount point or a folder in use cannot be replaced; choose a folder "
                    "inside it",
        errno.EROFS: "a read-only file system",
        errno.EPERM: "not permitted: a read-only or immutable folder",
        errno.EACCES: "permission denied",
        errno.ENOTDIR: "a file stands where a folder of the path should be",
        errno.EEXIST: "a file stands where a folder of the path should be",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EXDEV: "it is on another file system than its parent (a mount point?); choose a "
                     "folder inside it"}


def _cannot(flag: str, directory: object, e: OSError) -> OutputError:
    """One line: why ``directory`` cannot be written (from the OS error)."""
    why = _WHY.get(e.errno, e.strerror or type(e).__name__)
    return OutputError(f"{flag} {directory}: cannot be written ({why})")


def _check_writable(directory: str | Path, flag: str, replace: bool) -> None:
    """Before any work: every existing part of the path is a folder that can be written.

    ``replace``: the target is replaced through a temporary sibling and a rename
    (:func:`output_dir`), so its parent must be writable too and it must not be a mount
    point (a rename cannot move one); otherwise it is written in place (:func:`claim`).
    """
    target = _target(directory)
    try:
        near = target
        while not os.path.lexists(near) and near != near.parent:
            near = near.parent
        if near != target and not near.is_dir():
            raise OutputError(f"{flag} {directory}: {near} is a file, not a folder; choose a "
                              "path of folders")
        need = [near]
        if near == target and replace:
            if os.path.ismount(target):
                raise OutputError(f"{flag} {directory}: a mount point, which innogrid cannot "
                                  "replace (outputs are swapped in by a rename); choose a folder "
                                  "inside it")
            need.append(target.parent if str(target.parent) else Path("."))
        for d in need:
            if d.is_dir() and not os.access(d, os.W_OK | os.X_OK):
                raise OutputError(f"{flag} {directory}: {d} is not writable (read-only, "
                                  "immutable or not yours); choose another folder")
    except OSError as e:
        raise _cannot(flag, directory, e) from None


def _rel_ok(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        return False
    p = PurePosixPath(rel)
    return (not p.is_absolute() and all(part not in ("", ".", "..") for part in p.parts)
            and rel != MANIFEST_NAME and str(p) == rel)


def _read_manifest(path: Path) -> dict[str, str] | None:
    """The files a manifest lists (path -> kind), or None if it is not one of ours."""
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("format") != FORMAT
            or not isinstance(data.get("version"), int) or not 1 <= data["version"] <= VERSION
            or not isinstance(data.get("files"), dict)):
        return None
    files = data["files"]
    if not all(_rel_ok(k) and isinstance(v, str) for k, v in files.items()):
        return None
    return dict(files)


def atomic_write(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Write ``path`` through a temporary sibling and one rename (a kill leaves old or new).

    The file gets ``mode``, else the mode of the file it replaces, else the umask default.
    """
    path = Path(path)
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_manifest(directory: Path, files: Mapping[str, str]) -> None:
    doc = {"format": FORMAT, "version": VERSION,
           "written_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
           "files": dict(sorted(files.items()))}
    atomic_write(directory / MANIFEST_NAME, json.dumps(doc, indent=1) + "\n")


def _target(directory: str | Path) -> Path:
    target = Path(directory)
    return target.resolve() if target.is_symlink() else target


def owned(directory: str | Path, flag: str = "--out") -> dict[str, str]:
    """The files innogrid wrote in ``directory`` (path -> kind); ``{}`` if it is new or empty.

    Raises :class:`OutputError` for a file, or for a non-empty directory without our
    manifest: nothing in it may be touched.
    """
    target = _target(directory)
    try:
        if not target.exists():
            return {}
        if not target.is_dir():
            raise OutputError(f"{flag} {directory}: exists and is not a directory; choose a "
                              "new or empty directory, or an earlier innogrid output")
        marker = target / MANIFEST_NAME
        if not os.path.lexists(marker):
            if any(target.iterdir()):
                raise OutputError(f"{flag} {directory}: exists, is not empty and is not an "
                                  f"innogrid output (it has no {MANIFEST_NAME}); choose a new "
                                  "or empty directory")
            return {}
    except OSError as e:
        raise OutputError(f"{flag} {directory}: cannot be read "
                          f"({_WHY.get(e.errno, e.strerror)})") from None
    files = _read_manifest(marker)
    if files is None:
        raise OutputError(f"{flag} {directory}: its {MANIFEST_NAME} is not an innogrid manifest "
                          f"(format {FORMAT}, version 1 to {VERSION}); choose another directory")
    return files


def check_output_dir(directory: str | Path, flag: str = "--out") -> Path:
    """Refuse, before any work, a target innogrid may not write (see :func:`owned`).

    Also a path through a file, a folder that cannot be written, or a mount point (which
    :func:`output_dir` could not swap in).
    """
    owned(directory, flag)
    _check_writable(directory, flag, replace=True)
    return Path(directory)


def claim(directory: str | Path, kind: str, files: tuple[str, ...] = (),
          flag: str = "--out") -> Path:
    """Make ``directory`` ours for writing in place (a results store, say).

    It must be new, empty or ours; it is created (umask permissions) and its manifest
    gains ``files`` of ``kind`` before anything else is written into it.
    """
    have = owned(directory, flag)
    _check_writable(directory, flag, replace=False)
    target = _target(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
        want = {**have, **dict.fromkeys(files, kind)}
        if want != have or not os.path.lexists(target / MANIFEST_NAME):
            _write_manifest(target, want)
    except OSError as e:
        raise _cannot(flag, directory, e) from None
    return target


def _walk(root: Path) -> tuple[set[str], set[str]]:
    """Relative paths of the files (symlinks included, not followed) and directories."""
    files, dirs = set(), set()
    for here, dnames, fnames in os.walk(root):
        rel = Path(here).relative_to(root)
        for d in list(dnames):
            if (Path(here) / d).is_symlink():
                files.add((rel / d).as_posix())
                dnames.remove(d)
            else:
                dirs.add((rel / d).as_posix())
        files.update((rel / f).as_posix() for f in fnames)
    files.discard(MANIFEST_NAME)
    return files, dirs


def _parents(rel: str) -> list[str]:
    return [p.as_posix() for p in PurePosixPath(rel).parents if str(p) != "."]


def _remove(root: Path, files: set[str]) -> None:
    """Remove the listed files and then the directories they leave empty (nothing else)."""
    dirs = set()
    for rel in files:
        p = root / rel
        if os.path.lexists(p) and not (p.is_dir() and not p.is_symlink()):
            p.unlink()
        dirs.update(_parents(rel))
    for d in sorted(dirs, key=lambda s: -s.count("/")):
        try:
            (root / d).rmdir()
        except OSError:  # not empty: it holds something else
            pass


def _commit(tmp: Path, target: Path, kind: str, flag: str, shown: str) -> None:
    new, _ = _walk(tmp)
    if not os.path.lexists(target):
        _write_manifest(tmp, dict.fromkeys(new, kind))
        os.rename(tmp, target)
        return
    old = owned(target, flag)
    present, present_dirs = _walk(target)
    clash = sorted(f for f in new
                   if f not in old and (f in present or f in present_dirs
                                        or any(p in present for p in _parents(f))))
    if clash:
        raise OutputError(f"{flag} {shown}: {clash[0]} exists there and was not written by "
                          f"innogrid (it is not in {MANIFEST_NAME}); move it or choose another "
                          "directory")
    mine = {f for f, k in old.items() if k == kind}
    stale = mine - new
    os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
    if present <= mine and present_dirs <= {p for f in mine for p in _parents(f)}:
        # nothing but this kind's earlier files: swap the whole directory in one rename
        _write_manifest(tmp, dict.fromkeys(new, kind))
        old_dir = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
        os.rename(target, old_dir)
        os.rename(tmp, target)
        _remove(old_dir, present | {MANIFEST_NAME})
        try:
            old_dir.rmdir()
        except OSError:  # something appeared meanwhile: keep it, never delete it
            pass
        return
    # other files live here too: move ours in one by one, after a manifest naming old and
    # new, so that a kill half-way still leaves every file of ours listed
    _write_manifest(target, {**old, **dict.fromkeys(new, kind)})
    for rel in sorted(new):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, target / rel)
    _remove(target, stale)
    _write_manifest(target, {f: k for f, k in {**old, **dict.fromkeys(new, kind)}.items()
                             if f not in stale})
    shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def output_dir(directory: str | Path, kind: str, flag: str = "--out") -> Iterator[Path]:
    """Yield a temporary sibling to write into; put its files in place at ``directory`` on success.

    The target must be new, empty or ours (checked first, and again when committing);
    only files of ``kind`` that innogrid wrote earlier are replaced or removed. A failure
    or interruption removes the temporary directory and leaves the target as it was.
    """
    check_output_dir(directory, flag)
    target = _target(directory)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
            try:
                tmp.mkdir(0o777)  # the umask applies, as for any new directory
                break
            except FileExistsError:
                continue
    except OSError as e:
        raise _cannot(flag, directory, e) from None
    try:
        yield tmp
        try:
            _commit(tmp, target, kind, flag, str(directory))
        except OSError as e:
            raise _cannot(flag, directory, e) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_file(path: str | Path, data: str | bytes, marker: str | tuple[str, ...],
               flag: str = "--out") -> Path:
    """Write one file, replacing an existing one only if it holds ``marker`` (ours).

    The marker must be in the first 4 KB of what innogrid writes; a file without it is
    the user's and is refused (:class:`OutputError`). A tuple of markers accepts any of
    them (a mark that changed between versions).
    """
    check_file(path, marker, flag)
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, data)
    except OSError as e:
        raise _cannot(flag, path, e) from None
    return p


def check_file(path: str | Path, marker: str | tuple[str, ...], flag: str = "--out") -> None:
    """Refuse a file target that exists and was not written by innogrid (no ``marker``)."""
    p = Path(path)
    if not os.path.lexists(p):
        return
    marks = (marker,) if isinstance(marker, str) else marker
    try:
        head = p.open("rb").read(4096) if p.is_file() and not p.is_symlink() else None
        ok = head is not None and any(m.encode() in head for m in marks)
    except OSError:
        ok = False
    if not ok:
        raise OutputError(f"{flag} {path}: exists and was not written by innogrid; choose a "
                          "new file name")
