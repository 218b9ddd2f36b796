"""`k8s-tui serve`: the same wizard in a web browser, through textual-serve.

Each browser tab that connects starts its own `k8s-tui` wizard process (textual-serve runs the
command string through the shell, with Textual's web driver), with exactly the arguments the
wizard would take on a terminal. It listens on 127.0.0.1 unless --host says otherwise, and says
so on start: whoever can open the page controls the wizard (and, through it, SSH to the hosts).

textual-serve is imported inside the functions that use it: it pulls in aiohttp and jinja2, which
the other commands never need. It does not import Textual (tests/unit/test_layers.py checks
that no module below the UI imports Textual; the app itself runs in the child process).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import shlex
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.text import Text

from ..yamlio import InputError
from . import runs

console = Console(highlight=False)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 253 chars
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# the options of `serve` itself; every other option on its parser is the wizard's and is passed on
SERVE_ONLY = {"host", "port", "func", "command", "help"}


def host_arg(text: str) -> str:
    """--host: an IP address or a host name (not a URL, not "host:port")."""
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    name = text.rstrip(".")
    if name and len(name) <= 253 and all(_LABEL.match(label) for label in name.split(".")) \
            and not name.replace(".", "").isdigit():
        return name
    raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or a host name")


def port_arg(text: str) -> int:
    """--port: a TCP port, 1..65535."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (a TCP port, 1..65535)") from None
    if not 1 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"{n} is not a TCP port (1..65535)")
    return n


def add_commands(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="the same wizard in a web browser (textual-serve), on this machine only unless --host is given",
        description="Serve the wizard over HTTP: every browser tab that opens the page gets its own "
        "wizard, started with the options given here. It listens on 127.0.0.1 unless --host says "
        "otherwise; anyone who can open the page controls the wizard, so on a jump host keep the "
        "default and reach it through an SSH tunnel (the command is printed on start).",
    )
    p.add_argument("--host", type=host_arg, default=DEFAULT_HOST,
                   help=f"IP address or host name to listen on (default {DEFAULT_HOST}: this machine only)")
    p.add_argument("--port", type=port_arg, default=DEFAULT_PORT, help=f"TCP port, 1..65535 (default {DEFAULT_PORT})")
    # the wizard's own options, passed on to each wizard the page starts
    p.add_argument("--plan", help="open the wizard on this plan.yaml")
    p.add_argument("--demo", action="store_true", help="walk the whole flow on made-up hosts (dry-run, nothing is changed)")
    p.add_argument("--new", action="store_true", help="start a new, empty plan for your own hosts")
    runs.connection_args(p)
    p.set_defaults(func=cmd_serve)


def wizard_argv(parser_actions: list[argparse.Action], args: argparse.Namespace) -> list[str]:
    """The wizard's command-line options, rebuilt from the parsed ones (serve's own left out)."""
    out: list[str] = []
    for action in parser_actions:
        if action.dest in SERVE_ONLY or not action.option_strings:
            continue
        value = getattr(args, action.dest, None)
        flag = max(action.option_strings, key=len)  # the long form
        if isinstance(action, argparse._StoreTrueAction):
            if value:
                out.append(flag)
        elif value is not None:
            out += [flag, str(value)]
    return out


