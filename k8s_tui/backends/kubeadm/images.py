"""Pull kubeadm's images on every host before ``kubeadm init``/``join``.

``kubeadm init`` pulls its images itself, deep in its preflight phase, and a registry it cannot
reach shows up there as a wall of ``[ERROR ImagePull]`` lines (or, for the pause image, as a
kubelet that never starts). Pulling first, with ``kubeadm config images pull --config FILE``
(FILE: the plan's version, CRI socket and ``image_repository``; ``config.render_images_config``),
makes that the first thing to fail, on the host where it fails, with a hint that names the
registry. kubeadm prints one ``[config/images] Pulled <image>`` line per image as it goes; each
comes through as its own output line of this step while the pull runs, and is logged as
``pulled N/7``.

Workers pull the same list as control planes: kubeadm has no worker subset (a worker needs
kube-proxy, pause and, where CoreDNS lands, coredns); the control-plane images cost a worker disk
space, not a failure.

check   the host is already a node (kubelet.conf exists), or the plan installs from an offline
        bundle (its images were imported from tarballs by the offline-bundle step, and a pull
        would ask a registry an offline host cannot reach): unchanged.
apply   write /etc/kubernetes/k8s-tui/images.yaml, run the pull.
verify  nothing more (kubeadm's exit status said it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...engine.events import OutputLine
from ...engine.steps import Step, StepContext, StepFailed, StepResult
from ...hostprep.facts import K8S_TUI_DIR, KUBELET_CONF
from ...model.network import PUBLIC_IMAGE_REPOSITORY
from .config import images_pull_args, render_images_config

if TYPE_CHECKING:
    from ...model.plan import ClusterPlan

IMAGES_CONFIG = f"{K8S_TUI_DIR}/images.yaml"
PULL_TIMEOUT = 1800.0  # seven images, some hundreds of MB, on a slow mirror
PULLED_RE = re.compile(r"^\[config/images\] Pulled (\S+)\s*$")
# kubeadm's failure line: 'failed to pull image "X": ...' (older) or 'failed to pull image X: ...'
FAILED_RE = re.compile(r"failed to pull image \"?([^\s\"]+)")
N_IMAGES = 7  # kube-apiserver, -controller-manager, -scheduler, kube-proxy, coredns, pause, etcd


def image_registry(image: str) -> str:
    """The registry of an image reference (its first path part when that looks like a host)."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def pull_hint(plan: ClusterPlan | None, image: str | None) -> str:
    repo = (plan.image_repository if plan is not None else None) or PUBLIC_IMAGE_REPOSITORY
    registry = image_registry(image) if image else repo.split("/", 1)[0]
    what = f"this host could not pull {image} from {registry}" if image else f"this host could not pull kubeadm's images from {registry}"
    tips = []
    if plan is not None and plan.proxy is not None and plan.proxy.enabled:
        tips.append(f"check that the plan's proxy ({plan.proxy.https or plan.proxy.http}) lets the host reach {registry}")
    else:
        tips.append("set the plan's proxy if the hosts reach the internet only through one")
    if plan is None or not plan.image_repository:
        tips.append("set image_repository to a registry the hosts can reach that holds kubeadm's images "
                    "(a mirror of registry.k8s.io)")
    else:
        tips.append(f"check that {plan.image_repository} holds {image or 'these images'}, or change image_repository")
    tips.append(f"set registry_mirrors for {registry}")
    tips.append("or install offline from a bundle of image tarballs")
    return what + ": " + "; ".join(tips)


class _PullWatch:
    """Counts the ``Pulled`` lines of this host and step as they arrive."""

    def __init__(self, ctx: StepContext):
        self.ctx = ctx
        self.pulled: list[str] = []
        self.failed: str | None = None
        self._unsub: Any = None

    def __call__(self, ev: Any) -> None:
        if not isinstance(ev, OutputLine) or ev.host != self.ctx.host.name or ev.step_id != self.ctx.step_id:
            return
        if ev.stream not in ("stdout", "stderr"):
            return
        m = PULLED_RE.match(ev.text.strip())
        if m:
            self.pulled.append(m.group(1))
            self.ctx.log(f"pulled {len(self.pulled)}/{N_IMAGES}: {m.group(1)}")
            return
        f = FAILED_RE.search(ev.text)
        if f and self.failed is None:
            self.failed = f.group(1).rstrip(":")

    def __enter__(self) -> _PullWatch:
        self._unsub = self.ctx.bus.subscribe(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._unsub is not None:
            self._unsub()


class ImagePullStep(Step):
    id = "pull-images"
    title = "Pull kubeadm's images"
    why = "Pull the control-plane, kube-proxy, CoreDNS and pause images before kubeadm init/join, so an unreachable registry fails early with a hint."

    async def check(self, ctx: StepContext) -> StepResult | bool:
        bundle = getattr(ctx.plan, "offline_bundle", None)
        if bundle:
            return StepResult.unchanged(f"the images come from the offline bundle {bundle} (imported by the offline-bundle step)")
        res = await ctx.run(["test", "-e", KUBELET_CONF], check=False)
        if res.ok:
            return StepResult.unchanged(f"already a node of the cluster ({KUBELET_CONF} exists): its images are in place")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        plan = ctx.plan
        if plan is None:
            return StepResult.unchanged("no plan: nothing to pull")
        await ctx.run(["mkdir", "-p", "-m", "0700", K8S_TUI_DIR])
        await ctx.write_file(IMAGES_CONFIG, render_images_config(plan, ctx.host), mode=0o600)
        with _PullWatch(ctx) as watch:
            res = await ctx.run(images_pull_args(IMAGES_CONFIG), timeout=PULL_TIMEOUT, check=False)
        if not res.ok:
            failed = watch.failed
            if failed is None:
                m = FAILED_RE.search(res.stdout + "\n" + res.stderr)
                failed = m.group(1).rstrip(":") if m else None
            done = f" after {len(watch.pulled)} of {N_IMAGES} images" if watch.pulled else ""
            raise StepFailed(f"kubeadm config images pull failed{done}" + (f": {failed}" if failed else "")
                             + f" (exit status {res.exit_status})", pull_hint(plan, failed))
        repo = plan.image_repository or PUBLIC_IMAGE_REPOSITORY
        return StepResult.changed(f"pulled {len(watch.pulled)} images from {repo}")
