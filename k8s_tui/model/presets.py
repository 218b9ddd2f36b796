"""Sysctl presets: named, sourced sets of values shipped as YAML in ``presets/``.

A preset may carry blocks that apply only under a condition, the way kubeasz adds its keepalive
keys only when kube-proxy runs in ipvs mode, and the reason behind each value where presets
disagree.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..knowledge.schema import CJK_RE, tidy_zh

from ..yamlio import InputError, line_of, load_yaml, plain
from .tuning import TuningProfile


def presets_dir() -> Path:
    """Inside the wheel the folder is k8s_tui/_presets; in a checkout it is the top-level presets/."""
    packaged = Path(str(resources.files("k8s_tui"))) / "_presets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "presets"


def _chinese(v: str) -> str:
    """A Chinese text: holds Chinese, and no space YAML folding left after its punctuation."""
    if not CJK_RE.search(v):
        raise ValueError(f"the Chinese text holds no Chinese: {v!r}")
    return tidy_zh(v)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    @field_validator("zh")
    @classmethod
    def _zh(cls, v: str) -> str:
        return _chinese(v)


class ConditionalBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when_proxy_mode: list[str] = Field(min_length=1)
    values: TuningProfile


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    title_zh: str = Field(min_length=1)  # every name a reader sees exists in both languages
    version: str
    source: str
    file_name: str | None = None  # the sysctl.d file the tool writes
    description_en: str
    description_zh: str
    values: TuningProfile
    conditional: list[ConditionalBlock] = Field(default_factory=list)
    reasons: dict[str, Reason] = Field(default_factory=dict)

    @field_validator("description_zh")
    @classmethod
    def _description_zh(cls, v: str) -> str:
        return _chinese(v)

    @model_validator(mode="after")
    def _title_zh(self) -> Preset:
        # a title that is a tool's name and version ("kubeasz 3.6.5") reads the same in Chinese;
        # one with English words ("kernel defaults") needs its Chinese title
        if self.title_zh == self.title and re.search(r"[a-z]{3,} [a-z]{3,}", self.title):
            raise ValueError(f"title_zh: {self.title!r} needs a Chinese title")
        return self

    def title_in(self, lang: str = "en") -> str:
        return self.title_zh if lang == "zh" else self.title

    def description_in(self, lang: str = "en") -> str:
        return self.description_zh if lang == "zh" else self.description_en

    def resolve(self, proxy_mode: str | None = None) -> TuningProfile:
        """The values a host gets under this preset; conditional blocks need their condition met."""
        values = dict(self.values.values)
        for block in self.conditional:
            if proxy_mode in block.when_proxy_mode:
                values.update(block.values.values)
        return TuningProfile.model_construct(values=values)

    def all_keys(self) -> list[str]:
        keys = list(self.values.values)
        for block in self.conditional:
            keys += [k for k in block.values.values if k not in keys]
        return keys


def load_preset_file(path: Path) -> Preset:
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a mapping")
    data = plain(doc)
    data.setdefault("name", path.stem)
    # file form: values/conditional[].values are plain mappings
    if isinstance(data.get("values"), dict):
        data["values"] = {"values": data["values"]}
    for block in data.get("conditional") or []:
        if isinstance(block, dict) and isinstance(block.get("values"), dict):
            block["values"] = {"values": block["values"]}
    try:
        return Preset.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        # the model nests a profile's mapping under "values"; the file does not
        loc = [p for i, p in enumerate(err["loc"]) if not (p == "values" and i and err["loc"][i - 1] == "values")]
        line = line_of(doc, tuple(loc))
        where = f" line {line}" if line else ""
        field = ".".join(str(p) for p in loc)
        raise InputError(f"{path}{where}: {field}: {err['msg'].removeprefix('Value error, ')}") from None


@lru_cache(maxsize=1)
def load_presets() -> dict[str, Preset]:
    out: dict[str, Preset] = {}
    for path in sorted(presets_dir().glob("*.yaml")):
        p = load_preset_file(path)
        out[p.name] = p
    return dict(sorted(out.items(), key=lambda kv: PRESET_ORDER.index(kv[0]) if kv[0] in PRESET_ORDER else 99))


PRESET_ORDER = [
    "kernel-defaults",
    "kubeadm-minimum",
    "kubeasz-3.6.5",
    "kubeasz-3.7.0",
    "kubespray",
    "kops",
    "datacenter-tcp",
]


def get_preset(name: str) -> Preset:
    presets = load_presets()
    if name not in presets:
        raise InputError(f"unknown preset {name!r}; known: {', '.join(presets)}")
    return presets[name]


def preset_disagreements(names: list[str] | None = None, proxy_mode: str | None = "ipvs") -> dict[str, dict[str, Any]]:
    """For every key that two presets set differently: preset -> value (None when it leaves it alone)."""
    presets = load_presets()
    chosen = [presets[n] for n in (names or list(presets))]
    resolved = {p.name: p.resolve(proxy_mode).values for p in chosen}
    keys: list[str] = []
    for vals in resolved.values():
        keys += [k for k in vals if k not in keys]
    out = {}
    for k in keys:
        seen = {n: v.get(k) for n, v in resolved.items()}
        distinct = {repr(v) for v in seen.values() if v is not None}
        if len(distinct) > 1:
            out[k] = seen
    return out
