"""What a sysctl value means in practice, as short sentences and as plain numbers.

``describe()`` turns one key's value into a few sentences (English or Chinese) that the tuning
screen shows beside the editor: how long connect() blocks, how many ephemeral ports there are,
when a dead peer is noticed. The helpers under it return bare numbers so tests can check them.

The timer rules follow the kernel, not folklore:

* SYN retransmission (net/ipv4/tcp_timer.c, tcp_write_timeout() and tcp_retransmit_timer()):
  the first SYN is retransmitted after the initial RTO of 1 s (TCP_TIMEOUT_INIT), and the wait
  doubles after every retransmission, capped at TCP_RTO_MAX (120 s). connect() fails with
  ETIMEDOUT when the timer fires and either ``tcp_syn_retries`` retransmissions have been sent,
  or the time since the first SYN has reached the "model" timeout of ``tcp_syn_retries``
  exponential backoffs, ``tcp_model_timeout()``: ((2 << n) - 1) s for n <= 6, plus 120 s for
  each retry above 6. Before 6.5 both limits give the same answer (127 s for the default 6).
* From 6.5 (commit ccce324dabfe, "tcp: make the first N SYN RTO backoffs linear") the first
  ``tcp_syn_linear_timeouts`` retransmissions of a SYN do not double the wait, so the first
  linear+1 waits are 1 s each, and the count limit becomes retries + linear. The time limit
  above still applies, so with a small ``tcp_syn_retries`` connect() gives up at the same moment
  as before and only sends its SYNs faster. Measured on linux 6.18 in throwaway network
  namespaces: retries/linear 2/4 -> 7 s, 1/4 -> 3 s, 3/4 -> 19 s, 4/4 -> 35 s, 5/4 -> 67 s,
  6/4 -> 131 s, 2/2 -> 9 s, 6/0 -> 127 s (give or take a few percent of timer slack).
* SYN-ACK retransmission (net/ipv4/inet_connection_sock.c reqsk_timer_handler()): waits of
  1 s << n capped at 120 s; the request is dropped when the timer fires after the last one.
* Keepalive (net/ipv4/tcp_timer.c tcp_keepalive_timer()): first probe after tcp_keepalive_time
  of idle, then one every tcp_keepalive_intvl; when the timer fires with tcp_keepalive_probes
  probes unanswered the connection is reset, at time + intvl * probes.

No UI code here: pure functions of their arguments.
"""

from __future__ import annotations

from collections.abc import Mapping

from .values import KernelVersion

TCP_TIMEOUT_INIT = 1.0  # seconds, the initial RTO for SYN and SYN-ACK (since linux 3.1)
TCP_RTO_MAX = 120.0  # seconds
LINEAR_SYN_SINCE = KernelVersion(6, 5)  # tcp_syn_linear_timeouts appeared in 6.5
SOMAXCONN_4096_SINCE = KernelVersion(5, 4)
KEEPALIVE_NETNS_SINCE = KernelVersion(4, 5)  # tcp_keepalive_* became per network namespace

DEFAULT_SYN_RETRIES = 6
DEFAULT_SYN_LINEAR_TIMEOUTS = 4
DEFAULT_SYNACK_RETRIES = 5
DEFAULT_KEEPALIVE = (7200, 75, 9)  # time, intvl, probes
IPVS_TCP_TIMEOUT = 900  # ipvsadm's default idle timeout for TCP; kube-proxy keeps it unless tcpTimeout is set
DEFAULT_NODEPORT_RANGE = (30000, 32767)  # kube-apiserver --service-node-port-range default
DEFAULT_UNPRIVILEGED_PORT_START = 1024

# Ports that Kubernetes components listen on in the host network namespace.
K8S_HOST_PORTS = {
    2379: "etcd client",
    2380: "etcd peer",
    6443: "kube-apiserver",
    10249: "kube-proxy metrics",
    10250: "kubelet",
    10256: "kube-proxy health",
    10257: "kube-controller-manager",
    10259: "kube-scheduler",
}

