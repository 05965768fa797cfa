#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh - boot Debian's kernel in QEMU (TCG) and run the kdist selftests.
#
# Usage: tests/vm/run.sh [OPTIONS]
#
#   (no option)        run every test listed in tests/selftests/TESTS
#   --test NAME        run only NAME (repeatable; "a,b" or "a b" also work)
#   --cmd "COMMAND"    run COMMAND (bash -c, cwd = repo) instead of the
#                      tests; its exit status becomes run.sh's exit status
#   --shell            interactive bash in the VM (needs a terminal);
#                      Ctrl-D/exit powers off, Ctrl-A x kills the VM
#   --module PATH      module to insmod before anything else
#                      (default: kmod/kdist.ko)
#   --no-module        do not load any module
#   --timeout SECONDS  hard limit for the whole VM run (default 1800, or the
#                      sum of the test timeouts + 120 if larger; 0 = none;
#                      --shell defaults to none)
#   --kernel VERSION   kernel to boot (default: the version kdist.ko was built
#                      for, else what linux-image-amd64 depends on)
#   --append "ARGS"    extra kernel command line arguments
#   -h, --help         this text
#
# The whole host / is shared read-only over 9p and the guest chroots into
# it, so every path (repo, tools, /lib/modules) is the same inside the VM.
# Writable in the guest: tmpfs on /tmp /run /var/tmp /dev/shm, and the
# results dir.  The host's /tmp is hidden by the guest's own tmpfs (the
# repo and results dir stay visible even if they live there; --module is
# copied into the results dir).  Build everything on the host first.
#
# tests/selftests/TESTS: one test per line, "NAME [TIMEOUT_SECONDS]"
# (default timeout 120), "#" starts a comment.  NAME runs
# tests/selftests/NAME (kselftest-harness binary) or tests/selftests/NAME.sh.
# A test is skipped if it exits 4 (KSFT_SKIP) or 77, or if it exits 0 but
# some of its cases were skipped (TAP "ok N name # SKIP reason"); every
# skipped case is listed, with its reason, in the summary and in
# out/skips.txt.  The VM boots one fixed kernel, where every test is
# expected to run in full: a skip fails the run unless KDIST_ALLOW_SKIP=1
# (say, on another kernel or config).  A test fails if it exits
# non-zero, times out, taints the kernel, or the kernel logs a WARNING,
# BUG, Oops, lockdep or refcount splat while it runs.  Tests run as root
# from tests/selftests/ (read-only) with KDIST_REPO, KDIST_OUT (writable
# results dir), KDIST_MODULE, KDIST_TEST_NAME and TMPDIR=/tmp set.
#
# Output:
#   build/vm/console.log     full serial console of the last run
#   build/vm/out/            per-test NAME.log/.tap/.dmesg, results.txt,
#                            results.tap, summary.txt, skips.txt,
#                            dmesg.txt, status
#   Last line in tests mode: "N passed, N failed, N skipped".
#
# Exit status: 0 all passed; 1 a test failed, or one skipped without
# KDIST_ALLOW_SKIP=1 (or --cmd's own status);
# 2 usage/setup error; 3 VM panicked or returned no results; 124 VM timeout;
# 130 interrupted (Ctrl-C).
#
# Environment: KDIST_VM_DIR (default build/vm), KDIST_VM_MEMORY (2G),
# KDIST_VM_CPUS (2), KDIST_KVER (like --kernel), KDIST_QEMU (binary),
# KDIST_ALLOW_SKIP (1: skipped tests or cases do not fail the run).
# No KVM: the guest runs under TCG; boot takes a few seconds.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Physical paths (pwd -P): the guest's /init resolves them inside the
# 9p root, where an absolute symlink would point into the initramfs.
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd -P)"
readonly SCRIPT_DIR REPO_ROOT