def wizard_command(argv: list[str]) -> str:
    """The shell command textual-serve runs per browser tab: this Python, this package, each word quoted."""
    return " ".join(shlex.quote(w) for w in [sys.executable, "-m", "k8s_tui", *argv])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _check_can_listen(host: str, port: int) -> None:
    """Bind once before starting, so a port in use or an address not on this machine is one clear
    line naming the flag, not a traceback from inside the web server."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as e:
        raise InputError(f"--host {host}: cannot resolve it ({e.strerror or e})") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            what = f"--port {port}: already in use" if e.errno == 98 else f"--host {host} --port {port}: {e.strerror or e}"
            raise InputError(f"cannot listen on {_url_host(host)}:{port}: {what}") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_message(host: str, port: int, command: str) -> list[str]:
    url = f"http://{_url_host(host)}:{port}/"
    lines = [f"k8s-tui wizard in a browser: open {url}"]
    if is_loopback(host):
        lines += [
            f"Listening on {_url_host(host)}:{port} only: this machine, not the network (--host changes that).",
            "Anyone who can open the page controls the wizard, and through it SSH to your hosts.",
            "On a jump host, keep it that way and tunnel from your own machine:",
            f"  ssh -N -L {port}:127.0.0.1:{port} USER@JUMP-HOST   then open http://127.0.0.1:{port}/",
        ]
    else:
        lines += [
            f"Listening on {_url_host(host)}:{port}: reachable from the network as far as this address is.",
            "Anyone who can open the page controls the wizard, and through it SSH to your hosts; there is no login.",
            "Prefer the default (127.0.0.1) and an SSH tunnel from your own machine:",
            f"  ssh -N -L {port}:127.0.0.1:{port} USER@JUMP-HOST   then open http://127.0.0.1:{port}/",
        ]
    lines += ["Every browser tab starts its own wizard. Ctrl+C stops the server and its wizards.",
              f"wizard command: {command}"]
    return lines


def make_server(command: str, host: str, port: int) -> Any:
    """A textual-serve Server for the command, with two changes: the page connects its websocket to
    the address the browser used (so an SSH tunnel to another local port works), and a websocket
    from another site's page is refused (a page on the web must not drive the wizard through the
    user's browser: browsers let any page open a websocket to 127.0.0.1)."""
    import asyncio

    import aiohttp_jinja2
    from aiohttp import WSCloseCode, web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, log, to_int

    loopback = is_loopback(host)
    open_sockets: set[web.WebSocketResponse] = set()

    def allowed(request: web.Request) -> str | None:
        """Why the request is refused, or None."""
        name = (urlsplit(f"//{request.host}").hostname or "").lower()
        if loopback and name not in LOOPBACK_NAMES:
            # bound to loopback but asked for another name: DNS rebinding, or a proxy we do not know
            return f"Host {request.host!r} is not this machine's loopback name"
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return f"Origin {origin!r} is not this server's page"
        return None

    async def report_exit(service: AppService) -> None:
        """Say when a tab's wizard failed, with what it wrote to stderr. textual-serve stops reading
        stderr as soon as stdout ends, so a traceback printed at exit would be lost; read the rest."""
        process = getattr(service, "_process", None)  # textual-serve 1.1 keeps it there
        if process is None:
            return
        rest = b""
        try:
            if process.stderr is not None:
                rest = await asyncio.wait_for(process.stderr.read(), 10)
            code = await asyncio.wait_for(process.wait(), 10)
        except asyncio.TimeoutError:
            code = process.returncode
        if code:
            console.print(Text(f"a wizard ended with exit code {code}", style="bold red"))
            if rest:
                sys.stdout.write(rest.decode("utf-8", "replace"))
                sys.stdout.flush()

    class WizardServer(Server):
        async def on_startup(self, app: web.Application) -> None:
            for line in start_message(host, port, command):
                console.print(Text(line), soft_wrap=True)
            sys.stdout.flush()

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            if why := allowed(request):
                raise web.HTTPForbidden(text=why)
            base = f"{request.scheme}://{request.host}"
            ws = ("wss" if request.scheme == "https" else "ws") + f"://{request.host}"
            return {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": ws + str(request.app.router["websocket"].url_for()),
                "config": {"static": {"url": base + str(request.app.router["static"].url_for(filename="/")).rstrip("/") + "/"}},
                "application": {"name": self.title},
            }

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            """textual-serve's handler (one wizard process per websocket), with the check above and
            each open websocket kept, so stopping the server closes them and so ends their wizards."""
            if why := allowed(request):
                console.print(Text(f"refused a connection: {why}", style="yellow"))
                raise web.HTTPForbidden(text=why)
            websocket = web.WebSocketResponse(heartbeat=15)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            service: AppService | None = None
            open_sockets.add(websocket)
            try:
                await websocket.prepare(request)
                service = AppService(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                     close=websocket.close, download_manager=self.download_manager, debug=self.debug)
                await service.start(width, height)
                await self._process_messages(websocket, service)
            except asyncio.CancelledError:
                await websocket.close()
            except Exception as error:  # one tab's failure is logged; the server and other tabs go on
                log.exception(error)
            finally:
                open_sockets.discard(websocket)
                if service is not None:
                    await service.stop()  # asks the wizard to quit and waits for it
                    await report_exit(service)
            return websocket

        async def on_shutdown(self, app: web.Application) -> None:
            # without this, Ctrl+C waits for every open tab's websocket to time out (about 20 s)
            for websocket in list(open_sockets):
                await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")

    return WizardServer(command, host=host, port=port, title="k8s-tui")


def cmd_serve(args) -> int:
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        raise InputError("textual-serve is not installed: pip install textual-serve") from None
    if args.plan:  # a plan that does not load should fail here, once, not in every browser tab
        from ..model.plan import load_plan

        load_plan(args.plan)
    runs.executor_factory(args)  # the same check of the connection options as the wizard's
    argv = wizard_argv(_serve_parser_actions(), args)
    command = wizard_command(argv)
    _check_can_listen(args.host, args.port)
    make_server(command, args.host, args.port).serve()
    return 0


def _serve_parser_actions() -> list[argparse.Action]:
    """The actions of the `serve` subparser (built afresh: argparse does not hand them to func)."""
    p = argparse.ArgumentParser(add_help=False)
    sub = p.add_subparsers()
    add_commands(sub)
    return list(sub.choices["serve"]._actions)
