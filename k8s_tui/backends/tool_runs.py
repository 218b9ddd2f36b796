"""Run kubespray, kubeasz or kops on this machine for a plan, streamed, through an injected executor.

``prepare_*`` checks what the tool needs (its checkout, its binaries) and returns a ``ToolRun``:
files to put in place and commands to run, each in a working directory. A missing piece is a
``ToolMissing`` error that says what to install or run first. ``run_tool`` then writes the
files and runs the commands one at a time through an executor made by the factory it is given
(``LocalExecutor`` for real, ``DryRunExecutor`` to only show what would happen), passing every
output line to ``on_line`` and, for Ansible, through ``AnsibleProgress`` to ``on_event`` so a
screen can draw the host x task grid. The first failing step stops the run.

* kubespray: ``ansible-playbook -i <rendered inventory> cluster.yml -b`` from the checkout (its
  ansible.cfg and roles); the inventory stays in the output directory, the checkout is not
  touched.
* kubeasz: the steps ``ezctl setup <cluster> 01`` .. ``07`` one at a time. ezctl waits 5 s for a
  key before each step ("press any key to abort", ezctl ``setup()``, kubeasz #928); instead of
  feeding it a closed stdin we run the very command ezctl builds and echoes,
  ``ansible-playbook -i clusters/<c>/hosts -e @clusters/<c>/config.yml playbooks/0N.*.yml``,
  from the kubeasz directory, with our config overrides as a second ``-e @file``. That needs no
  keypress trick, and its output is plain Ansible. Our ``hosts`` and sysctl template replace
  kubeasz's (the old ones are kept under ``clusters/<c>/k8s-tui-backup/``).
* kops: ``kops create -f``, ``kops create sshpublickey``, ``kops update cluster [--yes]``,
  ``kops validate cluster``, run only when ``kops`` is on PATH, every FILL-IN is filled and
  KOPS_STATE_STORE is set.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.executor import Executor
from ..model.hosts import Host
from ..model.plan import ClusterPlan, Tool
from ..yamlio import InputError
from . import kops as kops_mod
from . import kubeasz as kubeasz_mod
from . import kubespray as kubespray_mod
from .ansible_output import AnsibleProgress, Event
from .render import render, write_rendered
from .rendered import Rendered

LOCAL = Host(name="localhost", address="127.0.0.1")

INSTALL_ANSIBLE = "ansible-playbook is not on PATH: install Ansible with `pip install ansible-core` (kubespray: `pip install -r requirements.txt` in its checkout)"
GET_KUBESPRAY = ("git clone https://github.com/kubernetes-sigs/kubespray && cd kubespray && "
                 "pip install -r requirements.txt; then pass --checkout kubespray")
GET_KUBEASZ = ("download ezdown from the kubeasz releases and run `./ezdown -D` (it fills /etc/kubeasz), "
               "then `ezctl new CLUSTER` in it")
GET_KOPS = "install kops from https://kops.sigs.k8s.io/getting_started/install/ (one binary on PATH)"


class ToolMissing(InputError):
    """A checkout, binary or setting the tool needs is missing; the message says how to get it."""


@dataclass
class FileWrite:
    path: str  # absolute
    content: str
    mode: int = 0o644
    backup_dir: str | None = None


@dataclass
class ToolStep:
    title: str
    argv: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    ansible: bool = True  # parse its output as Ansible's
    timeout: float = 6 * 3600


@dataclass
class ToolRun:
    tool: Tool
    rendered: Rendered
    out_dir: str
    writes: list[FileWrite] = field(default_factory=list)
    steps: list[ToolStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class StepOutcome:
    step: ToolStep
    exit_status: int
    progress: AnsibleProgress | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass
class ToolRunResult:
    run: ToolRun
    outcomes: list[StepOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.outcomes) == len(self.run.steps) and all(o.ok for o in self.outcomes)

    @property
    def failed_step(self) -> StepOutcome | None:
        return next((o for o in self.outcomes if not o.ok), None)


Which = Callable[[str], str | None]


def _need_ansible(which: Which) -> str:
    path = which("ansible-playbook")
    if not path:
        raise ToolMissing(INSTALL_ANSIBLE)
    return path


# ----------------------------------------------------------------------------------- kubespray


def prepare_kubespray(plan: ClusterPlan, checkout: str | Path | None, out_dir: str | Path, *, which: Which = shutil.which) -> ToolRun:
    if not checkout:
        raise ToolMissing(f"kubespray runs from its checkout: pass --checkout DIR ({GET_KUBESPRAY})")
    co = Path(checkout).expanduser().resolve()
    if not co.is_dir():
        raise ToolMissing(f"{co}: no such directory; to get kubespray: {GET_KUBESPRAY}")
    if not (co / "cluster.yml").is_file():
        raise ToolMissing(f"{co} has no cluster.yml, so it is not a kubespray checkout; to get one: {GET_KUBESPRAY}")
    _need_ansible(which)
    out = Path(out_dir).resolve()
    rendered = render(plan, Tool.kubespray)
    inv = out / kubespray_mod.inventory_dir(plan) / "inventory.ini"
    run = ToolRun(Tool.kubespray, rendered, str(out))
    run.writes = [FileWrite(str(out / f.path), f.content, f.mode) for f in rendered.files]
    run.steps = [ToolStep("cluster.yml", kubespray_mod.playbook_argv(str(inv)), str(co))]
    run.notes.append(f"kubespray checkout {co}; inventory {inv} (the checkout is not changed)")
    return run


# ------------------------------------------------------------------------------------- kubeasz


def prepare_kubeasz(plan: ClusterPlan, checkout: str | Path | None, out_dir: str | Path, *, which: Which = shutil.which,
                    from_step: str = "01") -> ToolRun:
    co = Path(checkout or kubeasz_mod.DEFAULT_BASE).expanduser().resolve()
    if not co.is_dir():
        raise ToolMissing(f"{co}: no kubeasz directory; to get kubeasz: {GET_KUBEASZ}")
    if not (co / "playbooks" / "01.prepare.yml").is_file():
        raise ToolMissing(f"{co} has no playbooks/01.prepare.yml, so it is not a kubeasz directory; {GET_KUBEASZ}")
    cdir = co / kubeasz_mod.cluster_dir(plan)
    if not (cdir / "config.yml").is_file():
        raise ToolMissing(f"{cdir}/config.yml is missing: run `./ezctl new {plan.name}` in {co} first (it writes the full config.yml)")
    if not (co / "bin" / "kube-apiserver").is_file():
        raise ToolMissing(f"{co}/bin/kube-apiserver is missing: run `./ezdown -D` first (ezctl setup checks the same)")
    _need_ansible(which)
    steps = [s for s in kubeasz_mod.STEPS if s[0] >= from_step]
    if not steps:
        raise InputError(f"--from-step {from_step}: kubeasz setup steps are 01 .. 07")
    out = Path(out_dir).resolve()
    rendered = Rendered(Tool.kubeasz, notes=[])
    base = kubeasz_mod.render(plan)
    rendered.notes = base.notes
    hosts_text = kubeasz_mod.render_hosts(plan, base_dir=str(co))
    backup = str(cdir / "k8s-tui-backup" / time.strftime("%Y%m%d-%H%M%S"))
    for f in base.files:
        content = hosts_text if f.path.endswith("/hosts") else f.content
        rendered.files.append(type(f)(f.path, content, f.mode))
    run = ToolRun(Tool.kubeasz, rendered, str(out))
    run.writes = [FileWrite(str(out / f.path), f.content, f.mode) for f in rendered.files]
    overrides = str(out / kubeasz_mod.cluster_dir(plan) / "config.yml")
    run.writes += [
        FileWrite(str(cdir / "hosts"), hosts_text, 0o644, backup),
        FileWrite(str(co / kubeasz_mod.SYSCTL_TEMPLATE), rendered.get(kubeasz_mod.SYSCTL_TEMPLATE).content, 0o644, backup),
    ]
    for num, name, playbook in steps:
        run.steps.append(ToolStep(f"{num} {name}", kubeasz_mod.step_argv(plan, playbook, overrides), str(co)))
    run.notes.append(f"kubeasz directory {co}: clusters/{plan.name}/hosts and {kubeasz_mod.SYSCTL_TEMPLATE} are replaced "
                     f"(the old ones go to {backup}); the sysctl template applies to every cluster set up from {co}")
    run.notes.append("each step is the command `ezctl setup` builds, run directly: no 5 s 'press any key to abort' wait")
    return run


# ---------------------------------------------------------------------------------------- kops


def prepare_kops(plan: ClusterPlan, out_dir: str | Path, *, which: Which = shutil.which,
                 env: dict[str, str] | None = None) -> ToolRun:
    env = dict(os.environ if env is None else env)
    out = Path(out_dir).resolve()
    rendered = render(plan, Tool.kops)
    kdir = out / "kops"
    run = ToolRun(Tool.kops, rendered, str(out))
    run.writes = [FileWrite(str(out / f.path), f.content, f.mode) for f in rendered.files]
    key = env.get("SSH_PUBLIC_KEY") or str(Path("~/.ssh/id_rsa.pub").expanduser())
    for argv in kops_mod.command_argvs(plan, ssh_public_key=key):
        run.steps.append(ToolStep(" ".join(argv[1:4]), argv, str(kdir), ansible=False, timeout=3600))
    shown = "\n  ".join(" ".join(s.argv) for s in run.steps)
    if not which("kops"):
        write_rendered(rendered, out)
        raise ToolMissing(f"kops is not on PATH; {GET_KOPS}. The specs and commands are in {kdir}:\n  {shown}")
    left = [f"{f.path}: {ln.strip()}" for f in rendered.files if f.path.endswith(".yaml")
            for ln in f.content.splitlines() if f" {kops_mod.FILL}-" in ln and not ln.lstrip().startswith("#")]
    existing = [kdir / "cluster.yaml", kdir / "instancegroups.yaml"]
    if all(p.is_file() for p in existing):
        # the user filled in the files we wrote before: run those, not a fresh render
        texts = {p.name: p.read_text(encoding="utf-8") for p in existing}
        left = [f"kops/{n}: {ln.strip()}" for n, t in texts.items() for ln in t.splitlines()
                if f" {kops_mod.FILL}-" in ln and not ln.lstrip().startswith("#")]
        run.writes = [w for w in run.writes if Path(w.path).name not in texts]
    else:
        write_rendered(rendered, out)
        run.writes = []
    if left:
        raise ToolMissing(f"kops is cloud-bound: fill in these fields in {kdir} first, then run again:\n  " + "\n  ".join(left))
    if not env.get("KOPS_STATE_STORE"):
        raise ToolMissing("KOPS_STATE_STORE is not set: export it (e.g. s3://my-kops-state) and run again")
    if not Path(key).is_file():
        raise ToolMissing(f"{key}: no SSH public key for the nodes; set SSH_PUBLIC_KEY to one")
    return run


def prepare(plan: ClusterPlan, tool: Tool | str, *, checkout: str | None, out_dir: str | Path,
            which: Which = shutil.which, from_step: str = "01") -> ToolRun:
    tool = Tool(tool)
    if tool is Tool.kubespray:
        return prepare_kubespray(plan, checkout, out_dir, which=which)
    if tool is Tool.kubeasz:
        return prepare_kubeasz(plan, checkout, out_dir, which=which, from_step=from_step)
    if tool is Tool.kops:
        return prepare_kops(plan, out_dir, which=which)
    raise InputError("run-tool runs kubespray, kubeasz or kops; kubeadm runs through `k8s-tui apply`")


def rest_of_install(plan: ClusterPlan, scope: str = "full", plan_path: str | Path | None = None) -> str | None:
    """What a wizard or `apply` run of ``plan`` leaves to the tool itself, and the command that runs
    it (None when the run is the whole install: kubeadm's full path). The run-start dialog, the
    summary and the docs say the same thing from here."""
    if scope not in ("full", "tuning"):  # a rollback or a probe is not part of an install
        return None
    tool = plan.tool
    where = str(plan_path) if plan_path else "plan.yaml"
    if tool is Tool.kubeadm:
        if scope == "full":
            return None
        return (f"This run only tunes the hosts (facts, sysctl); kubeadm itself runs with the full run "
                f"(Run: start the run), or `k8s-tui apply {where}`.")
    what, how = TOOL_WHAT[tool], TOOL_COMMAND[tool].format(plan=where)
    return (f"This run prepares the hosts only (facts, sysctl); it does not install Kubernetes. "
            f"{tool.value} does, with {what}: after this run, t on the summary runs it from the wizard, "
            f"or save the plan (review: s) and run `{how}` (output streamed; --dry-run shows the "
            f"files and commands first).")


# what each tool's own installer is, and the command that runs it for a plan
TOOL_WHAT = {
    Tool.kubespray: "its cluster.yml playbook (ansible-playbook, from your kubespray checkout)",
    Tool.kubeasz: "its setup steps 01-07 (ansible-playbook, from the kubeasz directory)",
    Tool.kops: "kops create, update and validate (kops on PATH, KOPS_STATE_STORE set)",
}
TOOL_COMMAND = {
    Tool.kubespray: "k8s-tui run-tool {plan} --checkout KUBESPRAY_DIR",
    Tool.kubeasz: "k8s-tui run-tool {plan} --checkout /etc/kubeasz",
    Tool.kops: "k8s-tui run-tool {plan}",
}


# ----------------------------------------------------------------------------------------- run

ExecutorFactory = Callable[[str, dict[str, str]], Executor]  # (cwd, env) -> executor
LineSink = Callable[[ToolStep, str, str], None]  # (step, stream, line)
EventSink = Callable[[ToolStep, Event], None]


async def run_tool(
    run: ToolRun,
    make_executor: ExecutorFactory,
    *,
    on_line: LineSink | None = None,
    on_event: EventSink | None = None,
    on_step: Callable[[ToolStep, int, int], None] | None = None,
) -> ToolRunResult:
    result = ToolRunResult(run)
    if run.writes:
        ex = make_executor("/", {})  # the output directory may not exist yet
        try:
            dirs = sorted({str(Path(w.path).parent) for w in run.writes})
            await ex.run(LOCAL, ["mkdir", "-p", *dirs], sudo=False, check=True)
            for w in run.writes:
                await ex.write_file(LOCAL, w.path, w.content.encode(), mode=w.mode, backup_dir=w.backup_dir)
        finally:
            await ex.close()
    for i, step in enumerate(run.steps):
        if on_step:
            on_step(step, i, len(run.steps))
        progress = AnsibleProgress() if step.ansible else None
        env = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", **step.env} if step.ansible else dict(step.env)
        ex = make_executor(step.cwd, env)

        def sink(stream: str, line: str, step: ToolStep = step, progress: AnsibleProgress | None = progress) -> None:
            if on_line:
                on_line(step, stream, line)
            if progress is not None and stream == "stdout":
                for ev in progress.feed(line):
                    if on_event:
                        on_event(step, ev)

        t0 = time.monotonic()
        try:
            res = await ex.run(LOCAL, step.argv, sudo=False, timeout=step.timeout, on_line=sink)
        finally:
            await ex.close()
        result.outcomes.append(StepOutcome(step, res.exit_status, progress, time.monotonic() - t0))
        if not res.ok:
            break
    return result

