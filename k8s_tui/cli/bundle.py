"""``k8s-tui bundle``: offline bundles for hosts that cannot reach pkgs.k8s.io or registry.k8s.io.

    k8s-tui bundle --list [--version 1.33.0] [--tool kubeadm]   what a bundle must hold
    k8s-tui bundle check DIR                                   manifest, checksums, what is missing
    k8s-tui bundle init DIR --version 1.33.0                   write DIR/manifest.yaml for the files

Exit 0 when all is well, 1 when a bundle is incomplete or damaged (or the version is not in the
image table), 2 for bad input. A plan uses a bundle with ``offline_bundle: DIR``; the run copies it
to every host and installs it (hostprep/offline.py).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.text import Text

from ..model.bundle import (
    MANIFEST,
    PACKAGES,
    check_bundle,
    image_source,
    init_manifest,
    known_versions,
    manifest_yaml,
    required_images,
)
from ..model.network import check_image_repository
from ..model.plan import K8S_VERSION_RE, ClusterPlan
from ..yamlio import InputError


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bundle",
        help="offline bundles: what one must hold (--list), check one, write its manifest",
        description="An offline bundle is a folder of .deb/.rpm packages and image tarballs with a manifest.yaml "
                    "(sha256 per file). A plan with offline_bundle: DIR copies it to every host and installs it.",
    )
    p.add_argument("--list", action="store_true", help="print what a bundle for --version must hold")
    p.add_argument("--version", metavar="X.Y.Z", help=f"Kubernetes version (default {ClusterPlan().kubernetes_version})")
    p.add_argument("--tool", metavar="TOOL", default="kubeadm", help="deployment tool (only kubeadm)")
    p.add_argument("--image-repository", metavar="REPO", help="the plan's image_repository (default registry.k8s.io)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_bundle, bundle_command=None)
    sub = p.add_subparsers(dest="bundle_command", metavar="ACTION")
    c = sub.add_parser("check", help="check a bundle folder: manifest, checksums, what is missing")
    c.add_argument("dir", metavar="DIR")
    c.add_argument("--image-repository", metavar="REPO", help="the plan's image_repository (default registry.k8s.io)")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_check)
    i = sub.add_parser("init", help="write DIR/manifest.yaml for the .deb, .rpm and .tar files in DIR")
    i.add_argument("dir", metavar="DIR")
    i.add_argument("--version", metavar="X.Y.Z", required=True, help="the Kubernetes version the files are for")
    i.add_argument("--force", action="store_true", help="replace an existing manifest")
    i.set_defaults(func=cmd_init)


def _version(text: str | None) -> str:
    v = (text or ClusterPlan().kubernetes_version).strip().lstrip("v")
    if not K8S_VERSION_RE.fullmatch(v) or v.count(".") != 2:
        raise InputError(f"--version: {text!r} is not a Kubernetes version like 1.33.0 (a patch release: images are tagged per patch)")
    return v


def _repo(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return check_image_repository(text)
    except ValueError as e:
        raise InputError(f"--image-repository: {e}") from None


def cmd_bundle(args: argparse.Namespace) -> int:
    if not args.list:
        raise InputError("bundle: give --list, or an action: check DIR, init DIR --version X.Y.Z")
    if args.tool != "kubeadm":
        raise InputError(f"--tool: {args.tool!r}: only kubeadm bundles are described here "
                         "(kubespray and kubeasz bring their own offline tooling)")
    version = _version(args.version)
    repo = _repo(args.image_repository)
    minor = version.rsplit(".", 1)[0]
    images = required_images(version, repo)
    src = image_source(version)
    doc = {
        "version": version,
        "packages": {
            "deb": [f"{p} (.deb from pkgs.k8s.io/core:/stable:/v{minor}/deb/)" for p in PACKAGES],
            "rpm": [f"{p} (.rpm from pkgs.k8s.io/core:/stable:/v{minor}/rpm/)" for p in PACKAGES],
        },
        "images": images,
        "images_source": src,
        "known_versions": known_versions(),
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0 if images is not None else 1
    out = Console(highlight=False, soft_wrap=True)
    out.print(Text(f"An offline bundle for Kubernetes {version} (kubeadm) holds:", style="bold"))
    out.print(Text("\nPackages, for deb hosts or for rpm hosts (or both):", style="bold"))
    for p in PACKAGES:
        out.print(f"  {p:<16} .deb  from https://pkgs.k8s.io/core:/stable:/v{minor}/deb/")
    for p in PACKAGES:
        out.print(f"  {p:<16} .rpm  from https://pkgs.k8s.io/core:/stable:/v{minor}/rpm/")
    out.print(Text("\nImages (one tarball each, from `ctr images export` or `docker save`):", style="bold"))
    if images is None:
        out.print(Text(f"  Kubernetes {version} is not in k8s-tui's image table. Known: {', '.join(known_versions())}.\n"
                       f"  Run `kubeadm config images list --kubernetes-version v{version}` where kubeadm is installed.",
                       style="bold yellow"))
        return 1
    for ref in images:
        out.print(f"  {ref}")
    out.print(Text(f"\nsource: {src['source']}", style="dim"))
    if src.get("recorded"):
        out.print(Text(f"seen in: {src['recorded']}", style="dim"))
    out.print(Text(f"\nPut the files in a folder, run `k8s-tui bundle init DIR --version {version}`, then set "
                   "offline_bundle: DIR in the plan.", style="dim"))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    rep = check_bundle(args.dir, _repo(args.image_repository))
    if args.json:
        print(json.dumps({"ok": rep.ok, "folder": str(rep.folder), "version": rep.manifest.version if rep.manifest else None,
                          "files_checked": rep.checked, "problems": rep.problems, "missing": rep.missing,
                          "notes": rep.notes}, indent=2))
        return 0 if rep.ok else 1
    out = Console(highlight=False, soft_wrap=True)
    if rep.manifest is not None:
        out.print(f"{rep.folder}: Kubernetes {rep.manifest.version}, {len(rep.manifest.files)} files, "
                  f"{rep.checked} checksums verified")
    for p in rep.problems:
        out.print(Text(f"problem: {p}", style="bold red"))
    for m in rep.missing:
        out.print(Text(f"missing: {m}", style="bold yellow"))
    for n in rep.notes:
        out.print(Text(f"note: {n}", style="dim"))
    out.print(Text("the bundle is complete" if rep.ok else "the bundle is not ready", style="bold green" if rep.ok else "bold red"))
    return 0 if rep.ok else 1


def cmd_init(args: argparse.Namespace) -> int:
    version = _version(args.version)
    from pathlib import Path

    d = Path(args.dir).expanduser()
    target = d / MANIFEST
    if target.exists() and not args.force:
        raise InputError(f"{target}: already exists (--force replaces it)")
    m = init_manifest(d, version)
    tmp = target.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(manifest_yaml(m), encoding="utf-8")
    tmp.replace(target)
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"wrote {target}: {len(m.files)} files")
    for f in m.files:
        what = f.package if f.kind == "package" else (", ".join(f.images) or "no image names found: add images: [...]")
        out.print(f"  {f.kind:<8} {f.path}  {what}")
    return 0
