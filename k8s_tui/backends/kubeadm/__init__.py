"""What the wizard knows about kubeadm: its output, its config file, its errors.

Pure and UI-free: ``output`` reads what ``kubeadm init``/``join`` print (line by line while they run,
or a whole saved log), ``hints`` says what to look at next for each known error, ``config`` writes
the ``--config`` file for a plan and a host (``k8s-tui diagnose`` is ``cli/diagnose.py``).
"""

from __future__ import annotations

from .config import render_join_config, render_kubeadm_config
from .hints import Hint, hints_for
from .output import (
    INIT_PHASES,
    JOIN_PHASES,
    KubeadmProgress,
    KubeadmReport,
    PhaseChange,
    parse_kubeadm_output,
)

__all__ = [
    "INIT_PHASES",
    "JOIN_PHASES",
    "Hint",
    "KubeadmProgress",
    "KubeadmReport",
    "PhaseChange",
    "hints_for",
    "parse_kubeadm_output",
    "render_join_config",
    "render_kubeadm_config",
]
