"""Can each host reach what it will download from? A read-only check before anything changes.

Each host tries, at once and with a short timeout, every endpoint the plan will use:

* the package repository: ``<package_repository or pkgs.k8s.io/core:/stable:>/v1.<minor>/deb/Release``
  (any answer below 400 after redirects means it is there);
* the image registry: ``https://<registry of image_repository, or registry.k8s.io>/v2/`` (200 or
  401 both mean a registry answers: the Docker registry API asks for a token with 401);
* every registry mirror: ``<mirror>/v2/``, same rule.

All of them through the plan's proxy when it has one (``http_proxy``/``https_proxy``/``no_proxy``
in the environment of the command, which curl, wget and Python all read). The host uses curl when
it has it, else wget, else a few lines of python3: ``REACH_SCRIPT`` runs as
``sh -c SCRIPT k8s-tui-reach TIMEOUT TOOLS HTTP_PROXY HTTPS_PROXY NO_PROXY PY URL...`` (PY: the
python3 fallback's program), every value a
positional argument (never shell text), and prints one line per URL.

``check_reachability(executor, plan)`` runs ``ReachabilityStep`` on every host (a Runner without a
journal, like the wizard's probe) and returns a ``ReachabilityReport``: host x endpoint, ok or
failed, time in ms, the error (dns, refused, timeout, tls, http status, ...) and a hint where one
failed. The dry run answers with ``_simulate`` (every endpoint answers, times made up, and a note
saying no request was sent).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..engine.dryrun import SH_SIMULATIONS
from ..engine.events import OutputLine
from ..engine.steps import Step, StepContext, StepFailed, StepResult
from ..model.network import PUBLIC_IMAGE_REPOSITORY, PUBLIC_PACKAGE_REPOSITORY, check_url
from .facts import HostFacts, host_facts

if TYPE_CHECKING:
    from ..model.hosts import Host
    from ..model.plan import ClusterPlan

Kind = Literal["packages", "images", "mirror"]
DEFAULT_TIMEOUT = 5.0
TOOLS = ("curl", "wget", "python3")
SCRIPT_NAME = "reach"

# python3 fallback: URL and timeout as arguments; prints "CODE MS ERROR"
_PY = r"""import sys,time,urllib.request,urllib.error
u,t=sys.argv[1],float(sys.argv[2]);s=time.time();c=0;e=""
try:
    r=urllib.request.urlopen(urllib.request.Request(u,headers={"User-Agent":"k8s-tui"}),timeout=t);c=r.status
except urllib.error.HTTPError as x:
    c=x.code
except Exception as x:
    r=getattr(x,"reason",x);e=type(r).__name__+": "+str(r)
print("%03d"%c,int((time.time()-s)*1000),e.replace("\n"," "))
"""

REACH_SCRIPT = r"""# k8s-tui reachability: one line per URL, "r=N TOOL EXIT HTTP_CODE MS TEXT"
t=$1; tools=$2
if [ -n "$3" ]; then http_proxy=$3; HTTP_PROXY=$3; export http_proxy HTTP_PROXY; fi
if [ -n "$4" ]; then https_proxy=$4; HTTPS_PROXY=$4; export https_proxy HTTPS_PROXY; fi
if [ -n "$5" ]; then no_proxy=$5; NO_PROXY=$5; export no_proxy NO_PROXY; fi
py=$6
shift 6
tool=
for c in $tools; do
  if command -v "$c" >/dev/null 2>&1; then tool=$c; break; fi
done
echo "tool=${tool:-none}"
[ -n "$tool" ] || { echo end=1; exit 0; }
now() { d=$(date +%s%N 2>/dev/null); case $d in *N*|'') echo -;; *) echo $((d / 1000000));; esac; }
probe() {
  i=$1; u=$2
  case $tool in
  curl)
    out=$(curl -sS -L -o /dev/null --connect-timeout "$t" --max-time "$t" -w 'K8STUIW %{http_code} %{time_total}\n' "$u" 2>&1); rc=$?
    w=$(printf '%s\n' "$out" | sed -n 's/^K8STUIW //p' | tail -n 1)
    code=${w%% *}; secs=${w#* }
    ms=$(awk -v s="$secs" 'BEGIN { if (s ~ /^[0-9.]+$/) printf "%d", s * 1000; else print "-" }')
    text=$(printf '%s\n' "$out" | grep -v '^K8STUIW ' | tr '\n' ' ')
    ;;
  wget)
    a=$(now)
    out=$(wget -S -O /dev/null -T "$t" -t 1 "$u" 2>&1); rc=$?
    b=$(now)
    code=$(printf '%s\n' "$out" | sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | tail -n 1)
    [ -n "$code" ] || code=000
    if [ "$a" = - ] || [ "$b" = - ]; then ms=-; else ms=$((b - a)); fi
    text=$(printf '%s\n' "$out" | grep -iE 'fail|error|unable|refused|timed out|bad address|certificate|ssl|tls' | tail -n 2 | tr '\n' ' ')
    ;;
  python3)
    out=$(python3 -c "$py" "$u" "$t" 2>&1); rc=$?
    code=${out%% *}; rest=${out#* }; ms=${rest%% *}; text=${rest#"$ms"}
    ;;
  esac
  printf 'r=%s %s %s %s %s %s\n' "$i" "$tool" "$rc" "${code:-000}" "${ms:--}" "$text"
}
i=0
for u in "$@"; do
  i=$((i + 1))
  probe "$i" "$u" &
