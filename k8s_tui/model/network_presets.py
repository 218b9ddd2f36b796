"""Network presets (presets/network/*.yaml, shipped in the wheel with the sysctl presets): values
for image_repository, package_repository and registry_mirrors, each with the public page of the
operator that documents it. Every value is checked like a plan field when the preset loads."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..yamlio import InputError, load_yaml
from .network import check_image_repository, check_registry, check_url
from .presets import presets_dir


class Sourced(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str | list[str]
    source: str

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        return check_url(v, "source")


class NetworkPresetValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_repository: Sourced | None = None
    package_repository: Sourced | None = None
    registry_mirrors: dict[str, Sourced] = Field(default_factory=dict)


class NetworkPreset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    title: str
    description: dict[str, str]
    values: NetworkPresetValues

    def fields(self) -> dict[str, object]:
        """The plan fields it sets: image_repository, package_repository, registry_mirrors."""
        v = self.values
        out: dict[str, object] = {}
        if v.image_repository is not None:
            out["image_repository"] = v.image_repository.value
        if v.package_repository is not None:
            out["package_repository"] = v.package_repository.value
        if v.registry_mirrors:
            out["registry_mirrors"] = {r: list(s.value) if isinstance(s.value, list) else [s.value]
                                       for r, s in v.registry_mirrors.items()}
        return out

    def sources(self) -> list[tuple[str, str, str]]:
        """(field, value, source URL) for every value, in the order shown."""
        v = self.values
        out = []
        if v.image_repository is not None:
            out.append(("image_repository", str(v.image_repository.value), v.image_repository.source))
        if v.package_repository is not None:
            out.append(("package_repository", str(v.package_repository.value), v.package_repository.source))
        for r, s in v.registry_mirrors.items():
            vals = s.value if isinstance(s.value, list) else [s.value]
            out.append((f"registry_mirrors.{r}", ", ".join(vals), s.source))
        return out


def network_presets_dir() -> Path:
    return presets_dir() / "network"


def _check(p: NetworkPreset, source: str) -> None:
    v = p.values
    try:
        if v.image_repository is not None:
            check_image_repository(str(v.image_repository.value))
        if v.package_repository is not None:
            check_url(str(v.package_repository.value), "package_repository")
        for r, s in v.registry_mirrors.items():
            check_registry(r)
            for u in (s.value if isinstance(s.value, list) else [s.value]):
                check_url(u, f"registry_mirrors.{r}")
    except ValueError as e:
        raise InputError(f"{source}: {e}") from None


def load_network_presets(directory: Path | None = None) -> dict[str, NetworkPreset]:
    out: dict[str, NetworkPreset] = {}
    for path in sorted((directory or network_presets_dir()).glob("*.yaml")):
        try:
            p = NetworkPreset.model_validate(load_yaml(path))
        except ValidationError as e:
            err = e.errors()[0]
            raise InputError(f"{path}: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}") from None
        p.name = path.stem
        _check(p, str(path))
        out[p.name] = p
    return out
