"""The wizard's Network section as text fields: what each shows, and what typing into one does to
the plan being edited (``state.base``, saved with the session). No Textual here.

Fields: image_repository, package_repository, registry_mirrors (``REGISTRY=URL[,URL]; ...``),
proxy.http, proxy.https, proxy.no_proxy (comma-separated), offline_bundle, and network_check (a
choice: warn, strict, off). A value is stored only when it passes the plan's own check; otherwise
the error names the field and the plan keeps its last good value.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..model.network import ProxySettings
from ..model.network_presets import NetworkPreset
from .state import WizardState

FIELDS = ("image_repository", "package_repository", "registry_mirrors", "proxy.http", "proxy.https",
          "proxy.no_proxy", "offline_bundle")
# the reachability check's modes as the form offers them: (value, what it does)
CHECK_MODES = (
    ("warn", "warn: report what fails, the run goes on"),
    ("strict", "strict: a failure stops that host before changes"),
    ("off", "off: no reachability check"),
)
PLACEHOLDERS = {
    "image_repository": "registry.k8s.io (default)",
    "package_repository": "https://pkgs.k8s.io/core:/stable: (default)",
    "registry_mirrors": "docker.io=https://mirror.example.cn; registry.k8s.io=https://k8s.example.cn",
    "proxy.http": "http://proxy.example:3128",
    "proxy.https": "http://proxy.example:3128",
    "proxy.no_proxy": ".corp, 10.0.0.0/8 (pod/service CIDRs and hosts are added)",
    "offline_bundle": "a folder with manifest.yaml (k8s-tui bundle --list)",
}


def mirrors_text(mirrors: dict[str, list[str]]) -> str:
    return "; ".join(f"{r}={','.join(urls)}" for r, urls in mirrors.items())


def parse_mirrors(text: str) -> dict[str, list[str]]:
    """``docker.io=https://a,https://b; quay.io=https://c`` -> {registry: [urls]} (checked later)."""
    out: dict[str, list[str]] = {}
    for part in text.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        reg, eq, urls = part.partition("=")
        if not eq or not reg.strip():
            raise ValueError(f"{part!r}: write REGISTRY=URL (e.g. docker.io=https://mirror.example.cn), entries separated by ';'")
        out.setdefault(reg.strip(), []).extend(u.strip() for u in urls.split(",") if u.strip())
    return out


def field_texts(state: WizardState) -> dict[str, str]:
    b = state.base
    p = b.proxy
    return {
        "image_repository": b.image_repository or "",
        "package_repository": b.package_repository or "",
        "registry_mirrors": mirrors_text(b.registry_mirrors),
        "proxy.http": (p.http or "") if p else "",
        "proxy.https": (p.https or "") if p else "",
        "proxy.no_proxy": ", ".join(p.no_proxy) if p else "",
        "offline_bundle": b.offline_bundle or "",
    }


def check_mode(state: WizardState) -> str:
    return state.base.network_check.value


def _message(field: str, e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"] if x not in ("value",))
        msg = err["msg"].removeprefix("Value error, ")
        where = field if not loc or loc in field else f"{field} ({loc})"
        return f"{where}: {msg}"
    return f"{field}: {e}"


def set_field(state: WizardState, field: str, text: str) -> str | None:
    """Store the typed value in the plan; the error (naming the field) when it is not valid."""
    if field not in FIELDS and field != "network_check":
        raise KeyError(field)
    text = text.strip()
    b = state.base
    try:
        if field == "network_check":
            b.network_check = text  # the plan's validator names the allowed modes
        elif field == "registry_mirrors":
            b.registry_mirrors = parse_mirrors(text)
        elif field.startswith("proxy."):
            cur = b.proxy.model_dump() if b.proxy else {"http": None, "https": None, "no_proxy": []}
            key = field.split(".", 1)[1]
            cur[key] = [x.strip() for x in text.split(",") if x.strip()] if key == "no_proxy" else (text or None)
            new = ProxySettings(**cur)
            b.proxy = new if (new.http or new.https or new.no_proxy) else None
        else:
            setattr(b, field, text or None)
    except (ValidationError, ValueError) as e:
        return _message(field, e)
    return None


def apply_network_preset(state: WizardState, preset: NetworkPreset) -> list[str]:
    """Fill the fields the preset has; returns one line per value with its source."""
    for k, v in preset.fields().items():
        setattr(state.base, k, v)
    return [f"{field}: {value}  (source: {src})" for field, value, src in preset.sources()]


def network_summary(state: WizardState) -> dict[str, Any]:
    return {k: v for k, v in field_texts(state).items() if v}
