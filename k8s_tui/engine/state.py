"""Where k8s-tui keeps what it remembers between runs: the user's state directory, and whether
a run can keep its record there (``state_dir_problem``).

``$K8S_TUI_STATE_DIR`` overrides it (tests always point it at a temporary directory); otherwise
platformdirs' ``user_state_dir("k8s-tui")`` (``~/.local/state/k8s-tui`` on Linux).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from platformdirs import user_state_dir

ENV_VAR = "K8S_TUI_STATE_DIR"
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def state_dir() -> Path:
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path(user_state_dir("k8s-tui"))


def runs_dir(base: Path | None = None) -> Path:
    return (base or state_dir()) / "runs"


def run_dir(run_id: str, base: Path | None = None) -> Path:
    if not RUN_ID_RE.fullmatch(run_id):
        raise ValueError(f"{run_id!r} is not a run id (letters, digits, '.', '_' and '-')")
    return runs_dir(base) / run_id


# Room a run needs before it starts: a dry run of the whole kubeadm path writes about 135 KiB, a
# real one with chatty package managers a few MiB. A small file system (a test's tmpfs) is asked
# for a quarter of its size instead, so a run on it starts and its journal's own checks apply.
MIN_FREE_BYTES = 4 << 20


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n // 1024} KiB"


def state_dir_problem(base: Path | None = None, min_free: int = MIN_FREE_BYTES) -> str | None:
    """Why a run could not keep its record in the state dir (one line), or None when it can:
    ``<state>/runs`` is made if missing, a file is written, synced and removed there, and the
    file system has ``min_free`` bytes free (a quarter of its size when that is less)."""
    d = runs_dir(base)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"the state dir {d} is not a directory (a file is in the way)"
    except NotADirectoryError:
        return f"the state dir {d} is under a file, not a directory"
    except OSError as e:
        return f"cannot make the state dir {d}: {e.strerror or e}"
    if not d.is_dir():
        return f"the state dir {d} is not a directory"
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=d)
    except OSError as e:
        return f"cannot write in the state dir {d}: {e.strerror or e}"
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    except OSError as e:
        return f"cannot write in the state dir {d}: {e.strerror or e}"
    finally:
        os.close(fd)
        try:
            os.unlink(probe)
        except OSError:
            pass
    try:
        st = os.statvfs(d)
    except OSError as e:
        return f"cannot read the free space of the state dir {d}: {e.strerror or e}"
    free, total = st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
    need = min(min_free, total // 4)
    if free < need:
        return f"the state dir {d} has {_mib(free)} free; a run needs at least {_mib(need)} for its journal and logs"
    return None
