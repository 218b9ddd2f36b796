"""Experiment tcp_fin_timeout: an orphaned FIN_WAIT_2 socket.

The client connects, the server accepts and then never closes its end. The client closes
(its FIN is ACKed by the server's kernel), so the client's connection waits in FIN_WAIT_2 for a
FIN that never comes, with no process holding it: the kernel keeps it for tcp_fin_timeout
(net/ipv4/tcp_input.c, tcp_rcv_state_process(): tcp_time_wait(sk, TCP_FIN_WAIT2, tcp_fin_time(sk)),
never less than 3.5 RTO). /proc/net/tcp in the client namespace shows when it is gone.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from ..knowledge.consequences import KEY_FIN_TIMEOUT
from ..knowledge.values import KernelVersion, format_value
from .netns import Lab, inside, read_proc_net
from .predict import fin_timeout_agree, predict_fin_timeout, timer_tolerance
from .quick import factor as quick_factor
from .quick import note as quick_note_text
from .quick import scaled
from .timeline import Recorder, wait_until
from .wire import tcp_state_count

NAME = "tcp_fin_timeout"
CLIENT, SERVER = "client", "server"
CLIENT_ADDR, SERVER_ADDR, PORT = "198.18.0.1", "198.18.0.2", 8082
POLL_S = 0.02
FIN_WAIT1, FIN_WAIT2 = "04", "05"
DEFAULT_FIN_TIMEOUT = 60


TAKES_QUICK = True


def run_value(settings: dict[str, Any], quick: bool = False) -> tuple[int, str | None]:
    """The tcp_fin_timeout the client namespace gets and, when --quick scaled it, the note."""
    given = int(settings.get(KEY_FIN_TIMEOUT, DEFAULT_FIN_TIMEOUT))
    by = quick_factor(given) if quick else 1
    if by == 1:
        return given, None
    ran = scaled(given, by)
    return ran, quick_note_text({KEY_FIN_TIMEOUT: ran}, {KEY_FIN_TIMEOUT: given}, by, float(given))


def quick_note(settings: dict[str, Any]) -> str:
    return run_value(settings, True)[1] or "--quick: short enough to run at full length"


def expected_seconds(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> float:
    return predict(settings, kernel, quick)["fin_wait2_s"]


def predict(settings: dict[str, Any], kernel: KernelVersion | None, quick: bool = False) -> dict[str, Any]:
    return predict_fin_timeout(run_value(settings, quick)[0])


def run(lab: Lab, settings: dict[str, Any], kernel: KernelVersion | None, rec: Recorder, deadline: float, quick: bool = False) -> tuple[dict, dict, bool, str]:
    lab.add(CLIENT)
    lab.add(SERVER)
    lab.link(CLIENT, "c0", f"{CLIENT_ADDR}/30", SERVER, "s0", f"{SERVER_ADDR}/30")
    value, scaled_note = run_value(settings, quick)
    for key, v in settings.items():
        lab.sysctl(CLIENT, key, format_value(value if key == KEY_FIN_TIMEOUT else v))
    if scaled_note:
        lab.sysctl(CLIENT, KEY_FIN_TIMEOUT, str(value))
        rec.add("note", scaled_note)
    fin_timeout = int(lab.read_sysctl(CLIENT, KEY_FIN_TIMEOUT))
    rec.add("setup", f"client namespace: {KEY_FIN_TIMEOUT}={fin_timeout}")
    predicted = predict_fin_timeout(fin_timeout)
    rec.add("note", f"predicted: the orphaned connection leaves FIN_WAIT_2 after {predicted['fin_wait2_s']:g} s")
    with inside(lab.ns(SERVER)):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with inside(lab.ns(CLIENT)):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    peer = None
    gone = None
    seen_fw2 = False

    def states() -> tuple[int, int]:
        text = read_proc_net(lab.ns(CLIENT), "tcp")
        return tcp_state_count(text, FIN_WAIT1, remote_port=PORT), tcp_state_count(text, FIN_WAIT2, remote_port=PORT)

    try:
        listener.bind((SERVER_ADDR, PORT))
        listener.listen(1)
        listener.settimeout(5)
        client.settimeout(5)
        client.connect((SERVER_ADDR, PORT))
        peer, _ = listener.accept()
        rec.add("state", f"connected {CLIENT_ADDR} -> {SERVER_ADDR}:{PORT}; the server will never close its end")
        t0 = rec.zero()
        client.close()
        rec.add("state", "client: close() sends FIN; no process holds the socket any more (orphaned)")

        def step(wait: float) -> bool:
            nonlocal gone, seen_fw2
            until = time.monotonic() + wait
            while True:
                fw1, fw2 = states()
                if fw2 and not seen_fw2:
                    seen_fw2 = True
                    rec.add("state", "client: FIN ACKed by the server, FIN_WAIT_1 -> FIN_WAIT_2, waiting for the server's FIN")
                elif seen_fw2 and not fw2 and not fw1:
                    gone = time.monotonic() - t0
                    rec.add("state", f"client: FIN_WAIT_2 connection removed after {gone:.3f} s")
                    return True
                if time.monotonic() + POLL_S > until:
                    return False
                time.sleep(POLL_S)

        wait_until(rec, step, deadline=deadline, expected_s=predicted["fin_wait2_s"], timeout_note="hard time limit reached: the connection is still in FIN_WAIT_2")
    finally:
        client.close()
        for s in (peer, listener):
            if s is not None:
                s.close()
    measured = {"fin_wait2_s": round(gone, 3) if gone is not None else None}
    tolerance = f"{timer_tolerance(predicted['fin_wait2_s'])}, polling every {POLL_S:g} s"
    return measured, predicted, fin_timeout_agree(measured, predicted), tolerance
