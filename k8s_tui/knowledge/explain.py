"""One explanation of a key, as plain sections: `k8s-tui explain` prints them, the tuning panel
renders them. Both front ends read this, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .catalogue import load_catalogue
from .schema import Entry, ValueType
from .values import KernelVersion, SysctlValue, format_value

SectionKind = Literal["summary", "text", "facts", "consequences", "presets", "diagram", "sources", "note"]


@dataclass
class Section:
    kind: SectionKind
    title: str
    lines: list[str]
    marked: list[bool] = field(default_factory=list)  # diagram only: lines where the key acts


LABELS = {
    "en": {
        "what": "What the kernel does",
        "why": "Why a node cares",
        "tradeoff": "Trade-off",
        "when": "When to change it",
        "seed_note": "Common advice, corrected",
        "facts": "Facts",
        "type": "Type",
        "range": "Range",
        "allowed": "Values",
        "default": "Kernel default",
        "history": "Default history",
        "scope": "Scope",
        "netns": "per network namespace",
        "global": "global to the host",
        "pods": "New pod network namespace",
        "inherits": "copies the node's value",
        "fresh": "starts from the kernel default",
        "podset": "Pods may set it",
        "podset_yes": "yes, a Kubernetes safe sysctl",
        "podset_unsafe": "only if the kubelet allows it (--allowed-unsafe-sysctls)",
        "podset_no": "no (not namespaced)",
        "module": "Needs module",
        "added": "Added in kernel",
        "removed": "Removed in kernel",
        "overwritten": "Overwritten by",
        "pkd": "kubelet protectKernelDefaults",
        "pkd_yes": "checked: the kubelet refuses to start if it differs from what it expects",
        "consequences": "With this value",
        "presets": "What the presets set",
        "notset": "(leaves it alone)",
        "sources": "Sources",
        "diagram": "Where it acts",
        "since": "since",
        "unknown_before": "before that",
        "on_kernel": "on kernel",
        "namespaces": "Namespaces",
        "computed": "computed at boot",
        "example": "for example",
        "memory": "GiB RAM",
        "cpus": "CPUs",
    },
    "zh": {
        "what": "内核如何使用该值",
        "why": "节点为何关心",
        "tradeoff": "取舍",
        "when": "何时修改",
        "seed_note": "对常见建议的更正",
        "facts": "事实",
        "type": "类型",
        "range": "范围",
        "allowed": "取值",
        "default": "内核默认值",
        "history": "默认值变化",
        "scope": "作用域",
        "netns": "每个网络命名空间独立",
        "global": "整台主机共享",
        "pods": "新建 Pod 网络命名空间",
        "inherits": "复制节点上的值",
        "fresh": "从内核默认值开始",
        "podset": "Pod 能否自行设置",
        "podset_yes": "可以，属于 Kubernetes 安全 sysctl",
        "podset_unsafe": "仅当 kubelet 允许时（--allowed-unsafe-sysctls）",
        "podset_no": "不可以（非命名空间隔离）",
        "module": "依赖模块",
        "added": "引入内核版本",
        "removed": "移除内核版本",
        "overwritten": "会被覆盖",
        "pkd": "kubelet protectKernelDefaults",
        "pkd_yes": "会检查：与 kubelet 期望值不同则拒绝启动",
        "consequences": "按当前值计算",
        "presets": "各预设的取值",
        "notset": "（不设置）",
        "sources": "来源",
        "diagram": "作用位置",
        "since": "自",
        "unknown_before": "此前",
        "on_kernel": "内核",
        "namespaces": "命名空间",
        "computed": "启动时计算",
        "example": "例如",
        "memory": "GiB 内存",
        "cpus": "个 CPU",
    },
}


def _fmt(v: object) -> str:
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    return format_value(v) if isinstance(v, (int, tuple, str)) else str(v)


def fact_lines(e: Entry, lang: str = "en", kernel: KernelVersion | None = None) -> list[str]:
    """The facts of a key; with a kernel, the default is that kernel's (its default_changes)."""
    L = LABELS[lang]
    out = [f"{L['type']}: {e.type.value}" + (f" ({e.unit})" if e.unit else "")]
    if e.type is ValueType.enum and e.allowed:
        out.append(f"{L['allowed']}:")
        for a in e.allowed:
            since = f" [{L['since']} {a.since_kernel}]" if a.since_kernel else ""
            out.append(f"  {a.value} = {a.zh if lang == 'zh' else a.en}{since}")
    elif e.min is not None or e.max is not None:
        out.append(f"{L['range']}: {e.min} .. {e.max}")
    note = f" ({e.default_note})" if e.default_note else ""
    older = kernel is not None and e.default_changes and e.default_for(kernel) != e.default_changes[-1].value
    if older:  # that kernel's default differs from today's (somaxconn on 4.19: 128)
        out.append(f"{L['default']} ({L['on_kernel']} {kernel}): {_fmt(e.default_for(kernel))}{note}")
    elif e.default_formula is not None:
        out.append(f"{L['default']}: {L['computed']}: {e.default_formula.expr}{note}")
        for ex in e.default_formula.examples:
            machine = ", ".join(
                part
                for part in (
                    f"{ex.memory_gib} {L['memory']}" if ex.memory_gib is not None else "",
                    f"{ex.cpus} {L['cpus']}" if ex.cpus is not None else "",
                )
                if part
            )
            out.append(f"  {L['example']} {machine}: {_fmt(ex.value)}")
    elif kernel is not None and e.default_changes:
        out.append(f"{L['default']} ({L['on_kernel']} {kernel}): {_fmt(e.default_for(kernel))}{note}")
    else:
        out.append(f"{L['default']}: {_fmt(e.default)}{note}")
    if e.default_changes:
        parts = []
        for c in e.default_changes:
            when = f"{L['since']} {c.since_kernel}" if c.since_kernel not in ("0", "") else L["unknown_before"]
            parts.append(f"{_fmt(c.value)} ({when})")
        out.append(f"{L['history']}: " + ", ".join(parts))
    out.append(f"{L['scope']}: {L['netns'] if e.netns else L['global']}")
    if e.netns:
        out.append(f"{L['pods']}: {L['inherits'] if e.pod_inherits else L['fresh']}" + (f" ({e.pod_inherits_note})" if e.pod_inherits_note else ""))
    elif e.pod_inherits_note:  # a global key can still have a namespace story (pid_max per PID namespace since 6.14)
        out.append(f"{L['namespaces']}: {e.pod_inherits_note}")
    if e.pod_sysctl is None:
        out.append(f"{L['podset']}: {L['podset_no']}")
    elif e.pod_sysctl.safe:
        since = f" ({L['since']} Kubernetes {e.pod_sysctl.since})" if e.pod_sysctl.since else ""
        out.append(f"{L['podset']}: {L['podset_yes']}{since}")
    else:
        out.append(f"{L['podset']}: {L['podset_unsafe']}")
    if e.requires_module:
        out.append(f"{L['module']}: {e.requires_module}")
    if e.added_in:
        out.append(f"{L['added']}: {e.added_in}")
    if e.removed_in:
        out.append(f"{L['removed']}: {e.removed_in}")
    for o in e.overwritten_by:
        out.append(f"{L['overwritten']}: {o.component}: {o.how_zh if lang == 'zh' else o.how_en}")
    if e.protect_kernel_defaults:
        out.append(f"{L['pkd']}: {L['pkd_yes']}")
    return out


