"""The kubeadm steps: config upload, init, joins, the network add-on, verify, and reset.

Run-wide state (the join token, CA hash and certificate key kubeadm init printed, and when) lives
in a ``ClusterState`` the steps of one ``RunPlan`` share; it is never written to disk (the token
and key are secrets). A run that resumes after init, or a join later than the token's or key's
lifetime, makes fresh ones on the first control plane (``kubeadm token create
--print-join-command``, ``kubeadm init phase upload-certs --upload-certs``).

Every kubectl call uses the admin kubeconfig on the first control plane
(``kubectl --kubeconfig /etc/kubernetes/admin.conf ...``); nothing is installed in root's ~/.kube.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...engine.events import OutputLine
from ...engine.executor import CommandResult, ExecError
from ...engine.state import state_dir
from ...engine.steps import Step, StepContext, StepFailed, StepResult, command_failure, quote_argv
from ...hostprep.facts import ADMIN_CONF, INIT_CONFIG, JOIN_CONFIG, K8S_TUI_DIR, KUBELET_CONF, FactsStore, run_script
from ...hostprep.packages import curl_proxy_args
from ...model.hosts import Host
from .config import init_args, join_args, render_join_config, render_kubeadm_config, wants_upload_certs
from .output import KubeadmProgress, KubeadmReport, parse_kubeadm_output

if TYPE_CHECKING:
    from ...model.plan import ClusterPlan

KUBECTL = ["kubectl", "--kubeconfig", ADMIN_CONF]
INIT_TIMEOUT = 1200.0  # kubeadm waits up to 4 min for the kubelet and 4 more for the API, plus image pulls
JOIN_TIMEOUT = 900.0
TOKEN_MARGIN_H = 1.0  # make a fresh token when less than this is left of its 24 h
CERT_KEY_MARGIN_H = 0.25  # ... and a fresh certificate key with less than 15 min left of its 2 h
JOIN_RE = re.compile(r"kubeadm join (?P<ep>\S+) .*--token[ =](?P<t>[a-z0-9]{6}\.[a-z0-9]{16}).*--discovery-token-ca-cert-hash[ =](?P<h>sha256:[0-9a-f]{64})")
HEX64_RE = re.compile(r"^\s*([0-9a-f]{64})\s*$")

# pinned network add-ons: (version, manifest URL, the DaemonSet that shows it is there)
CALICO_VERSION = "v3.29.3"
FLANNEL_VERSION = "v0.26.2"
CILIUM_VERSION = "1.16.6"
CNI_MANIFESTS: dict[str, tuple[str, str, tuple[str, str]]] = {
    "calico": (CALICO_VERSION, f"https://raw.githubusercontent.com/projectcalico/calico/{CALICO_VERSION}/manifests/calico.yaml",
               ("kube-system", "calico-node")),
    "flannel": (FLANNEL_VERSION, f"https://github.com/flannel-io/flannel/releases/download/{FLANNEL_VERSION}/kube-flannel.yml",
                ("kube-flannel", "kube-flannel-ds")),
}
CNI_DIR = f"{K8S_TUI_DIR}/cni"


# ------------------------------------------------------------------------------ shared state


@dataclass
class JoinMaterial:
    endpoint: str  # host:port of the API server
    token: str
    ca_cert_hash: str
    token_made: float  # time.monotonic() when it was made
    token_ttl_h: float = 24.0
    certificate_key: str | None = None
    key_made: float | None = None
    key_ttl_h: float = 2.0

    def token_ok(self, now: float) -> bool:
        return (now - self.token_made) / 3600 < self.token_ttl_h - TOKEN_MARGIN_H

    def key_ok(self, now: float) -> bool:
        return (self.certificate_key is not None and self.key_made is not None
                and (now - self.key_made) / 3600 < self.key_ttl_h - CERT_KEY_MARGIN_H)

    def __repr__(self) -> str:  # never show the secrets
        return f"JoinMaterial(endpoint={self.endpoint!r}, token=..., certificate_key={'...' if self.certificate_key else None})"


@dataclass
class ClusterState:
    """What the steps of one kubeadm run share (in memory only)."""

    facts: FactsStore = field(default_factory=FactsStore)
    join: JoinMaterial | None = None
    init_failed: str | None = None  # why this run's kubeadm init failed
    init_report: KubeadmReport | None = None  # of this run's init
    _lock: asyncio.Lock | None = None
    clock: Any = time.monotonic

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock


# ------------------------------------------------------------------------------ helpers


def first_control_plane(ctx: StepContext) -> Host:
    fcp = ctx.plan.first_control_plane() if ctx.plan is not None else None
    if fcp is None:
        raise StepFailed("the plan has no control plane", "give one host the control-plane role")
    return fcp


def is_first_cp(host: Host, plan: ClusterPlan | None) -> bool:
    fcp = plan.first_control_plane() if plan is not None else None
    return fcp is not None and fcp.name == host.name


def is_other_cp(host: Host, plan: ClusterPlan | None) -> bool:
    return host.is_control_plane and not is_first_cp(host, plan)


def is_pure_worker(host: Host, plan: ClusterPlan | None) -> bool:
    return not host.is_control_plane


async def run_on(ctx: StepContext, host: Host, argv: list[str], *, timeout: float | None = None,
                 check: bool = True, hint: str = "", quiet: bool = False) -> CommandResult:
    """Run argv on another host (the first control plane) for this step; its lines show in this
    host's log, marked with the other host's name. ``quiet`` keeps the output out of the log
    (it holds a secret)."""
    if host.name == ctx.host.name and not quiet:
        return await ctx.run(argv, timeout=timeout, check=check, hint=hint)
    ctx.bus.publish(OutputLine(ctx.host.name, ctx.step_id, "cmd", f"$ [{host.name}] {quote_argv(argv)}"))

    def sink(stream: str, line: str) -> None:
        if not quiet:
            ctx.bus.publish(OutputLine(ctx.host.name, ctx.step_id, stream, f"[{host.name}] {line}"))

    try:
        res = await ctx.executor.run(host, argv, sudo=True, timeout=timeout, on_line=sink, check=False)
    except ExecError as e:  # the other host's trouble, not this one's: a step failure here
        raise StepFailed(f"cannot run on {host.name}: {e.message}", hint or f"{host.name} must be reachable; look at it") from None
    if check and not res.ok:
        msg = command_failure(res) if not quiet else f"`{quote_argv(argv)}` exited with status {res.exit_status}"
        raise StepFailed(f"on {host.name}: {msg}", hint)
    return res


async def file_exists(ctx: StepContext, path: str, host: Host | None = None) -> bool:
    argv = ["test", "-e", path]
    res = await (run_on(ctx, host, argv, check=False) if host is not None else ctx.run(argv, check=False))
    return res.ok


async def api_ready(ctx: StepContext, host: Host | None = None) -> bool:
    argv = [*KUBECTL, "get", "--raw", "/readyz"]
    res = await (run_on(ctx, host, argv, check=False) if host is not None else ctx.run(argv, check=False))
    return res.ok


class KubeadmWatch:
    """Follows a streaming kubeadm run through the event bus: every line of this host and step
    goes into KubeadmProgress; each new phase is logged as it starts."""

    def __init__(self, ctx: StepContext, kind: str):
        self.ctx = ctx
        self.progress = KubeadmProgress(kind)
        self.lines: list[str] = []
        self.changes: list[Any] = []
        self._unsub = None

    def __call__(self, ev: Any) -> None:
        if not isinstance(ev, OutputLine) or ev.host != self.ctx.host.name or ev.step_id != self.ctx.step_id:
            return
        if ev.stream not in ("stdout", "stderr"):
            return
        self.lines.append(ev.text)
        change = self.progress.feed(ev.text)
        if change is not None:
            self.changes.append(change)
            self.ctx.log(f"phase {change.number}/{change.total}: {change.phase} ({change.title})")

    def __enter__(self) -> KubeadmWatch:
        self._unsub = self.ctx.bus.subscribe(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._unsub is not None:
            self._unsub()

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


async def kubeadm_failure(ctx: StepContext, what: str, report: KubeadmReport, res: CommandResult) -> StepFailed:
    """StepFailed for a failed init/join: the phase, the error lines, the hints; for a kubelet or
    control-plane timeout the kubelet's journal is fetched from the host and shown first."""
    phase = getattr(report, "failed_phase", None)
    sub = getattr(report, "failed_subphase", None)
    where = f" in phase {phase}{'/' + sub if sub else ''}" if phase else ""
    errors = list(getattr(report, "error_lines", []) or [])
    for e in getattr(report, "preflight_errors", []) or []:
        line = f"[ERROR {e.get('check', '?')}]: {e.get('message', '')}".strip()
        if line not in errors:
            errors.append(line)
    if not errors:
        errors = [ln for ln in (res.stderr or res.stdout).splitlines() if ln.strip()][-3:]
    hints = [h.get("hint", "") for h in getattr(report, "hints", []) or [] if h.get("hint")]
    if getattr(report, "needs_kubelet_journal", False):
        ctx.log("the kubelet or a control-plane component did not come up; its journal from this host:")
        await ctx.run(["journalctl", "-xeu", "kubelet", "--no-pager", "-n", "50"], check=False)
        hints.append("the kubelet's journal is shown above the failure in this host's log")
    message = f"{what} failed{where} (exit status {res.exit_status})" + (": " + " | ".join(errors[:5]) if errors else "")
    return StepFailed(message, " / ".join(dict.fromkeys(hints)) or "read kubeadm's output above; `k8s-tui reset` undoes a failed init or join")


