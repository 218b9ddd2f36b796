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
from .wrap import is_wide

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
        "absent": "none: this kernel has no such key",
        "netns_from": "per network namespace from {v}, global before",
        "netns_since": "since {v}; global before",
        "on_host": "on this host",
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
        "since": "起",
        "unknown_before": "更早",
        "on_kernel": "内核",
        "namespaces": "命名空间",
        "computed": "启动时计算",
        "example": "例如",
        "memory": "GiB 内存",
        "cpus": "个 CPU",
        "absent": "无：该内核没有这个参数",
        "netns_from": "{v} 起按网络命名空间隔离，此前为全局",
        "netns_since": "{v} 起；此前为全局",
        "on_host": "本机实际值",
    },
}


# the value types and units, as a reader of each language says them
TYPE_NAMES = {
    "en": {"bool": "bool", "int": "int", "enum": "enum", "pair": "pair", "triple": "triple", "ports": "ports"},
    "zh": {"bool": "开关（0 或 1）", "int": "整数", "enum": "枚举", "pair": "两个整数", "triple": "三个整数",
           "ports": "端口及端口范围列表"},
}
UNIT_NAMES = {
    "en": {"seconds": "seconds", "count": "count", "bytes": "bytes", "pages": "pages", "entries": "entries", "ports": "ports",
           "percent": "percent", "connections": "connections", "packets": "packets", "keys": "keys",
           "milliseconds": "milliseconds"},
    "zh": {"seconds": "秒", "count": "个数", "bytes": "字节", "pages": "页", "entries": "条目数", "ports": "端口数",
           "percent": "百分比", "connections": "连接数", "packets": "包数", "keys": "密钥数",
           "milliseconds": "毫秒"},
}
# what each source backs, named in the reader's language
FACT_NAMES = {
    "zh": {"default": "默认值", "range": "取值范围", "netns": "命名空间", "pod_inherits": "Pod 继承", "pod_sysctl": "Pod 设置",
           "module": "内核模块", "added_in": "引入版本", "removed_in": "移除版本", "overwritten_by": "覆盖者",
           "behaviour": "行为", "preset": "预设"},
}
# punctuation: Chinese text takes full-width colons and brackets, with no space after them
PUNCT = {
    "en": {"colon": ": ", "open": " (", "close": ")", "list": ", "},
    "zh": {"colon": "：", "open": "（", "close": "）", "list": "、"},
}


def since(version: str, lang: str) -> str:
    """"since 4.18" / "4.18 起"."""
    return f"{version} {LABELS['zh']['since']}" if lang == "zh" else f"{LABELS['en']['since']} {version}"


def _fmt(v: object) -> str:
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    return format_value(v) if isinstance(v, (int, tuple, str)) else str(v)


