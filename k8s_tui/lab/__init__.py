"""The lab: run a sysctl for real in throwaway network namespaces and compare what happens with
what the knowledge base predicts. No UI here: ``cli/lab.py`` prints, the runner streams events.

netns.py (namespaces, leftovers), wire.py (packets seen, ICMP echo), settings.py (KEY=VALUE ->
experiment, or why not and the closest one), predict.py (predictions, tolerances, kernel sources),
timeline.py (events, outcome, wait_until: the one wait-with-progress loop), quick.py (--quick
scaling), the experiments: syn_retries.py, ip_forward.py, somaxconn.py, synack_retries.py,
keepalive.py, fin_timeout.py, tw_reuse.py (each: NAME, expected_seconds(), predict(), run());
runner.py (one run, start to end; the outcome of a failed run).
"""

from .netns import LabError, clean_leftovers, lab_namespaces
from .runner import EXPERIMENT_MODULES, LabUnavailable, run_request
from .settings import EXPERIMENTS, LabInputError, LabRequest, parse_request
from .timeline import Event, Outcome

__all__ = [
    "EXPERIMENTS",
    "EXPERIMENT_MODULES",
    "Event",
    "LabError",
    "LabInputError",
    "LabRequest",
    "LabUnavailable",
    "Outcome",
    "clean_leftovers",
    "lab_namespaces",
    "parse_request",
    "run_request",
]
