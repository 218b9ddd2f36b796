"""Reading what ``kubeadm init`` and ``kubeadm join`` print.

Two ways in:

* ``KubeadmProgress`` is fed one line at a time while kubeadm runs and says when a new phase
  starts (``feed(line) -> PhaseChange | None``), so the UI can move a progress bar.
* ``parse_kubeadm_output(text)`` reads a whole saved run (ours, or pasted from anywhere) into a
  ``KubeadmReport``: succeeded or not, phases reached, the failed phase, preflight errors and
  warnings, the error lines, the join commands as single lines, token and certificate-key expiry,
  and a hint for each error.
* ``hint_for_line(line)`` gives the hint for one line while kubeadm runs, if it is a known error.

Only the ``[phase]`` prefix at the start of a line is relied on; the wording after it changes
between releases. Unknown prefixes are ignored. Phases are recorded in the order they first
appear, so older releases that ran ``kubelet-start`` right after preflight, or repeat a
``[kubelet-check]`` line late, read just as well as current ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .hints import Hint, hint_for_item, hint_for_text, hints_for

Kind = Literal["init", "join", "unknown"]
Status = Literal["succeeded", "failed", "incomplete"]

# `kubeadm init --help`, in the order current releases run them
INIT_PHASES: tuple[str, ...] = (
    "preflight",
    "certs",
    "kubeconfig",
    "etcd",
    "control-plane",
    "kubelet-start",
    "wait-control-plane",
    "upload-config",
    "upload-certs",
    "mark-control-plane",
    "bootstrap-token",
    "kubelet-finalize",
    "addons",
    "show-join-command",
)

# `kubeadm join --help`
JOIN_PHASES: tuple[str, ...] = (
    "preflight",
    "control-plane-prepare",
    "kubelet-start",
    "control-plane-join",
    "wait-control-plane",
)

PHASE_TITLES: dict[str, str] = {
    "preflight": "pre-flight checks",
    "certs": "certificates",
    "kubeconfig": "kubeconfig files",
    "etcd": "local etcd",
    "control-plane": "control-plane static Pods",
    "kubelet-start": "kubelet settings and start",
    "wait-control-plane": "waiting for kubelet and control plane",
    "upload-config": "cluster configuration stored",
    "upload-certs": "control-plane certificates uploaded",
    "mark-control-plane": "node marked as control plane",
    "bootstrap-token": "bootstrap token and RBAC",
    "kubelet-finalize": "kubelet client certificate rotation",
    "addons": "CoreDNS and kube-proxy",
    "show-join-command": "join commands",
    "control-plane-prepare": "control-plane certificates and manifests",
    "control-plane-join": "joining etcd and marking the control plane",
}

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# klog header: I0718 07:18:29.306814   14724 version.go:261] message
KLOG_RE = re.compile(r"^(?P<sev>[IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+[\w.-]+:\d+\]\s?(?P<msg>.*)$")
# a phase tag at the start of the line: "[certs] Generating ..." (not "[ERROR X]:", not "[...]")
TAG_RE = re.compile(r"^\s*\[(?P<tag>[A-Za-z][\w./-]*)\]\s?(?P<rest>.*)$")
ITEM_RE = re.compile(r"^\s*\[(?P<level>ERROR|WARNING) (?P<check>[^\]]+)\]:\s?(?P<message>.*)$")
FAILED_PHASE_RE = re.compile(r"error execution phase (?P<phase>[\w/.-]+?):")
INIT_OK_RE = re.compile(r"Your Kubernetes (control-plane|master) has initialized successfully")
JOIN_OK_RE = re.compile(r"This node has joined the cluster")
VERSION_RE = re.compile(r"^\[init\] [Uu]sing Kubernetes version: (?P<v>v?\d+\.\d+\S*)")
TOKEN_LINE_RE = re.compile(r"\[bootstrap-?token\] [Uu]sing token: (?P<t>[a-z0-9]{6}\.[a-z0-9]{16})")
TOKEN_FLAG_RE = re.compile(r"--token[ =](?P<t>[a-z0-9]{6}\.[a-z0-9]{16})")
HASH_FLAG_RE = re.compile(r"--discovery-token-ca-cert-hash[ =](?P<h>sha256:[0-9a-f]{64})")
CERT_KEY_FLAG_RE = re.compile(r"--certificate-key[ =](?P<k>[0-9a-f]{64})")
CERT_KEY_LINE_RE = re.compile(r"\[upload-certs\] Using certificate key:\s*(?P<k>[0-9a-f]{64})?\s*$")
HEX64_RE = re.compile(r"^\s*(?P<k>[0-9a-f]{64})\s*$")
TOKEN_TTL_RE = re.compile(r"--token-ttl[ =](?P<d>\S+)")
NOT_HEALTHY_RE = re.compile(r"is not healthy after|isn't running or healthy|The HTTP call equal to .* (failed|returned) error")
JOIN_REGION_RE = re.compile(r"You can now join any number of|Then you can join any number of|initialized successfully")

# tags whose phase depends on init vs join
_INIT_TAGS = {
    "preflight": "preflight",
    "preflight/images": "preflight",
    "certs": "certs",
    "certificates": "certs",
    "kubeconfig": "kubeconfig",
    "etcd": "etcd",
    "control-plane": "control-plane",
    "controlplane": "control-plane",
    "kubelet-start": "kubelet-start",
    "wait-control-plane": "wait-control-plane",
    "kubelet-check": "wait-control-plane",
    "api-check": "wait-control-plane",
    "control-plane-check": "wait-control-plane",
    "apiclient": "wait-control-plane",
    "upload-config": "upload-config",
    "uploadconfig": "upload-config",
    "patchnode": "upload-config",
    "upload-certs": "upload-certs",
    "mark-control-plane": "mark-control-plane",
    "markmaster": "mark-control-plane",
    "bootstrap-token": "bootstrap-token",
    "bootstraptoken": "bootstrap-token",
    "kubelet-finalize": "kubelet-finalize",
    "addons": "addons",
    "addon": "addons",
}
_JOIN_TAGS = {
    "preflight": "preflight",
    "preflight/images": "preflight",
    "discovery": "preflight",
    "download-certs": "control-plane-prepare",
    "certs": "control-plane-prepare",
    "kubeconfig": "control-plane-prepare",
    "control-plane": "control-plane-prepare",
    "check-etcd": "control-plane-prepare",
    "kubelet-start": "kubelet-start",
    "kubelet-check": "kubelet-start",
    "etcd": "control-plane-join",
    "update-status": "control-plane-join",
    "mark-control-plane": "control-plane-join",
    "wait-control-plane": "wait-control-plane",
    "control-plane-check": "wait-control-plane",
    "api-check": "wait-control-plane",
}
_INIT_ONLY_TAGS = {
    "init",
    "bootstrap-token",
    "bootstraptoken",
    "addons",
    "addon",
    "upload-config",
    "uploadconfig",
    "upload-certs",
    "kubelet-finalize",
    "apiclient",
    "markmaster",
}
_JOIN_ONLY_TAGS = {"discovery", "download-certs", "check-etcd", "join"}
_JOIN_TEXT = (
    "This node has joined the cluster",
    "Waiting for the kubelet to perform the TLS Bootstrap",
    "couldn't validate the identity of the API Server",
    "Running pre-flight checks before initializing the new control plane instance",
    'Reading configuration from the "kubeadm-config" ConfigMap',
    "error execution phase control-plane-prepare",
    "error execution phase control-plane-join",
)
_INIT_TEXT = (
    "has initialized successfully",
    "initialize a Kubernetes cluster",
    "You can now join any number of",
)


def clean_line(line: str) -> str:
    """One line as kubeadm meant it: no newline, no carriage return, no terminal colours."""
    return ANSI_RE.sub("", line.rstrip("\n").replace("\r", ""))


def _tag(line: str) -> tuple[str, str] | None:
    """The ``[tag]`` a line starts with (after an optional klog header), lower-cased, and the rest."""
    m = KLOG_RE.match(line)
    if m:
        line = m.group("msg")
    m = TAG_RE.match(line)
    if not m:
        return None
    return m.group("tag").lower(), m.group("rest")


def kind_of_line(line: str) -> Kind | None:
    """Whether this line only ever appears in init output, or only in join output."""
    line = clean_line(line)
    t = _tag(line)
    if t:
        tag, rest = t
        if tag in _INIT_ONLY_TAGS:
            return "init"
        if tag in _JOIN_ONLY_TAGS:
            return "join"
        if tag == "kubelet-start" and "TLS Bootstrap" in rest:
            return "join"
    if any(s in line for s in _JOIN_TEXT):
        return "join"
    if any(s in line for s in _INIT_TEXT):
        return "init"
    m = FAILED_PHASE_RE.search(line)
    if m:
        top = m.group("phase").split("/")[0]
        if top in INIT_PHASES and top not in JOIN_PHASES:
            return "init"
        if top in JOIN_PHASES and top not in INIT_PHASES:
            return "join"
    return None


def detect_kind(lines: list[str]) -> Kind:
    votes = {"init": 0, "join": 0}
    for line in lines:
        k = kind_of_line(line)
        if k:
            votes[k] += 1
    if votes["init"] == votes["join"]:
        return "unknown"
    return "init" if votes["init"] > votes["join"] else "join"


def phase_of_line(line: str, kind: Kind = "init") -> str | None:
    """The phase a line belongs to, or None for lines that say nothing about progress."""
    line = clean_line(line)
    if kind != "join" and INIT_OK_RE.search(line):
        return "show-join-command"
    t = _tag(line)
    if not t:
        return None
    tag, rest = t
    if kind == "join":
        return _JOIN_TAGS.get(tag)
    if tag == "init":
        # v1.10-v1.12: "[init] Waiting for the kubelet to boot up the control plane ..."
        return "wait-control-plane" if "waiting for the kubelet" in rest.lower() else None
    if tag == "kubelet":
        # "[kubelet] Creating a ConfigMap ..." is part of upload-config; older releases used
        # "[kubelet] Writing kubelet environment file ..." for kubelet-start
        return "upload-config" if "ConfigMap" in rest else "kubelet-start"
    return _INIT_TAGS.get(tag)


def phases_for(kind: Kind) -> tuple[str, ...]:
    return JOIN_PHASES if kind == "join" else INIT_PHASES


@dataclass(frozen=True)
class PhaseChange:
    """A phase seen for the first time."""

    kind: Kind
    phase: str
    title: str
    number: int  # 1-based: how many phases have been reached, this one included
    total: int  # how many phases this kind of run has
    previous: str | None
    line: str

    @property
    def fraction(self) -> float:
        return min(1.0, self.number / self.total) if self.total else 0.0


class KubeadmProgress:
    """Fed kubeadm's output line by line; reports each phase the first time it shows up.

    ``kind`` may be given ("init" or "join") or left to be worked out from the lines.
    """

    def __init__(self, kind: Kind | None = None) -> None:
        self.kind: Kind = kind or "unknown"
        self._kind_fixed = kind in ("init", "join")
        self.phases_reached: list[str] = []
        self.phase: str | None = None
        self.failed_phase: str | None = None
        self.failed_subphase: str | None = None
        self.succeeded = False
        self.failed = False
        self.lines: list[str] = []

    @property
    def status(self) -> Literal["running", "succeeded", "failed"]:
        if self.failed:
            return "failed"
        return "succeeded" if self.succeeded else "running"

    @property
    def total(self) -> int:
        return len(phases_for(self.kind))

    def feed(self, line: str) -> PhaseChange | None:
        line = clean_line(line)
        self.lines.append(line)
        if not self._kind_fixed:
            k = kind_of_line(line)
            if k:
                self.kind = k
                self._kind_fixed = True
        if (INIT_OK_RE.search(line) or JOIN_OK_RE.search(line)) and not self.failed:
            self.succeeded = True
        m = FAILED_PHASE_RE.search(line)
        if m:
            self.failed = True
            self.succeeded = False
            top, _, sub = m.group("phase").partition("/")
            self.failed_phase, self.failed_subphase = top, sub or None
        elif "Some fatal errors occurred" in line and not self.failed:
            # releases before 1.13 printed no "error execution phase" line
            self.failed = True
            self.failed_phase = "preflight"
        phase = phase_of_line(line, self.kind)
        if phase is None or phase in self.phases_reached:
            return None
        previous = self.phase
        self.phases_reached.append(phase)
        self.phase = phase
        return PhaseChange(
            kind=self.kind,
            phase=phase,
            title=PHASE_TITLES.get(phase, phase),
            number=len(self.phases_reached),
            total=self.total,
            previous=previous,
            line=line,
        )

    def feed_text(self, text: str) -> list[PhaseChange]:
        return [c for c in (self.feed(line) for line in text.splitlines()) if c]


@dataclass
class KubeadmReport:
    kind: Kind
    status: Status
    succeeded: bool
    kubernetes_version: str | None = None
    phases_reached: list[str] = field(default_factory=list)
    failed_phase: str | None = None
    failed_subphase: str | None = None
    preflight_errors: list[dict[str, str]] = field(default_factory=list)
    preflight_warnings: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # klog "W..." lines
    error_lines: list[str] = field(default_factory=list)
    join_worker: str | None = None
    join_control_plane: str | None = None
    token: str | None = None
    ca_cert_hash: str | None = None
    certificate_key: str | None = None
    certs_uploaded: bool = False
    token_ttl_hours: float | None = None
    certificate_key_ttl_hours: float | None = None
    needs_kubelet_journal: bool = False
    hints: list[dict[str, str]] = field(default_factory=list)
    # the output of one phase subcommand ("kubeadm init phase upload-certs --upload-certs"), which
    # finishes without init's closing line: the phase it ran, or None for a whole init or join
    phase_command: str | None = None

    @property
    def looks_like_kubeadm(self) -> bool:
        return bool(
            self.kind != "unknown"
            or self.phases_reached
            or self.preflight_errors
            or self.preflight_warnings
            or self.error_lines
            or self.join_worker
            or self.phase_command
        )

    def summary(self) -> str:
        what = f"kubeadm {self.kind}" if self.kind != "unknown" else "kubeadm"
        if self.phase_command and self.status == "succeeded":
            return f"kubeadm {self.kind if self.kind != 'unknown' else 'init'} phase {self.phase_command} finished"
        if self.status == "succeeded":
            return f"{what} succeeded"
        if self.status == "failed":
            where = self.failed_phase or "an unknown phase"
            if self.failed_subphase:
                where += f"/{self.failed_subphase}"
            return f"{what} failed in phase {where}"
        last = self.phases_reached[-1] if self.phases_reached else "before any phase"
        return f"{what} did not finish (last phase seen: {last})"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "succeeded": self.succeeded,
            "summary": self.summary(),
            "kubernetes_version": self.kubernetes_version,
            "phases_reached": list(self.phases_reached),
            "failed_phase": self.failed_phase,
            "failed_subphase": self.failed_subphase,
            "preflight_errors": [dict(e) for e in self.preflight_errors],
            "preflight_warnings": [dict(w) for w in self.preflight_warnings],
            "warnings": list(self.warnings),
            "error_lines": list(self.error_lines),
            "join_worker": self.join_worker,
            "join_control_plane": self.join_control_plane,
            "token": self.token,
            "ca_cert_hash": self.ca_cert_hash,
            "certificate_key": self.certificate_key,
            "certs_uploaded": self.certs_uploaded,
            "token_ttl_hours": self.token_ttl_hours,
            "certificate_key_ttl_hours": self.certificate_key_ttl_hours,
            "needs_kubelet_journal": self.needs_kubelet_journal,
            "hints": [dict(h) for h in self.hints],
            "phase_command": self.phase_command,
        }


def one_line(parts: list[str]) -> str:
    """A backslash-continued command as one line: continuations and tabs joined, spaces collapsed."""
    pieces = []
    for p in parts:
        p = p.rstrip()
        if p.endswith("\\"):
            p = p[:-1]
        pieces.append(p)
    return " ".join(" ".join(pieces).split())


def _join_commands(lines: list[str]) -> list[str]:
    """Every ``kubeadm join`` command kubeadm printed after a successful init."""
    out: list[str] = []
    in_region = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if JOIN_REGION_RE.search(line):
            in_region = True
        stripped = line.strip()
        if in_region and stripped.startswith("kubeadm join "):
            parts = [line]
            while parts[-1].rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                parts.append(lines[i])
            out.append(one_line(parts))
        i += 1
    return out


def _ttl_hours(duration: str) -> float | None:
    """``24h``, ``1h30m``, ``90m``, ``0`` -> hours; 0 means the token never expires (None)."""
    d = duration.strip().strip("\"'")
    if d.isdigit():
        return None if int(d) == 0 else int(d) / 3600
    total = 0.0
    found = False
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", d):
        found = True
        total += float(num) * {"h": 1, "m": 1 / 60, "s": 1 / 3600}[unit]
    if not found:
        return 24.0
    return None if total == 0 else round(total, 4)


def _preflight_items(lines: list[str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in lines:
        m = ITEM_RE.match(line)
        if m:
            item = {"check": m.group("check").strip(), "message": m.group("message").strip()}
            target = errors if m.group("level") == "ERROR" else warnings
            if item not in target:
                target.append(item)
                current = item
            else:
                current = None
            continue
        stripped = line.strip()
        ends_item = (
            not stripped
            or TAG_RE.match(line)
            or KLOG_RE.match(line)
            or stripped.startswith(("error execution phase", "To see the stack trace"))
        )
        if current is not None and not ends_item:
            current["message"] = (current["message"] + "\n" + stripped).strip()
        else:
            current = None
    return errors, warnings


def _error_lines(lines: list[str]) -> list[str]:
    out: list[str] = []

    def add(s: str) -> None:
        s = s.strip()
        if s and s not in out:
            out.append(s)

    detail = False  # inside the indented block after "Unfortunately, an error has occurred:"
    for line in lines:
        stripped = line.strip()
        if detail:
            if not stripped:
                detail = False
            elif not stripped.startswith("- ") and line[:1] in ("\t", " "):
                add(stripped)
                continue
            else:
                detail = False
        if stripped.startswith("Unfortunately, an error has occurred"):
            detail = stripped.endswith(":") and "likely caused by" not in stripped
            continue
        if ITEM_RE.match(line):
            if ITEM_RE.match(line).group("level") == "ERROR":
                add(stripped)
            continue
        if stripped.startswith("error execution phase") or NOT_HEALTHY_RE.search(stripped):
            add(stripped)
            continue
        if re.match(r"^(error|Error|ERROR)\b[: ]", stripped) or "level=fatal" in stripped:
            add(stripped)
            continue
        if re.search(r"could(n't| not) initialize a Kubernetes cluster", stripped):
            add(stripped)
            continue
        t = _tag(line)
        if t and re.match(r"^(Failed|failed|Error|error)\b", t[1]):
            add(stripped)
    return out


# what a phase subcommand prints last when it has done its work: the phase is finished, not cut off
_PHASE_DONE: dict[str, re.Pattern[str]] = {
    "upload-certs": re.compile(r"^\s*[0-9a-f]{64}\s*$|\[upload-certs\] Using certificate key:\s*[0-9a-f]{64}"),
    "addons": re.compile(r"\[addons\] Applied essential addon: kube-proxy"),
    "bootstrap-token": re.compile(r"\[bootstrap-token\] Creating the \"cluster-info\" ConfigMap"),
    "mark-control-plane": re.compile(r"\[mark-control-plane\] Marking the node .* taints"),
    "upload-config": re.compile(r"\[kubelet\] Creating a ConfigMap \"kubelet-config\""),
}


def _phase_command(lines: list[str], phases: list[str]) -> str | None:
    """The phase a ``kubeadm init phase NAME`` run finished, or None when this is not one.

    A whole ``kubeadm init`` starts with "[init] Using Kubernetes version" and then runs preflight;
    a phase subcommand prints neither, only its own phase's lines, and no closing line. It counts
    as finished when it reached one phase and printed what that phase prints last (the
    certificate key for upload-certs). Output that is nothing but a certificate key is what
    ``kubeadm init phase upload-certs --upload-certs`` leaves on standard output.
    """
    body = [line for line in lines if line.strip() and not KLOG_RE.match(line)]
    if not body:
        return None
    if any((t := _tag(line)) and t[0] in ("init", "join", "preflight") for line in body):
        return None
    if not phases and all(HEX64_RE.match(line) for line in body) and len(body) == 1:
        return "upload-certs"
    if len(phases) != 1 or phases[0] not in _PHASE_DONE:
        return None
    done = _PHASE_DONE[phases[0]]
    return phases[0] if any(done.search(line) for line in body) else None


def parse_kubeadm_output(text: str, kind: Kind | None = None) -> KubeadmReport:
    """Read a whole saved ``kubeadm init`` or ``kubeadm join`` run."""
    lines = [clean_line(line) for line in text.replace("\r\n", "\n").split("\n")]
    kind = kind or detect_kind(lines)
    progress = KubeadmProgress(kind=None if kind == "unknown" else kind)
    for line in lines:
        progress.feed(line)
    kind = progress.kind if kind == "unknown" else kind

    errors, pwarnings = _preflight_items(lines)
    error_lines = _error_lines(lines)
    klog_warnings = []
    for line in lines:
        m = KLOG_RE.match(line)
        if m and m.group("sev") == "W" and m.group("msg").strip() not in klog_warnings:
            klog_warnings.append(m.group("msg").strip())

    text_all = "\n".join(lines)
    failed = bool(
        progress.failed
        or errors
        or re.search(r"Some fatal errors occurred|Unfortunately, an error has occurred|could(n't| not) initialize a Kubernetes cluster", text_all)
        or any(NOT_HEALTHY_RE.search(e) and "is not healthy after" in e for e in error_lines)
    )
    ok = bool(INIT_OK_RE.search(text_all) or JOIN_OK_RE.search(text_all))
    phase_command = None if failed or ok else _phase_command(lines, progress.phases_reached)
    if phase_command:
        kind = "init" if kind == "unknown" else kind
    status: Status = "failed" if failed else ("succeeded" if ok or phase_command else "incomplete")

    failed_phase, failed_subphase = progress.failed_phase, progress.failed_subphase
    if failed and failed_phase is None:
        if errors or "Some fatal errors occurred" in text_all:
            failed_phase = "preflight"
        elif re.search(r"Unfortunately, an error has occurred|initialize a Kubernetes cluster|is not healthy after", text_all):
            failed_phase = "wait-control-plane"
        elif progress.phases_reached:
            failed_phase = progress.phases_reached[-1]

    commands = _join_commands(lines) if kind != "join" else []
    join_cp = next((c for c in commands if "--control-plane" in c.split()), None)
    join_worker = next((c for c in commands if "--control-plane" not in c.split()), None)

    token = None
    for source in (join_worker, join_cp):
        if source and (m := TOKEN_FLAG_RE.search(source)):
            token = m.group("t")
            break
    if token is None and (m := TOKEN_LINE_RE.search(text_all)):
        token = m.group("t")
    ca_hash = None
    for source in (join_worker, join_cp):
        if source and (m := HASH_FLAG_RE.search(source)):
            ca_hash = m.group("h")
            break

    cert_key = None
    if join_cp and (m := CERT_KEY_FLAG_RE.search(join_cp)):
        cert_key = m.group("k")
    if cert_key is None:
        for i, line in enumerate(lines):
            m = CERT_KEY_LINE_RE.search(line)
            if not m:
                continue
            if m.group("k"):
                cert_key = m.group("k")
            else:
                nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
                if mk := HEX64_RE.match(nxt):
                    cert_key = mk.group("k")
            break
    if cert_key is None and phase_command == "upload-certs":
        cert_key = next((m.group("k") for line in lines if (m := HEX64_RE.match(line))), None)
    certs_uploaded = kind != "join" and bool(
        re.search(r"\[upload-certs\] Storing the certificates|uploaded-certs will be deleted", text_all) or cert_key
    )

    version = None
    for line in lines:
        if m := VERSION_RE.match(line.strip()):
            version = m.group("v") if m.group("v").startswith("v") else "v" + m.group("v")
            break

    token_ttl = None
    if token and kind != "join":
        m = TOKEN_TTL_RE.search(text_all)
        token_ttl = _ttl_hours(m.group("d")) if m else 24.0
    cert_ttl = 2.0 if certs_uploaded and status == "succeeded" else None

    report = KubeadmReport(
        kind=kind,
        status=status,
        succeeded=status == "succeeded",
        kubernetes_version=version,
        phases_reached=list(progress.phases_reached),
        failed_phase=failed_phase if status == "failed" else None,
        failed_subphase=failed_subphase if status == "failed" else None,
        preflight_errors=errors,
        preflight_warnings=pwarnings,
        warnings=klog_warnings,
        error_lines=error_lines,
        join_worker=join_worker,
        join_control_plane=join_cp,
        token=token,
        ca_cert_hash=ca_hash,
        certificate_key=cert_key,
        certs_uploaded=certs_uploaded,
        token_ttl_hours=token_ttl,
        certificate_key_ttl_hours=cert_ttl,
        phase_command=phase_command,
    )
    report.needs_kubelet_journal = status == "failed" and (
        failed_phase in ("wait-control-plane", "kubelet-start")
        or any(NOT_HEALTHY_RE.search(e) for e in error_lines)
    )
    report.hints = [h.to_json() for h in hints_for(report)]
    return report


def hint_for_line(line: str) -> Hint | None:
    """The hint for one line of kubeadm output, if it is a known error."""
    m = ITEM_RE.match(line)
    if m:
        return hint_for_item(m.group("check").strip(), m.group("message").strip(),
                             warning=m.group("level") == "WARNING", error=line.strip())
    return hint_for_text(line)
