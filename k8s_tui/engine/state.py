"""Where k8s-tui keeps what it remembers between runs: the user's state directory.

``$K8S_TUI_STATE_DIR`` overrides it (tests always point it at a temporary directory); otherwise
platformdirs' ``user_state_dir("k8s-tui")`` (``~/.local/state/k8s-tui`` on Linux).
"""

from __future__ import annotations

import os
import re
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
