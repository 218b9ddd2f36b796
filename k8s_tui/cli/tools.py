"""Subcommands for the other deployment tools: import an inventory, render a plan, run a tool.

    k8s-tui import kubespray INVENTORY -o plan.yaml      (inventory.ini, hosts.yaml or the directory)
    k8s-tui import kubeasz clusters/NAME/hosts -o plan.yaml
    k8s-tui import ssh-config [~/.ssh/config] -o plan.yaml [--only a,b]
    k8s-tui render plan.yaml --tool kubespray|kubeasz|kops|kubeadm --out DIR
    k8s-tui run-tool plan.yaml --tool kubespray|kubeasz|kops [--checkout DIR] [--out DIR] [--dry-run]

Bad input ends with one message naming the file and line (exit 2) and nothing is written.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..model.plan import Tool, load_plan, save_plan
from ..yamlio import InputError

console = Console(highlight=False, soft_wrap=True)

NOTICE_STYLE = {"comment": "dim", "unknown": "yellow", "secret": "bold yellow", "unmapped": "cyan",
                "skipped": "yellow", "default": "magenta", "info": ""}


# ------------------------------------------------------------------------------------- import


def cmd_import(args: Any) -> int:
    from ..backends.importers import IMPORTERS, to_plan

    kind = args.kind
    if kind == "ssh-config":
        only = [x.strip() for x in (args.only or "").split(",") if x.strip()] or None
        res = IMPORTERS[kind](args.source, only=only)
    else:
        if not args.source:
            raise InputError(f"import {kind} needs the inventory to read: k8s-tui import {kind} FILE -o plan.yaml")
        if args.only:
            raise InputError("--only is for ssh-config")
        res = IMPORTERS[kind](args.source)
    out = Path(args.output)
    existing = load_plan(out) if out.exists() else None
    plan, changes = to_plan(res, existing)

    if res.notices:
        console.print(f"[bold]{len(res.notices)} notices[/bold] (left out of the plan or assumed; nothing is lost silently):")
        for n in res.notices:
            style = NOTICE_STYLE.get(n.kind, "")
            text = escape(str(n))
            console.print(f"  [{style}]{text}[/{style}]" if style else f"  {text}")
    verb = "updated" if existing else "wrote"
    if args.dry_run:
        console.print(f"[bold]{'would update' if existing else 'would write'}[/bold] {out} (--dry-run, nothing written):")
    for c in changes:
        console.print(f"  {escape(c)}")
    if not changes:
        console.print(f"  {out} already says the same; nothing changed")
    if not args.dry_run and (changes or not existing):
        save_plan(plan, out)
        console.print(f"{verb} {out}: {len(plan.hosts)} hosts, tool {plan.tool.value}")
    return 0


# ------------------------------------------------------------------------------------- render


def cmd_render(args: Any) -> int:
    from ..backends.render import render, write_rendered

    plan = load_plan(args.plan)
    tool = Tool(args.tool) if args.tool else plan.tool
    rendered = render(plan, tool)
    written = write_rendered(rendered, args.out)
    console.print(f"{tool.value}: {len(written)} files in {args.out}")
    for p in written:
        console.print(f"  {p}")
    for n in rendered.notes:
        console.print(f"[yellow]note:[/yellow] {escape(n)}")
    return 0


# ------------------------------------------------------------------------------------ run-tool


STATUS_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "unreachable": "bold red",
                "ignored": "dim", "rescued": "cyan", "skipped": "dim"}


def _local_executors(args: Any):
    """``make(cwd, env)`` for the tool's commands, from the one executor factory: a LocalExecutor
    that really runs, or (``--dry-run``) the dry run, printing what would run where."""
    from .runs import executor_factory

    factory = executor_factory(args)

    def make(cwd: str, env: dict[str, str]):
        ex = factory.local(cwd, env)
        return _Labelled(ex, cwd, env) if factory.dry_run else ex

    return make


class _Labelled:
    """The dry run's executor, remembering the directory and environment each command would get."""

    def __init__(self, inner, cwd: str, env: dict[str, str]):
        self.inner, self.cwd, self.env = inner, cwd, env

    async def run(self, host, argv, **kw):
        console.print(f"[dim]would run in {escape(self.cwd)}:[/dim] {escape(' '.join(argv))}")
        return await self.inner.run(host, argv, **kw)

    async def read_file(self, host, path, **kw):
        return await self.inner.read_file(host, path, **kw)

    async def write_file(self, host, path, content, **kw):
        backup = kw.get("backup_dir")
        console.print(f"[dim]would write[/dim] {escape(path)} ({len(content)} bytes" + (f", old one to {escape(backup)})" if backup else ")"))
        return await self.inner.write_file(host, path, content, **kw)

    async def upload_file(self, host, path, source, **kw):
        console.print(f"[dim]would copy[/dim] {escape(str(source))} to {escape(path)}")
        return await self.inner.upload_file(host, path, source, **kw)

    async def close(self):
        pass