def parse_join_command(text: str) -> tuple[str, str, str] | None:
    """(endpoint, token, ca hash) from `kubeadm token create --print-join-command` output."""
    flat = " ".join(text.replace("\\\n", " ").split())
    m = JOIN_RE.search(flat)
    return (m.group("ep"), m.group("t"), m.group("h")) if m else None


def parse_certificate_key(text: str) -> str | None:
    """The key `kubeadm init phase upload-certs --upload-certs` prints on its last line."""
    for ln in reversed(text.splitlines()):
        m = HEX64_RE.match(ln)
        if m:
            return m.group(1)
    return None


# ------------------------------------------------------------------------------ 8: config


class KubeadmConfigStep(Step):
    id = "kubeadm-config"
    title = "kubeadm configuration"
    why = "Upload the kubeadm init configuration (kubeadm, kubelet and kube-proxy settings from the plan) to the first control plane, readable by root only."
    targets = staticmethod(is_first_cp)

    def render(self, ctx: StepContext) -> str:
        return render_kubeadm_config(ctx.plan, ctx.host, upload_certs=wants_upload_certs(ctx.plan))

    async def check(self, ctx: StepContext) -> StepResult | bool:
        content = self.render(ctx)
        current = await ctx.read_file(INIT_CONFIG)
        ctx.scratch["content"] = content
        if current == content.encode():
            return StepResult.unchanged(f"{INIT_CONFIG} up to date")
        if current is not None and await file_exists(ctx, ADMIN_CONF):
            ctx.log("the cluster already exists: a changed init configuration is saved but not applied to it "
                    "(kubeadm applies it only at init; changing a running cluster is kubeadm upgrade's job)")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        await ctx.run(["mkdir", "-p", "-m", "0700", K8S_TUI_DIR])
        await ctx.write_file(INIT_CONFIG, ctx.scratch["content"], mode=0o600)
        return StepResult.changed(f"wrote {INIT_CONFIG}")

    async def verify(self, ctx: StepContext) -> None:
        if await ctx.read_file(INIT_CONFIG) != ctx.scratch["content"].encode():
            raise StepFailed(f"{INIT_CONFIG} does not hold what was written", "something else rewrites it")


