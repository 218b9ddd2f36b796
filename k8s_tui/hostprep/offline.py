"""Install the plan's offline bundle on each host: its packages and its image tarballs.

Only in a plan with ``offline_bundle: DIR`` (a folder ``k8s-tui bundle check`` accepts; see
model/bundle.py). It runs after the container runtime and before the package step, so the package
step finds kubeadm, kubelet and kubectl in place and kubeadm finds its images without pulling.

check   /var/lib/k8s-tui/bundle/installed holds this manifest's sha256: unchanged.
apply   the manifest's checksums verified here; the host's package files (.deb on Debian-family
        hosts, .rpm on RHEL-family ones) and every image tarball copied to
        /var/lib/k8s-tui/bundle/ (atomic, streamed: never whole in memory), checked again there with ``sha256sum -c``;
        ``dpkg -i`` / ``rpm -i --replacepkgs`` of the packages; ``ctr -n k8s.io images import``
        of each tarball (streamed); then the marker written.
verify  ``ctr -n k8s.io images ls -q`` lists every image the manifest names (VERIFY_SCRIPT; the
        dry run answers it from the tarballs it was asked to copy).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path, PurePosixPath

from ..engine.dryrun import SH_SIMULATIONS
from ..engine.steps import Step, StepContext, StepFailed, StepResult
from ..model.bundle import MANIFEST, BundleFile, BundleReport, Manifest, check_bundle, images_in_tar, load_manifest
from ..yamlio import InputError
from .facts import host_facts, run_script

BUNDLE_DIR_ON_HOST = "/var/lib/k8s-tui/bundle"
MARKER = f"{BUNDLE_DIR_ON_HOST}/installed"
VERIFY_NAME = "bundle-images"
# image references as arguments; prints missing=REF for each one containerd does not list
VERIFY_SCRIPT = r"""# k8s-tui bundle images: which of the arguments containerd (namespace k8s.io) lacks
have=$(ctr -n k8s.io images ls -q) || exit 1
for ref in "$@"; do
  printf '%s\n' "$have" | grep -qxF -- "$ref" || echo "missing=$ref"
