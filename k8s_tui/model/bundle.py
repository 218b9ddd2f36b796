"""An offline bundle: a folder of package files and image tarballs with a manifest, for hosts that
cannot reach pkgs.k8s.io or registry.k8s.io.

DIR/manifest.yaml::

    version: 1.33.0                 # the Kubernetes version the bundle is for
    files:
      - path: debs/kubeadm_1.33.0-1.1_amd64.deb
        sha256: 3f1c...             # 64 hex digits
        kind: package               # package | image
        name: kubeadm               # packages: the package name (from the file name when left out)
      - path: images/kube-apiserver.tar
        sha256: 9ab0...
        kind: image
        images: [registry.k8s.io/kube-apiserver:v1.33.0]   # what the tarball holds

``required(version)`` is what a bundle for that version must hold (the packages for deb and rpm
hosts, the images ``kubeadm config images list`` prints: data/kubeadm_images.yaml, each version
with its source); ``check_bundle(dir)`` reads a folder and says what is wrong or missing;
``init_manifest(dir, version)`` writes a manifest for the files present.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..yamlio import InputError, dump_yaml, load_yaml
from .network import PUBLIC_IMAGE_REPOSITORY, check_image_repository

MANIFEST = "manifest.yaml"
PACKAGES = ("kubeadm", "kubelet", "kubectl", "cri-tools", "kubernetes-cni")
KUBE_IMAGES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")
DATA = Path(str(resources.files("k8s_tui.model") / "data" / "kubeadm_images.yaml"))
SHA256_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
# a bundle path: relative, plain names (no '..', no leading '-', no shell characters)
PATH_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+~:-]{0,200}", re.ASCII)
IMAGE_REF_RE = re.compile(r"[a-z0-9.:-]+(?:/[a-z0-9._-]+)+:[A-Za-z0-9._-]{1,128}", re.ASCII)
# kubeadm_1.33.0-1.1_amd64.deb / kubeadm-1.33.0-150500.1.1.x86_64.rpm
DEB_NAME_RE = re.compile(r"^([a-z0-9][a-z0-9+.-]*)_([^_]+)_([a-z0-9]+)\.deb$")
RPM_NAME_RE = re.compile(r"^([a-z0-9][a-z0-9+._-]*?)-([0-9][^-]*)-([^-]+)\.([a-z0-9_]+)\.rpm$")


def check_bundle_path(v: str) -> str:
    v = str(v).strip()
    parts = PurePosixPath(v).parts
    if not v or v.startswith("/") or not parts or not all(PATH_PART_RE.fullmatch(p) for p in parts):
        raise ValueError(f"{v!r} is not a plain relative path inside the bundle (letters, digits, '._+~:-', no '..')")
    return v


class BundleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str
    kind: Literal["package", "image"]
    name: str | None = None  # packages: kubeadm, kubelet, ...
    images: list[str] = Field(default_factory=list)  # image tarballs: the references inside

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return check_bundle_path(v)

    @field_validator("sha256", mode="before")
    @classmethod
    def _sha(cls, v: object) -> str:
        if not isinstance(v, str):  # all digits (or digits and one 'e'): YAML read a number
            raise ValueError("write the sha256 in quotes: YAML read it as a number")
        v = v.strip().lower()
        if not SHA256_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a sha256 (64 hex digits)")
        return v

    @field_validator("images")
    @classmethod
    def _images(cls, v: list[str]) -> list[str]:
        for ref in v:
            if not IMAGE_REF_RE.fullmatch(ref):
                raise ValueError(f"{ref!r} is not an image reference like registry.k8s.io/pause:3.10")
        return v

    @property
    def format(self) -> str:
        """deb | rpm | tar"""
        return self.path.rsplit(".", 1)[-1] if "." in self.path else ""

    @property
    def package(self) -> str | None:
        return self.name or package_name(PurePosixPath(self.path).name)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    files: list[BundleFile] = Field(default_factory=list, max_length=10000)

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        v = str(v).strip().lstrip("v")
        if not re.fullmatch(r"1\.\d+\.\d+", v, re.ASCII):
            raise ValueError(f"{v!r} is not a Kubernetes version like 1.33.0")
        return v


def package_name(filename: str) -> str | None:
    m = DEB_NAME_RE.match(filename) or RPM_NAME_RE.match(filename)
    return m.group(1) if m else None


@lru_cache(maxsize=1)
def image_table() -> dict[str, dict]:
    doc = load_yaml(DATA)
    return {str(k): v for k, v in (doc.get("versions") or {}).items()}


def known_versions() -> list[str]:
    return sorted(image_table(), key=lambda v: tuple(int(x) for x in v.split(".")), reverse=True)


def required_images(version: str, image_repository: str | None = None) -> list[str] | None:
    """The images kubeadm lists for the version (None when the version is not in the table)."""
    entry = image_table().get(version.lstrip("v"))
    if entry is None:
        return None
    tags = entry["images"]
    repo = check_image_repository(image_repository) if image_repository else PUBLIC_IMAGE_REPOSITORY
    coredns = f"{repo}/coredns/coredns" if repo == PUBLIC_IMAGE_REPOSITORY else f"{repo}/coredns"
    return [*(f"{repo}/{n}:{tags['kube']}" for n in KUBE_IMAGES), f"{coredns}:{tags['coredns']}",
            f"{repo}/pause:{tags['pause']}", f"{repo}/etcd:{tags['etcd']}"]


def image_source(version: str) -> dict[str, str] | None:
    entry = image_table().get(version.lstrip("v"))
    return None if entry is None else {"source": entry["source"], "recorded": entry.get("recorded", "")}


def load_manifest(folder: str | Path) -> Manifest:
    d = Path(folder).expanduser()
    path = d / MANIFEST
    if not d.is_dir():
        raise InputError(f"{d}: not a folder")
    if not path.is_file():
        raise InputError(f"{path}: no manifest (k8s-tui bundle init {d} --version X.Y.Z writes one)")
    doc = load_yaml(path)
    try:
        return Manifest.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{path}: {where}: {err['msg'].removeprefix('Value error, ')}") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def images_in_tar(path: Path) -> list[str]:
    try:
        return _images_in_tarfile(tarfile.open(path))
    except (tarfile.TarError, OSError, ValueError):
        return []


def _images_in_tarfile(tf: tarfile.TarFile) -> list[str]:
    """The image references an image tarball holds: docker-archive manifest.json RepoTags, or the
    OCI index.json's io.containerd.image.name / org.opencontainers.image.ref.name annotations."""
    refs: list[str] = []
    try:
        with tf:
            names = set(tf.getnames())
            if "manifest.json" in names:
                doc = json.load(tf.extractfile("manifest.json"))
                for m in doc if isinstance(doc, list) else []:
                    refs += [str(t) for t in m.get("RepoTags") or []]
            if not refs and "index.json" in names:
                doc = json.load(tf.extractfile("index.json"))
                for m in doc.get("manifests", []):
                    ann = m.get("annotations") or {}
                    ref = ann.get("io.containerd.image.name") or ann.get("org.opencontainers.image.ref.name")
                    if ref and "/" in ref:
                        refs.append(str(ref))
    except (tarfile.TarError, OSError, ValueError, AttributeError):
        return []
    return [r for r in refs if IMAGE_REF_RE.fullmatch(r)]