# ------------------------------------------------------------------------------ 9: init


class KubeadmInitStep(Step):
    id = "kubeadm-init"
    title = "kubeadm init"
    why = "Make the first control plane: certificates, etcd, API server, controller manager, scheduler; prints the join commands for the others."
    targets = staticmethod(is_first_cp)

    def __init__(self, state: ClusterState, *, api_wait: float = 60.0, interval: float = 5.0):
        self.state = state
        self.api_wait = api_wait  # how long an existing control plane's API may take to answer
        self.interval = interval

    async def _wait_api(self, ctx: StepContext) -> bool:
        deadline = time.monotonic() + self.api_wait
        while time.monotonic() < deadline:
            await asyncio.sleep(self.interval)
            if await api_ready(ctx):
                return True
        return False

    async def check(self, ctx: StepContext) -> StepResult | bool:
        if await file_exists(ctx, ADMIN_CONF):
            if await api_ready(ctx):
                return StepResult.unchanged("the control plane is already initialised and its API answers")
            ctx.scratch["stale"] = True
            ctx.log(f"{ADMIN_CONF} exists but the API server does not answer (yet)")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        if ctx.scratch.get("stale"):
            if await self._wait_api(ctx):  # after a reboot the static pods take a minute
                return StepResult.unchanged("the control plane was already initialised; its API answers again")
            raise StepFailed(
                f"{ADMIN_CONF} exists but the API server does not answer: an earlier init did not finish, or the control plane is down",
                "look at `journalctl -u kubelet` and `crictl ps -a` on the host; to start over, run `k8s-tui reset` (kubeadm reset)",
            )
        argv = init_args(INIT_CONFIG, upload_certs=wants_upload_certs(ctx.plan))
        with KubeadmWatch(ctx, "init") as watch:
            res = await ctx.run(argv, timeout=INIT_TIMEOUT, check=False)
        report = parse_kubeadm_output(watch.text() if watch.lines else res.stdout + res.stderr, kind="init")
        self.state.init_report = report
        if not res.ok or report.status == "failed":
            failure = await kubeadm_failure(ctx, "kubeadm init", report, res)
            self.state.init_failed = failure.message
            raise failure
        self.state.init_failed = None
        now = self.state.clock()
        if report.token and report.ca_cert_hash and report.join_worker:
            endpoint = report.join_worker.split()[2]
            self.state.join = JoinMaterial(
                endpoint=endpoint, token=report.token, ca_cert_hash=report.ca_cert_hash, token_made=now,
                token_ttl_h=report.token_ttl_hours or 24.0,
                certificate_key=report.certificate_key, key_made=now if report.certificate_key else None,
                key_ttl_h=report.certificate_key_ttl_hours or 2.0,
            )
            ttl = f"join token valid {report.token_ttl_hours or 24:g} h"
            if report.certificate_key:
                ttl += f", certificate key {report.certificate_key_ttl_hours or 2:g} h"
            ctx.log(f"kubeadm init succeeded; {ttl}")
        else:
            ctx.log("kubeadm init succeeded but printed no join command; the joins will make a fresh token")
        return StepResult.changed(f"control plane initialised ({len(report.phases_reached)} phases)")

    async def verify(self, ctx: StepContext) -> None:
        if await api_ready(ctx) or await self._wait_api(ctx):
            return
        raise StepFailed("the API server does not answer after kubeadm init", "look at `crictl ps -a` and the kube-apiserver log on the host")