done
echo end=1
"""


def _simulate_verify(ex: object, host: object, sim: object, args: list[str]) -> tuple[list[tuple[str, str]], int]:
    """VERIFY_SCRIPT on the dry-run executor: a tarball the run copied to the host counts as
    imported (the dry run's ctr import succeeds and prints nothing), so its images are listed."""
    have: set[str] = set()
    for path, (source, _, _) in getattr(sim, "uploads", {}).items():
        if path.startswith(BUNDLE_DIR_ON_HOST + "/") and path.endswith(".tar"):
            have.update(images_in_tar(Path(source)))
    return [("stdout", f"missing={r}") for r in args if r not in have] + [("stdout", "end=1")], 0


SH_SIMULATIONS["k8s-tui-" + VERIFY_NAME] = _simulate_verify


def manifest_digest(folder: str | Path) -> str:
    return hashlib.sha256((Path(folder).expanduser() / MANIFEST).read_bytes()).hexdigest()


def files_for(m: Manifest, family: str) -> tuple[list[BundleFile], list[BundleFile]]:
    """(packages for this host's family, image tarballs)."""
    fmt = {"debian": "deb", "rhel": "rpm"}.get(family)
    if fmt is None:  # facts unknown: whichever format the bundle has (deb first)
        fmt = "deb" if any(f.format == "deb" for f in m.files) else "rpm"
    pkgs = [f for f in m.files if f.kind == "package" and f.format == fmt]
    return pkgs, [f for f in m.files if f.kind == "image"]


def _folder_signature(folder: str) -> tuple:
    """Size and modification time of every file under the folder: what a second check compares."""
    out = []
    for p in sorted(Path(folder).expanduser().rglob("*")):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


def remote_path(f: BundleFile) -> str:
    return f"{BUNDLE_DIR_ON_HOST}/{PurePosixPath(f.path).as_posix()}"


class OfflineBundleStep(Step):
    id = "offline-bundle"
    title = "Offline bundle"
    why = "Copy the plan's offline bundle (packages and image tarballs) to the host and install it, so nothing has to come from pkgs.k8s.io or registry.k8s.io."

    def __init__(self, folder: str | None = None):
        self.folder = folder  # None: the plan's offline_bundle
        # one check of the bundle (a sha256 of every file: gigabytes) serves every host of a run;
        # a retry after the folder changed (sizes, times, manifest) checks again
        self._check_lock = threading.Lock()
        self._checked: tuple[tuple, BundleReport] | None = None

    def _check_bundle(self, folder: str, image_repository: str | None) -> BundleReport:
        """Blocking (run in a thread): hosts arriving while one checks wait for its answer."""
        with self._check_lock:
            key = (folder, image_repository, _folder_signature(folder))
            if self._checked is None or self._checked[0] != key:
                self._checked = (key, check_bundle(folder, image_repository))
            return self._checked[1]

    def _folder(self, ctx: StepContext) -> str | None:
        return self.folder or (ctx.plan.offline_bundle if ctx.plan is not None else None)

    async def check(self, ctx: StepContext) -> StepResult | bool:
        folder = self._folder(ctx)
        if not folder:
            return StepResult.unchanged("no offline bundle in the plan")
        try:
            digest = manifest_digest(folder)
        except OSError as e:
            raise StepFailed(f"cannot read the bundle's manifest in {folder}: {e.strerror or e}",
                             "check offline_bundle in the plan (k8s-tui bundle check DIR)") from None
        ctx.scratch["digest"] = digest
        have = await ctx.read_file(MARKER)
        if have is not None and have.decode(errors="replace").strip() == digest:
            return StepResult.unchanged(f"the bundle from {folder} is installed")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        folder = self._folder(ctx)
        assert folder
        rep = await asyncio.to_thread(self._check_bundle, folder, ctx.plan.image_repository if ctx.plan is not None else None)
        if rep.problems:
            raise StepFailed(f"the offline bundle {folder} cannot be used: {rep.problems[0]}",
                             f"run `k8s-tui bundle check {folder}` and fix what it lists")
        for m in rep.missing:
            ctx.log(f"the bundle lacks {m}")
        try:
            manifest = load_manifest(folder)
        except InputError as e:
            raise StepFailed(str(e), f"run `k8s-tui bundle check {folder}`") from None
        f = host_facts(ctx)
        pkgs, images = files_for(manifest, f.family if f is not None else "other")
        copy = [*pkgs, *images]
        dirs = sorted({str(PurePosixPath(remote_path(x)).parent) for x in copy} | {BUNDLE_DIR_ON_HOST})
        await ctx.run(["mkdir", "-p", "-m", "0755", *dirs])
        base = Path(folder).expanduser()
        for x in copy:
            await ctx.upload_file(remote_path(x), str(base / x.path), mode=0o644, sha256=x.sha256)  # verified above
        if copy:
            sums = "".join(f"{x.sha256}  {remote_path(x)}\n" for x in copy).encode()
            await ctx.run(["sha256sum", "-c", "--strict", "-"], stdin=sums,
                          hint="a file changed on the way to the host: retry; if it fails again, check the disk on the host")
        if pkgs:
            paths = [remote_path(x) for x in pkgs]
            hint = "a package the bundle's packages depend on is missing from the host: add its file to the bundle"
            if pkgs[0].format == "deb":
                await ctx.run(["env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "-i", *paths], timeout=900, hint=hint)
            else:
                await ctx.run(["rpm", "-i", "--replacepkgs", *paths], timeout=900, hint=hint)
        else:
            ctx.log("the bundle has no packages for this host's package format: they come from the repository")
        for x in images:
            await ctx.run(["ctr", "-n", "k8s.io", "images", "import", remote_path(x)], timeout=900,
                          hint="containerd must be running (the runtime step starts it); is the tarball an image archive?")
        await ctx.write_file(MARKER, ctx.scratch.get("digest", manifest_digest(folder)) + "\n", backup=False)
        return StepResult.changed(f"installed {len(pkgs)} package file(s), imported {len(images)} image tarball(s) from {folder}")

    async def verify(self, ctx: StepContext) -> None:
        folder = self._folder(ctx)
        if not folder:
            return
        manifest = load_manifest(folder)
        wanted = [ref for x in manifest.files if x.kind == "image" for ref in x.images]
        if not wanted:
            return
        res = await run_script(ctx, VERIFY_NAME, VERIFY_SCRIPT, wanted)
        lost = [ln[8:] for ln in res.stdout.splitlines() if ln.startswith("missing=")]
        if res.exit_status != 0 and not lost:
            raise StepFailed(f"could not list containerd's images: {(res.stderr or res.stdout).strip()[-300:]}",
                             "is containerd running? `ctr -n k8s.io images ls` on the host shows why")
        if lost:
            raise StepFailed(f"containerd does not list {', '.join(lost)} after the import",
                             "look at the import output above; the tarball may hold other names than the manifest says")
