"""Where a cluster gets its packages and images: mirrors, a package repository, an HTTP proxy.

Plan fields (all optional; unset means the public default, registry.k8s.io and pkgs.k8s.io):

    image_repository: registry.example.cn/google_containers
    package_repository: https://mirror.example.cn/kubernetes-new/core/stable
    registry_mirrors: {registry.k8s.io: ["https://k8s.example.cn"], docker.io: ["https://hub.example.cn"]}
    proxy: {http: "http://proxy:3128", https: "http://proxy:3128", no_proxy: [".corp"]}

Every value here ends up in a file on the hosts (hosts.toml, a systemd drop-in, an apt source) or
in a shell command, so each is checked whole and ASCII-only at the edge: a URL is http(s) with a
host and no space, quote or control character; a registry is a host name (with a dot, or
``localhost``) and an optional port.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from .hosts import check_address

PUBLIC_IMAGE_REPOSITORY = "registry.k8s.io"
PUBLIC_PACKAGE_REPOSITORY = "https://pkgs.k8s.io/core:/stable:"
# characters a URL or repository may hold here: RFC 3986's unreserved, reserved and '%'
# (no space, quote, backslash, backtick, '$' is allowed by RFC 3986 but refused: it reaches shells)
URL_CHARS_RE = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!&'()*+,;=%-]+", re.ASCII)
REGISTRY_RE = re.compile(r"(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)(?::[0-9]{1,5})?", re.ASCII)
REPO_PATH_RE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*", re.ASCII)
NO_PROXY_ENTRY_RE = re.compile(r"\.?[A-Za-z0-9*](?:[A-Za-z0-9.:/*-]{0,252})", re.ASCII)
MAX_URL = 2048


def check_url(v: str, what: str = "URL") -> str:
    """An http:// or https:// URL with a host, as one ASCII token; returned without a trailing '/'."""
    v = str(v).strip()
    if not v:
        raise ValueError(f"{what} is empty")
    if len(v) > MAX_URL:
        raise ValueError(f"{what} is at most {MAX_URL} characters (got {len(v)})")
    if not URL_CHARS_RE.fullmatch(v) or "'" in v:
        bad = next((c for c in v if not URL_CHARS_RE.fullmatch(c) or c == "'"), "?")
        raise ValueError(f"{what} {v!r} has a character a URL cannot hold here ({bad!r}); "
                         "spaces, quotes and non-ASCII characters must be percent-encoded")
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{what} {v!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"{what} {v!r} has no host name")
    try:
        check_address(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port outside 0..65535
    except ValueError as e:
        raise ValueError(f"{what} {v!r}: {e}") from None
    return v.rstrip("/")


def check_registry(v: str) -> str:
    """A registry as containerd names it: a host with a dot (or localhost) and an optional port."""
    v = str(v).strip()
    if not REGISTRY_RE.fullmatch(v):
        raise ValueError(f"{v!r} is not a registry host name (like registry.k8s.io, docker.io or "
                         "registry.example.cn:5000); a registry name has a dot or is localhost")
    return v.lower()


def check_image_repository(v: str) -> str:
    """``registry[:port]/path`` without a scheme, as kubeadm's imageRepository takes it."""
    v = str(v).strip().rstrip("/")
    if "://" in v:
        raise ValueError(f"{v!r}: an image repository has no scheme (write registry.example.cn/google_containers)")
    registry, _, path = v.partition("/")
    check_registry(registry)
    if path and not REPO_PATH_RE.fullmatch(path):
        raise ValueError(f"{v!r}: the path after the registry is lower-case letters, digits, '.', '_', '-' and '/'")
    return v


def check_registry_mirrors(v: dict[str, list[str]]) -> dict[str, list[str]]:
    """Registry names checked and lower-cased; each with at least one mirror (URLs checked by type)."""
    out: dict[str, list[str]] = {}
    for registry, endpoints in v.items():
        name = check_registry(registry)
        if not endpoints:
            raise ValueError(f"{registry}: give at least one mirror URL")
        out[name] = endpoints
    return out


def _check_no_proxy(v: str) -> str:
    v = str(v).strip()
    if not NO_PROXY_ENTRY_RE.fullmatch(v):
        raise ValueError(f"no_proxy entry {v!r} is not a host, domain (.corp), address or CIDR "
                         "(ASCII letters, digits, '.', ':', '/', '*', '-'; no space or comma)")
    return v


Url = Annotated[str, AfterValidator(check_url)]
NoProxyEntry = Annotated[str, AfterValidator(_check_no_proxy)]


class ProxySettings(BaseModel):
    """The HTTP proxy hosts use for packages and images (containerd, kubelet, apt/dnf)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    http: Url | None = None
    https: Url | None = None
    no_proxy: list[NoProxyEntry] = Field(default_factory=list, max_length=256)

    @property
    def enabled(self) -> bool:
        return bool(self.http or self.https)


class NetworkSettings(BaseModel):
    """The four plan fields together, for code that takes all of them (hostprep, renderers)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    image_repository: str | None = None
    package_repository: Url | None = None
    registry_mirrors: dict[str, list[Url]] = Field(default_factory=dict)
    proxy: ProxySettings | None = None

    @field_validator("image_repository")
    @classmethod
    def _image_repository(cls, v: str | None) -> str | None:
        return None if v is None or not str(v).strip() else check_image_repository(v)

    @field_validator("registry_mirrors")
    @classmethod
    def _mirrors(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return check_registry_mirrors(v)

    @property
    def image_registry(self) -> str:
        """The registry images come from: the image repository's, or registry.k8s.io."""
        return (self.image_repository or PUBLIC_IMAGE_REPOSITORY).split("/", 1)[0]


# --------------------------------------------------------------------- helpers for the host files

# the server containerd asks when no mirror has an image: https://<registry>, except Docker Hub,
# whose API is registry-1.docker.io (containerd docs/hosts.md, "server" field and its docker.io example:
# https://github.com/containerd/containerd/blob/main/docs/hosts.md)
UPSTREAM_SERVERS = {"docker.io": "https://registry-1.docker.io"}
# NO_PROXY entries every host gets, whatever the plan says: this host itself
ALWAYS_NO_PROXY = ("localhost", "127.0.0.1", "::1")


def upstream_server(registry: str) -> str:
    return UPSTREAM_SERVERS.get(registry, f"https://{registry}")


def endpoint_host(endpoint: str | None) -> str | None:
    """The host part of ``host[:port]`` or ``[v6]:port``."""
    if not endpoint:
        return None
    if endpoint.startswith("["):
        return endpoint[1:].split("]", 1)[0]
    if endpoint.count(":") == 1:
        return endpoint.split(":", 1)[0]
    return endpoint


def cluster_no_proxy(user: list[str], *, pod_cidr: str, service_cidr: str, endpoint: str | None,
                     hosts: list[tuple[str, str]]) -> list[str]:
    """NO_PROXY for a cluster's hosts: this host (localhost, 127.0.0.1, ::1), the pod and service
    networks, the control-plane endpoint's host, every host's address and name, then the user's
    entries; each once, in that order."""
    out: list[str] = []
    for v in (*ALWAYS_NO_PROXY, pod_cidr, service_cidr, endpoint_host(endpoint),
              *(x for name, address in hosts for x in (address, name)), *user):
        if v and v not in out:
            out.append(v)
    return out


def proxy_for_url(proxy: ProxySettings | None, url: str) -> str | None:
    """The proxy a request to ``url`` goes through: https for https:// URLs (else http), None without one."""
    if proxy is None:
        return None
    if url.startswith("https://"):
        return proxy.https or proxy.http
    return proxy.http or proxy.https