# ------------------------------------------------------------------------------ 10: join


async def join_material(ctx: StepContext, state: ClusterState, *, control_plane: bool) -> JoinMaterial:
    """The material a join needs, made fresh on the first control plane when missing or expiring."""
    fcp = first_control_plane(ctx)
    async with state.lock:
        now = state.clock()
        m = state.join
        if m is None or not m.token_ok(now):
            ctx.log(("no join token from this run's init" if m is None else "the join token is about to expire")
                    + f": making a fresh one on {fcp.name}")
            res = await run_on(ctx, fcp, ["kubeadm", "token", "create", "--print-join-command"], quiet=True,
                               hint=f"the API server on {fcp.name} must answer; look at it")
            parsed = parse_join_command(res.stdout)
            if parsed is None:
                raise StepFailed(f"`kubeadm token create --print-join-command` on {fcp.name} printed no join command",
                                 "run it by hand on the first control plane and look at its output")
            endpoint, token, ca_hash = parsed
            old_key = (m.certificate_key, m.key_made, m.key_ttl_h) if m is not None else (None, None, 2.0)
            m = state.join = JoinMaterial(endpoint=endpoint, token=token, ca_cert_hash=ca_hash, token_made=now,
                                          certificate_key=old_key[0], key_made=old_key[1], key_ttl_h=old_key[2])
            ctx.log("made a new bootstrap token (valid 24 h)")
        if control_plane and not m.key_ok(now):
            ctx.log(f"no valid certificate key (it lives 2 h): uploading the control-plane certificates again on {fcp.name}")
            res = await run_on(ctx, fcp, ["kubeadm", "init", "phase", "upload-certs", "--upload-certs"], quiet=True,
                               hint=f"the API server on {fcp.name} must answer; look at it")
            key = parse_certificate_key(res.stdout)
            if key is None:
                raise StepFailed("`kubeadm init phase upload-certs --upload-certs` printed no certificate key",
                                 "run it by hand on the first control plane and look at its output")
            m.certificate_key, m.key_made, m.key_ttl_h = key, now, 2.0
            ctx.log("made a new certificate key (valid 2 h)")
        return m


