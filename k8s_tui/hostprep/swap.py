"""Swap off, now and after a reboot.

check   /proc/swaps has no entry and /etc/fstab has no active swap line.
apply   ``swapoff -a``; every swap line of /etc/fstab commented out (the old fstab is saved in the
        run's backup directory first, by the atomic write).
verify  the same as check.

The kubelet's own swap support (``failSwapOn: false`` with ``memorySwap``) is not offered: the plan
has no field for it yet, so swap is always turned off.
"""

from __future__ import annotations

from ..engine.steps import Step, StepContext, StepFailed, StepResult

FSTAB = "/etc/fstab"
COMMENT = "# k8s-tui: swap off for the kubelet: "


def active_swaps(proc_swaps: str) -> list[str]:
    """Device or file names from /proc/swaps (its first line is a header)."""
    lines = [ln for ln in proc_swaps.splitlines()[1:] if ln.strip()]
    return [ln.split()[0] for ln in lines]


def _is_swap_line(line: str) -> bool:
    s = line.strip()
    if not s or s.startswith("#"):
        return False
    fields = s.split()
    return len(fields) >= 3 and fields[2] == "swap"


def fstab_swap_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if _is_swap_line(ln)]


def comment_out_swap(text: str) -> str:
    """fstab with each active swap line commented out; everything else byte for byte."""
    out = []
    for ln in text.splitlines(keepends=True):
        out.append(COMMENT + ln if _is_swap_line(ln) else ln)
    return "".join(out)


class SwapStep(Step):
    id = "swap"
    title = "Swap off"
    why = "The kubelet refuses to start with swap on (unless configured for it): turn it off now and keep it off after a reboot."

    async def _state(self, ctx: StepContext) -> tuple[list[str], bytes | None, list[str]]:
        res = await ctx.run(["cat", "/proc/swaps"], check=False)
        swaps = active_swaps(res.stdout) if res.ok else []
        fstab = await ctx.read_file(FSTAB)
        lines = fstab_swap_lines(fstab.decode(errors="replace")) if fstab is not None else []
        return swaps, fstab, lines

    async def check(self, ctx: StepContext) -> StepResult | bool:
        swaps, fstab, lines = await self._state(ctx)
        ctx.scratch.update(swaps=swaps, fstab=fstab, lines=lines)
        for s in swaps:
            ctx.log(f"swap in use: {s}")
        for ln in lines:
            ctx.log(f"{FSTAB}: {ln.strip()}")
        if not swaps and not lines:
            return StepResult.unchanged("swap is off and no swap is mounted at boot")
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        s = ctx.scratch
        swaps, lines = s["swaps"], s["lines"]
        parts = []
        if swaps:
            await ctx.run(["swapoff", "-a"], hint="a swap area that is in use by memory cannot always be turned off; free memory, then retry")
            parts.append(f"turned off {len(swaps)} swap area{'s' if len(swaps) > 1 else ''}")
        if lines:
            text = s["fstab"].decode(errors="replace")
            await ctx.write_file(FSTAB, comment_out_swap(text), mode=0o644)
            parts.append(f"commented out {len(lines)} line{'s' if len(lines) > 1 else ''} of {FSTAB}")
        return StepResult.changed(", ".join(parts))

    async def verify(self, ctx: StepContext) -> None:
        swaps, _, lines = await self._state(ctx)
        if swaps:
            raise StepFailed(
                f"swap is still on: {', '.join(swaps)}",
                "a swap area not listed in /etc/fstab (zram, a systemd swap unit) came back: turn it off and mask its unit",
            )
        if lines:
            raise StepFailed(f"{FSTAB} still has swap lines: {'; '.join(lines)}", "something rewrote /etc/fstab; look at it")