@dataclass
class BundleReport:
    folder: Path
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)  # the bundle cannot be used as it is
    missing: list[str] = field(default_factory=list)  # required for the version, not in the bundle
    notes: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not self.problems and not self.missing


def check_bundle(folder: str | Path, image_repository: str | None = None) -> BundleReport:
    """Read DIR/manifest.yaml, verify every file's sha256, and list what the version needs and the
    bundle lacks (packages for at least one of deb/rpm, and every image kubeadm lists)."""
    d = Path(folder).expanduser()
    rep = BundleReport(d)
    try:
        rep.manifest = load_manifest(d)
    except InputError as e:
        rep.problems.append(str(e))
        return rep
    m = rep.manifest
    root = d.resolve()
    for f in m.files:
        p = (d / f.path)
        try:
            if root not in p.resolve().parents:
                rep.problems.append(f"{f.path}: points outside the bundle")
                continue
        except OSError as e:
            rep.problems.append(f"{f.path}: {e.strerror or e}")
            continue
        if not p.is_file():
            rep.problems.append(f"{f.path}: listed in the manifest but not in the folder")
            continue
        got = sha256_file(p)
        rep.checked += 1
        if got != f.sha256:
            rep.problems.append(f"{f.path}: sha256 is {got}, the manifest says {f.sha256} (a damaged or replaced file)")
        if f.kind == "package" and f.format not in ("deb", "rpm"):
            rep.problems.append(f"{f.path}: a package is a .deb or .rpm file")
        if f.kind == "package" and f.package is None:
            rep.problems.append(f"{f.path}: cannot tell the package name from the file name; add name: to its entry")
        if f.kind == "image" and not f.images:
            rep.problems.append(f"{f.path}: an image tarball lists the images it holds (images: [...])")
    listed = {f.path for f in m.files}
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d).as_posix()
        if p.is_file() and rel != MANIFEST and rel not in listed:
            rep.notes.append(f"{rel}: in the folder but not in the manifest (not copied to the hosts)")
    # packages: a complete set for deb hosts or for rpm hosts
    have = {fmt: {f.package for f in m.files if f.kind == "package" and f.format == fmt} for fmt in ("deb", "rpm")}
    lacking = {fmt: [p for p in PACKAGES if p not in have[fmt]] for fmt in ("deb", "rpm")}
    if lacking["deb"] and lacking["rpm"]:
        for fmt in ("deb", "rpm"):
            if have[fmt]:
                rep.missing += [f"package {p} (.{fmt})" for p in lacking[fmt]]
        if not have["deb"] and not have["rpm"]:
            rep.missing += [f"package {p} (.deb or .rpm)" for p in PACKAGES]
    else:
        for fmt in ("deb", "rpm"):
            if not lacking[fmt]:
                rep.notes.append(f"packages for {fmt} hosts: complete")
    wanted = required_images(m.version, image_repository)
    if wanted is None:
        rep.notes.append(f"Kubernetes {m.version} is not in k8s-tui's image table ({', '.join(known_versions())}); "
                         "the images are not checked: compare with `kubeadm config images list --kubernetes-version "
                         f"v{m.version}` on a machine with kubeadm")
    else:
        held = {ref for f in m.files if f.kind == "image" for ref in f.images}
        by_tail = {r.split("/", 1)[-1]: r for r in held}
        for ref in wanted:
            if ref in held:
                continue
            other = next((h for t, h in by_tail.items() if t.endswith(ref.rsplit("/", 1)[-1])), None)
            extra = f" (the bundle has {other}: retag it, or set image_repository to match)" if other else ""
            rep.missing.append(f"image {ref}{extra}")
    return rep


