"""The wizard's state: everything the screens show and change, without any Textual import.

Screens read and change a ``WizardState``; it owns the rules (what a value's problems are, what a
host's diff is, what is saved and exported), so each rule has one home and is testable on its own.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..backends.catalog import Answers, recommend
from ..hostprep.sysctl_conf import kernel_skip_reason, render_sysctl_conf, split_for_kernel
from ..knowledge import Entry, KernelVersion, check_value, format_value, load_catalogue, parse_value
from ..knowledge.catalogue import Catalogue
from ..knowledge.values import SysctlValue, ValueError_
from ..model.hosts import Host, Role
from ..model.plan import ClusterPlan, ProxyMode, Tool, save_plan
from ..model.presets import PRESET_ORDER, Preset, load_preset_file, load_presets, presets_dir
from ..model.tuning import TuningProfile
from ..yamlio import InputError

DEFAULT_PRESET = "kubeadm-minimum"

STEPS: list[tuple[str, str]] = [
    ("tool", "Tool"),
    ("hosts", "Hosts"),
    ("tuning", "Tuning"),
    ("review", "Review"),
]


def _fold(text: str) -> str:
    """Text for the tuning filter: lower case, "_", "-", "." as spaces (TIME_WAIT = time wait)."""
    return re.sub(r"[_.\-]+", " ", text.lower())


def show(value: Any) -> str:
    """A value as the table shows it ("-" for nothing)."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return format_value(value)


def _load_presets_one_by_one() -> tuple[dict[str, Preset], list[str]]:
    """The presets that load, and an error for each one that does not (a broken file must not
    take the wizard down)."""
    out: dict[str, Preset] = {}
    errors: list[str] = []
    for path in sorted(presets_dir().glob("*.yaml")):
        try:
            p = load_preset_file(path)
        except InputError as e:
            errors.append(str(e))
            continue
        out[p.name] = p
    order = {n: i for i, n in enumerate(PRESET_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 99))), errors


def pydantic_messages(e: ValidationError) -> dict[str, str]:
    """field -> "field: rule" for every error, the way the forms show them."""
    out: dict[str, str] = {}
    for err in e.errors():
        loc = [str(p) for p in err["loc"]]
        name = loc[0] if loc else "host"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("int_parsing", "int_type"):
            msg = "must be a whole number"
        elif err["type"] == "too_short" and name == "roles":
            msg = "pick at least one role"
        out.setdefault(name, f"{name}: {msg}")
    return out


@dataclass
class HostProbe:
    """What a probe found on one host (made up in the demo)."""

    kernel: str | None = None  # uname -r
    os: str | None = None
    cpus: int | None = None
    memory_mb: int | None = None
    swap_mb: int | None = None
    runtime: str | None = None
    sysctls: dict[str, SysctlValue | None] = field(default_factory=dict)  # None: the key is absent

    @property
    def kernel_version(self) -> KernelVersion | None:
        if not self.kernel:
            return None
        try:
            return KernelVersion.parse(self.kernel)
        except ValueError:
            return None


@dataclass
class NowInfo:
    """The value of one key on the hosts."""

    text: str  # "-", "mixed" or the value
    per_host: dict[str, str]  # host -> value text, "absent" or "not probed"
    mixed: bool = False


@dataclass
class EditCheck:
    """What the tuning screen says while a value is typed."""

    value: SysctlValue | None  # the parsed value when it is acceptable
    errors: list[str]  # rules broken: Enter refuses the value
    warnings: list[str]  # accepted, but worth knowing (left out on some hosts)

    @property
    def ok(self) -> bool:
        return self.value is not None and not self.errors


@dataclass
class DiffRow:
    key: str
    now: str
    new: str
    status: str  # "change", "same", "unknown" (not probed), "left out"
    note: str = ""


@dataclass
class TableRow:
    """One row of the tuning table: a group title (key None) or a key."""

    group: str
    key: str | None
    now: NowInfo | None = None
    default: str = ""
    preset: str = ""
    yours: str = ""
    changed: bool = False