class KubeadmJoinStep(Step):
    title = "kubeadm join"

    def __init__(self, state: ClusterState, *, control_plane: bool, node_wait: float = 60.0, interval: float = 5.0):
        self.state = state
        self.control_plane = control_plane
        self.node_wait = node_wait
        self.interval = interval
        if control_plane:
            self.id = "kubeadm-join-control-planes"
            self.title = "kubeadm join (control planes)"
            self.why = "Add the other control planes, one at a time (etcd grows one member at a time), with the certificates the first one uploaded."
            self.targets = is_other_cp
            self.serial = True
        else:
            self.id = "kubeadm-join-workers"
            self.title = "kubeadm join (workers)"
            self.why = "Add the workers to the cluster, all at once, with the join token from the first control plane."
            self.targets = is_pure_worker

    async def check(self, ctx: StepContext) -> StepResult | bool:
        if await file_exists(ctx, KUBELET_CONF):
            return StepResult.unchanged(f"already a node of the cluster ({KUBELET_CONF} exists)")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        if self.state.init_failed:
            raise StepFailed(f"nothing to join: kubeadm init failed on the first control plane ({self.state.init_failed})",
                             "fix the init (see the first control plane's log), then retry it and this host")
        m = await join_material(ctx, self.state, control_plane=self.control_plane)
        content = render_join_config(ctx.plan, ctx.host, api_endpoint=m.endpoint, token=m.token, ca_cert_hash=m.ca_cert_hash,
                                     certificate_key=m.certificate_key if self.control_plane else None)
        await ctx.run(["mkdir", "-p", "-m", "0700", K8S_TUI_DIR])
        await ctx.write_file(JOIN_CONFIG, content, mode=0o600)
        with KubeadmWatch(ctx, "join") as watch:
            res = await ctx.run(join_args(JOIN_CONFIG), timeout=JOIN_TIMEOUT, check=False)
        text = watch.text() if watch.lines else res.stdout + res.stderr
        report = parse_kubeadm_output(text, kind="join")
        if not res.ok or report.status == "failed":
            # a token or certificate key the cluster no longer knows: forget it, so a retry makes new ones
            if self.state.join is not None and re.search(r"kubeadm-certs|certificate key|decrypt", text, re.I):
                self.state.join.key_made = None
            if re.search(r"JWS signature|token id|bootstrap token|Unauthorized", text, re.I):
                self.state.join = None
            raise await kubeadm_failure(ctx, "kubeadm join", report, res)
        return StepResult.changed(f"joined the cluster as a {'control plane' if self.control_plane else 'worker'}")

    async def verify(self, ctx: StepContext) -> None:
        if not await file_exists(ctx, KUBELET_CONF):
            raise StepFailed(f"{KUBELET_CONF} is missing after the join", "read kubeadm's output above")
        fcp = first_control_plane(ctx)
        deadline = time.monotonic() + self.node_wait
        while True:
            res = await run_on(ctx, fcp, [*KUBECTL, "get", "node", ctx.host.name, "-o", "name"], check=False)
            if res.ok:
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(self.interval)
        raise StepFailed(f"the API server on {fcp.name} does not list node {ctx.host.name}", "look at the kubelet's journal on this host")


# ------------------------------------------------------------------------------ 11: CNI


@dataclass(frozen=True)
class CniSpec:
    name: str
    source: str  # URL, local path, or "cilium-cli"
    version: str
    daemonset: tuple[str, str] | None  # (namespace, name)


def cni_spec(plan: ClusterPlan) -> CniSpec | None:
    name = plan.cni.value
    if name == "none":
        return None
    if name == "manifest":
        return CniSpec("manifest", plan.cni_manifest or "", "", None)
    if name == "cilium":
        return CniSpec("cilium", "cilium-cli", CILIUM_VERSION, ("kube-system", "cilium"))
    version, url, ds = CNI_MANIFESTS[name]
    return CniSpec(name, url, version, ds)


def _sed_literal(text: str) -> str:
    return re.sub(r"([.\[\]*^$\\/|])", r"\\\1", text)


def cni_patches(spec: CniSpec, pod_cidr: str) -> list[tuple[list[str], str]]:
    """(sed -e expressions, a line the patched manifest must then contain) for the pod CIDR."""
    if spec.name == "calico":
        return [
            (["-e", r"s|^\( *\)# - name: CALICO_IPV4POOL_CIDR$|\1- name: CALICO_IPV4POOL_CIDR|",
              "-e", r'''s|^\( *\)#   value: "192\.168\.0\.0/16"$|\1  value: "''' + pod_cidr + '"|'],
             f'value: "{pod_cidr}"'),
        ]
    if spec.name == "flannel":
        return [(["-e", r's|"Network": "10\.244\.0\.0/16"|"Network": "' + pod_cidr + '"|'], f'"Network": "{pod_cidr}"')]
    return []


