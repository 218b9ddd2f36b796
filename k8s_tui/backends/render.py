"""Render a plan into the files each tool reads: ``k8s-tui render plan.yaml --tool T --out DIR``.

Every renderer is pure (plan in, ``RenderedFile`` list out) so golden tests compare text; only
``write_rendered`` touches the disk. The types and helpers the renderers share are in
``rendered.py``; the kubeadm files are rendered here.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..model.plan import ClusterPlan, Tool
from ..yamlio import InputError
from . import kops, kubeasz, kubespray
from .rendered import Rendered, RenderedFile, plan_sysctls, sysctl_header


def render(plan: ClusterPlan, tool: Tool | str) -> Rendered:
    tool = Tool(tool)
    if tool is Tool.kubespray:
        return kubespray.render(plan)
    if tool is Tool.kubeasz:
        return kubeasz.render(plan)
    if tool is Tool.kops:
        return kops.render(plan)
    return render_kubeadm(plan)


# ---------------------------------------------------------------------------------- kubeadm

# kernel modules a kubeadm node loads at boot (modules-load.d); the proxy mode adds its own
BASE_MODULES = ["overlay", "br_netfilter"]
PROXY_MODULES = {
    "ipvs": ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"],
    "nftables": ["nf_tables"],
    "iptables": [],
}
MODULES_FILE = "k8s-tui.conf"


def modules_for(plan: ClusterPlan) -> list[str]:
    mods = list(BASE_MODULES)
    for m in PROXY_MODULES.get(plan.kube_proxy_mode.value, []):
        if m not in mods:
            mods.append(m)
    return mods


def render_modules_conf(plan: ClusterPlan) -> str:
    lines = [
        f"# kernel modules for a Kubernetes node, written by k8s-tui for cluster {plan.name}",
        "# overlay: the container runtime's image layers; br_netfilter: bridge traffic through iptables",
    ]
    if plan.kube_proxy_mode.value == "ipvs":
        lines.append("# ip_vs*: kube-proxy in ipvs mode")
    elif plan.kube_proxy_mode.value == "nftables":
        lines.append("# nf_tables: kube-proxy in nftables mode")
    return "\n".join(lines + modules_for(plan)) + "\n"


def render_kubeadm(plan: ClusterPlan) -> Rendered:
    """The files ``k8s-tui apply`` lays on a kubeadm node, byte for byte where the host-prep steps
    are there: the sysctl file (kubeadm-minimum under the plan's values, as the kubeadm path
    applies), the modules-load file, and the first control plane's ``kubeadm init`` config."""
    out = Rendered(Tool.kubeadm)
    try:
        from ..hostprep.modules import MODULES_FILE as mod_path
        from ..hostprep.modules import modules_for as host_modules
        from ..hostprep.modules import render_modules_file
        from ..hostprep.sysctl import SysctlStep
        from ..hostprep.tuning_values import kubeadm_sysctl_values

        sysctl_text = SysctlStep(kubeadm_sysctl_values(plan), plan.sysctl_file).render(None, [])
        modules_text = render_modules_file(host_modules(plan))
        modules_path = mod_path.lstrip("/")
    except ImportError:  # the host-prep steps are not there: the same content, rendered here
        from ..hostprep.sysctl_conf import render_sysctl_conf

        sysctl_text = render_sysctl_conf(plan_sysctls(plan), header=sysctl_header(plan))
        modules_text = render_modules_conf(plan)
        modules_path = f"etc/modules-load.d/{MODULES_FILE}"
    out.files.append(RenderedFile(f"etc/sysctl.d/{plan.sysctl_file}", sysctl_text))
    out.files.append(RenderedFile(modules_path, modules_text))
    try:
        from .kubeadm.config import render_kubeadm_config
    except ImportError:  # the kubeadm config module is not there
        out.notes.append("kubeadm config: k8s_tui.backends.kubeadm.config is not available; not rendered")
        return out
    first = plan.first_control_plane()
    if first is None:
        out.notes.append("kubeadm config: the plan has no control-plane host; not rendered")
        return out
    out.files.append(RenderedFile(f"kubeadm/{first.name}-init.yaml", render_kubeadm_config(plan, first)))
    if len(plan.hosts) > 1:
        out.notes.append("kubeadm join configs need the token and CA hash `kubeadm init` prints; "
                         "k8s-tui apply writes them during the run")
    render_kubeadm_network(plan, out)
    return out


def render_kubeadm_network(plan: ClusterPlan, out: Rendered) -> None:
    """The files the plan's mirrors, package repository and proxy put on every kubeadm node, as the
    runtime and packages steps write them (nothing when those fields are unset)."""
    from ..hostprep.packages import APT_LIST, APT_PROXY_CONF, YUM_REPO, apt_proxy_conf, apt_source_line, yum_repo_text
    from ..hostprep.runtime import CERTS_D, CONTAINERD_CONFIG, network_files, pause_image, proxy_has_secret
    from .kubeadm.config import render_images_config

    private = 0o600 if proxy_has_secret(plan) else 0o644  # a proxy password stays readable by its owner only
    for path, content in network_files(plan):
        out.files.append(RenderedFile(path.lstrip("/"), content, private if path.startswith("/etc/systemd/") else 0o644))
    if plan.package_repository or (plan.proxy is not None and plan.proxy.enabled):
        out.files.append(RenderedFile(APT_LIST.lstrip("/"), apt_source_line(plan)))
        out.files.append(RenderedFile(YUM_REPO.lstrip("/"), yum_repo_text(plan)))
        conf = apt_proxy_conf(plan)
        if conf is not None:
            out.files.append(RenderedFile(APT_PROXY_CONF.lstrip("/"), conf, private))
    if plan.image_repository or plan.registry_mirrors:
        first = plan.first_control_plane()
        if first is not None:
            out.files.append(RenderedFile(f"kubeadm/{first.name}-images.yaml", render_images_config(plan, first)))
        sets = [f"sandbox image {pause_image(plan.k8s_minor, plan.image_repository)}"]
        if plan.registry_mirrors:
            sets.append(f"the CRI registry's config_path = \"{CERTS_D}\"")
        out.notes.append(f"{CONTAINERD_CONFIG} is patched in place on each host, not rendered here: "
                         + " and ".join(sets))


def write_rendered(rendered: Rendered, out_dir: str | Path) -> list[Path]:
    """Write every file under out_dir (atomically each); returns the paths written."""
    base = Path(out_dir)
    written = []
    for f in rendered.files:
        rel = Path(f.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"refusing to write {f.path!r} outside {base}")
        p = base / rel
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f".{p.name}.tmp")
            tmp.write_text(f.content, encoding="utf-8")
            os.chmod(tmp, f.mode)
            tmp.replace(p)
        except OSError as e:
            raise InputError(f"cannot write {p}: {e.strerror or e}") from None
        written.append(p)
    return written
