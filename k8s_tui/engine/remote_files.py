"""The small POSIX shell programs the SSH executor runs on a host, as argv lists.

Every program here is constant text: values (paths, modes, owners, digests) reach it only as
positional arguments (``sh -c SCRIPT sh ARG1 ARG2 ...``), so no value is ever parsed as shell
code, whatever characters it holds. The executor quotes each argv word with ``shlex.quote``.

The programs need only a POSIX ``sh`` and coreutils (``mktemp``, ``dd``, ``sha256sum``,
``stat``, ``chmod``, ``chown``, ``mv``, ``cp``); BusyBox provides the same.
"""

from __future__ import annotations

import hashlib
import shlex

# exit status of the read program when the file does not exist (cat itself exits 0 or 1)
ABSENT_EXIT = 44
# exit status of the write program when the bytes received differ from the digest sent
CORRUPT_EXIT = 65

# where coreutils keeps the library ``stdbuf`` preloads (Debian/Ubuntu/Fedora/RHEL, Arch, older RHEL)
STDBUF_LIBS = (
    "/usr/libexec/coreutils/libstdbuf.so",
    "/usr/lib/coreutils/libstdbuf.so",
    "/usr/lib64/coreutils/libstdbuf.so",
    "/usr/local/libexec/coreutils/libstdbuf.so",
)

# Every command runs this first; it then becomes the command (exec: no extra process stays).
# 1. Announces ``MARKER PGID LOGIN_SHELL`` on stderr. The executor hides that line; it proves that
#    sudo let the command start, names the process group to kill on a timeout or a cancel (sshd
#    makes each session, so each command, a process group of its own: killing that group ends the
#    command and everything it started, and nothing else), and tells the executor whether the login
#    shell may run this script itself next time (see inline_start).
# 2. Then, by MODE:
#    0  runs the command as it is;
#    1  runs it line-buffered: sets what ``env PYTHONUNBUFFERED=1 stdbuf -oL -eL CMD`` sets
#       (stdbuf's preload library, found with shell tests only), falls back to running ``stdbuf``
#       itself when the library is elsewhere, and runs the command as it is without stdbuf;
#    r  reads one file (READ_BODY), w  writes one (WRITE_BODY): the file programs run in this same
#       shell, no second one.
#   $1 = marker (random per command), $2 = MODE, $3.. = the command, or the file program's values
START_HEAD = r"""g=$$
read -r _ _ _ _ g _ 2>/dev/null </proc/$$/stat || g=$$
printf '%s %s %s\n' "$1" "$g" "${SHELL:-}" >&2
m=$2
shift 2
"""

STREAM_BODY = r"""PYTHONUNBUFFERED=1
export PYTHONUNBUFFERED
for l in LIBS; do
  if [ -f "$l" ]; then
    LD_PRELOAD="$l${LD_PRELOAD:+:$LD_PRELOAD}" _STDBUF_O=L _STDBUF_E=L
    export LD_PRELOAD _STDBUF_O _STDBUF_E
    exec "$@"
  fi
done
if command -v stdbuf >/dev/null 2>&1; then exec stdbuf -oL -eL "$@"; fi
exec "$@"
""".replace("LIBS", " ".join(STDBUF_LIBS))

#   $1 = path
READ_BODY = f"""[ -e "$1" ] || [ -L "$1" ] || exit {ABSENT_EXIT}
exec cat -- "$1"
"""

# Ends a command's process group (or, failing that, the process): TERM, up to 2 s to go, then KILL.
# (No `kill --`: dash rejects it; the id is digits the executor formats itself.)
#   $1 = process group id
KILL_SCRIPT = r"""
t="-$1"
kill -TERM "$t" 2>/dev/null || { t="$1"; kill -TERM "$t" 2>/dev/null || exit 0; }
i=0
while kill -0 "$t" 2>/dev/null; do
  i=$((i + 1))
  [ "$i" -gt 20 ] && { kill -KILL "$t" 2>/dev/null; exit 0; }
  sleep 0.1
done
exit 0
"""