class CniStep(Step):
    id = "cni"
    title = "Pod network (CNI)"
    why = "Install the network add-on that gives pods their addresses from the plan's pod CIDR; nodes stay NotReady without one."
    targets = staticmethod(is_first_cp)

    def marker(self, plan: ClusterPlan, spec: CniSpec) -> str:
        extra = ""
        if spec.name == "manifest" and not spec.source.startswith(("http://", "https://")):
            p = Path(spec.source).expanduser()
            extra = f"sha256={hashlib.sha256(p.read_bytes()).hexdigest()}\n" if p.is_file() else ""
        return f"# network add-on applied by k8s-tui\ncni={spec.name}\nversion={spec.version}\nsource={spec.source}\npod_cidr={plan.pod_cidr}\n{extra}"

    def marker_path(self, spec: CniSpec) -> str:
        return f"{CNI_DIR}/{spec.name}.applied"

    async def _present(self, ctx: StepContext, spec: CniSpec) -> bool:
        if spec.daemonset is None:
            return True
        ns, name = spec.daemonset
        res = await ctx.run([*KUBECTL, "-n", ns, "get", "daemonset", name, "-o", "name"], check=False)
        return res.ok

    async def check(self, ctx: StepContext) -> StepResult | bool:
        spec = cni_spec(ctx.plan)
        if spec is None:
            return StepResult.unchanged("no network add-on in the plan")
        ctx.scratch["spec"] = spec
        want = self.marker(ctx.plan, spec)
        ctx.scratch["marker"] = want
        have = await ctx.read_file(self.marker_path(spec))
        if have == want.encode() and await self._present(ctx, spec):
            return StepResult.unchanged(f"{spec.name} {spec.version} already applied".rstrip())
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        spec: CniSpec = ctx.scratch["spec"]
        plan = ctx.plan
        await ctx.run(["mkdir", "-p", "-m", "0700", CNI_DIR])
        if spec.name == "cilium":
            if not (await ctx.run(["sh", "-c", "command -v cilium", "k8s-tui-cilium"], check=False)).ok:
                raise StepFailed("Cilium is installed with its own CLI, and `cilium` is not on the first control plane",
                                 "install the cilium CLI there (github.com/cilium/cilium-cli releases), or choose cni: manifest "
                                 "with a rendered manifest (helm template cilium cilium/cilium ...), then retry")
            await ctx.run(["env", f"KUBECONFIG={ADMIN_CONF}", "cilium", "install", "--version", spec.version,
                           "--set", "ipam.mode=kubernetes"], timeout=900)
        elif spec.name == "manifest":
            src = spec.source
            if src.startswith(("http://", "https://")):
                await ctx.run([*KUBECTL, "apply", "-f", src], timeout=300)
            else:
                p = Path(src).expanduser()
                if not p.is_file():
                    raise StepFailed(f"the CNI manifest {p} does not exist here", "fix cni_manifest in the plan (a file on this machine, or a URL)")
                dest = f"{CNI_DIR}/manifest.yaml"
                await ctx.write_file(dest, p.read_bytes(), mode=0o600)
                await ctx.run([*KUBECTL, "apply", "-f", dest], timeout=300)
        else:
            dest = f"{CNI_DIR}/{spec.name}.yaml"
            # through the plan's proxy, like every other download of the run
            await ctx.run(["curl", "-fsSL", "--retry", "3", *curl_proxy_args(plan, spec.source), "-o", dest, spec.source],
                          timeout=300, hint="the first control plane must reach the manifest URL (set proxy in the plan); "
                                            "or download it yourself and use cni: manifest")
            for exprs, must in cni_patches(spec, plan.pod_cidr):
                await ctx.run(["sed", "-i", *exprs, dest])
                await ctx.run(["grep", "-F", "-q", "-e", must, dest],
                              hint=f"the {spec.name} manifest no longer has the line k8s-tui patches for the pod CIDR; "
                                   "download it, set the pod CIDR by hand and use cni: manifest")
            await ctx.run([*KUBECTL, "apply", "-f", dest], timeout=300)
        await ctx.write_file(self.marker_path(spec), ctx.scratch["marker"], mode=0o600)
        return StepResult.changed(f"applied {spec.name} {spec.version}".rstrip() + f" with pod CIDR {plan.pod_cidr}")

    async def verify(self, ctx: StepContext) -> None:
        spec: CniSpec = ctx.scratch["spec"]
        if not await self._present(ctx, spec):
            ns, name = spec.daemonset
            raise StepFailed(f"DaemonSet {ns}/{name} is not there after the apply", "read kubectl's output above")