VM_DIR="${KDIST_VM_DIR:-$REPO_ROOT/build/vm}"  # made physical once created
readonly TESTS_FILE="$REPO_ROOT/tests/selftests/TESTS"
readonly DEFAULT_MODULE="$REPO_ROOT/kmod/kdist.ko"

readonly DEFAULT_VM_TIMEOUT=1800      # seconds, whole VM
readonly DEFAULT_TEST_TIMEOUT=120     # seconds, per test
readonly VM_TIMEOUT_MARGIN=120        # boot + bookkeeping on top of tests
readonly QEMU_KILL_GRACE=10           # SIGTERM -> SIGKILL for qemu
readonly PANIC_TAIL_LINES=60          # console lines shown after a crash
readonly VM_MEMORY="${KDIST_VM_MEMORY:-2G}"
readonly VM_CPUS="${KDIST_VM_CPUS:-2}"
readonly QEMU="${KDIST_QEMU:-qemu-system-x86_64}"
readonly ALLOW_SKIP="${KDIST_ALLOW_SKIP:-0}"
# panic_on_warn/oops=panic: any kernel splat ends the run with a report;
# hung_task_panic: a task stuck in D state (which timeout(1) cannot kill)
# panics with its stack after 120 s instead of waiting for the VM timeout.
readonly KERNEL_CMDLINE="console=ttyS0 panic=-1 panic_on_warn=1 oops=panic hung_task_panic=1 quiet loglevel=4"
readonly PANIC_RE='Kernel panic - not syncing'
# Start of a kernel splat on the console (timestamped kernel lines only).
readonly KERNEL_SPLAT_RE='^\[ *[0-9]+\.[0-9]+\] (-+\[ cut here \]|WARNING:|BUG:|kernel BUG|Oops|general protection fault|INFO: task .* blocked|Kernel panic)'
readonly CRASH_REPORT_MAX_LINES=120   # cap on the crash excerpt

readonly EXIT_TEST_FAILED=1
readonly EXIT_USAGE=2
readonly EXIT_VM_CRASH=3
readonly EXIT_VM_TIMEOUT=124
readonly EXIT_INTERRUPTED=130

log() { echo "run.sh: $*"; }
die() { echo "run.sh: error: $*" >&2; exit "$EXIT_USAGE"; }
usage() { awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}"; }

# Quote $1 for POSIX sh (read by both busybox ash and bash).
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# ---------------------------------------------------------------- options

MODE=tests
MODULE="$DEFAULT_MODULE"
CMD=""
VM_TIMEOUT=""
KVER="${KDIST_KVER:-}"
EXTRA_APPEND=""
declare -a WANT_TESTS=()