def fact_lines(e: Entry, lang: str = "en", kernel: KernelVersion | None = None, host_value: object | None = None) -> list[str]:
    """The facts of a key in one language; with a kernel, the default is that kernel's
    (``Entry.default_for``); ``host_value`` is the value probed on a host, shown beside a default
    the kernel computes at boot."""
    L = LABELS[lang]
    P = PUNCT[lang]
    c = P["colon"]

    def paren(text: str | None) -> str:
        return f"{P['open']}{text}{P['close']}" if text else ""

    unit = UNIT_NAMES[lang].get(e.unit) if e.unit else None
    out = [f"{L['type']}{c}{TYPE_NAMES[lang][e.type.value]}" + paren(unit)]
    if e.type is ValueType.enum and e.allowed:
        out.append(f"{L['allowed']}{c.rstrip()}")
        for a in e.allowed:
            meaning = a.zh if lang == "zh" else a.en
            gap = "" if lang == "zh" and meaning and is_wide(meaning[-1]) else " "  # no space after "）"
            when = f"{gap}[{since(a.since_kernel, lang)}]" if a.since_kernel else ""
            out.append(f"  {a.value} = {meaning}{when}")
    elif e.min is not None or e.max is not None:
        out.append(f"{L['range']}{c}{e.min} .. {e.max}")
    note = paren(e.default_note_in(lang))
    on_kernel = e.default_for(kernel)
    onk = paren(f"{L['on_kernel']} {kernel}")
    if kernel is not None and on_kernel is None:  # tcp_tw_recycle on 4.12 and later
        out.append(f"{L['default']}{onk}{c}{L['absent']}")
    elif kernel is not None and e.default_changes and on_kernel != e.default_changes[-1].value:
        # that kernel's default differs from today's (somaxconn on 4.19: 128)
        out.append(f"{L['default']}{onk}{c}{_fmt(on_kernel)}{note}")
    elif e.default_formula is not None:
        out.append(f"{L['default']}{c}{L['computed']}{c}{e.default_formula.expr}{note}")
        for ex in e.default_formula.examples:
            machine = P["list"].join(
                part
                for part in (
                    f"{ex.memory_gib} {L['memory']}" if ex.memory_gib is not None else "",
                    f"{ex.cpus} {L['cpus']}" if ex.cpus is not None else "",
                )
                if part
            )
            out.append(f"  {L['example']} {machine}{c}{'~' if ex.about else ''}{_fmt(ex.value)}")
        if host_value is not None:
            out.append(f"  {L['on_host']}{c}{_fmt(host_value)}")
    elif kernel is not None and e.default_changes:
        out.append(f"{L['default']}{onk}{c}{_fmt(on_kernel)}{note}")
    else:
        out.append(f"{L['default']}{c}{_fmt(e.default)}{note}")
    if e.default_changes:
        parts = []
        for ch in e.default_changes:
            when = since(ch.since_kernel, lang) if ch.since_kernel not in ("0", "") else L["unknown_before"]
            why = ch.note_in(lang)
            parts.append(f"{_fmt(ch.value)}{paren(when + (('；' if lang == 'zh' else '; ') + why if why else ''))}")
        out.append(f"{L['history']}{c}" + P["list"].join(parts))
    per_ns = e.netns_on(kernel)
    scope = L["netns"] if per_ns else L["global"]
    if e.netns_since:  # global on older kernels: say from which kernel on it is per namespace
        scope += paren(L["netns_since" if per_ns else "netns_from"].format(v=e.netns_since))
    out.append(f"{L['scope']}{c}{scope}")
    pin = e.pod_inherits_note_in(lang)
    if e.netns and per_ns:
        out.append(f"{L['pods']}{c}{L['inherits'] if e.pod_inherits else L['fresh']}" + paren(pin))
    elif pin:  # a global key (or one still global on that kernel) can still have a namespace story
        out.append(f"{L['namespaces']}{c}{pin}")
    if e.pod_sysctl is None:
        out.append(f"{L['podset']}{c}{L['podset_no']}")
    else:
        if e.pod_sysctl.safe:
            k8s = paren(since(f"Kubernetes {e.pod_sysctl.since}", lang)) if e.pod_sysctl.since else ""
            out.append(f"{L['podset']}{c}{L['podset_yes']}{k8s}")
        else:
            out.append(f"{L['podset']}{c}{L['podset_unsafe']}")
        if e.pod_sysctl.note_in(lang):
            out.append(f"  {e.pod_sysctl.note_in(lang)}")
    if e.requires_module:
        out.append(f"{L['module']}{c}{e.requires_module}")
    if e.added_in:
        out.append(f"{L['added']}{c}{e.added_in}")
    if e.removed_in:
        out.append(f"{L['removed']}{c}{e.removed_in}")
    for o in e.overwritten_by:
        out.append(f"{L['overwritten']}{c}{o.component}{c}{o.how_zh if lang == 'zh' else o.how_en}")
    if e.protect_kernel_defaults:
        out.append(f"{L['pkd']}{c}{L['pkd_yes']}")
    return out


def preset_lines(key: str, lang: str = "en", proxy_mode: str | None = "ipvs") -> list[str]:
    """Every preset's value for the key, with its reason where the preset gives one."""
    from ..model.presets import load_presets  # model imports knowledge; import late to keep that one-way at load

    L = LABELS[lang]
    out = []
    for p in load_presets().values():
        v = p.resolve(proxy_mode).values.get(key)
        shown = format_value(v) if v is not None else L["notset"]
        out.append(f"{p.title_in(lang)}{PUNCT[lang]['colon']}{shown}")
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
    host_value: SysctlValue | None = None,
) -> list[Section]:
    """The sections of one key's explanation in ``lang``; ``kernel`` picks that kernel's facts,
    ``host_value`` (the value probed on a host) is shown beside a default computed at boot."""
    e = load_catalogue().get(key)
    L = LABELS[lang]
    w = e.words(lang)
    on_kernel = e.default_for(kernel)
    shown_value = value if value is not None else (on_kernel if on_kernel is not None and not isinstance(on_kernel, str) else e.default)
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
    sections.append(Section("facts", L["facts"], fact_lines(e, lang, kernel, host_value)))
    if with_presets:
        sections.append(Section("presets", L["presets"], preset_lines(key, lang)))
    if e.diagram:
        try:
            from . import diagrams

            rows = diagrams.render(e.diagram, e.diagram_mark, lang)
            sections.append(Section("diagram", L["diagram"], [r[0] for r in rows], [r[1] for r in rows]))
        except ImportError:
            pass
    names = FACT_NAMES.get(lang, {})
    sections.append(Section("sources", L["sources"], [f"{names.get(s.fact, s.fact)}{PUNCT[lang]['colon']}{s.ref}" for s in e.sources]))
    return sections
