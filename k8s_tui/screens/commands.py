"""The command palette (ctrl+p): every wizard action by name, from any screen."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from ..backends.catalog import TOOLS
from ..session.state import STEPS
from ..widgets.palette import Command, ListedCommands
from .tool import TOOL_ORDER


class WizardCommands(ListedCommands):
    def commands(self) -> Iterator[Command]:
        app = self.app
        run = app.run_on  # type: ignore[attr-defined]
        for i, (step, title) in enumerate(STEPS, 1):
            yield (f"Go to {i} {title}", partial(app.action_goto, step), f"open step {i}")  # type: ignore[attr-defined]
        yield ("Next step", app.action_next_step, "ctrl+n")  # type: ignore[attr-defined]
        yield ("Previous step", app.action_prev_step, "ctrl+b")  # type: ignore[attr-defined]
        yield ("Help: keys of this screen", app.action_help, "? or F1")  # type: ignore[attr-defined]
        yield ("Theme: high contrast on/off (Linux console)", app.action_toggle_contrast, "16 colours, works with TERM=linux")  # type: ignore[attr-defined]
        for i, tool in enumerate(TOOL_ORDER):
            yield (f"Tool: use {TOOLS[tool].title}", partial(run, "tool", f"pick({i})"), TOOLS[tool].pick_when)
        yield ("Tool: use the recommended tool", partial(run, "tool", "use_recommended"), "from your three answers")
        yield ("Tool: toggle 'the machines are cloud VMs'", partial(run, "tool", "toggle('q-cloud')"), "c")
        yield ("Tool: toggle 'we use Ansible'", partial(run, "tool", "toggle('q-ansible')"), "a")
        yield ("Tool: toggle 'HA control plane'", partial(run, "tool", "toggle('q-ha')"), "h")
        yield ("Hosts: add a host", partial(run, "hosts", "add"), "open the host form")
        yield ("Hosts: edit the highlighted host", partial(run, "hosts", "edit"), "open the host form")
        yield ("Hosts: remove the highlighted host", partial(run, "hosts", "remove"), "asks first")
        yield ("Hosts: import (kubespray inventory, kubeasz hosts, ~/.ssh/config)", partial(run, "hosts", "import_hosts"),
               "i: shows the changes and notices before applying")
        yield ("Hosts: probe every host (OS, kernel, CPUs, memory, swap, runtime)", partial(run, "hosts", "probe"),
               "p: connects to all hosts at once; changes nothing")
        yield ("Tuning: edit the highlighted value", partial(run, "tuning", "edit"), "Enter accepts, Esc cancels")
        yield ("Tuning: reset the highlighted value to the preset", partial(run, "tuning", "reset_value"), "delete")
        yield ("Tuning: try it (run the key's lab experiment here: this value and the kernel default)", partial(run, "tuning", "try_it"),
               "t: root; throwaway network namespaces on this machine")
        yield ("Tuning: filter keys", partial(run, "tuning", "filter"), "/")
        yield ("Tuning: switch language English / Chinese", partial(run, "tuning", "toggle_lang"), "l")
        yield ("Tuning: panel position (auto, beside, below, hidden)", partial(run, "tuning", "panel_mode"), "p")
        yield ("Tuning: choose the preset", partial(run, "tuning", "focus_preset"), "s")
        for name, preset in app.state.presets.items():  # type: ignore[attr-defined]
            about = preset.description_en.split(". ")[0].rstrip(".") + "."
            yield (f"Tuning: use preset {preset.title}", partial(app.use_preset, name), about)  # type: ignore[attr-defined]
        yield ("Review: save plan.yaml", partial(run, "review", "save"), "asks for the path")
        yield ("Review: export to a folder", partial(run, "review", "export"), "plan.yaml and each host's sysctl file")
        yield ("Review: choose the host", partial(run, "review", "focus_host"), "h")
        for key, tab, what in (("1", "tab-diff", "changes"), ("2", "tab-file", "sysctl file"), ("3", "tab-steps", "steps"), ("4", "tab-plan", "plan.yaml")):
            yield (f"Review: show the {what}", partial(run, "review", f"tab('{tab}')"), key)
        yield ("Quit", app.action_quit, "now, your plan saved (q / ctrl+q ask first; a run going still asks)")