class WizardState:
    """The plan being built, the chosen preset, the user's overrides and what probes found."""

    def __init__(self, plan: ClusterPlan | None = None, *, demo: bool = False):
        plan = plan or ClusterPlan()
        self.demo = demo
        # which wizard session this is: saving a different one over it keeps the old in history
        self.session_id = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        self.lang = "en"
        self.answers = Answers()
        self.tool_chosen = False  # the person picked a tool rather than taking the recommendation
        self.hosts: list[Host] = list(plan.hosts)
        self.base: ClusterPlan = plan.model_copy(update={"hosts": [], "tuning": TuningProfile()})
        self.probes: dict[str, HostProbe] = {}
        self.load_error: str | None = None
        self.catalogue: Catalogue
        self.presets: dict[str, Preset]
        try:
            self.catalogue = load_catalogue()
        except InputError as e:
            self.catalogue = Catalogue([])
            self.load_error = str(e)
        try:
            self.presets = load_presets()
        except InputError:
            self.presets, errors = _load_presets_one_by_one()
            self.load_error = "\n".join(([self.load_error] if self.load_error else []) + errors)
        self.preset = self._initial_preset(plan.preset)
        self.overrides: dict[str, SysctlValue] = {}
        if plan.tuning.values:
            base_values = self.preset_values()
            self.overrides = {k: v for k, v in plan.tuning.values.items() if base_values.get(k) != v}
        if plan.tool is not Tool.kubeadm:
            self.tool_chosen = True

    # ---- tool -------------------------------------------------------------------------------

    @property
    def tool(self) -> Tool:
        return self.base.tool

    def set_tool(self, tool: Tool, *, chosen: bool = True) -> None:
        self.base.tool = tool
        self.tool_chosen = self.tool_chosen or chosen

    def set_answers(self, answers: Answers) -> None:
        self.answers = answers
        if not self.tool_chosen:
            self.base.tool = recommend(answers).tool

    # ---- hosts ------------------------------------------------------------------------------

    def host_names(self) -> list[str]:
        return [h.name for h in self.hosts]

    def check_host(self, data: dict[str, Any], replacing: str | None = None) -> tuple[Host | None, dict[str, str]]:
        """Validate a host form: the host, or field -> "field: rule" messages."""
        errors: dict[str, str] = {}
        host = None
        try:
            host = Host.model_validate(data)
        except ValidationError as e:
            errors = pydantic_messages(e)
        name = data.get("name")
        if name and name != replacing and name in self.host_names():
            errors.setdefault("name", f"name: {name!r} is already used by another host; node names must be unique")
            host = None
        return host, errors

    def add_host(self, host: Host) -> None:
        if host.name in self.host_names():
            raise ValueError(f"name: {host.name!r} is already used by another host")
        self.hosts.append(host)

    def replace_host(self, old_name: str, host: Host) -> None:
        i = self.host_names().index(old_name)
        if host.name != old_name and host.name in self.host_names():
            raise ValueError(f"name: {host.name!r} is already used by another host")
        self.hosts[i] = host
        if old_name in self.probes and host.name != old_name:
            self.probes[host.name] = self.probes.pop(old_name)

    def remove_host(self, name: str) -> None:
        self.hosts = [h for h in self.hosts if h.name != name]
        self.probes.pop(name, None)

    def hosts_problem(self) -> str | None:
        """Why the host list is not ready yet, or None."""
        if self.tool is Tool.kops:
            return None
        if not self.hosts:
            return "add at least one host"
        if not any(h.is_control_plane for h in self.hosts):
            return "no host has the control-plane role"
        return None

    def run_problems(self) -> list[str]:
        """What stops this plan from running, each with where to fix it (empty: it can run)."""
        if self.tool is not Tool.kops:
            if not self.hosts:
                return ["no hosts: add them on step 2 Hosts (a, or i to import)"]
            if not any(h.is_control_plane for h in self.hosts):
                return ["no control-plane host: on step 2 Hosts, edit a host (e) and tick control-plane, "
                        "or add one (a)"]
        try:
            self.to_plan()
        except InputError as e:
            return [str(e)]
        return []

    def run_problem(self) -> str | None:
        problems = self.run_problems()
        return problems[0] if problems else None

    def draft_plan(self) -> ClusterPlan:
        """The plan exactly as typed, without the checks across hosts (a draft may have only
        workers so far): what is saved between sessions. Each host was checked when entered."""
        return self.base.model_copy(update={
            "hosts": list(self.hosts),
            "tuning": TuningProfile.model_construct(values=self.final_values()),
            "preset": self.preset or None,
        })

    def kernels(self) -> dict[str, KernelVersion]:
        out = {}
        for h in self.hosts:
            p = self.probes.get(h.name)
            k = p.kernel_version if p else None
            if k is not None:
                out[h.name] = k
        return out

    # ---- tuning -----------------------------------------------------------------------------

    def _initial_preset(self, name: str | None) -> str:
        if name and name in self.presets:
            return name
        if DEFAULT_PRESET in self.presets:
            return DEFAULT_PRESET
        return next(iter(self.presets), "")

    @property
    def proxy_mode(self) -> ProxyMode:
        return self.base.kube_proxy_mode

    def set_proxy_mode(self, mode: ProxyMode) -> None:
        self.base.kube_proxy_mode = mode

    def set_preset(self, name: str) -> None:
        """Switch preset; the user's own values stay."""
        if name not in self.presets:
            raise KeyError(f"unknown preset {name!r}")
        self.preset = name

    def preset_values(self) -> dict[str, SysctlValue]:
        p = self.presets.get(self.preset)
        return dict(p.resolve(self.proxy_mode.value).values) if p else {}

    def final_values(self) -> dict[str, SysctlValue]:
        """What hosts get: the preset with the user's values on top, in catalogue order."""
        merged = {**self.preset_values(), **self.overrides}
        order = {k: i for i, k in enumerate(self.catalogue.keys())}
        return dict(sorted(merged.items(), key=lambda kv: order.get(kv[0], len(order))))

    def entry(self, key: str) -> Entry:
        return self.catalogue.get(key)

    def now(self, key: str) -> NowInfo:
        per_host: dict[str, str] = {}
        seen: list[str] = []
        for h in self.hosts:
            p = self.probes.get(h.name)
            if p is None:
                per_host[h.name] = "not probed"
                continue
            if key not in p.sysctls:
                per_host[h.name] = "not read"
                continue
            v = p.sysctls[key]
            text = "absent" if v is None else show(v)
            per_host[h.name] = text
            seen.append(text)
        if not seen:
            return NowInfo("-", per_host)
        distinct = sorted(set(seen))
        if len(distinct) > 1:
            return NowInfo("mixed", per_host, mixed=True)
        return NowInfo(distinct[0], per_host)

    def check_edit(self, key: str, text: str) -> EditCheck:
        """Parse and check a typed value against the type, the range and the hosts' kernels."""
        entry = self.entry(key)
        try:
            value = parse_value(entry, text)
        except ValueError_ as e:
            return EditCheck(None, [str(e)], [])
        kernels = self.kernels()
        if not kernels:
            return EditCheck(value, check_value(entry, value), [])
        errors: list[str] = []
        by_kernel: dict[KernelVersion, list[str]] = {}
        for host, k in kernels.items():
            by_kernel.setdefault(k, []).append(host)
        left_out: dict[str, list[str]] = {}  # reason -> "hosts (kernel)"
        for k, hosts in sorted(by_kernel.items()):
            why = kernel_skip_reason(key, k)
            if why:
                reason = why.split(", this host runs")[0]
                left_out.setdefault(reason, []).append(f"{', '.join(hosts)} ({k})")
                continue
            for p in check_value(entry, value, k):
                if p not in errors:
                    errors.append(p)
        warnings = [f"left out on {'; '.join(where)}: {reason}" for reason, where in left_out.items()]
        skipped = sum(len(w) for w in left_out.values())
        if skipped == len(by_kernel) and not errors:
            errors = [p for p in check_value(entry, value) if p not in errors]
        return EditCheck(value, errors, warnings)

    def set_value(self, key: str, text: str) -> EditCheck:
        """Set the user's value if it passes every rule; the old value stays otherwise."""
        chk = self.check_edit(key, text)
        if chk.ok:
            self.overrides[key] = chk.value
        return chk

    def reset_value(self, key: str) -> bool:
        return self.overrides.pop(key, None) is not None

    def rows(self, filter_text: str = "") -> list[TableRow]:
        """The tuning table: group title rows, then the keys whose name or one-line summary (either
        language) holds every word of the filter, ignoring case and "_", "-", "."."""
        q = _fold(filter_text).split()
        preset = self.preset_values()
        oldest = min(self.kernels().values(), default=None)  # the Default column: the oldest host kernel
        out: list[TableRow] = []
        for group, entries in self.catalogue.by_group().items():
            rows = []
            for e in entries:
                if q:
                    hay = _fold(" ".join((e.key, e.text.en.summary, e.text.zh.summary)))
                    if not all(w in hay for w in q):
                        continue
                changed = e.key in self.overrides
                rows.append(
                    TableRow(
                        group=group.title,
                        key=e.key,
                        now=self.now(e.key),
                        # computed at boot from RAM or CPUs: no one number is right (the panel has the formula)
                        # None: the key does not exist on that kernel
                        default="at boot" if e.default_formula else (
                            "—" if (d := e.default_for(oldest)) is None else show(d)),
                        preset=show(preset.get(e.key)),
                        yours=show(self.overrides[e.key]) if changed else "",
                        changed=changed,
                    )
                )
            if rows:
                out.append(TableRow(group=group.title, key=None))
                out += rows
        return out

    def disagreement(self, key: str) -> dict[str, str]:
        """preset title -> value, for the panel's "presets disagree" line."""
        out = {}
        for p in self.presets.values():
            v = p.resolve(self.proxy_mode.value).values.get(key)
            out[p.title] = show(v) if v is not None else "(not set)"
        return out

    # ---- review -----------------------------------------------------------------------------

    def host_diff(self, name: str) -> list[DiffRow]:
        probe = self.probes.get(name)
        kernel = probe.kernel_version if probe else None
        rows = []
        for key, new in self.final_values().items():
            why = kernel_skip_reason(key, kernel) if key in self.catalogue else None
            if probe is None or key not in probe.sysctls:
                now = "-"
            else:
                now = "absent" if probe.sysctls[key] is None else show(probe.sysctls[key])
            if why:
                rows.append(DiffRow(key, now, show(new), "left out", why))
            elif now == "-":
                rows.append(DiffRow(key, now, show(new), "unknown", "not probed"))
            elif now == show(new):
                rows.append(DiffRow(key, now, show(new), "same"))
            else:
                rows.append(DiffRow(key, now, show(new), "change"))
        return rows

    def sysctl_path(self) -> str:
        return f"/etc/sysctl.d/{self.base.sysctl_file}"

    def sysctl_file(self, name: str) -> str:
        probe = self.probes.get(name)
        kernel = probe.kernel_version if probe else None
        header = [
            f"{self.sysctl_path()}: written by k8s-tui for host {name}",
            f"preset: {self.preset or 'none'}; your own values: {len(self.overrides)}",
            f"kernel: {kernel if kernel else 'unknown (not probed)'}",
        ]
        return render_sysctl_conf(self.final_values(), kernel=kernel, header=header)

    def left_out(self, name: str) -> dict[str, str]:
        probe = self.probes.get(name)
        return split_for_kernel(self.final_values(), probe.kernel_version if probe else None)[1]

    def steps(self) -> list[tuple[str, str]]:
        """The steps a run takes, in order, each with why and on which hosts: the engine's own plan."""
        from ..engine.planning import plan_steps

        try:
            plan = self.to_plan()
        except InputError as e:
            return [("-", f"the plan is not complete yet: {e}")]
        out = []
        for step in plan_steps(plan).steps():
            names = [h.name for h in plan.hosts if step.wants(h, plan.hosts, plan)]
            where = "all hosts" if len(names) == len(plan.hosts) else ", ".join(names) or "no host"
            out.append((step.id, f"{step.why} [{where}]"))
        return out

    def to_plan(self) -> ClusterPlan:
        """The plan as it stands; raises InputError naming the field and rule when it is not valid."""
        data = self.base.model_dump(mode="json", exclude={"hosts", "tuning", "preset"}, exclude_none=True)
        data["hosts"] = [h.model_dump(mode="json", exclude_none=True) for h in self.hosts]
        data["tuning"] = TuningProfile.model_construct(values=self.final_values())
        data["preset"] = self.preset or None
        try:
            return ClusterPlan.model_validate(data)
        except ValidationError as e:
            raise InputError("; ".join(pydantic_messages(e).values())) from None

    def save(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / "plan.yaml"
        plan = self.to_plan()
        p.parent.mkdir(parents=True, exist_ok=True)
        save_plan(plan, p)
        return p

    def export(self, folder: str | Path) -> list[Path]:
        """plan.yaml and, per host, the sysctl.d file it gets: hosts/<name>/<file>."""
        root = Path(folder).expanduser()
        plan = self.to_plan()
        root.mkdir(parents=True, exist_ok=True)
        written = [root / "plan.yaml"]
        save_plan(plan, written[0])
        for h in self.hosts:
            d = root / "hosts" / h.name
            d.mkdir(parents=True, exist_ok=True)
            f = d / self.base.sysctl_file
            f.write_text(self.sysctl_file(h.name), encoding="utf-8")
            written.append(f)
        return written


def roles_text(host: Host) -> str:
    short = {Role.control_plane: "control-plane", Role.worker: "worker", Role.etcd: "etcd"}
    return ",".join(short[r] for r in host.roles)