# Append test names from "$1" (space- or comma-separated) to WANT_TESTS.
add_tests() {
	local -a names
	read -r -a names <<<"${1//,/ }"
	WANT_TESTS+=("${names[@]}")
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--test) [[ $# -ge 2 ]] || die "--test needs a NAME"; add_tests "$2"; shift ;;
	--test=*) add_tests "${1#--test=}" ;;
	--cmd) [[ $# -ge 2 ]] || die "--cmd needs a COMMAND"; MODE=cmd; CMD="$2"; shift ;;
	--shell) MODE=shell ;;
	--module) [[ $# -ge 2 ]] || die "--module needs a PATH"; MODULE="$2"; shift ;;
	--no-module) MODULE="" ;;
	--timeout) [[ $# -ge 2 ]] || die "--timeout needs SECONDS"; VM_TIMEOUT="$2"; shift ;;
	--kernel) [[ $# -ge 2 ]] || die "--kernel needs a VERSION"; KVER="$2"; shift ;;
	--append) [[ $# -ge 2 ]] || die "--append needs ARGS"; EXTRA_APPEND="$2"; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown option: $1 (see --help)" ;;
	esac
	shift
done

[[ -z "$VM_TIMEOUT" || "$VM_TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout: not a number: $VM_TIMEOUT"
[[ "$ALLOW_SKIP" == [01] ]] || die "KDIST_ALLOW_SKIP must be 0 or 1, not '$ALLOW_SKIP'"
if [[ "$MODE" == shell ]] && ! [[ -t 0 && -t 1 ]]; then
	die "--shell needs an interactive terminal on stdin and stdout"
fi
command -v "$QEMU" >/dev/null || die "$QEMU not found (tools/install-deps.sh)"

# ----------------------------------------------------------------- module

MODULE_VERMAGIC=""
if [[ -n "$MODULE" ]]; then
	[[ -f "$MODULE" ]] || die "module not found: $MODULE (build it first, or use --no-module)"
	MODULE="$(realpath "$MODULE")"
	MODULE_VERMAGIC="$(modinfo -F vermagic "$MODULE" 2>/dev/null | awk '{ print $1 }' || true)"
	[[ -n "$MODULE_VERMAGIC" ]] || die "$MODULE: not a kernel module (no vermagic)"
fi

# ----------------------------------------------------------------- kernel

if [[ -z "$KVER" && -n "$MODULE_VERMAGIC" && -f "/boot/vmlinuz-$MODULE_VERMAGIC" ]]; then
	KVER="$MODULE_VERMAGIC"
fi
if [[ -z "$KVER" ]]; then
	KVER="$("$REPO_ROOT/tools/install-deps.sh" --kver 2>/dev/null || true)"
fi
if [[ -z "$KVER" ]]; then
	# Last resort: newest kernel image in /boot.
	KVER="$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)"
fi
readonly KERNEL="/boot/vmlinuz-$KVER"
[[ -n "$KVER" && -r "$KERNEL" ]] || die "no bootable kernel ${KERNEL} (apt-get install linux-image-amd64)"
[[ -d "/lib/modules/$KVER" ]] || die "/lib/modules/$KVER missing"
if [[ -n "$MODULE_VERMAGIC" && "$MODULE_VERMAGIC" != "$KVER" ]]; then
	die "$(basename "$MODULE") was built for $MODULE_VERMAGIC but the VM boots $KVER"
fi

# -------------------------------------------------------------- test list

# TESTS entries as "name:timeout", in file order.
declare -a LISTED=()
if [[ -f "$TESTS_FILE" ]]; then
	while read -r line || [[ -n "$line" ]]; do
		line="${line%%#*}"
		read -r name limit extra <<<"$line" || true
		[[ -n "${name:-}" ]] || continue
		[[ -z "${extra:-}" ]] || die "$TESTS_FILE: bad line: $line"
		limit="${limit:-$DEFAULT_TEST_TIMEOUT}"
		[[ "$limit" =~ ^[0-9]+$ ]] || die "$TESTS_FILE: bad timeout for $name: $limit"
		LISTED+=("$name:$limit")
	done <"$TESTS_FILE"
fi

# Timeout of a listed test, or the default for ad-hoc names.
test_timeout() {
	local entry
	for entry in "${LISTED[@]}"; do
		[[ "${entry%:*}" == "$1" ]] && { echo "${entry##*:}"; return; }
	done
	echo "$DEFAULT_TEST_TIMEOUT"
}

declare -a RUN_LIST=()
if [[ "$MODE" == tests ]]; then
	if [[ ${#WANT_TESTS[@]} -eq 0 ]]; then
		[[ ${#LISTED[@]} -gt 0 ]] || die "no tests in $TESTS_FILE"
		RUN_LIST=("${LISTED[@]}")
	else
		for name in "${WANT_TESTS[@]}"; do
			RUN_LIST+=("$name:$(test_timeout "$name")")
		done
	fi
	for entry in "${RUN_LIST[@]}"; do
		[[ "${entry%:*}" =~ ^[A-Za-z0-9_.+/-]+$ && "$entry" != *..* ]] ||
			die "invalid test name: ${entry%:*}"
	done
fi

# Default VM timeout: long enough for every test to hit its own timeout.
if [[ -z "$VM_TIMEOUT" ]]; then
	if [[ "$MODE" == shell ]]; then
		VM_TIMEOUT=0
	else
		VM_TIMEOUT=$DEFAULT_VM_TIMEOUT
		total=$VM_TIMEOUT_MARGIN
		for entry in "${RUN_LIST[@]}"; do
			total=$((total + ${entry##*:}))
		done
		((total <= VM_TIMEOUT)) || VM_TIMEOUT=$total
	fi
fi

# -------------------------------------------------------------- initramfs

mkdir -p "$VM_DIR"
VM_DIR="$(cd "$VM_DIR" && pwd -P)"
readonly VM_DIR
readonly OUT_DIR="$VM_DIR/out"
readonly CONSOLE_LOG="$VM_DIR/console.log"
readonly LOCK_FILE="$VM_DIR/.lock"
exec 9>"$LOCK_FILE"
flock -n 9 || die "another VM run is using $VM_DIR (set KDIST_VM_DIR for a parallel run)"

readonly INITRAMFS="$VM_DIR/initramfs-$KVER.cpio"
initramfs_stale() {
	local dep
	[[ -s "$INITRAMFS" ]] || return 0
	for dep in "$SCRIPT_DIR/init" "$SCRIPT_DIR/mkinitramfs.sh" /bin/busybox \
		"/lib/modules/$KVER/modules.dep"; do
		[[ "$dep" -nt "$INITRAMFS" ]] && return 0
	done
	return 1
}
if initramfs_stale; then
	log "building initramfs for $KVER"
	"$SCRIPT_DIR/mkinitramfs.sh" "$KVER" "$INITRAMFS"
fi

# ------------------------------------------------------------ job files

rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"

# Load a snapshot of the module from the results share: it cannot change
# under the VM, and works even if it lives in /tmp (a tmpfs in the guest).
GUEST_MODULE=""
if [[ -n "$MODULE" ]]; then
	GUEST_MODULE="$OUT_DIR/$(basename "$MODULE")"
	cp "$MODULE" "$GUEST_MODULE"
fi

rows="" cols=""
if [[ "$MODE" == shell ]]; then
	read -r rows cols < <(stty size 2>/dev/null) || true
fi

# boot.env is read by the initramfs /init (busybox), job.env by guest.sh.
{
	echo "KDIST_REPO=$(sh_quote "$REPO_ROOT")"
	echo "KDIST_OUT=$(sh_quote "$OUT_DIR")"
} >"$OUT_DIR/boot.env"
{
	cat "$OUT_DIR/boot.env"
	echo "KDIST_MODE=$(sh_quote "$MODE")"
	echo "KDIST_MODULE=$(sh_quote "$GUEST_MODULE")"
	echo "KDIST_MODULE_SRC=$(sh_quote "$MODULE")"
	echo "KDIST_TESTS=$(sh_quote "${RUN_LIST[*]}")"
	echo "KDIST_CMD=$(sh_quote "$CMD")"
	echo "KDIST_TERM=$(sh_quote "${TERM:-vt100}")"
	echo "KDIST_ROWS=$(sh_quote "$rows")"
	echo "KDIST_COLS=$(sh_quote "$cols")"
} >"$OUT_DIR/job.env"

# ------------------------------------------------------------------- qemu

declare -a QEMU_ARGS=(
	-machine q35 -cpu max -m "$VM_MEMORY" -smp "$VM_CPUS"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$KERNEL" -initrd "$INITRAMFS"
	-append "$KERNEL_CMDLINE${EXTRA_APPEND:+ $EXTRA_APPEND}"
	-monitor none
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=${OUT_DIR//,/,,},mount_tag=kdistout,security_model=none"
)
if [[ "$MODE" == shell ]]; then
	# Terminal attached: keys (incl. Ctrl-C) go to the guest; the mux
	# gives the Ctrl-A x escape to kill a wedged VM.
	QEMU_ARGS+=(-chardev "stdio,id=con,mux=on,signal=off" -serial chardev:con)
	QEMU_STDIN=/dev/stdin
else
	# Batch/CI: never read the terminal; Ctrl-C on the host stops qemu.
	QEMU_ARGS+=(-chardev "stdio,id=con,signal=on" -serial chardev:con)
	QEMU_STDIN=/dev/null
fi

case "$MODE" in
tests) log "booting $KVER: ${#RUN_LIST[@]} test(s), VM timeout ${VM_TIMEOUT}s" ;;
cmd) log "booting $KVER: running: $CMD" ;;
shell) log "booting $KVER: interactive shell" ;;
esac
[[ -n "$MODULE" ]] && log "module: ${MODULE#"$REPO_ROOT"/}"

# Ctrl-C reaches qemu directly (same process group); note it and report.
INTERRUPTED=0
trap 'INTERRUPTED=1' INT

start=$SECONDS
set +e
# --foreground: keep qemu in our process group so it may use the terminal.
timeout --foreground -k "$QEMU_KILL_GRACE" "$VM_TIMEOUT" \
	"$QEMU" "${QEMU_ARGS[@]}" <"$QEMU_STDIN" 2>&1 | tee "$CONSOLE_LOG"
QEMU_RC=${PIPESTATUS[0]}
set -e
ELAPSED=$((SECONDS - start))
trap - INT
[[ "$MODE" == shell ]] && stty sane 2>/dev/null
# Serial output uses CRLF; keep the saved log plain.
sed -i 's/\r$//' "$CONSOLE_LOG"

# ------------------------------------------------------------- verdict

echo
STATUS=""
[[ -s "$OUT_DIR/status" ]] && STATUS="$(tr -dc '0-9' <"$OUT_DIR/status")"
PANICKED=0
grep -q "$PANIC_RE" "$CONSOLE_LOG" && PANICKED=1
TIMED_OUT=0
[[ $QEMU_RC -eq 124 || $QEMU_RC -eq 137 ]] && TIMED_OUT=1

booted="$(sed -n 's/^kdist-vm: booted in \([0-9.]*\)s$/\1/p' "$CONSOLE_LOG" | head -n 1)"
log "VM ran ${ELAPSED}s${booted:+ (kernel boot ${booted}s)}; console: ${CONSOLE_LOG#"$REPO_ROOT"/}, results: ${OUT_DIR#"$REPO_ROOT"/}/"

# Line numbers in the console log of the panic and of the first kernel
# splat leading to it.  The splat is searched only after the last guest
# progress line ("[ RUN  ] ..." or boot), so output of earlier tests that
# merely quoted kernel warnings is not blamed.
crash_lines() {
	# Regexes via the environment: awk -v would mangle the backslashes.
	AWK_SPLAT_RE="$KERNEL_SPLAT_RE" AWK_PANIC_RE="$PANIC_RE" awk '
		BEGIN { splat = ENVIRON["AWK_SPLAT_RE"]; panic = ENVIRON["AWK_PANIC_RE"] }
		/^\[ RUN  \] |^kdist-vm: booted/ { first = 0; next }
		$0 ~ panic { if (!first) first = NR; print first, NR; exit }
		!first && $0 ~ splat { first = NR }' "$CONSOLE_LOG"
}

# What went wrong with the VM itself, if anything.
VM_PROBLEM=""
CRASH_FIRST="" CRASH_PANIC=""
if ((INTERRUPTED)); then
	VM_PROBLEM="interrupted"
elif ((TIMED_OUT)); then
	VM_PROBLEM="VM timed out after ${VM_TIMEOUT}s"
elif ((PANICKED)); then
	read -r CRASH_FIRST CRASH_PANIC < <(crash_lines) || true
	# Name the splat (or the panic reason) in the verdict.
	crash_line="$(sed -n "${CRASH_FIRST},${CRASH_PANIC}p" "$CONSOLE_LOG" |
		grep -E "$KERNEL_SPLAT_RE" | grep -v 'cut here' | head -n 1)"
	VM_PROBLEM="kernel panic: $(sed -E 's/^\[ *[0-9.]+\] //' <<<"$crash_line")"
elif [[ -z "$STATUS" ]]; then
	VM_PROBLEM="VM exited without a result (qemu status $QEMU_RC)"
fi

# Show the console around the crash: from the kernel splat to the panic
# line if there is one, else the last PANIC_TAIL_LINES lines.
show_crash_report() {
	echo "---- console log (${CONSOLE_LOG#"$REPO_ROOT"/}): $VM_PROBLEM ----"
	if [[ -n "$CRASH_FIRST" ]]; then
		sed -n "${CRASH_FIRST},${CRASH_PANIC}p" "$CONSOLE_LOG" | head -n "$CRASH_REPORT_MAX_LINES"
	else
		tail -n "$PANIC_TAIL_LINES" "$CONSOLE_LOG"
	fi
	echo "----"
}

vm_failed() {
	((TIMED_OUT || INTERRUPTED)) || show_crash_report
	log "FAILED: $VM_PROBLEM"
}

vm_exit() {
	((INTERRUPTED)) && exit "$EXIT_INTERRUPTED"
	((TIMED_OUT)) && exit "$EXIT_VM_TIMEOUT"
	exit "$EXIT_VM_CRASH"
}

if [[ "$MODE" != tests ]]; then
	if [[ -n "$VM_PROBLEM" ]]; then
		vm_failed
		vm_exit
	fi
	[[ "$MODE" == cmd ]] && log "command exited with status $STATUS"
	exit "$STATUS"
fi

# Tests mode: count what the guest recorded, then account for the rest.
n_pass=0 n_fail=0 n_skip=0
declare -A FINISHED=()
if [[ -f "$OUT_DIR/results.txt" ]]; then
	while IFS=$'\t' read -r verdict name _; do
		FINISHED[$name]=1
		case "$verdict" in
		OK) n_pass=$((n_pass + 1)) ;;
		SKIP) n_skip=$((n_skip + 1)) ;;
		*) n_fail=$((n_fail + 1)) ;;
		esac
	done <"$OUT_DIR/results.txt"
fi

if [[ -n "$VM_PROBLEM" ]]; then
	vm_failed
	# The first unfinished test is the one that was running if its RUN
	# line made it out; the others never started.
	culprit=""
	for entry in "${RUN_LIST[@]}"; do
		name="${entry%:*}"
		[[ -n "${FINISHED[$name]:-}" ]] && continue
		if [[ -n "$culprit" ]]; then
			echo "[ FAIL ] $name (not run: VM died during $culprit)"
		elif grep -qxF "[ RUN  ] $name" "$CONSOLE_LOG"; then
			echo "[ FAIL ] $name ($VM_PROBLEM)"
			culprit="$name"
		else
			echo "[ FAIL ] $name (not run: VM died during boot or module load)"
		fi
		n_fail=$((n_fail + 1))
	done
	echo "$n_pass passed, $n_fail failed, $n_skip skipped"
	vm_exit
fi

# Every skipped case again, next to the verdict it decides.
if [[ -s "$OUT_DIR/skips.txt" ]]; then
	while IFS=$'\t' read -r name what why; do
		log "skipped: $name: $what: $why"
	done <"$OUT_DIR/skips.txt"
fi
skip_fails=0
if ((n_skip > 0)); then
	if [[ "$ALLOW_SKIP" == 1 ]]; then
		log "$n_skip test(s) skipped; allowed by KDIST_ALLOW_SKIP=1"
	else
		log "FAILED: $n_skip test(s) skipped: on this VM's kernel every test should run (KDIST_ALLOW_SKIP=1 accepts skips)"
		skip_fails=1
	fi
fi
echo "$n_pass passed, $n_fail failed, $n_skip skipped"
if ((n_fail > 0 || STATUS != 0 || skip_fails)); then
	exit "$EXIT_TEST_FAILED"
fi
exit 0
