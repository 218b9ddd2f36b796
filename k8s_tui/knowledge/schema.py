"""The shape of one sysctl entry in the knowledge base.

Entries live as YAML under ``knowledge/data/*.yaml`` (one mapping of key -> entry per file) and are
validated against these models when loaded, so a typo in the data fails the test suite, not the UI.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KERNEL_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?$")
CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


_AFTER_PUNCT = re.compile(r"([，。、；：！？（《“”」』）])[ \t\n]+")
_BEFORE_PUNCT = re.compile(r"[ \t\n]+([，。、；：！？）》”」』])")
_BETWEEN_CJK = re.compile(r"([\u3400-\u9fff])[ \t\n]+(?=[\u3400-\u9fff])")


def tidy_zh(text: str) -> str:
    """Chinese text as written: YAML folds a line break into a space, and Chinese has none after
    its punctuation or between two characters ("内存， 后者" -> "内存，后者")."""
    text = _AFTER_PUNCT.sub(r"\1", text)
    text = _BEFORE_PUNCT.sub(r"\1", text)
    return _BETWEEN_CJK.sub(r"\1", text)


def both_languages(where: str, en: str | None, zh: str | None) -> None:
    """A text a reader sees exists in both languages or in neither, and the Chinese one is Chinese."""
    if (en is None) != (zh is None):
        missing = "Chinese (…_zh / note_zh)" if zh is None else "English"
        raise ValueError(f"{where}: has one language only; add the {missing} text")
    if zh is not None and not CJK_RE.search(zh):
        raise ValueError(f"{where}: the Chinese text holds no Chinese: {zh!r}")
K8S_VERSION_RE = re.compile(r"^1\.\d+$")


class Group(str, Enum):
    """The groups the tuning screen shows, in this order."""

    forwarding = "forwarding"  # forwarding, bridge netfilter, reverse-path filter
    setup = "setup"  # connection setup: SYN queue, accept queue, SYN retries, ports
    teardown = "teardown"  # FIN_WAIT_2, TIME_WAIT
    keepalive = "keepalive"
    buffers = "buffers"  # socket buffers, device backlog, window behaviour
    conntrack = "conntrack"
    neighbour = "neighbour"  # ARP / NDP table sizes
    memory = "memory"
    files = "files"  # files, inotify, aio, processes, mounts
    kernel = "kernel"  # panics, keys: the kubelet's protect-kernel-defaults set

    @property
    def title(self) -> str:
        return GROUP_TITLES[self]

    def title_in(self, lang: str = "en") -> str:
        return GROUP_TITLES_ZH[self] if lang == "zh" else GROUP_TITLES[self]


GROUP_TITLES = {
    Group.forwarding: "Forwarding and bridge",
    Group.setup: "Connection setup",
    Group.teardown: "Teardown and TIME_WAIT",
    Group.keepalive: "Keepalive",
    Group.buffers: "Buffers and queues",
    Group.conntrack: "Conntrack",
    Group.neighbour: "Neighbour table",
    Group.memory: "Memory",
    Group.files: "Files and processes",
    Group.kernel: "Kernel panics and keys",
}

GROUP_TITLES_ZH = {
    Group.forwarding: "转发与网桥",
    Group.setup: "连接建立",
    Group.teardown: "连接关闭与 TIME_WAIT",
    Group.keepalive: "保活（keepalive）",
    Group.buffers: "缓冲区与队列",
    Group.conntrack: "连接跟踪（conntrack）",
    Group.neighbour: "邻居表",
    Group.memory: "内存",
    Group.files: "文件与进程",
    Group.kernel: "内核 panic 与密钥",
}


class ValueType(str, Enum):
    bool = "bool"  # 0 or 1
    int = "int"
    enum = "enum"  # a small set of ints, each with a meaning
    pair = "pair"  # two ints separated by whitespace (ip_local_port_range)
    triple = "triple"  # three ints (tcp_rmem: min default max)
    ports = "ports"  # a list of ports and ranges, "30000-32767,8080" (ip_local_reserved_ports)

    @property
    def arity(self) -> int:
        return {"pair": 2, "triple": 3}.get(self.value, 1)


class Words(BaseModel):
    """Our own explanation, in one language."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=10, description="one line, what the key is")
    what: str = Field(min_length=20, description="what the kernel does with the value")
    why: str = Field(min_length=20, description="why a Kubernetes node cares")
    tradeoff: str = Field(min_length=20, description="the trade-off and the risks")
    when: str = Field(min_length=10, description="when to change it, and to what")
    seed_note: str | None = Field(
        default=None,
        description="where common advice (the article 'k8s 部署', 2024-12-27, and the lore it repeats) is wrong or out of date, and why",
    )


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: Words
    zh: Words

    @field_validator("zh")
    @classmethod
    def _tidy(cls, w: Words) -> Words:
        return w.model_copy(update={k: tidy_zh(v) for k, v in w.model_dump().items() if v})


class EnumValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: int
    en: str
    zh: str
    since_kernel: str | None = None  # kernel version that added this value

    @field_validator("zh")
    @classmethod
    def _tidy(cls, v: str) -> str:
        return tidy_zh(v)