KEY_SYN_RETRIES = "net.ipv4.tcp_syn_retries"
KEY_SYN_LINEAR = "net.ipv4.tcp_syn_linear_timeouts"
KEY_SYNACK_RETRIES = "net.ipv4.tcp_synack_retries"
KEY_SYNCOOKIES = "net.ipv4.tcp_syncookies"
KEY_ABORT = "net.ipv4.tcp_abort_on_overflow"
KEY_SOMAXCONN = "net.core.somaxconn"
KEY_SYN_BACKLOG = "net.ipv4.tcp_max_syn_backlog"
KEY_PORT_RANGE = "net.ipv4.ip_local_port_range"
KEY_RESERVED = "net.ipv4.ip_local_reserved_ports"
KEY_UNPRIV = "net.ipv4.ip_unprivileged_port_start"
KEY_TIMESTAMPS = "net.ipv4.tcp_timestamps"
KEY_TW_REUSE = "net.ipv4.tcp_tw_reuse"
KEY_KA_TIME = "net.ipv4.tcp_keepalive_time"
KEY_KA_INTVL = "net.ipv4.tcp_keepalive_intvl"
KEY_KA_PROBES = "net.ipv4.tcp_keepalive_probes"
KEY_FIN_TIMEOUT = "net.ipv4.tcp_fin_timeout"
# Not a sysctl: the cluster's NodePort range, "30000-32767", if the caller knows it.
CTX_NODEPORT_RANGE = "kubernetes.service_node_port_range"


# --------------------------------------------------------------------------- numbers


def _linear_rule(kernel: KernelVersion | None) -> bool:
    """True when the kernel has tcp_syn_linear_timeouts; None means a current kernel."""
    return kernel is None or kernel >= LINEAR_SYN_SINCE


def _ilog2(n: float) -> int:
    return int(n).bit_length() - 1


def model_timeout(boundary: int, rto_base: float = TCP_TIMEOUT_INIT) -> float:
    """tcp_model_timeout(): the time ``boundary`` exponential backoffs take from ``rto_base``."""
    thresh = _ilog2(TCP_RTO_MAX / rto_base)
    if boundary <= thresh:
        return ((2 << boundary) - 1) * rto_base
    return ((2 << thresh) - 1) * rto_base + (boundary - thresh) * TCP_RTO_MAX


def _syn_run(retries: int, linear: int, kernel: KernelVersion | None) -> tuple[list[float], float]:
    """Simulate the SYN timer: (send time of every SYN, time connect() fails)."""
    if retries < 1:
        raise ValueError("tcp_syn_retries is at least 1")
    lin = max(0, linear) if _linear_rule(kernel) else 0
    max_retransmits = retries + lin
    time_limit = model_timeout(retries)
    t, rto, retransmits = 0.0, TCP_TIMEOUT_INIT, 0
    sends = [0.0]
    while True:
        t += rto  # the retransmit timer fires
        if retransmits >= max_retransmits or (retransmits > 0 and t >= time_limit):
            return sends, t
        sends.append(t)
        retransmits += 1
        if retransmits > lin:  # linear phase over: back off
            rto = min(rto * 2, TCP_RTO_MAX)


def syn_schedule(retries: int, linear: int = DEFAULT_SYN_LINEAR_TIMEOUTS, kernel: KernelVersion | None = None) -> list[float]:
    """Seconds after connect() at which each SYN is sent, the first one at 0.

    ``kernel`` None means a current kernel (6.5 or later); before 6.5 ``linear`` is ignored.
    """
    return _syn_run(retries, linear, kernel)[0]


def syn_connect_timeout(retries: int, linear: int = DEFAULT_SYN_LINEAR_TIMEOUTS, kernel: KernelVersion | None = None) -> float:
    """Seconds until connect() to a silent peer fails with ETIMEDOUT (no reply, no ICMP error).

    ``kernel`` None means a current kernel (6.5 or later); before 6.5 ``linear`` is ignored.
    """
    return _syn_run(retries, linear, kernel)[1]


def synack_schedule(retries: int) -> list[float]:
    """Seconds after the first SYN-ACK at which each SYN-ACK of a half-open connection is sent."""
    t, sends = 0.0, [0.0]
    for n in range(retries):
        t += min(TCP_TIMEOUT_INIT * (1 << n), TCP_RTO_MAX)
        sends.append(t)
    return sends


def synack_lifetime(retries: int) -> float:
    """Seconds a half-open connection is kept when the client's ACK never arrives."""
    return sum(min(TCP_TIMEOUT_INIT * (1 << n), TCP_RTO_MAX) for n in range(retries + 1))


def keepalive_detect_seconds(time: int, intvl: int, probes: int) -> int:
    """Seconds of silence after which a keepalive socket is reset: time + intvl * probes."""
    return time + intvl * probes