# Atomic replace. The content comes on stdin; its length and sha256 come beside it, so that a write
# cut short (cancel, lost link: the command then sees an early end of input) is detected and never
# renamed over the target.
#   $1 = path (absolute), $2 = mode (octal, e.g. 644), $3 = owner, $4 = group,
#   $5 = backup directory ('' for none), $6 = sha256 of the content (hex), $7 = its length
# Prints one line on stdout: "unchanged", or "changed BACKUP" (BACKUP: the copy of the old content,
# or BACKUP_DIR/NAME.absent when there was no file, or empty without a backup directory).
# The first backup of a name in a backup directory is kept: the runner uses one directory per run,
# so what it holds is the file as it was before the run, whatever the run wrote in between.
# Runs as root (the executor writes through sudo, or as root). Every program started costs a few
# milliseconds on the host, so the common paths start few: unchanged = sha256sum (+ stat); a new
# file = dd, mv, sync (+ sync of the backup directory); chmod/chown/mktemp only when needed.
WRITE_BODY = """set -u
path=$1 mode=$2 owner=$3 group=$4 bdir=$5 want=$6 len=$7
dir=${path%/*} base=${path##*/}
[ -n "$dir" ] || dir=/
if [ -f "$path" ] && [ ! -L "$path" ]; then
  cur=$(sha256sum < "$path") || exit 1
  if [ "${cur%% *}" = "$want" ]; then
    meta=$(stat -c '%a %U:%G' -- "$path") || exit 1
    if [ "$meta" = "$mode $owner:$group" ]; then
      echo unchanged
      exit 0
    fi
  fi
fi
tmp=
trap 'if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
umask 077
backup=
if [ -n "$bdir" ]; then
  [ -d "$bdir" ] || mkdir -p -- "$bdir" || exit 1
  if [ -e "$bdir/$base" ] || [ -L "$bdir/$base" ]; then
    backup="$bdir/$base"
  elif [ -e "$bdir/$base.absent" ]; then
    backup="$bdir/$base.absent"
  elif [ -e "$path" ] || [ -L "$path" ]; then
    backup="$bdir/$base"
    cp -p -- "$path" "$backup" || exit 1
    sync -- "$backup" "$bdir" 2>/dev/null || true
  else
    backup="$bdir/$base.absent"
    : > "$backup" || exit 1
    sync -- "$bdir" 2>/dev/null || true
  fi
fi
# a mode without x or special bits is given at creation (umask); others take a chmod
fix=1
case $mode in
  [0246][0246][0246])
    m1=${mode%??} m2=${mode#?} m3=${mode#??}
    m2=${m2%?}
    umask "$((6 - m1))$((6 - m2))$((6 - m3))"
    fix=
    ;;
esac
t="$dir/.$base.k8s-tui.$$"
set -C
if { : > "$t"; } 2>/dev/null; then
  tmp=$t
else
  tmp=$(mktemp "$dir/.$base.k8s-tui.XXXXXX") || exit 1
  fix=1
fi
set +C
r=$(LC_ALL=C dd of="$tmp" bs=65536 conv=fsync 2>&1) || { echo "cannot write $tmp: $r" >&2; exit 1; }
case "
$r" in
  *"
$len bytes"*) ;;
  *)
    got=$(sha256sum < "$tmp") || exit 1
    if [ "${got%% *}" != "$want" ]; then
      echo "content cut short or corrupted in transit (sha256 ${got%% *}, expected $want); $path left as it was" >&2
      exit CORRUPT
    fi
    ;;
esac
if [ -n "$fix" ]; then chmod -- "$mode" "$tmp" || exit 1; fi
if [ "$owner:$group" != root:root ] || [ ! -O "$tmp" ] || [ ! -G "$tmp" ]; then
  chown -- "$owner:$group" "$tmp" || exit 1
fi
mv -f -- "$tmp" "$path" || exit 1
tmp=
sync -- "$dir" 2>/dev/null || true
echo "changed $backup"
""".replace("CORRUPT", str(CORRUPT_EXIT))


START_SCRIPT = START_HEAD + f"""case $m in
1)
{STREAM_BODY};;
r)
{READ_BODY};;
w)
{WRITE_BODY}exit 0
;;
esac
exec "$@"
"""

MODE_PLAIN, MODE_STREAM, MODE_READ, MODE_WRITE = "0", "1", "r", "w"


def _sh(script: str, *args: str) -> list[str]:
    return ["sh", "-c", script, "sh", *args]


def start_argv(marker: str, mode: str, args: list[str]) -> list[str]:
    """``sh -c START sh MARKER MODE ARGS...``: the command (or file program) with its START line."""
    return _sh(START_SCRIPT, marker, mode, *args)


# login shells that run START_SCRIPT as it is (POSIX sh and its supersets)
POSIX_SHELLS = frozenset({"sh", "bash", "dash", "ash", "ksh", "mksh", "ksh93", "zsh", "busybox", "yash", "posh"})


def is_posix_shell(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in POSIX_SHELLS


def inline_start(marker: str, mode: str, args: list[str]) -> str:
    """START_SCRIPT as the command line itself, for a login shell known to be POSIX (sshd runs
    ``$SHELL -c LINE``): the values become the positional parameters through ``set --`` (each word
    quoted), the constant script follows. One program less to start than ``sh -c START ...``."""
    words = " ".join(shlex.quote(a) for a in [marker, mode, *args])
    return f"set -- {words}\n{START_SCRIPT}"


def kill_argv(pgid: int) -> list[str]:
    """TERM then KILL a process group."""
    return _sh(KILL_SCRIPT, str(int(pgid)))


def read_file_argv(path: str, marker: str = "k8s-tui") -> list[str]:
    """cat path; exits ABSENT_EXIT when there is no such file."""
    return start_argv(marker, MODE_READ, [path])


def write_file_argv(path: str, mode: int, owner: str, group: str, backup_dir: str | None, content: bytes,
                    marker: str = "k8s-tui") -> list[str]:
    """Atomically replace path with stdin (see WRITE_BODY)."""
    return start_argv(marker, MODE_WRITE, write_file_args(path, mode, owner, group, backup_dir, content))


def write_file_args(path: str, mode: int, owner: str, group: str, backup_dir: str | None, content: bytes) -> list[str]:
    """The write program's values for content (its digest and length travel beside it)."""
    return write_args(path, mode, owner, group, backup_dir, hashlib.sha256(content).hexdigest(), len(content))


def write_args(path: str, mode: int, owner: str, group: str, backup_dir: str | None, sha256: str, length: int) -> list[str]:
    return [path, format(mode, "o"), owner, group, backup_dir or "", sha256, str(length)]