def cmd_run_tool(args: Any) -> int:
    from ..engine.executor import ExecError
    from ..backends.ansible_output import HostResult, Recap, TaskStarted
    from ..backends.tool_runs import prepare, run_tool

    plan = load_plan(args.plan)
    tool = Tool(args.tool) if args.tool else plan.tool
    out_dir = Path(args.out) if args.out else Path(args.plan).resolve().parent / f"{plan.name}-{tool.value}"
    run = prepare(plan, tool, checkout=args.checkout, out_dir=out_dir, from_step=args.from_step)
    for n in run.notes + run.rendered.notes:
        console.print(f"[yellow]note:[/yellow] {escape(n)}")
    make = _local_executors(args)
    quiet = args.progress

    def on_step(step, i, n):
        console.print(f"[bold]step {i + 1}/{n}: {escape(step.title)}[/bold]  [dim]({escape(step.cwd)})[/dim]")

    def on_line(step, stream, line):
        if not quiet:
            print(line, file=sys.stderr if stream == "stderr" else sys.stdout, flush=True)

    def on_event(step, ev):
        if not quiet:
            return
        if isinstance(ev, TaskStarted):
            console.print(f"  [bold]{escape(ev.title)}[/bold]")
        elif isinstance(ev, HostResult):
            style = STATUS_STYLE.get(ev.status, "")
            extra = f" ({escape(ev.item)})" if ev.item else ""
            msg = f": {escape(ev.message)}" if ev.message and ev.status in ("failed", "unreachable") else ""
            console.print(f"    [{style}]{ev.status:11}[/{style}] {escape(ev.host)}{extra}{msg}")
        elif isinstance(ev, Recap):
            console.print(f"  recap {escape(ev.host)}: ok={ev.ok} changed={ev.changed} failed={ev.failed} unreachable={ev.unreachable}")

    try:
        result = asyncio.run(run_tool(run, make, on_line=on_line, on_event=on_event, on_step=on_step))
    except ExecError as e:
        raise InputError(str(e)) from None
    for o in result.outcomes:
        recap = o.progress.recap if o.progress else {}
        bad = [h for h, r in recap.items() if not r.success]
        state = "ok" if o.ok else f"failed (exit {o.exit_status})"
        console.print(f"{escape(o.step.title)}: {state}" + (f"; hosts with failures: {', '.join(bad)}" if bad else ""))
    failed = result.failed_step
    if failed is not None:
        hint = ""
        if tool is Tool.kubeasz:
            hint = f"; fix it and go on with: k8s-tui run-tool {args.plan} --tool kubeasz --from-step {failed.step.title.split()[0]}"
        console.print(f"[bold red]{escape(failed.step.title)} failed[/bold red]{escape(hint)}")
        return 1
    if args.dry_run:
        console.print("dry run: nothing was written or run")
    return 0


# ---------------------------------------------------------------------------------------- CLI


def add_commands(subparsers: Any) -> None:
    s = subparsers.add_parser(
        "import",
        help="make or update a plan from a kubespray or kubeasz inventory, or an ssh config",
        description="Read an inventory in the tool's documented format and write its hosts, roles and settings "
                    "into plan.yaml (a new one, or the one given, whose tuning is kept). Comments and entries the "
                    "plan has no place for are listed with file:line.",
    )
    s.add_argument("kind", choices=["kubespray", "kubeasz", "ssh-config"])
    s.add_argument("source", nargs="?", help="inventory file or directory (ssh-config: default ~/.ssh/config)")
    s.add_argument("-o", "--output", required=True, metavar="PLAN", help="plan.yaml to write or update")
    s.add_argument("--only", metavar="ALIAS,...", help="ssh-config: import only these Host aliases")
    s.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    s.set_defaults(func=cmd_import)

    s = subparsers.add_parser(
        "render",
        help="write the files a tool reads for this plan (kubespray, kubeasz, kops, kubeadm)",
        description="kubespray: inventory + group_vars; kubeasz: clusters/NAME/hosts, config.yml, the sysctl "
                    "template; kops: Cluster and InstanceGroup specs + commands.sh; kubeadm: sysctl file, "
                    "modules-load file, kubeadm config.",
    )
    s.add_argument("plan")
    s.add_argument("--tool", choices=[t.value for t in Tool], help="default: the plan's tool")
    s.add_argument("--out", required=True, metavar="DIR")
    s.set_defaults(func=cmd_render)

    s = subparsers.add_parser(
        "run-tool",
        help="run kubespray, kubeasz or kops for this plan on this machine, streamed",
        description="kubespray: ansible-playbook -i INVENTORY cluster.yml -b from --checkout; kubeasz: the "
                    "ezctl setup steps 01..07 one at a time, from --checkout (default /etc/kubeasz); kops: "
                    "create, update --yes and validate, when kops is on PATH. Exit status: 0 done, 1 a step "
                    "failed, 2 something is missing (the message says what to install).",
    )
    s.add_argument("plan")
    s.add_argument("--tool", choices=["kubespray", "kubeasz", "kops"], help="default: the plan's tool")
    s.add_argument("--checkout", metavar="DIR", help="the kubespray checkout, or the kubeasz directory")
    s.add_argument("--out", metavar="DIR", help="where the rendered files go (default: NAME-TOOL beside the plan)")
    s.add_argument("--from-step", default="01", metavar="NN", help="kubeasz: start at this setup step (01..07)")
    s.add_argument("--progress", action="store_true", help="print per-task, per-host results instead of the raw output")
    s.add_argument("--dry-run", action="store_true", help="show the files and commands, change and run nothing")
    s.set_defaults(func=cmd_run_tool)