done
wait
echo end=1
"""


@dataclass(frozen=True)
class Endpoint:
    """One thing a host must reach: what it is for, and the URL tried."""

    kind: Kind
    name: str  # shown: "packages", "registry.k8s.io", "mirror of docker.io"
    url: str
    registry: str = ""  # for images and mirrors: the registry it serves

    def answers(self, code: int) -> bool:
        if self.kind == "packages":
            return 200 <= code < 400
        return 200 <= code < 300 or code == 401


@dataclass
class EndpointResult:
    host: str
    endpoint: str
    kind: str
    url: str
    ok: bool
    ms: int | None = None
    status: int | None = None  # HTTP status, when one came back
    error_kind: str = ""  # dns | refused | timeout | tls | unreachable | proxy | http | no-tool | host | error
    error: str = ""
    hint: str = ""
    tool: str = ""

    def cell(self) -> str:
        """The table's short text: 'ok 84 ms', 'failed: dns'."""
        if self.ok:
            return f"ok {self.ms} ms" if self.ms is not None else "ok"
        return f"failed: {self.error_kind or 'error'}"


@dataclass
class ReachabilityReport:
    endpoints: list[Endpoint]
    hosts: list[str]
    results: list[EndpointResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "dry run: no request was sent", per-host tool lines

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def get(self, host: str, endpoint: str) -> EndpointResult | None:
        return next((r for r in self.results if r.host == host and r.endpoint == endpoint), None)

    def failed(self) -> list[EndpointResult]:
        return [r for r in self.results if not r.ok]

    def hints(self) -> list[str]:
        """Each distinct hint once, with the endpoint it is about."""
        seen: dict[str, str] = {}
        for r in self.failed():
            if r.hint and r.hint not in seen:
                seen[r.hint] = r.endpoint
        return [f"{ep}: {h}" for h, ep in seen.items()]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "hosts": self.hosts,
            "endpoints": [asdict(e) for e in self.endpoints],
            "results": [asdict(r) for r in self.results],
            "notes": self.notes,
        }


def registry_v2(url_or_registry: str) -> str:
    base = url_or_registry if "://" in url_or_registry else f"https://{url_or_registry}"
    base = base.rstrip("/")
    return base + "/" if base.endswith("/v2") else base + "/v2/"


def endpoints_for(plan: ClusterPlan, family: str | None = None) -> list[Endpoint]:
    """What the plan's hosts download from, in the order the table shows them. ``family``: the
    host's, when its facts are known (the kubeadm path): a RHEL-family host tries the rpm
    repository's ``repodata/repomd.xml``, the file dnf reads first; otherwise the deb ``Release``."""
    net = plan.network
    base = (net.package_repository or PUBLIC_PACKAGE_REPOSITORY).rstrip("/")
    index = "rpm/repodata/repomd.xml" if family == "rhel" else "deb/Release"
    out = [Endpoint("packages", f"packages {_host_of(base)}", f"{base}/v1.{plan.k8s_minor}/{index}")]
    registry = net.image_registry
    out.append(Endpoint("images", registry if net.image_repository else PUBLIC_IMAGE_REPOSITORY, registry_v2(registry), registry))
    for reg, mirrors in net.registry_mirrors.items():
        for m in mirrors:
            check_url(m, f"registry_mirrors.{reg}")
            out.append(Endpoint("mirror", f"mirror {_host_of(m)} ({reg})", registry_v2(m), reg))
    return out


