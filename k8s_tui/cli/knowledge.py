"""Subcommands on the sysctl knowledge and the presets: ``explain``, ``catalog``, ``presets``,
``render-sysctl``; and ``check``, which validates a plan.yaml (its values against that knowledge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from ..knowledge import KernelVersion, format_value, load_catalogue
from ..knowledge.explain import explain
from ..knowledge.wrap import text_width, wrap
from ..yamlio import InputError

console = Console(highlight=False)


def _entry_json(e, kernel: KernelVersion | None = None) -> dict:
    out = {
        "key": e.key,
        "group": e.group.value,
        "type": e.type.value,
        "unit": e.unit,
        "min": e.min,
        "max": e.max,
        "allowed": [{"value": a.value, "meaning": a.en, "meaning_zh": a.zh, "since_kernel": a.since_kernel} for a in e.allowed] if e.allowed else None,
        # a default computed at boot is never one bare number: null here, the formula and examples below
        "default": None if e.default_formula else e.default,
        "default_formula": e.default_formula.model_dump() if e.default_formula else None,
        "default_changes": [c.model_dump() for c in e.default_changes],
        "default_note": e.default_note,
        "default_note_zh": e.default_note_zh,
        "netns": e.netns,
        "netns_since": e.netns_since,
        "pod_inherits": e.pod_inherits,
        "pod_inherits_note": e.pod_inherits_note,
        "pod_inherits_note_zh": e.pod_inherits_note_zh,
        "pod_sysctl": e.pod_sysctl.model_dump() if e.pod_sysctl else None,
        "requires_module": e.requires_module,
        "added_in": e.added_in,
        "removed_in": e.removed_in,
        "overwritten_by": [o.component for o in e.overwritten_by],
        "protect_kernel_defaults": e.protect_kernel_defaults,
        "summary": {"en": e.text.en.summary, "zh": e.text.zh.summary},
        "sources": [s.model_dump() for s in e.sources],
    }
    if kernel is not None:
        # that kernel's default (null: the kernel has no such key), by the one rule Entry.default_for
        on = e.default_for(kernel)
        out["kernel"] = str(kernel)
        out["default_on_kernel"] = None if e.default_formula and on == e.default else on
        out["exists_on_kernel"] = e.exists_on(kernel)
        out["netns_on_kernel"] = e.netns_on(kernel)
    return out


def cmd_catalog(args) -> int:
    cat = load_catalogue()
    if args.json:
        kernel = KernelVersion.parse(args.kernel) if getattr(args, "kernel", None) else None
        print(json.dumps([_entry_json(e, kernel) for e in cat], ensure_ascii=False, indent=1))
        return 0
    zh = args.lang == "zh"
    width = console.width
    # one line per key (key, default, scope), its summary wrapped under it by knowledge.wrap: a
    # summary column would be narrow at 80 columns, and Rich cannot break a run of Chinese
    for group, entries in cat.by_group().items():
        console.print(Text(group.title_in(args.lang), style="bold underline"), soft_wrap=True)
        keyw = max(len(e.key) for e in entries)
        for e in entries:
            if e.default_formula:
                default = "启动时计算" if zh else "computed at boot"
            else:
                default = format_value(tuple(e.default)) if isinstance(e.default, list) else str(e.default)
            scope = ("每个 netns" if zh else "netns") if e.netns else ("全局" if zh else "global")
            console.print(Text.assemble((e.key.ljust(keyw), "bold"), f"  {default}  {scope}"), soft_wrap=True)
            for part in wrap("    " + e.words(args.lang).summary, width):
                console.print(Text(part), soft_wrap=True)
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


LIST_KINDS = ("facts", "presets", "sources", "consequences")


def print_sections(sections, out: Console | None = None) -> None:
    """Print explain() sections. Every line is a rich Text, never markup: knowledge text such as
    "[since 4.18]" or "[upload-certs]" must reach the reader as written. Lines are wrapped here,
    at spaces and between CJK characters (knowledge.wrap), so Chinese fills the line; Rich only
    breaks at spaces and would end a line early before a long run of Chinese."""
    out = out or console
    width = out.width

    def put(line: str, style: str = "", hang: int = 0) -> None:
        for part in wrap(line, width, hang=hang):
            out.print(Text(part, style=style), soft_wrap=True)

    for s in sections:
        if s.kind == "summary":
            put(s.title, "bold")
            put(s.lines[0])
            out.print()
            continue
        put(s.title, "bold underline")
        for i, line in enumerate(s.lines):
            if s.kind == "diagram":  # drawn for a width: never wrapped
                mark = s.marked[i] if i < len(s.marked) else False
                out.print(Text(("> " if mark else "  ") + line, style="bold" if mark else ""), soft_wrap=True)
            else:
                put(line, hang=2 if s.kind in LIST_KINDS else 0)
        out.print()


def cmd_presets(args) -> int:
    from ..model.presets import get_preset, load_presets

    zh = args.lang == "zh"
    if args.action == "diff":
        if len(args.names) != 2:
            raise InputError("presets diff takes two preset names: k8s-tui presets diff A B")
        a, b = (get_preset(n) for n in args.names)
        va, vb = a.resolve(args.proxy_mode).values, b.resolve(args.proxy_mode).values
        keys = list(va) + [k for k in vb if k not in va]
        differ = [k for k in keys if va.get(k) != vb.get(k)]
        shown = {k: (format_value(va[k]) if k in va else "-", format_value(vb[k]) if k in vb else "-") for k in differ}
        head = ("参数" if zh else "key", a.name, b.name)
        widths = [max([text_width(head[0])] + [len(k) for k in differ]),
                  max([text_width(head[1])] + [len(x) for x, _ in shown.values()]),
                  max([text_width(head[2])] + [len(y) for _, y in shown.values()])]
        width = console.width

        def row(cells) -> str:
            return "  ".join(c + " " * (w - text_width(c)) for c, w in zip(cells, widths)).rstrip()

        # the reasons go under their key, wrapped to the terminal: a "why" column would be a few
        # characters wide at 80 columns and cut every word
        console.print(Text(row(head), style="bold"), soft_wrap=True)
        console.print(Text("─" * min(width, len(row(head)))), soft_wrap=True)
        for k in differ:
            console.print(Text(row((k, *shown[k]))), soft_wrap=True)
            for p in (a, b):
                r = p.reasons.get(k)
                if r:
                    for part in wrap(f"    {p.name}{'：' if zh else ': '}{r.zh if zh else r.en}", width, hang=2):
                        console.print(Text(part, style="dim"), soft_wrap=True)
        same = len(keys) - len(differ)
        if zh:
            console.print(Text(f"{len(differ)} 个参数不同，{same} 个相同（kube-proxy 模式 {args.proxy_mode}）。"))
        else:
            console.print(Text(f"{len(differ)} keys differ, {same} agree (kube-proxy mode {args.proxy_mode})."))
        return 0
    if args.names:
        raise InputError("did you mean: k8s-tui presets diff A B")
    # one line per preset, its description wrapped under it (knowledge.wrap: Chinese too)
    for p in load_presets().values():
        n = len(p.all_keys())
        count = f"{n} 个参数" if zh else f"{n} keys"
        console.print(Text.assemble((p.name, "bold"), f"  {p.title_in(args.lang)}  {count}  {p.version}"), soft_wrap=True)
        for part in wrap("    " + p.description_in(args.lang), console.width):
            console.print(Text(part), soft_wrap=True)
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
    s.add_argument("--kernel", help="with --json: add each key's default on this kernel (default_on_kernel), e.g. 4.19")
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