def kernel_key(version: str) -> tuple[int, int, int] | None:
    """"5.4" -> (5, 4, 0); "0" or "" (as far back as we know) -> None."""
    if version in ("0", ""):
        return None
    if not KERNEL_VERSION_RE.match(version):
        raise ValueError(f"kernel version must look like 4.12, got {version!r}")
    parts = [int(p) for p in version.split(".")]
    return (parts[0], parts[1], parts[2] if len(parts) > 2 else 0)


class DefaultChange(BaseModel):
    """The kernel default from a kernel version on (somaxconn: 128, then 4096 from 5.4)."""

    model_config = ConfigDict(extra="forbid")
    since_kernel: str  # "0" for "as far back as we know"
    value: int | list[int] | str
    note: str | None = None
    note_zh: str | None = None

    @field_validator("since_kernel")
    @classmethod
    def _since(cls, v: str) -> str:
        kernel_key(v)
        return v

    @model_validator(mode="after")
    def _both(self) -> DefaultChange:
        both_languages(f"default change since {self.since_kernel}", self.note, self.note_zh)
        return self

    def note_in(self, lang: str) -> str | None:
        return self.note_zh if lang == "zh" else self.note


class FormulaExample(BaseModel):
    """One worked example of a computed default: a machine and the value the formula gives it."""

    model_config = ConfigDict(extra="forbid")
    memory_gib: int | None = None  # RAM of the example machine
    cpus: int | None = None  # possible CPUs of the example machine (pid_max)
    value: int | list[int]
    about: bool = False  # the formula gives roughly this (memory the kernel reserves varies)


class DefaultFormula(BaseModel):
    """A default the kernel computes at boot (from RAM, from the CPU count), so no one number is right.

    ``expr`` is written as code (names from the kernel source), the same in every language.
    """

    model_config = ConfigDict(extra="forbid")
    expr: str = Field(min_length=5)
    examples: list[FormulaExample] = Field(min_length=1)


class Overwriter(BaseModel):
    """A component that writes or checks this key behind the admin's back."""

    model_config = ConfigDict(extra="forbid")
    component: str  # kube-proxy, kubelet, docker, containerd, calico, cilium, systemd ...
    how_en: str
    how_zh: str

    @field_validator("how_zh")
    @classmethod
    def _tidy(cls, v: str) -> str:
        return tidy_zh(v)


class PodSysctl(BaseModel):
    """Whether a pod may set the key itself through its securityContext."""

    model_config = ConfigDict(extra="forbid")
    safe: bool  # in the kubelet's safe set (allowed without --allowed-unsafe-sysctls)
    since: str | None = None  # Kubernetes minor version that put it in the safe set, "1.29"
    note: str | None = None
    note_zh: str | None = None

    @model_validator(mode="after")
    def _both(self) -> PodSysctl:
        both_languages("pod_sysctl", self.note, self.note_zh)
        return self

    def note_in(self, lang: str) -> str | None:
        return self.note_zh if lang == "zh" else self.note


class Source(BaseModel):
    """Where a fact comes from: one fact name, one reference."""

    model_config = ConfigDict(extra="forbid")
    fact: str  # default, range, netns, pod_inherits, pod_sysctl, module, added_in, removed_in, overwritten_by, preset, behaviour
    ref: str  # "linux Documentation/networking/ip-sysctl.rst (tcp_syn_retries)", "kubernetes pkg/kubelet/sysctl/safe_sysctls.go"


SOURCE_FACTS = {
    "default",
    "range",
    "netns",
    "pod_inherits",
    "pod_sysctl",
    "module",
    "added_in",
    "removed_in",
    "overwritten_by",
    "behaviour",
    "preset",
}