def _host_of(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def reach_args(endpoints: list[Endpoint], plan: ClusterPlan | None, timeout: float = DEFAULT_TIMEOUT,
               tools: tuple[str, ...] = TOOLS) -> list[str]:
    """The positional arguments of REACH_SCRIPT (each value its own argv word)."""
    for t in tools:
        if t not in TOOLS:
            raise ValueError(f"tools: {t!r} is not one of {', '.join(TOOLS)}")
    if not 0.5 <= timeout <= 120:
        raise ValueError(f"timeout: {timeout} is outside 0.5..120 seconds")
    proxy = plan.proxy if plan is not None else None
    http = (proxy.http or "") if proxy else ""
    https = (proxy.https or "") if proxy else ""
    no_proxy = ",".join(proxy.no_proxy) if proxy else ""
    return [f"{timeout:g}", " ".join(tools), http, https, no_proxy, _PY, *(e.url for e in endpoints)]


_LINE_RE = re.compile(r"^r=(\d+) (\S+) (\d+) (\d{1,3}) (-|\d+) ?(.*)$")
# curl exit codes: https://curl.se/libcurl/c/libcurl-errors.html
_CURL_KINDS = {5: "proxy", 6: "dns", 7: "refused", 28: "timeout", 35: "tls", 51: "tls", 53: "tls", 54: "tls",
               58: "tls", 59: "tls", 60: "tls", 77: "tls", 80: "tls", 83: "tls", 90: "tls", 91: "tls", 97: "proxy"}
_TEXT_KINDS = [
    ("proxy", re.compile(r"resolve proxy|proxy", re.I)),
    ("dns", re.compile(r"resolve|name or service not known|name resolution|nodename nor servname|gaierror|bad address|no address", re.I)),
    ("refused", re.compile(r"refused|errno 111", re.I)),
    ("unreachable", re.compile(r"no route to host|network is unreachable|errno 113|errno 101", re.I)),
    ("timeout", re.compile(r"timed out|timeout", re.I)),
    ("tls", re.compile(r"ssl|tls|certificate", re.I)),
]


def classify(tool: str, rc: int, code: int, text: str) -> str:
    if tool == "curl" and rc in _CURL_KINDS:
        kind = _CURL_KINDS[rc]
        if kind == "refused" and re.search(r"no route|unreachable", text, re.I):
            return "unreachable"
        if kind == "refused" and re.search(r"timed out|timeout", text, re.I):
            return "timeout"
        return kind
    for kind, rx in _TEXT_KINDS:
        if rx.search(text):
            return kind
    if code and code != 0:
        return "http"
    return "error"


def hint_for(ep: Endpoint, kind: str, status: int | None, plan: ClusterPlan | None) -> str:
    proxied = plan is not None and plan.proxy is not None and plan.proxy.enabled
    offline = "or go offline with a bundle (k8s-tui bundle --list)"
    if kind == "proxy":
        return "the proxy does not answer or its name does not resolve on this host: check proxy.http/proxy.https"
    if kind == "tls":
        return "the host does not trust this server's certificate (a proxy that intercepts TLS needs its CA on the host), or the URL is wrong"
    if kind == "http" and ep.kind == "packages" and status == 404:
        return ("the repository answers but has no v1.MINOR/deb/Release (or rpm/repodata/repomd.xml) for this version: "
                "package_repository is a base laid out like https://pkgs.k8s.io/core:/stable: (…/v1.<minor>/deb/ and /rpm/)")
    if ep.kind == "mirror":
        return f"this mirror does not answer: fix or remove it in registry_mirrors.{ep.registry} (containerd then falls back to {ep.registry} itself)"
    how = "set a proxy" if not proxied else "check the proxy (no_proxy must not list this host)"
    if ep.kind == "packages":
        return f"set package_repository to a mirror (the China public mirrors preset has one), {how}, {offline}"
    return f"set image_repository or a registry mirror (the China public mirrors preset has both), {how}, {offline}"


def parse_reach_output(host: str, text: str, endpoints: list[Endpoint], plan: ClusterPlan | None) -> tuple[list[EndpointResult], list[str]]:
    """REACH_SCRIPT's output as one result per endpoint (and notes: the tool used, a dry run)."""
    tool, notes, seen = "", [], {}
    for ln in text.splitlines():
        if ln.startswith("tool="):
            tool = ln[5:].strip()
        elif ln.startswith("note="):
            notes.append(ln[5:].strip())
        else:
            m = _LINE_RE.match(ln.rstrip())
            if m:
                seen[int(m.group(1))] = m
    out = []
    for i, ep in enumerate(endpoints, 1):
        m = seen.get(i)
        if tool == "none":
            out.append(EndpointResult(host, ep.name, ep.kind, ep.url, False, error_kind="no-tool",
                                      error="the host has none of curl, wget, python3",
                                      hint="install curl on the host (or check from another machine on the same network)"))
            continue
        if m is None:
            out.append(EndpointResult(host, ep.name, ep.kind, ep.url, False, error_kind="error",
                                      error="no answer from the check (its output ended early)", tool=tool))
            continue
        used, rc, code, ms, rest = m.group(2), int(m.group(3)), int(m.group(4)), m.group(5), m.group(6).strip()
        ms_v = None if ms == "-" else int(ms)
        if rc == 0 and ep.answers(code) or (used != "curl" and code and ep.answers(code)):
            out.append(EndpointResult(host, ep.name, ep.kind, ep.url, True, ms_v, code, tool=used))
            continue
        kind = "http" if code and not ep.answers(code) and not rest else classify(used, rc, code, rest)
        if kind in ("refused", "timeout", "dns", "unreachable") and _mentions_proxy(plan, rest):
            kind = "proxy"
        err = f"HTTP {code}" if kind == "http" else (rest or f"{used} exited with status {rc}")
        out.append(EndpointResult(host, ep.name, ep.kind, ep.url, False, ms_v, code or None, kind, err[:300],
                                  hint_for(ep, kind, code or None, plan), used))
    return out, notes


def _mentions_proxy(plan: ClusterPlan | None, text: str) -> bool:
    """The error is about the proxy itself (curl names the host it could not connect to)."""
    proxy = plan.proxy if plan is not None else None
    if proxy is None:
        return False
    names = {_host_of(u).rsplit(":", 1)[0] for u in (proxy.http, proxy.https) if u}
    return any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", text) for n in names)


class ReachabilityStep(Step):
    """Read-only: try every endpoint from the host; failed endpoints fail the step with a hint
    (``strict=False``: each is logged as a warning with its hint and the step ends ok: the kubeadm
    path's default, the plan's ``network_check: warn``, since labs without internet install from a
    bundle or local mirrors)."""

    id = "reachability"
    title = "Reachability"
    why = "Try the package repository, the image registry and each mirror from every host (through the proxy) before changing anything, so an unreachable one fails now with a hint, not deep inside kubeadm init."
    changes_host = False

    def __init__(self, store: dict[str, list[EndpointResult]] | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 tools: tuple[str, ...] = TOOLS, strict: bool = True, notes: list[str] | None = None):
        self.store = store if store is not None else {}
        self.notes = notes if notes is not None else []
        self.timeout = timeout
        self.tools = tools
        self.strict = strict
        if not strict:
            self.why = ("Try the package repository, the image registry and each mirror from every host (through the proxy) "
                        "before changing anything; one that does not answer is a warning with a hint (network_check: warn: "
                        "the run goes on, for hosts that install from a bundle or local mirrors).")

    async def check(self, ctx: StepContext) -> bool:
        return False

    async def apply(self, ctx: StepContext) -> StepResult:
        plan = ctx.plan
        if plan is None:
            return StepResult.ok("no plan: nothing to reach")
        facts = host_facts(ctx)  # after the facts step (the kubeadm path); None in the wizard's check
        family = facts.family if facts is not None else await _os_family(ctx)
        endpoints = endpoints_for(plan, family)
        args = reach_args(endpoints, plan, self.timeout, self.tools)
        # shown as run_script shows it, with the python3 fallback abridged too (it is an argument)
        shown = ["<python3 fallback>" if a == _PY else shlex.quote(a) for a in args]
        ctx.bus.publish(OutputLine(ctx.host.name, ctx.step_id, "cmd", f"$ sh -c <k8s-tui {SCRIPT_NAME} script> k8s-tui-{SCRIPT_NAME} " + " ".join(shown)))
        res = await ctx.run(["sh", "-c", REACH_SCRIPT, f"k8s-tui-{SCRIPT_NAME}", *args], check=False, echo=False)
        results, notes = parse_reach_output(ctx.host.name, res.stdout, endpoints, plan)
        self.store[ctx.host.name] = results
        for n in notes:
            if n not in self.notes:
                self.notes.append(n)
            ctx.log(f"note: {n}")
        for r in results:
            ctx.log(f"{r.endpoint}: {r.cell()}" + (f" ({r.error})" if not r.ok and r.error else "") + f"  {r.url}")
        bad = [r for r in results if not r.ok]
        if bad and self.strict:
            first = bad[0]
            raise StepFailed(f"{len(bad)} of {len(results)} endpoints do not answer: "
                             + "; ".join(f"{r.endpoint} ({r.error_kind})" for r in bad), first.hint)
        if bad:
            # warn-only (the plan's network_check: warn): each failure and its hint as a warning; the
            # run goes on, since a host without internet may install from a bundle or a local mirror
            for r in bad:
                ctx.log(f"warning: {r.endpoint} does not answer ({r.error_kind}): {r.url}")
                if r.hint:
                    ctx.log(f"  hint: {r.hint}")
            return StepResult.ok(f"warning: {len(bad)} of {len(results)} endpoints do not answer: "
                                 + ", ".join(f"{r.endpoint} ({r.error_kind})" for r in bad)
                                 + " (network_check: warn, the run goes on; strict stops here)")
        said = f" ({'; '.join(notes)})" if notes else ""  # the dry run's "no request was sent"
        return StepResult.ok(f"all {len(results)} endpoints answer{said}")


async def _os_family(ctx: StepContext) -> str | None:
    """debian | rhel from /etc/os-release (ID and ID_LIKE), for the check run without the facts
    step (the wizard's, check-network): a RHEL-family host tries the rpm index there too."""
    try:
        text = (await ctx.read_file("/etc/os-release", sudo=False) or b"").decode("utf-8", "replace")
    except Exception:  # an unreadable file only means the deb index is tried, as before
        return None
    fields = {k: v.strip().strip('"') for k, _, v in (line.partition("=") for line in text.splitlines())}
    family = HostFacts(ctx.host.name, os_id=fields.get("ID", ""), os_like=tuple(fields.get("ID_LIKE", "").split())).family
    return family if family != "other" else None


async def check_reachability(executor: Any, plan: ClusterPlan, *, hosts: list[Host] | None = None,
                             timeout: float = DEFAULT_TIMEOUT, tools: tuple[str, ...] = TOOLS,
                             max_hosts: int = 64, on_event: Any = None) -> ReachabilityReport:
    """Run the check on every host of the plan at once (no journal: it changes nothing). A host
    that cannot be reached gets every endpoint failed with kind 'host'. Does not close the executor."""
    from ..engine.events import HostLost, StepFinished
    from ..engine.executor import ExecOptions
    from ..engine.runner import Runner, RunPlan, Stage

    hosts = list(hosts if hosts is not None else plan.hosts)
    endpoints = endpoints_for(plan)
    store: dict[str, list[EndpointResult]] = {}
    step = ReachabilityStep(store, timeout=timeout, tools=tools, strict=False)
    run_plan = RunPlan([Stage("reachability", [step])], scope="reachability")
    runner = Runner(plan, run_plan, executor, hosts=hosts, journal=False, options=ExecOptions(max_concurrent_hosts=max_hosts))
    lost: dict[str, str] = {}

    def listen(ev: Any) -> None:
        if isinstance(ev, HostLost):
            lost[ev.host] = getattr(ev, "message", "") or getattr(ev, "kind", "")
        elif isinstance(ev, StepFinished) and ev.status == "failed" and ev.host not in store:
            lost.setdefault(ev.host, ev.message)
        if on_event is not None:
            on_event(ev)

    runner.bus.subscribe(listen)
    await runner.run()
    report = ReachabilityReport(endpoints, [h.name for h in hosts], notes=list(step.notes))
    for h in hosts:
        if h.name in store:
            report.results.extend(store[h.name])
        else:
            why = lost.get(h.name) or "the check did not run on this host"
            report.results.extend(EndpointResult(h.name, e.name, e.kind, e.url, False, error_kind="host", error=str(why)[:300],
                                                 hint="the host itself was not reached over SSH: probe it on the Hosts step")
                                  for e in endpoints)
    return report


# -- the dry run ----------------------------------------------------------------------------------


def _simulate(ex: Any, host: Any, sim: Any, args: list[str]) -> tuple[list[tuple[str, str]], int]:
    """REACH_SCRIPT on the dry-run executor: no request is sent; every URL 'answers' with the
    status its kind of server gives (a registry 401, a repository 200) after a made-up time
    (stable per host and URL), and a note says so. A dry run invents no failure."""
    urls = args[6:]
    lines = [("stdout", "tool=curl"), ("stdout", "note=dry run: no request was sent; the answers and times are made up")]
    for i, u in enumerate(urls, 1):
        ms = 20 + int(hashlib.sha256(f"{host.name} {u}".encode()).hexdigest()[:4], 16) % 230
        code = 401 if u.endswith("/v2/") else 200
        lines.append(("stdout", f"r={i} curl 0 {code} {ms} "))
    lines.append(("stdout", "end=1"))
    return lines, 0


SH_SIMULATIONS["k8s-tui-" + SCRIPT_NAME] = _simulate