def preset_lines(key: str, lang: str = "en", proxy_mode: str | None = "ipvs") -> list[str]:
    """Every preset's value for the key, with its reason where the preset gives one."""
    from ..model.presets import load_presets  # model imports knowledge; import late to keep that one-way at load

    L = LABELS[lang]
    out = []
    for p in load_presets().values():
        v = p.resolve(proxy_mode).values.get(key)
        shown = format_value(v) if v is not None else L["notset"]
        out.append(f"{p.title}: {shown}")
        r = p.reasons.get(key)
        if r is not None and v is not None:
            out.append(f"    {r.zh if lang == 'zh' else r.en}")
    return out


def explain(
    key: str,
    lang: str = "en",
    value: SysctlValue | None = None,
    context: Mapping[str, SysctlValue] | None = None,
    kernel: KernelVersion | None = None,
    *,
    with_presets: bool = True,
) -> list[Section]:
    e = load_catalogue().get(key)
    L = LABELS[lang]
    w = e.words(lang)
    on_kernel = e.default_for(kernel)
    shown_value = value if value is not None else (on_kernel if not isinstance(on_kernel, str) else e.default)
    sections = [
        Section("summary", key, [w.summary]),
        Section("text", L["what"], [w.what]),
        Section("text", L["why"], [w.why]),
        Section("text", L["tradeoff"], [w.tradeoff]),
        Section("text", L["when"], [w.when]),
    ]
    if w.seed_note:
        sections.append(Section("note", L["seed_note"], [w.seed_note]))
    try:
        from . import consequences

        ctx = dict(context or {})
        conseq = consequences.describe(key, shown_value, ctx, kernel, lang)
    except ImportError:
        conseq = []
    if conseq:
        sections.append(Section("consequences", f"{L['consequences']} {_fmt(shown_value)}", conseq))
    sections.append(Section("facts", L["facts"], fact_lines(e, lang, kernel)))
    if with_presets:
        sections.append(Section("presets", L["presets"], preset_lines(key, lang)))
    if e.diagram:
        try:
            from . import diagrams

            rows = diagrams.render(e.diagram, e.diagram_mark, lang)
            sections.append(Section("diagram", L["diagram"], [r[0] for r in rows], [r[1] for r in rows]))
        except ImportError:
            pass
    sections.append(Section("sources", L["sources"], [f"{s.fact}: {s.ref}" for s in e.sources]))
    return sections