class Entry(BaseModel):
    """Everything we know about one sysctl key."""

    model_config = ConfigDict(extra="forbid")

    key: str
    group: Group
    type: ValueType
    unit: Literal["", "seconds", "count", "bytes", "pages", "entries", "ports", "percent", "connections", "packets", "keys", "milliseconds"] = ""
    # the range the wizard accepts, per element for pair/triple; bool is 0..1
    min: int | None = None
    max: int | None = None
    allowed: list[EnumValue] | None = None  # enum only
    default: int | list[int] | str  # the kernel default on a current kernel
    default_changes: list[DefaultChange] = Field(default_factory=list)
    default_note: str | None = None  # e.g. "scales with RAM", "set by module at load time"
    default_note_zh: str | None = None  # the same in Chinese: every note a reader sees has both
    # computed at boot: the formula and worked examples; `default` is then only one example
    default_formula: DefaultFormula | None = None
    netns: bool  # per network namespace (True) or global to the host (False), on a current kernel
    # the kernel that made it per network namespace (global before): explain --kernel says which
    netns_since: str | None = None
    pod_inherits: bool  # a new pod netns copies the node's value (True) or starts from the default (False)
    pod_inherits_note: str | None = None
    pod_inherits_note_zh: str | None = None
    pod_sysctl: PodSysctl | None = None  # None: not namespaced in Kubernetes' sense, a pod can't set it
    requires_module: str | None = None  # br_netfilter, nf_conntrack
    added_in: str | None = None  # kernel version that added the key
    removed_in: str | None = None  # kernel version that removed it
    overwritten_by: list[Overwriter] = Field(default_factory=list)
    protect_kernel_defaults: bool = False  # one of the keys the kubelet checks with protectKernelDefaults
    diagram: Literal["handshake", "close", "keepalive"] | None = None
    diagram_mark: str | None = None  # the marker id in that diagram where the key acts
    related: list[str] = Field(default_factory=list)
    sources: list[Source] = Field(min_length=1)
    text: Text

    @field_validator("added_in", "removed_in", "netns_since")
    @classmethod
    def _kernel_version(cls, v: str | None) -> str | None:
        if v is not None and not KERNEL_VERSION_RE.match(v):
            raise ValueError(f"kernel version must look like 4.12, got {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Entry:
        if self.type is ValueType.enum and not self.allowed:
            raise ValueError(f"{self.key}: an enum needs 'allowed' values")
        if self.type is ValueType.bool:
            self.min, self.max = 0, 1
        if self.type in (ValueType.int, ValueType.pair, ValueType.triple) and (self.min is None or self.max is None):
            raise ValueError(f"{self.key}: {self.type.value} needs min and max")
        for s in self.sources:
            if s.fact not in SOURCE_FACTS:
                raise ValueError(f"{self.key}: unknown source fact {s.fact!r}; use one of {sorted(SOURCE_FACTS)}")
        both_languages(f"{self.key}: default_note", self.default_note, self.default_note_zh)
        both_languages(f"{self.key}: pod_inherits_note", self.pod_inherits_note, self.pod_inherits_note_zh)
        for o in self.overwritten_by:
            both_languages(f"{self.key}: overwritten_by {o.component}", o.how_en, o.how_zh)
        if self.allowed:
            for a in self.allowed:
                both_languages(f"{self.key}: allowed {a.value}", a.en, a.zh)
        for name in Words.model_fields:
            both_languages(f"{self.key}: text.zh.{name}", getattr(self.text.en, name), getattr(self.text.zh, name))
        if self.diagram_mark and not self.diagram:
            raise ValueError(f"{self.key}: diagram_mark without diagram")
        if self.default_changes:
            keys = [kernel_key(c.since_kernel) for c in self.default_changes]
            if keys[0] is not None:
                raise ValueError(f"{self.key}: default_changes must start with since_kernel \"0\" (the oldest known default)")
            if any(k is None for k in keys[1:]) or keys[1:] != sorted(keys[1:]):
                raise ValueError(f"{self.key}: default_changes must be in kernel order, one \"0\" entry first")
        return self

    def exists_on(self, kernel: object | None) -> bool:
        """Whether that kernel has the key (added_in <= kernel < removed_in); None: a current kernel
        is not asked about, so True."""
        if kernel is None:
            return True
        k = (kernel.major, kernel.minor, getattr(kernel, "patch", 0))  # type: ignore[attr-defined]
        added = kernel_key(self.added_in) if self.added_in else None
        removed = kernel_key(self.removed_in) if self.removed_in else None
        return not (added is not None and k < added) and not (removed is not None and k >= removed)

    def default_for(self, kernel: object | None) -> int | list[int] | str | None:
        """The kernel default on that kernel: the last default change at or before it, or None
        when that kernel has no such key (tcp_tw_recycle on 4.12 and later, tcp_syn_linear_timeouts
        before 6.5).

        ``kernel`` is a ``KernelVersion`` (anything with major, minor, patch); None means a current
        kernel, whose default is ``default``. The one rule for a default on a given kernel: explain,
        the tuning table and the demo's probes all ask here.
        """
        if kernel is None:
            return self.default
        if not self.exists_on(kernel):
            return None
        if not self.default_changes:
            return self.default
        k = (kernel.major, kernel.minor, getattr(kernel, "patch", 0))  # type: ignore[attr-defined]
        value = self.default_changes[0].value
        for change in self.default_changes[1:]:
            since = kernel_key(change.since_kernel)
            if since is not None and k >= since:
                value = change.value
        return value

    def netns_on(self, kernel: object | None) -> bool:
        """Per network namespace on that kernel (None: a current kernel). tcp_tw_recycle was per
        namespace only in 4.11, its last release: netns_since 4.11, removed_in 4.12."""
        if kernel is None:
            return self.netns
        if self.netns_since is None:
            return self.netns
        k = (kernel.major, kernel.minor, getattr(kernel, "patch", 0))  # type: ignore[attr-defined]
        since = kernel_key(self.netns_since)
        return since is not None and k >= since and self.exists_on(kernel)

    def default_note_in(self, lang: str) -> str | None:
        return self.default_note_zh if lang == "zh" else self.default_note

    def pod_inherits_note_in(self, lang: str) -> str | None:
        return self.pod_inherits_note_zh if lang == "zh" else self.pod_inherits_note

    def words(self, lang: str = "en") -> Words:
        return self.text.zh if lang == "zh" else self.text.en

    def allowed_values(self) -> list[int] | None:
        return [a.value for a in self.allowed] if self.allowed else None