def ephemeral_ports(lo: int, hi: int) -> int:
    """How many ports ip_local_port_range lo..hi holds (both ends included)."""
    return max(0, hi - lo + 1)


def parse_port_list(text: object) -> list[tuple[int, int]]:
    """"30000-32767,8080" -> [(30000, 32767), (8080, 8080)]; empty or malformed parts are skipped."""
    out: list[tuple[int, int]] = []
    for part in str(text or "").replace(" ", "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            continue
        a, b = int(lo), int(hi or lo)
        if a <= b:
            out.append((a, b))
    return out


def _port_set(ranges: list[tuple[int, int]]) -> set[int]:
    ports: set[int] = set()
    for a, b in ranges:
        ports.update(range(a, b + 1))
    return ports


def reserved_in_range(reserved: object, lo: int, hi: int) -> int:
    """How many ports of lo..hi the reserved list takes out of automatic selection."""
    return sum(1 for p in _port_set(parse_port_list(reserved)) if lo <= p <= hi)


# --------------------------------------------------------------------------- helpers


def _t(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def _dur(seconds: float, lang: str) -> str:
    """7 s / 131 s (2 min 11 s) / 7875 s (2 h 11 min 15 s); the same in Chinese."""
    s = int(round(seconds))
    base = _t(lang, f"{_num(seconds)} s", f"{_num(seconds)} 秒")
    if s < 120:
        return base
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if lang == "zh":
        parts = [f"{h} 小时"] if h else []
        parts += [f"{m} 分钟"] if m else []
        parts += [f"{sec} 秒"] if sec else []
        return f"{base}（{' '.join(parts)}）"
    parts = [f"{h} h"] if h else []
    parts += [f"{m} min"] if m else []
    parts += [f"{sec} s"] if sec else []
    return f"{base} ({' '.join(parts)})"


def _times(ts: list[float], limit: int = 12) -> str:
    shown = [_num(t) for t in ts[:limit]]
    return ", ".join(shown) + (", ..." if len(ts) > limit else "")


def _as_int(v: object, default: int) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    return default


def _as_pair(v: object, default: tuple[int, int]) -> tuple[int, int]:
    if isinstance(v, (tuple, list)) and len(v) == 2:
        return _as_int(v[0], default[0]), _as_int(v[1], default[1])
    if isinstance(v, str):
        parts = v.replace("-", " ").split()
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return int(parts[0]), int(parts[1])
    return default


def _ctx_int(context: Mapping[str, object], key: str, default: int) -> int:
    return _as_int(context.get(key), default) if context.get(key) is not None else default


# --------------------------------------------------------------------------- per key


def _syn_retries(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    retries = _as_int(value, DEFAULT_SYN_RETRIES)
    if retries < 1:
        return [_t(lang, "The kernel refuses values below 1.", "内核不接受小于 1 的值。")]
    linear = _ctx_int(context, KEY_SYN_LINEAR, DEFAULT_SYN_LINEAR_TIMEOUTS)
    old = KernelVersion(6, 1)

    def line(k: KernelVersion | None, prefix_en: str, prefix_zh: str) -> str:
        sends, fail = _syn_run(retries, linear, k)
        return _t(
            lang,
            f"{prefix_en}connect() to a peer that never answers fails with ETIMEDOUT after {_dur(fail, lang)}; "
            f"{len(sends)} SYNs are sent, at {_times(sends)} s.",
            f"{prefix_zh}connect() 连接一个始终不回应的对端，{_dur(fail, lang)}后以 ETIMEDOUT 失败；"
            f"共发出 {len(sends)} 个 SYN，时间点为 {_times(sends)} 秒。",
        )

    out: list[str] = []
    if kernel is not None and kernel < LINEAR_SYN_SINCE:
        out.append(line(kernel, "", ""))
    elif kernel is not None:
        out.append(line(kernel, f"With tcp_syn_linear_timeouts={linear}: ", f"在 tcp_syn_linear_timeouts={linear} 时："))
    else:
        out.append(line(old, "Kernels before 6.5: ", "6.5 之前的内核："))
        out.append(line(None, f"6.5 and later (tcp_syn_linear_timeouts={linear}): ", f"6.5 及以后（tcp_syn_linear_timeouts={linear}）："))
    if retries <= 2:
        out.append(
            _t(
                lang,
                "A single lost SYN or a short network hiccup now fails the connection; prefer a connect timeout in the client.",
                "一次 SYN 丢包或短暂的网络抖动就会让连接失败；更好的做法是在客户端设置连接超时。",
            )
        )
    out.append(
        _t(
            lang,
            "This applies in the network namespace where it is set: pods start with their own value (6), not the node's.",
            "它只在设置它的网络命名空间内生效：Pod 有自己的值（默认 6），不继承节点的设置。",
        )
    )
    return out


def _syn_linear(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    if kernel is not None and kernel < LINEAR_SYN_SINCE:
        return [
            _t(
                lang,
                f"This key does not exist before kernel 6.5 (host has {kernel}); SYN retransmissions back off exponentially from the first one.",
                f"6.5 之前的内核没有这个参数（主机为 {kernel}）；SYN 重传从第一次起就按指数退避。",
            )
        ]
    linear = _as_int(value, DEFAULT_SYN_LINEAR_TIMEOUTS)
    retries = _ctx_int(context, KEY_SYN_RETRIES, DEFAULT_SYN_RETRIES)
    sends, fail = _syn_run(retries, linear, kernel)
    out = [
        _t(
            lang,
            f"The first {linear + 1} gaps between SYNs are 1 s each, then each gap doubles (up to 120 s).",
            f"前 {linear + 1} 个 SYN 间隔都是 1 秒，之后每个间隔翻倍（最长 120 秒）。",
        )
        if linear > 0
        else _t(lang, "0 restores the pre-6.5 schedule: every wait doubles.", "0 恢复 6.5 之前的行为：每次等待都翻倍。"),
        _t(
            lang,
            f"With tcp_syn_retries={retries}: {len(sends)} SYNs at {_times(sends)} s; connect() gives up after {_dur(fail, lang)}.",
            f"在 tcp_syn_retries={retries} 时：共 {len(sends)} 个 SYN，时间点 {_times(sends)} 秒；connect() 在 {_dur(fail, lang)}后放弃。",
        ),
    ]
    old_fail = syn_connect_timeout(retries, 0, KernelVersion(6, 1))
    if old_fail == fail:
        out.append(
            _t(
                lang,
                f"The give-up time is the same as without linear timeouts ({_dur(old_fail, lang)}): the kernel also stops at the time {retries} doubling retries would take.",
                f"放弃时间与没有线性重传时相同（{_dur(old_fail, lang)}）：内核同时受 {retries} 次翻倍重传所需时间的限制。",
            )
        )
    else:
        out.append(
            _t(
                lang,
                f"Without linear timeouts it would give up after {_dur(old_fail, lang)}.",
                f"没有线性重传时会在 {_dur(old_fail, lang)}后放弃。",
            )
        )
    return out


def _synack_retries(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    retries = _as_int(value, DEFAULT_SYNACK_RETRIES)
    if retries < 0:
        return [_t(lang, "The kernel refuses negative values.", "内核不接受负数。")]
    sends, life = synack_schedule(retries), synack_lifetime(retries)
    out = [
        _t(
            lang,
            f"A half-open connection (SYN-ACK sent, no ACK yet) is kept for {_dur(life, lang)}; SYN-ACKs go out at {_times(sends)} s.",
            f"半连接（已发 SYN-ACK、未收到 ACK）最多保留 {_dur(life, lang)}；SYN-ACK 的发送时间点为 {_times(sends)} 秒。",
        ),
        _t(
            lang,
            "When a listener's SYN queue is more than half full, the kernel gives old entries fewer retries (down to 2).",
            "当监听套接字的半连接队列超过一半时，内核会减少旧条目的重传次数（最少到 2 次）。",
        ),
    ]
    if _ctx_int(context, KEY_ABORT, 0) == 0:
        out.append(
            _t(
                lang,
                f"With tcp_abort_on_overflow=0, a handshake whose last ACK met a full accept queue can still complete within these {_dur(life, lang)}.",
                f"在 tcp_abort_on_overflow=0 时，最后一个 ACK 遇到全连接队列已满的握手，仍可在这 {_dur(life, lang)}内完成。",
            )
        )
    return out


def _syncookies(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    v = _as_int(value, 1)
    if v == 0:
        return [
            _t(
                lang,
                "No SYN cookies: once a listener's SYN queue is full, new SYNs are dropped, so a SYN flood locks real clients out.",
                "不使用 SYN cookie：监听套接字的半连接队列满后，新的 SYN 直接丢弃，SYN 洪泛会把正常客户端挡在外面。",
            )
        ]
    if v == 1:
        return [
            _t(
                lang,
                "SYN cookies are sent only when a listener's SYN queue is full, that is when pending handshakes reach min(listen backlog, somaxconn).",
                "只有当监听套接字的半连接队列已满，即未完成握手数达到 min(listen backlog, somaxconn) 时，才发送 SYN cookie。",
            ),
            _t(
                lang,
                "Connections set up from a cookie keep window scaling and SACK only when TCP timestamps are on.",
                "通过 cookie 建立的连接只有在启用 TCP 时间戳时才能保留窗口缩放和 SACK。",
            ),
        ]
    return [
        _t(
            lang,
            "Every SYN is answered with a cookie and no half-open state is kept: SYN-ACKs are never retransmitted and options survive only through timestamps. Meant for testing.",
            "对每个 SYN 都用 cookie 应答，不保存半连接状态：SYN-ACK 不会重传，选项只能借助时间戳保留。仅用于测试。",
        )
    ]


def _abort_on_overflow(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    life = synack_lifetime(_ctx_int(context, KEY_SYNACK_RETRIES, DEFAULT_SYNACK_RETRIES))
    if _as_int(value, 0):
        return [
            _t(
                lang,
                "When the accept queue is full, the client's final ACK is answered with a reset: connect() has succeeded but the first read or write fails with ECONNRESET.",
                "全连接队列满时，客户端的最后一个 ACK 会收到 RST：connect() 已经成功，但第一次读写会以 ECONNRESET 失败。",
            ),
            _t(lang, "New SYNs are still dropped while the queue stays full.", "队列持续满时，新的 SYN 仍会被丢弃。"),
        ]
    return [
        _t(
            lang,
            f"When the accept queue is full, the client's final ACK is ignored; the server keeps resending its SYN-ACK, so the connection completes late (within {_dur(life, lang)}) once accept() catches up.",
            f"全连接队列满时，客户端的最后一个 ACK 被忽略；服务端继续重发 SYN-ACK，等 accept() 跟上后连接会延迟建立（{_dur(life, lang)}以内）。",
        ),
        _t(lang, "New SYNs are dropped while the queue stays full.", "队列持续满时，新的 SYN 会被丢弃。"),
    ]


def _somaxconn(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    n = _as_int(value, 4096)
    out = [
        _t(
            lang,
            f"listen() backlogs above {n} are cut to {n}: a listener's accept queue holds about min(backlog, {n}) finished handshakes waiting for accept().",
            f"listen() 的 backlog 超过 {n} 时会被截到 {n}：监听套接字的全连接队列最多容纳约 min(backlog, {n}) 个等待 accept() 的连接。",
        ),
        _t(
            lang,
            "The same capped backlog is the SYN queue limit; beyond it SYN cookies answer (if tcp_syncookies is on).",
            "同一个截断后的 backlog 也是半连接队列的上限；超过后由 SYN cookie 应答（若 tcp_syncookies 开启）。",
        ),
    ]
    if kernel is None:
        pod_default = _t(lang, "4096 on 5.4 and later, 128 before", "5.4 及以后为 4096，之前为 128")
    else:
        pod_default = "4096" if kernel >= SOMAXCONN_4096_SINCE else "128"
    out.append(
        _t(
            lang,
            f"Pods do not inherit it: each pod starts at the kernel default ({pod_default}) whatever the node has.",
            f"Pod 不继承这个值：无论节点设置为多少，每个 Pod 都从内核默认值开始（{pod_default}）。",
        )
    )
    if n > 65535:
        out.append(
            _t(
                lang,
                "Old kernels kept the backlog in 16 bits and refuse values above 65535.",
                "旧内核用 16 位保存 backlog，不接受大于 65535 的值。",
            )
        )
    return out


def _syn_backlog(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    n = _as_int(value, 2048)
    cookies = _ctx_int(context, KEY_SYNCOOKIES, 1)
    if cookies:
        return [
            _t(
                lang,
                f"With tcp_syncookies={cookies} the kernel does not read this value: a listener's SYN queue is limited by min(listen backlog, somaxconn) and overflow is answered with cookies.",
                f"在 tcp_syncookies={cookies} 时内核不读取这个值：半连接队列由 min(listen backlog, somaxconn) 限制，溢出时用 cookie 应答。",
            )
        ]
    keep = n - (n >> 2)
    return [
        _t(
            lang,
            f"Without SYN cookies, once a listener has more than {keep} half-open connections, SYNs from peers the kernel has not seen complete a handshake before are dropped.",
            f"不使用 SYN cookie 时，一旦某个监听套接字的半连接超过 {keep} 个，来自此前未成功握手过的对端的 SYN 会被丢弃。",
        ),
        _t(
            lang,
            "The SYN queue itself still ends at min(listen backlog, somaxconn); beyond that every SYN is dropped.",
            "半连接队列本身仍以 min(listen backlog, somaxconn) 为上限；超过后所有 SYN 都被丢弃。",
        ),
    ]


def _nodeport_range(context: Mapping[str, object]) -> tuple[int, int]:
    return _as_pair(context.get(CTX_NODEPORT_RANGE), DEFAULT_NODEPORT_RANGE)


def _port_range(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    lo, hi = _as_pair(value, (32768, 60999))
    unpriv = _ctx_int(context, KEY_UNPRIV, DEFAULT_UNPRIVILEGED_PORT_START)
    if lo > hi:
        return [_t(lang, "The first port must not be above the last.", "起始端口不能大于结束端口。")]
    count = ephemeral_ports(lo, hi)
    out = [
        _t(
            lang,
            f"{count} ephemeral ports ({lo}-{hi}) for connect() without bind() and for bind() to port 0; each can be reused towards different destinations.",
            f"共 {count} 个临时端口（{lo}-{hi}），用于未 bind() 的 connect() 和 bind() 到 0 端口；同一端口可以用于不同目的地址。",
        )
    ]
    if lo % 2 != hi % 2:
        out.append(
            _t(
                lang,
                f"The ends have different parity, as the kernel documentation advises: connect() and bind(port 0) each get half the ports first ({count // 2} each).",
                f"两端奇偶性不同，符合内核文档的建议：connect() 和 bind(0) 各自优先使用一半端口（各 {count // 2} 个）。",
            )
        )
    else:
        out.append(
            _t(
                lang,
                "Both ends have the same parity: the kernel documentation advises one even and one odd end, so connect() and bind(port 0) split the range evenly.",
                "两端奇偶性相同：内核文档建议一端为偶数、一端为奇数，这样 connect() 和 bind(0) 能平均分配端口。",
            )
        )
    if lo < unpriv:
        out.append(
            _t(
                lang,
                f"The kernel refuses a range starting below ip_unprivileged_port_start ({unpriv}).",
                f"内核不接受起点低于 ip_unprivileged_port_start（{unpriv}）的范围。",
            )
        )
    reserved = _port_set(parse_port_list(context.get(KEY_RESERVED, "")))
    np_lo, np_hi = _nodeport_range(context)
    overlap = [p for p in range(max(lo, np_lo), min(hi, np_hi) + 1) if p not in reserved]
    if overlap:
        out.append(
            _t(
                lang,
                f"{len(overlap)} NodePort numbers ({np_lo}-{np_hi}) fall inside the range and are not in ip_local_reserved_ports: a host process may get one as its source port.",
                f"有 {len(overlap)} 个 NodePort 端口（{np_lo}-{np_hi}）落在该范围内且不在 ip_local_reserved_ports 中：主机上的进程可能拿到它们作源端口。",
            )
        )
    hits = [f"{p} ({name})" for p, name in sorted(K8S_HOST_PORTS.items()) if lo <= p <= hi and p not in reserved]
    if hits:
        out.append(
            _t(
                lang,
                f"Ports Kubernetes components listen on are inside the range: {', '.join(hits)}; reserve them or a client may hold one when the service starts.",
                f"Kubernetes 组件监听的端口在该范围内：{', '.join(hits)}；应把它们加入保留端口，否则服务启动时端口可能已被某个客户端占用。",
            )
        )
    if reserved:
        taken = sum(1 for p in reserved if lo <= p <= hi)
        if taken:
            out.append(
                _t(
                    lang,
                    f"ip_local_reserved_ports takes {taken} of them out, leaving {count - taken}.",
                    f"ip_local_reserved_ports 从中排除了 {taken} 个，剩余 {count - taken} 个。",
                )
            )
    return out


def _reserved_ports(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    ranges = parse_port_list(value)
    if not ranges:
        return [
            _t(
                lang,
                "No ports reserved: every port of ip_local_port_range may be picked automatically.",
                "没有保留端口：ip_local_port_range 中的每个端口都可能被自动选用。",
            )
        ]
    ports = _port_set(ranges)
    lo, hi = _as_pair(context.get(KEY_PORT_RANGE), (32768, 60999))
    inside = sum(1 for p in ports if lo <= p <= hi)
    out = [
        _t(
            lang,
            f"{len(ports)} ports are never picked for connect() without bind() or bind(port 0); an explicit bind() to them still works.",
            f"共 {len(ports)} 个端口不会被未 bind() 的 connect() 或 bind(0) 自动选用；显式 bind() 到这些端口仍然可以。",
        ),
        _t(
            lang,
            f"{inside} of them lie inside ip_local_port_range ({lo}-{hi}), leaving {ephemeral_ports(lo, hi) - inside} ephemeral ports.",
            f"其中 {inside} 个位于 ip_local_port_range（{lo}-{hi}）内，剩余 {ephemeral_ports(lo, hi) - inside} 个临时端口。",
        ),
    ]
    np_lo, np_hi = _nodeport_range(context)
    np_ports = set(range(np_lo, np_hi + 1))
    covered = len(np_ports & ports)
    if covered == len(np_ports):
        out.append(_t(lang, f"The whole NodePort range ({np_lo}-{np_hi}) is reserved.", f"整个 NodePort 范围（{np_lo}-{np_hi}）都已保留。"))
    elif covered:
        out.append(
            _t(
                lang,
                f"Only {covered} of the NodePort range ({np_lo}-{np_hi}) is reserved.",
                f"NodePort 范围（{np_lo}-{np_hi}）中只有 {covered} 个端口被保留。",
            )
        )
    return out


def _timestamps(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    v = _as_int(value, 1)
    if v == 0:
        out = [
            _t(
                lang,
                "No TCP timestamps: RTT is measured less precisely, PAWS no longer protects fast connections from old duplicates, and SYN-cookie connections lose window scaling and SACK.",
                "不使用 TCP 时间戳：RTT 测量变得粗糙，PAWS 不再保护高速连接免受旧重复报文干扰，通过 SYN cookie 建立的连接会失去窗口缩放和 SACK。",
            )
        ]
        if _ctx_int(context, KEY_TW_REUSE, 2):
            out.append(
                _t(
                    lang,
                    "tcp_tw_reuse has no effect without timestamps: it only reuses TIME_WAIT ports when timestamps prove it safe.",
                    "没有时间戳时 tcp_tw_reuse 不起作用：它只在时间戳能证明安全时复用 TIME_WAIT 端口。",
                )
            )
        return out
    if v == 2:
        return [
            _t(
                lang,
                "Timestamps are on but carry the host's clock without the random offset, which lets an observer estimate uptime and link connections from the same host.",
                "启用时间戳，但不加随机偏移，直接携带主机时钟，观察者可以据此估计开机时长并关联来自同一主机的连接。",
            )
        ]
    return [
        _t(
            lang,
            "Timestamps are on with a random offset for each pair of source and destination addresses (the default; per connection only in 4.10, commit 28ee1b746f49 changed it in 4.11): 12 extra bytes per segment buy precise RTT, PAWS and safe TIME_WAIT reuse.",
            "启用时间戳，并为每一对源、目的地址使用一个随机偏移（默认；只有 4.10 是每个连接一个偏移，4.11 的提交 28ee1b746f49 改成了现在这样）：每个报文多 12 字节，换来精确的 RTT、PAWS 保护和安全的 TIME_WAIT 复用。",
        )
    ]


def _keepalive(key: str, value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    vals = {
        KEY_KA_TIME: _ctx_int(context, KEY_KA_TIME, DEFAULT_KEEPALIVE[0]),
        KEY_KA_INTVL: _ctx_int(context, KEY_KA_INTVL, DEFAULT_KEEPALIVE[1]),
        KEY_KA_PROBES: _ctx_int(context, KEY_KA_PROBES, DEFAULT_KEEPALIVE[2]),
    }
    vals[key] = _as_int(value, vals[key])
    t, i, p = vals[KEY_KA_TIME], vals[KEY_KA_INTVL], vals[KEY_KA_PROBES]
    dead = keepalive_detect_seconds(t, i, p)
    out = [
        _t(
            lang,
            f"A socket with SO_KEEPALIVE sends its first probe after {_dur(t, lang)} of silence and is reset after {_dur(dead, lang)} if no probe is answered ({t} + {i} x {p}).",
            f"开启 SO_KEEPALIVE 的连接空闲 {_dur(t, lang)}后发出第一个探测包，若所有探测都无回应，则在 {_dur(dead, lang)}后被重置（{t} + {i} x {p}）。",
        )
    ]
    if t < IPVS_TCP_TIMEOUT:
        out.append(
            _t(
                lang,
                f"The first probe comes before IPVS's default {IPVS_TCP_TIMEOUT} s idle timeout, so IPVS (kube-proxy in ipvs mode) does not forget an idle Service connection that uses keepalive.",
                f"第一个探测早于 IPVS 默认的 {IPVS_TCP_TIMEOUT} 秒空闲超时，使用 keepalive 的空闲 Service 连接不会被 IPVS（ipvs 模式的 kube-proxy）遗忘。",
            )
        )
    else:
        out.append(
            _t(
                lang,
                f"The first probe comes after IPVS's default {IPVS_TCP_TIMEOUT} s idle timeout: with kube-proxy in ipvs mode, an idle Service connection is forgotten first and its next packet is dropped or reset.",
                f"第一个探测晚于 IPVS 默认的 {IPVS_TCP_TIMEOUT} 秒空闲超时：ipvs 模式的 kube-proxy 会先忘掉空闲的 Service 连接，之后的报文会被丢弃或重置。",
            )
        )
    if kernel is not None and kernel < KEEPALIVE_NETNS_SINCE:
        out.append(
            _t(
                lang,
                f"On kernel {kernel} these keys are global, so pods use the node's values.",
                f"在 {kernel} 内核上这些参数是全局的，Pod 使用节点的值。",
            )
        )
    else:
        out.append(
            _t(
                lang,
                "Only sockets that enable SO_KEEPALIVE use it, per-socket options override it, and pods start from 7200/75/9 unless they set it themselves.",
                "只有开启 SO_KEEPALIVE 的套接字才使用它，套接字自己的选项优先，Pod 除非自行设置，否则从 7200/75/9 开始。",
            )
        )
    return out


def _fin_timeout(value: object, context: Mapping[str, object], kernel: KernelVersion | None, lang: str) -> list[str]:
    n = _as_int(value, 60)
    return [
        _t(
            lang,
            f"A connection the application has closed waits at most {_dur(n, lang)} in FIN_WAIT_2 for the peer's FIN, never less than 3.5 times its retransmission timeout.",
            f"应用已关闭的连接在 FIN_WAIT_2 中最多等待对端 FIN {_dur(n, lang)}，但不会短于其重传超时的 3.5 倍。",
        ),
        _t(
            lang,
            "A socket only half-closed with shutdown() and still held by the application is not limited. TIME_WAIT stays 60 s whatever this is.",
            "只用 shutdown() 半关闭、应用仍持有的套接字不受此限制。无论此值为多少，TIME_WAIT 都保持 60 秒。",
        ),
    ]


_SIMPLE = {
    KEY_SYN_RETRIES: _syn_retries,
    KEY_SYN_LINEAR: _syn_linear,
    KEY_SYNACK_RETRIES: _synack_retries,
    KEY_SYNCOOKIES: _syncookies,
    KEY_ABORT: _abort_on_overflow,
    KEY_SOMAXCONN: _somaxconn,
    KEY_SYN_BACKLOG: _syn_backlog,
    KEY_PORT_RANGE: _port_range,
    KEY_RESERVED: _reserved_ports,
    KEY_TIMESTAMPS: _timestamps,
    KEY_FIN_TIMEOUT: _fin_timeout,
}

_KEEPALIVE_KEYS = (KEY_KA_TIME, KEY_KA_INTVL, KEY_KA_PROBES)


def describe(
    key: str,
    value: object,
    context: Mapping[str, object],
    kernel: KernelVersion | None,
    lang: str = "en",
) -> list[str]:
    """Short sentences on what ``value`` means in practice for ``key``; [] for keys we don't know.

    ``context`` holds the other keys' values (int, tuple of ints or port-list text), used where one
    key's effect depends on another's. ``kernel`` None means the host kernel is unknown: where old
    and new kernels differ, both rules are given. ``lang`` is "en" or "zh".
    """
    context = context or {}
    if key in _KEEPALIVE_KEYS:
        return _keepalive(key, value, context, kernel, lang)
    fn = _SIMPLE.get(key)
    return fn(value, context, kernel, lang) if fn else []


__all__ = [
    "describe",
    "ephemeral_ports",
    "keepalive_detect_seconds",
    "model_timeout",
    "parse_port_list",
    "reserved_in_range",
    "syn_connect_timeout",
    "syn_schedule",
    "synack_lifetime",
    "synack_schedule",
]