def init_manifest(folder: str | Path, version: str) -> Manifest:
    """A manifest for the .deb, .rpm and .tar files under the folder (checksums computed, package
    names from the file names, image names from the tarballs)."""
    d = Path(folder).expanduser()
    if not d.is_dir():
        raise InputError(f"{d}: not a folder")
    files: list[BundleFile] = []
    for p in sorted(d.rglob("*")):
        if not p.is_file() or p.name == MANIFEST:
            continue
        rel = p.relative_to(d).as_posix()
        try:
            check_bundle_path(rel)
        except ValueError as e:
            raise InputError(f"{p}: {e}") from None
        if p.suffix in (".deb", ".rpm"):
            files.append(BundleFile(path=rel, sha256=sha256_file(p), kind="package", name=package_name(p.name)))
        elif p.suffix == ".tar":
            files.append(BundleFile(path=rel, sha256=sha256_file(p), kind="image", images=images_in_tar(p)))
    try:
        return Manifest(version=version, files=files)
    except ValidationError as e:
        raise InputError(f"--version: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def manifest_yaml(m: Manifest) -> str:
    return "# k8s-tui offline bundle manifest (k8s-tui bundle check DIR verifies it)\n" + dump_yaml(
        m.model_dump(mode="json", exclude_none=True, exclude_defaults=False))


def check_bundle_dir(v: str) -> str:
    """The plan's ``offline_bundle``: an existing folder with a readable manifest.yaml (its files'
    checksums are verified by ``k8s-tui bundle check`` and again on every host)."""
    text = str(v).strip()
    if any(ord(c) < 32 for c in text):
        raise ValueError(f"{text!r} has a control character")
    d = Path(text).expanduser()
    if not d.is_dir():
        raise ValueError(f"{text!r} is not an existing folder (an offline bundle is a folder with {MANIFEST})")
    try:
        load_manifest(d)
    except InputError as e:
        raise ValueError(str(e)) from None
    return text