# ------------------------------------------------------------------------------ 12: verify


def local_kubeconfig_path(plan: ClusterPlan, state_base: Path | None = None) -> Path:
    return (state_base or state_dir()) / "clusters" / plan.name / "admin.conf"


def write_private(path: Path, data: bytes) -> bool:
    """Write a local file readable by its owner only (atomically); False when it already held data."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.read_bytes() == data and (path.stat().st_mode & 0o777) == 0o600:
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return True


class VerifyStep(Step):
    id = "verify"
    title = "Verify the cluster"
    why = "Wait until every node still in the run reports Ready, then copy the admin kubeconfig to this machine (readable by you only)."
    targets = staticmethod(is_first_cp)

    def __init__(self, *, timeout: float = 600.0, interval: float = 5.0, state_base: Path | None = None):
        self.timeout = timeout
        self.interval = interval
        self.state_base = state_base
        # where this run put the kubeconfig (or found it in place): the summary reads this, the
        # same fact the log line states, whether or not the step then passed
        self.kubeconfig: Path | None = None
        self.left_out: list[str] = []  # skipped hosts this step did not wait for, last attempt

    @staticmethod
    def expected(ctx: StepContext) -> tuple[list[str], list[str]]:
        """(the nodes the cluster should have, the hosts left out because the user skipped them)."""
        skipped = ctx.skipped_hosts()
        names = [h.name for h in ctx.plan.hosts]
        return [n for n in names if n not in skipped], [n for n in names if n in skipped]

    def _wait_argv(self, names: list[str], seconds: float) -> list[str]:
        return [*KUBECTL, "wait", "--for=condition=Ready", f"--timeout={max(0, int(seconds))}s",
                *(f"node/{n}" for n in names)]

    def _left_out_text(self) -> str:
        return f" ({', '.join(self.left_out)} skipped by you: not in the cluster)" if self.left_out else ""

    async def check(self, ctx: StepContext) -> StepResult | bool:
        want, self.left_out = self.expected(ctx)
        # --timeout=0s: look once, do not wait
        ready = (await ctx.run(self._wait_argv(want, 0), check=False)).ok
        local = local_kubeconfig_path(ctx.plan, self.state_base)
        remote = await ctx.read_file(ADMIN_CONF)
        same = remote is not None and local.exists() and local.read_bytes() == remote and (local.stat().st_mode & 0o777) == 0o600
        if same:
            self.kubeconfig = local
        if ready and same:
            return StepResult.unchanged(f"all {len(want)} nodes Ready{self._left_out_text()}; kubeconfig at {local}")
        return False

    async def _registered(self, ctx: StepContext, deadline: float) -> set[str]:
        """The node names the API lists (waits while the API does not answer)."""
        while True:
            res = await ctx.run([*KUBECTL, "get", "nodes", "-o", "name"], check=False)
            if res.ok:
                return {ln.strip().removeprefix("node/") for ln in res.stdout.splitlines() if ln.strip().startswith("node/")}
            if time.monotonic() >= deadline:
                raise StepFailed(f"the API server does not answer: {command_failure(res)}",
                                 "look at the first control plane: `crictl ps -a`, the kube-apiserver log")
            await asyncio.sleep(self.interval)

    async def apply(self, ctx: StepContext) -> StepResult:
        want, self.left_out = self.expected(ctx)
        if self.left_out:
            ctx.log(f"skipped by you, so not expected in the cluster: {', '.join(self.left_out)}")
        # no admin.conf: kubeadm init never ran here (or a reset removed it); no API server will
        # come up to answer, so say so now rather than after the whole wait
        if await ctx.read_file(ADMIN_CONF) is None:
            raise StepFailed(f"{ADMIN_CONF} is missing on {ctx.host.name}: kubeadm init has not run here, or "
                             "`kubeadm reset` removed it",
                             "run the kubeadm-init step on this host again (retry it, or resume the run from there)")
        deadline = time.monotonic() + self.timeout
        registered = await self._registered(ctx, deadline)
        missing = [n for n in want if n not in registered]
        if missing:
            ctx.log(f"not in the cluster: {', '.join(missing)} (their join failed or did not run); waiting for the others")
        ctx.log(f"waiting up to {self.timeout:g} s for {len(want) - len(missing)} node(s) to be Ready")
        while True:
            # a host skipped while this step waits drops out of the wait at its next round
            skipped = ctx.skipped_hosts()
            present = [n for n in want if n in registered and n not in skipped]
            if not present:
                break
            left = deadline - time.monotonic()
            res = await ctx.run(self._wait_argv(present, left), check=False, timeout=left + 60)
            if res.ok:
                break
            if time.monotonic() >= deadline or "not found" not in res.stdout + res.stderr:
                await ctx.run([*KUBECTL, "get", "nodes", "-o", "wide"], check=False)
                raise StepFailed(
                    f"not every node is Ready after {self.timeout:g} s: {command_failure(res)}",
                    "a node stays NotReady until the network add-on runs on it: look at "
                    "`kubectl -n kube-system get pods -o wide` and the kubelet's journal on the nodes that are not Ready",
                )
            await asyncio.sleep(self.interval)
        data = await ctx.read_file(ADMIN_CONF)
        if data is None:
            raise StepFailed(f"{ADMIN_CONF} is missing on {ctx.host.name}", "kubeadm init writes it; look at the init step")
        local = local_kubeconfig_path(ctx.plan, self.state_base)
        changed = write_private(local, data)
        self.kubeconfig = local
        ctx.log(f"admin kubeconfig {'saved to' if changed else 'already at'} {local} (mode 0600): "
                f"KUBECONFIG={local} kubectl get nodes")
        ctx.scratch["kubeconfig"] = str(local)
        # hosts skipped during the wait are left out too
        want, self.left_out = self.expected(ctx)
        missing = [n for n in want if n not in registered]
        if missing:
            raise StepFailed(f"{len(want) - len(missing)} of {len(want)} nodes Ready; not in the cluster: {', '.join(missing)}",
                             "skip them (s) to leave them out of the cluster, or fix and retry them; "
                             "then retry this step (r)")
        return StepResult.changed(f"all {len(want)} nodes Ready{self._left_out_text()}; kubeconfig at {local}")

    async def verify(self, ctx: StepContext) -> None:
        local = local_kubeconfig_path(ctx.plan, self.state_base)
        if not local.exists() or (local.stat().st_mode & 0o777) != 0o600:
            raise StepFailed(f"{local} is missing or readable by others", "check the directory's permissions on this machine")


# ------------------------------------------------------------------------------ 13: reset

RESET_PROBE = r"""# k8s-tui reset: what is left of a node
for p in /etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/manifests/*.yaml /var/lib/kubelet/config.yaml /var/lib/etcd/member /etc/kubernetes/k8s-tui; do
  [ -e "$p" ] && printf '%s\n' "$p"
done
exit 0
"""
RESET_CLEANUP = ["/etc/cni/net.d", K8S_TUI_DIR]


class KubeadmResetStep(Step):
    title = "kubeadm reset"

    def __init__(self, *, control_planes: bool):
        self.control_planes = control_planes
        if control_planes:
            self.id = "reset-control-planes"
            self.title = "kubeadm reset (control planes)"
            self.why = "Undo kubeadm init/join on the control planes, after the workers: static pods, etcd data, certificates, kubeconfigs."
            self.targets = "control-planes"
        else:
            self.id = "reset-workers"
            self.title = "kubeadm reset (workers)"
            self.why = "Undo kubeadm join on the workers first, so they do not hang on to a control plane that goes away."
            self.targets = "workers"

    async def _leftovers(self, ctx: StepContext) -> list[str]:
        res = await run_script(ctx, "reset", RESET_PROBE)
        return [ln.strip() for ln in res.stdout.splitlines() if ln.strip().startswith("/")]

    async def check(self, ctx: StepContext) -> StepResult | bool:
        left = await self._leftovers(ctx)
        for p in left:
            ctx.log(f"left from kubeadm: {p}")
        if not left:
            return StepResult.unchanged("nothing of kubeadm on this host")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        await ctx.run(["kubeadm", "reset", "-f"], timeout=600, hint="run `kubeadm reset -f` by hand on the host and read its output")
        await ctx.run(["rm", "-rf", "--", *RESET_CLEANUP])
        ctx.log("not done (kubeadm reset says so too): flushing iptables/IPVS rules and removing CNI network "
                "interfaces; reboot the host or clean them by hand if the host stays in use")
        return StepResult.changed("kubeadm reset done; /etc/cni/net.d and k8s-tui's kubeadm files removed")

    async def verify(self, ctx: StepContext) -> None:
        left = await self._leftovers(ctx)
        if left:
            raise StepFailed(f"still there after kubeadm reset: {', '.join(left)}", "remove them by hand")
