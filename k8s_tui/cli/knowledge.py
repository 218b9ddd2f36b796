"""Subcommands on the sysctl knowledge and the presets: ``explain``, ``catalog``, ``presets``,
``render-sysctl``; and ``check``, which validates a plan.yaml (its values against that knowledge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..knowledge import KernelVersion, format_value, load_catalogue
from ..knowledge.explain import explain
from ..yamlio import InputError

console = Console(highlight=False)


def _entry_json(e) -> dict:
    return {
        "key": e.key,
        "group": e.group.value,
        "type": e.type.value,
        "unit": e.unit,
        "min": e.min,
        "max": e.max,
        "allowed": [{"value": a.value, "meaning": a.en, "since_kernel": a.since_kernel} for a in e.allowed] if e.allowed else None,
        # a default computed at boot is never one bare number: null here, the formula and examples below
        "default": None if e.default_formula else e.default,
        "default_formula": e.default_formula.model_dump() if e.default_formula else None,
        "default_changes": [c.model_dump() for c in e.default_changes],
        "default_note": e.default_note,
        "netns": e.netns,
        "pod_inherits": e.pod_inherits,
        "pod_sysctl": e.pod_sysctl.model_dump() if e.pod_sysctl else None,
        "requires_module": e.requires_module,
        "added_in": e.added_in,
        "removed_in": e.removed_in,
        "overwritten_by": [o.component for o in e.overwritten_by],
        "protect_kernel_defaults": e.protect_kernel_defaults,
        "summary": {"en": e.text.en.summary, "zh": e.text.zh.summary},
        "sources": [s.model_dump() for s in e.sources],
    }


def cmd_catalog(args) -> int:
    cat = load_catalogue()
    if args.json:
        print(json.dumps([_entry_json(e) for e in cat], ensure_ascii=False, indent=1))
        return 0
    for group, entries in cat.by_group().items():
        t = Table(title=group.title, title_justify="left", show_edge=False, pad_edge=False)
        t.add_column("key", no_wrap=True)
        t.add_column("default", no_wrap=True)
        t.add_column("scope", no_wrap=True)
        t.add_column("summary")
        for e in entries:
            if e.default_formula:
                default = "computed at boot" if args.lang != "zh" else "启动时计算"
            else:
                default = format_value(tuple(e.default)) if isinstance(e.default, list) else str(e.default)
            t.add_row(Text(e.key), Text(default), "netns" if e.netns else "global", Text(e.words(args.lang).summary))
        console.print(t)
        console.print()
    return 0


def cmd_explain(args) -> int:
    cat = load_catalogue()
    if args.key not in cat:
        hint = cat.suggest(args.key)
        msg = f"unknown sysctl key {args.key!r}"
        if hint:
            msg += "; nearest known: " + ", ".join(hint)
        raise InputError(msg)
    entry = cat.get(args.key)
    value = None
    kernel = KernelVersion.parse(args.kernel) if args.kernel else None
    if args.value is not None:
        from ..knowledge import check_value, parse_value

        value = parse_value(entry, args.value)
        problems = check_value(entry, value, kernel)
        if problems:
            raise InputError("; ".join(problems))
    print_sections(explain(args.key, args.lang, value=value, kernel=kernel))
    return 0


def print_sections(sections, out: Console | None = None) -> None:
    """Print explain() sections. Every line is a rich Text, never markup: knowledge text such as
    "[since 4.18]" or "[upload-certs]" must reach the reader as written."""
    out = out or console
    for s in sections:
        if s.kind == "summary":
            out.print(Text(s.title, style="bold"))
            out.print(Text(s.lines[0]))
            out.print()
            continue
        out.print(Text(s.title, style="bold underline"))
        for i, line in enumerate(s.lines):
            if s.kind == "diagram":
                mark = s.marked[i] if i < len(s.marked) else False
                out.print(Text(("> " if mark else "  ") + line, style="bold" if mark else ""))
            else:
                out.print(Text(line))
        out.print()


def cmd_presets(args) -> int:
    from ..model.presets import get_preset, load_presets

    if args.action == "diff":
        if len(args.names) != 2:
            raise InputError("presets diff takes two preset names: k8s-tui presets diff A B")
        a, b = (get_preset(n) for n in args.names)
        va, vb = a.resolve(args.proxy_mode).values, b.resolve(args.proxy_mode).values
        keys = list(va) + [k for k in vb if k not in va]
        t = Table(show_edge=False, pad_edge=False)
        t.add_column("key", no_wrap=True)
        t.add_column(a.name, no_wrap=True)
        t.add_column(b.name, no_wrap=True)
        t.add_column("why", ratio=1)
        same = 0
        for k in keys:
            x, y = va.get(k), vb.get(k)
            if x == y:
                same += 1
                continue
            reasons = []
            for p in (a, b):
                r = p.reasons.get(k)
                if r:
                    reasons.append(f"{p.name}: {r.zh if args.lang == 'zh' else r.en}")
            t.add_row(Text(k), format_value(x) if x is not None else "-", format_value(y) if y is not None else "-", Text("\n".join(reasons)))
        console.print(t)
        console.print(f"{len(keys) - same} keys differ, {same} agree (kube-proxy mode {args.proxy_mode}).")
        return 0
    if args.names:
        raise InputError("did you mean: k8s-tui presets diff A B")
    t = Table(show_edge=False, pad_edge=False)
    t.add_column("name", no_wrap=True)
    t.add_column("keys", justify="right")
    t.add_column("version")
    t.add_column("what")
    for p in load_presets().values():
        t.add_row(Text(p.name), str(len(p.all_keys())), Text(p.version), Text(p.description_zh if args.lang == "zh" else p.description_en))
    console.print(t)
    return 0


def cmd_render_sysctl(args) -> int:
    from ..hostprep.sysctl_conf import render_sysctl_conf
    from ..model.plan import load_plan
    from ..model.presets import get_preset, load_presets

    kernel = KernelVersion.parse(args.kernel) if args.kernel else None
    src = args.source
    if src in load_presets():
        preset = get_preset(src)
        mode = args.proxy_mode or "iptables"
        values = preset.resolve(mode).values
        header = [f"{preset.title} ({preset.source})", f"kube-proxy mode: {mode}" + (f", kernel {kernel}" if kernel else "")]
    elif Path(src).suffix in (".yaml", ".yml") or Path(src).exists():
        plan = load_plan(src)
        mode = args.proxy_mode or plan.kube_proxy_mode.value
        base = get_preset(plan.preset).resolve(mode) if plan.preset else None
        values = base.merged(plan.tuning).values if base else plan.tuning.values
        header = [f"plan {src} ({plan.name})", f"kube-proxy mode: {mode}" + (f", kernel {kernel}" if kernel else "")]
    else:
        raise InputError(f"{src!r} is neither a preset ({', '.join(load_presets())}) nor a plan file")
    sys.stdout.write(render_sysctl_conf(values, kernel=kernel, header=["written by k8s-tui", *header]))
    return 0


def cmd_check(args) -> int:
    from ..model.plan import load_plan

    plan = load_plan(args.plan)
    console.print(Text(f"{args.plan}: valid plan '{plan.name}' for {plan.tool.value}, {len(plan.hosts)} hosts, {len(plan.tuning.values)} tuned keys"))
    return 0


def add_commands(subparsers: Any) -> None:
    s = subparsers.add_parser("explain", help="explain one sysctl key: what it does, why a node cares, facts, sources")
    s.add_argument("key")
    s.add_argument("--lang", choices=["en", "zh"], default="en")
    s.add_argument("--value", help="show what this value means in practice")
    s.add_argument("--kernel", help="kernel version for version-dependent rules, e.g. 6.1")
    s.set_defaults(func=cmd_explain)

    s = subparsers.add_parser("catalog", help="list every sysctl key the wizard knows")
    s.add_argument("--json", action="store_true", help="one JSON object per key, with facts and sources")
    s.add_argument("--lang", choices=["en", "zh"], default="en")
    s.set_defaults(func=cmd_catalog)

    s = subparsers.add_parser("presets", help="list the sysctl presets, or compare two: presets diff A B")
    s.add_argument("action", nargs="?", choices=["list", "diff"], default="list")
    s.add_argument("names", nargs="*")
    s.add_argument("--proxy-mode", choices=["iptables", "ipvs", "nftables"], default="ipvs")
    s.add_argument("--lang", choices=["en", "zh"], default="en")
    s.set_defaults(func=cmd_presets)

    s = subparsers.add_parser("render-sysctl", help="print the sysctl.d file a host would get from a preset or a plan")
    s.add_argument("source", metavar="PRESET|plan.yaml")
    s.add_argument("--kernel", help="leave out keys this kernel lacks, e.g. 5.15")
    s.add_argument("--proxy-mode", choices=["iptables", "ipvs", "nftables"])
    s.set_defaults(func=cmd_render_sysctl)

    s = subparsers.add_parser("check", help="validate a plan.yaml")
    s.add_argument("plan")
    s.set_defaults(func=cmd_check)
