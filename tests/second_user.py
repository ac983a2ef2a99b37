"""A second, unprivileged user for tests that read what root (the teacher) wrote, and how it
reaches this interpreter without loosening the machine for good.

CI runs as root and the interpreter lives under root's home (pyenv in /root, mode 0700), which
another user cannot enter; the venv's python links into it. What works here, and leaves the
machine as it was: a POSIX access ACL granting the new user search (x, not read) on each folder
on the way that others cannot search (usually /root alone; not a folder some other program may
chmod meanwhile, as pytest does its own temporary root), written as the kernel's own
`system.posix_acl_access` attribute (the `acl` package's setfacl is not on a fresh machine), and
taken away afterwards (only this user's entry, so two runs at once do not take each other's
away; a folder that had no ACL gets its mode back and no ACL attribute), and the user goes with
`userdel -r`. The other ideas fall short: a bind mount needs a mount namespace and
is invasive; `setpriv` keeping CAP_DAC_READ_SEARCH would let the user read any file, which is
what the tests must see refused; copying the interpreter and the venv is 2.6 GB. The reader
runs with `runuser -u USER --` and `env -i`: none of root's environment.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import stat
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ACL_XATTR = "system.posix_acl_access"
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
ROOT = Path(__file__).resolve().parents[1]


def _acl_entries(path: Path) -> list[tuple[int, int, int]]:
    """The folder's access ACL as (tag, perm, id) entries: its attribute, else its mode's."""
    try:
        raw = os.getxattr(path, ACL_XATTR)
    except OSError:
        mode = path.stat().st_mode
        return [(_USER_OBJ, (mode >> 6) & 7, _NO_ID), (_GROUP_OBJ, (mode >> 3) & 7, _NO_ID),
                (_OTHER, mode & 7, _NO_ID)]
    return [struct.unpack_from("<HHI", raw, 4 + 8 * i) for i in range((len(raw) - 4) // 8)]


def _encoded(entries: list[tuple[int, int, int]]) -> bytes:
    """`entries` as the kernel stores an access ACL (version 2, entries ordered by tag, then
    id), the mask the union of what the group class is granted."""
    kept = [e for e in entries if e[0] != _MASK]
    if any(e[0] in (_USER, _GROUP) for e in kept):
        mask = 0
        for tag, perm, _ in kept:
            mask |= perm if tag in (_USER, _GROUP_OBJ, _GROUP) else 0
        kept.append((_MASK, mask, _NO_ID))
    kept.sort(key=lambda e: (e[0], e[2]))
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in kept)


def _with_search(entries: list[tuple[int, int, int]], uid: int) -> bytes:
    """`entries` plus search permission for `uid`, encoded (`_encoded`)."""
    perm = next((e[1] for e in entries if e[0] == _USER and e[2] == uid), 0) | 1
    others = [e for e in entries if not (e[0] == _USER and e[2] == uid)]
    return _encoded([*others, (_USER, perm, uid)])


@dataclass
class SecondUser:
    """A user created for a test, and the folders it was let through (to be given back)."""

    name: str
    uid: int
    gid: int
    home: Path
    granted: list[tuple[Path, bytes | None, int]] = field(default_factory=list)

    def let_through(self, *paths: Path) -> None:
        """Let this user search every folder above and at `paths` that others cannot search."""
        for path in paths:
            for folder in [*reversed(Path(path).resolve().parents), Path(path).resolve()]:
                st = folder.stat()
                if not stat.S_ISDIR(st.st_mode) or st.st_mode & stat.S_IXOTH \
                        or any(g[0] == folder for g in self.granted):
                    continue
                try:
                    before = os.getxattr(folder, ACL_XATTR)
                except OSError:
                    before = None
                self.granted.append((folder, before, stat.S_IMODE(st.st_mode)))
                os.setxattr(folder, ACL_XATTR, _with_search(_acl_entries(folder), self.uid))

    def give_back(self) -> None:
        """Take this user's entry out of each folder's ACL; a folder that had no ACL before and
        holds no other named entry (another run's) gets its mode back and no ACL attribute."""
        while self.granted:
            folder, before, mode = self.granted.pop()
            entries = [e for e in _acl_entries(folder) if not (e[0] == _USER and e[2] == self.uid)]
            if before is None and not any(e[0] in (_USER, _GROUP) for e in entries):
                os.removexattr(folder, ACL_XATTR)
                os.chmod(folder, mode)
            else:
                os.setxattr(folder, ACL_XATTR, _encoded(entries))

    def run(self, args: list[str], env: dict[str, str], *, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        """Run `args` as this user with only `env` (and PATH, HOME) in its environment."""
        base = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(self.home),
                "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
                "MPLCONFIGDIR": str(self.home / ".mpl")}
        pairs = [f"{k}={v}" for k, v in {**base, **env}.items()]
        return subprocess.run(["runuser", "-u", self.name, "--", "env", "-i", *pairs, *args],
                              cwd=cwd or self.home, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def python(self, script: str, env: dict[str, str], *args: str,
               timeout: float = 300) -> dict:
        """Run `script` (Python source) as this user with this venv's interpreter; the JSON
        object it prints last."""
        done = self.run([sys.executable, "-c", script, *args], env, timeout=timeout)
        assert done.returncode == 0, f"as {self.name}: exit {done.returncode}\n{done.stderr}"
        return json.loads(done.stdout.strip().splitlines()[-1])


def machine_state(paths: list[Path]) -> dict[str, tuple]:
    """Mode and ACL attribute of each folder above and at `paths`: what must be as before."""
    state = {}
    for path in paths:
        for folder in [*Path(path).resolve().parents, Path(path).resolve()]:
            try:
                acl = os.getxattr(folder, ACL_XATTR)
            except OSError:
                acl = None
            state[str(folder)] = (stat.S_IMODE(folder.stat().st_mode), acl)
    return state


def create_user(home_parent: Path) -> SecondUser:
    """A new user with a group and a home of its own under `home_parent` (root only)."""
    name = f"vgz{secrets.token_hex(4)}"
    home = home_parent / name
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--user-group",
                    "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
    entry = pwd.getpwnam(name)
    return SecondUser(name, entry.pw_uid, entry.pw_gid, home)


def delete_user(user: SecondUser) -> None:
    """Remove the user, its group and its home (`userdel -r`)."""
    subprocess.run(["userdel", "-r", user.name], check=True, capture_output=True)


def interpreter_paths() -> list[Path]:
    """What a process of another user needs to reach: this interpreter (and the one it links
    to), its prefixes, and the checkout."""
    return [Path(sys.executable).parent, Path(os.path.realpath(sys.executable)).parent,
            Path(sys.prefix), Path(sys.base_prefix), ROOT]
