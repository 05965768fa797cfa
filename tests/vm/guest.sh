#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh - runs inside the kdist test VM, chrooted into the (read-only)
# host root, started by the initramfs /init.  Do not run it on the host.
#
# Usage: guest.sh JOB_FILE
#
# JOB_FILE (written by tests/vm/run.sh into the results share) sets:
#   KDIST_REPO     repo root (same absolute path as on the host)
#   KDIST_OUT      results directory (the only persistent writable place)
#   KDIST_MODE     tests | cmd | shell
#   KDIST_MODULE   module to insmod first ("" = none); a copy in KDIST_OUT
#   KDIST_MODULE_SRC  its original host path (informational)
#   KDIST_TESTS    "name:timeout name:timeout ..." (tests mode)
#   KDIST_CMD      command line for bash -c (cmd mode)
#   KDIST_TERM, KDIST_ROWS, KDIST_COLS   host terminal (shell mode)
#
# Results written to KDIST_OUT:
#   <name>.log     full output of a test     <name>.tap    its TAP lines
#   <name>.dmesg   kernel log during a test  results.txt   one line per test
#   results.tap    TAP summary               summary.txt   human summary
#   dmesg.txt      full kernel log           status        exit status
#   skips.txt      one line per skipped case: test, case, reason
#
# A test is SKIP if it exits 4 or 77, or if it passes but its TAP output
# skips some cases ("ok N [name] # SKIP reason", "1..0 # SKIP reason");
# every skipped case is listed in skips.txt and in the summary.

set -uo pipefail

readonly JOB_FILE="${1:?usage: guest.sh JOB_FILE}"
# shellcheck source=/dev/null
. "$JOB_FILE"
: "${KDIST_REPO:?}" "${KDIST_OUT:?}" "${KDIST_MODE:?}" "${KDIST_MODULE?}"

readonly SELFTEST_DIR="$KDIST_REPO/tests/selftests"
readonly STATUS_FILE="$KDIST_OUT/status"
readonly RESULTS_FILE="$KDIST_OUT/results.txt"
readonly SKIPS_FILE="$KDIST_OUT/skips.txt"
readonly KMSG_MARKER="kdist-test:"
# Exit codes meaning "skipped": kselftest KSFT_SKIP and automake's 77.
readonly SKIP_RC_KSFT=4
readonly SKIP_RC_AUTOMAKE=77
readonly TIMEOUT_RC=124                 # timeout(1) after SIGTERM
readonly TIMEOUT_KILLED_RC=137          # timeout(1) had to SIGKILL
readonly KILL_GRACE_SECONDS=5           # SIGTERM -> SIGKILL grace period
# Kernel log lines that fail a test even if it passed.
readonly DMESG_BAD_RE='WARNING:|BUG:|kernel BUG|Oops|general protection fault|possible circular locking|refcount_t|Call Trace:|UBSAN:|detected stall|blocked for more than'
# Taint flags that are expected once an out-of-tree module is loaded:
# O (TAINT_OOT_MODULE, bit 12) and E (TAINT_UNSIGNED_MODULE, bit 13).
readonly TAINT_EXPECTED_MASK=$(((1 << 12) | (1 << 13)))
readonly TAINT_LETTERS="PFSRMBUDAWCIOELKXT"
# Console log level while tests run: 5 shows KERN_WARNING and worse, so
# WARN() splats reach the console log even if the VM then panics.
readonly TEST_CONSOLE_LOGLEVEL=5
readonly KLOG_TAIL_LINES=60             # kernel log lines shown on failure
# busybox dmesg: static binary, starts much faster than util-linux's.
if [[ -x /bin/busybox ]]; then DMESG_CMD=(/bin/busybox dmesg); else DMESG_CMD=(dmesg); fi
readonly DMESG_CMD

MODULE_ERROR=""
N_PASS=0
N_FAIL=0
N_SKIP=0

log() { echo "kdist-vm: $*"; }

# Marker in the kernel log; "<6>" (KERN_INFO) keeps it off the console.
kmsg() { echo "<6>$KMSG_MARKER $*" >/dev/kmsg 2>/dev/null || true; }

# Collect the kernel log after the last line ending in marker $1 into the
# KLOG array, and the first suspicious line of it into KLOG_BAD.  Done in
# bash with busybox dmesg: every exec of a dynamically linked tool costs
# ~0.1-0.5 s under TCG.
collect_kernel_log() {
	local marker=$1 i start=0 line
	local -a all
	mapfile -t all < <("${DMESG_CMD[@]}" 2>/dev/null)
	for ((i = ${#all[@]} - 1; i >= 0; i--)); do
		if [[ "${all[i]}" == *"] $marker" ]]; then
			start=$((i + 1))
			break
		fi
	done
	# Marker gone (log buffer wrapped): keep everything, to be safe.
	KLOG=("${all[@]:start}")
	KLOG_BAD=""
	for line in "${KLOG[@]}"; do
		if [[ "$line" =~ $DMESG_BAD_RE ]]; then
			KLOG_BAD="$line"
			break
		fi
	done
}

# Microseconds since the epoch, without forking.
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# Human-readable taint letters for a taint bitmask.
taint_letters() {
	local mask=$1 i out=""
	for ((i = 0; i < ${#TAINT_LETTERS}; i++)); do
		((mask & (1 << i))) && out+="${TAINT_LETTERS:i:1}"
	done
	echo "${out:-none}"
}

setup_guest() {
	hostname kdist-vm
	ip link set lo up 2>/dev/null
	export TMPDIR=/tmp
	export HISTFILE=/tmp/.bash_history
	export KDIST_REPO KDIST_OUT KDIST_MODULE KDIST_MODULE_SRC
	echo "$TEST_CONSOLE_LOGLEVEL" >/proc/sys/kernel/printk
}

load_module() {
	[[ -n "$KDIST_MODULE" ]] || return 0
	local out name
	name="$(basename "${KDIST_MODULE_SRC:-$KDIST_MODULE}")"
	kmsg "insmod $name"
	if ! out="$(insmod "$KDIST_MODULE" 2>&1)"; then
		out="${out#insmod: ERROR: }"
		MODULE_ERROR="$name failed to load: ${out:-unknown error}"
	fi
	collect_kernel_log "$KMSG_MARKER insmod $name"
	if [[ -z "$MODULE_ERROR" && -n "$KLOG_BAD" ]]; then
		MODULE_ERROR="kernel warning while loading $name: ${KLOG_BAD#\[*\] }"
	fi
	if [[ -n "$MODULE_ERROR" ]]; then
		log "ERROR: $MODULE_ERROR"
		printf '  dmesg: %s\n' "${KLOG[@]}"
	else
		log "loaded ${KDIST_MODULE_SRC:-$KDIST_MODULE}"
	fi
}

# Record and print one test result.  $1=OK|FAIL|SKIP $2=name $3=detail
report() {
	local verdict=$1 name=$2 detail=$3
	case "$verdict" in
	OK) printf '[  OK  ] %s (%s)\n' "$name" "$detail"; N_PASS=$((N_PASS + 1)) ;;
	FAIL) printf '[ FAIL ] %s (%s)\n' "$name" "$detail"; N_FAIL=$((N_FAIL + 1)) ;;
	SKIP) printf '[ SKIP ] %s (%s)\n' "$name" "$detail"; N_SKIP=$((N_SKIP + 1)) ;;
	esac
	printf '%s\t%s\t%s\n' "$verdict" "$name" "$detail" >>"$RESULTS_FILE"
}

# Set variable $1 to $2 without its leading and trailing blanks.
trim() {
	local -n trim_out=$1
	local s=$2
	s="${s#"${s%%[![:space:]]*}"}"
	trim_out="${s%"${s##*[![:space:]]}"}"
}

# Fill SKIPPED with one "case<TAB>reason" per skipped case in the TAP
# output $1: "ok N [- ]name # SKIP reason" (the kselftest harness leaves
# the name out and prints it in its "#  RUN  name ..." line before) or a
# plan "1..0 # SKIP reason" that skips the whole file.  In bash, to fork
# nothing (see collect_kernel_log).
collect_skips() {
	local line rest desc why run_case="" n
	local re_ok='^[[:space:]]*ok ([0-9]+)(.*)$'
	local re_skip='^(.*)#[[:space:]]*[Ss][Kk][Ii][Pp]([^[:alnum:]].*)?$'
	local re_plan='^[[:space:]]*1\.\.0[[:space:]]*#[[:space:]]*[Ss][Kk][Ii][Pp]([^[:alnum:]].*)?$'
	local re_run='^[[:space:]]*#[[:space:]]+RUN[[:space:]]+(.+) \.\.\.$'
	SKIPPED=()
	while IFS= read -r line; do
		line="${line%$'\r'}"
		if [[ "$line" =~ $re_run ]]; then
			run_case="${BASH_REMATCH[1]}"
		elif [[ "$line" =~ $re_plan ]]; then
			trim why "${BASH_REMATCH[1]#:}"
			SKIPPED+=("(all)"$'\t'"${why:-no reason given}")
		elif [[ "$line" =~ $re_ok ]]; then
			n="${BASH_REMATCH[1]}"
			rest="${BASH_REMATCH[2]}"
			[[ "$rest" =~ $re_skip ]] || continue
			trim desc "${BASH_REMATCH[1]}"
			trim why "${BASH_REMATCH[2]#[:-]}"
			trim desc "${desc#- }"
			[[ -n "$desc" ]] || desc="${run_case:-case $n}"
			SKIPPED+=("$desc"$'\t'"${why:-no reason given}")
		fi
	done <"$1"
}

# Append the cases in SKIPPED to skips.txt, as skipped by test $1.
record_skips() {
	local entry
	for entry in "${SKIPPED[@]}"; do
		printf '%s\t%s\n' "$1" "$entry" >>"$SKIPS_FILE"
	done
}

# Run one test.  $1=name $2=timeout in seconds
run_test() {
	local name=$1 limit=$2
	local file="${name//\//_}"          # flat file name for results
	local log="$KDIST_OUT/$file.log"
	local -a cmd

	printf '[ RUN  ] %s\n' "$name"

	if [[ -n "$MODULE_ERROR" ]]; then
		report FAIL "$name" "$MODULE_ERROR"
		return
	fi
	if [[ -f "$SELFTEST_DIR/$name" && -x "$SELFTEST_DIR/$name" ]]; then
		cmd=("$SELFTEST_DIR/$name")
	elif [[ -f "$SELFTEST_DIR/$name.sh" ]]; then
		cmd=(bash "$SELFTEST_DIR/$name.sh")
	else
		report FAIL "$name" "not found: tests/selftests/${name}[.sh]; not built?"
		return
	fi

	local taint_before taint_after rc start_us elapsed_us elapsed
	read -r taint_before </proc/sys/kernel/tainted
	kmsg "begin $name"
	start_us=$(now_us)
	# Tests run from the (read-only) selftests dir; TMPDIR is writable.
	# timeout(1) puts itself and the test in a new process group (pgid =
	# its pid); whatever the test left running in it is killed afterwards,
	# otherwise a stray background process would keep tee waiting.
	{
		(cd "$SELFTEST_DIR" && KDIST_TEST_NAME="$name" \
			exec timeout -k "$KILL_GRACE_SECONDS" "$limit" "${cmd[@]}") </dev/null 2>&1 &
		local pid=$!
		wait "$pid"
		local status=$?
		kill -KILL -- "-$pid" 2>/dev/null
		exit "$status"
	} | tee "$log"
	rc=${PIPESTATUS[0]}
	elapsed_us=$(($(now_us) - start_us))
	elapsed="$((elapsed_us / 1000000)).$((elapsed_us / 100000 % 10))"
	read -r taint_after </proc/sys/kernel/tainted

	# Leftover namespaces would leak into the next test: note and remove
	# them (before collecting the kernel log, so teardown splats count).
	local -a leftover
	shopt -s nullglob
	leftover=(/run/netns/*)
	shopt -u nullglob
	if ((${#leftover[@]} > 0)); then
		log "note: $name left network namespaces behind: ${leftover[*]##*/} (deleted)"
		ip -all netns delete >/dev/null 2>&1
	fi
	kmsg "end $name rc=$rc"

	# Keep the TAP lines separately for tools that want pure TAP.
	grep -E '^[[:space:]]*(TAP version|1\.\.|ok |not ok |#)' "$log" >"$KDIST_OUT/$file.tap"

	collect_kernel_log "$KMSG_MARKER begin $name"
	printf '%s\n' "${KLOG[@]}" >"$KDIST_OUT/$file.dmesg"
	local new_taint=$(((taint_after & ~taint_before) & ~TAINT_EXPECTED_MASK))

	if [[ -n "$KLOG_BAD" ]]; then
		echo "---- kernel log during $name ----"
		local from=$((${#KLOG[@]} - KLOG_TAIL_LINES))
		printf '%s\n' "${KLOG[@]:$((from > 0 ? from : 0))}"
		echo "----"
		report FAIL "$name" "kernel warning in dmesg: ${KLOG_BAD#\[*\] }"
	elif ((new_taint)); then
		report FAIL "$name" "kernel tainted: $(taint_letters "$new_taint")"
	elif ((rc == TIMEOUT_RC || (rc == TIMEOUT_KILLED_RC && elapsed_us >= limit * 1000000))); then
		report FAIL "$name" "timeout after ${limit}s"
	elif ((rc == 0)); then
		collect_skips "$log"
		if ((${#SKIPPED[@]} == 0)); then
			report OK "$name" "${elapsed}s"
		else
			report SKIP "$name" "${#SKIPPED[@]} case(s) skipped, the rest passed in ${elapsed}s"
			record_skips "$name"
		fi
	elif ((rc == SKIP_RC_KSFT || rc == SKIP_RC_AUTOMAKE)); then
		local why
		why="$(grep -E 'SKIP' "$log" | tail -n 1 | sed -E 's/.*SKIP[]:]?[[:space:]]*//')"
		collect_skips "$log"
		((${#SKIPPED[@]} > 0)) || SKIPPED=("(all)"$'\t'"${why:-exit code $rc}")
		report SKIP "$name" "${why:-exit code $rc}"
		record_skips "$name"
	else
		report FAIL "$name" "exit code $rc after ${elapsed}s"
	fi
}

run_tests() {
	: >"$RESULTS_FILE"
	: >"$SKIPS_FILE"
	local entry
	for entry in $KDIST_TESTS; do
		run_test "${entry%:*}" "${entry##*:}"
	done

	# results.tap: one TAP line per test, for CI tooling.
	local i=0 verdict name detail
	{
		echo "TAP version 13"
		echo "1..$((N_PASS + N_FAIL + N_SKIP))"
		while IFS=$'\t' read -r verdict name detail; do
			i=$((i + 1))
			case "$verdict" in
			OK) echo "ok $i $name" ;;
			SKIP) echo "ok $i $name # SKIP $detail" ;;
			*) echo "not ok $i $name # $detail" ;;
			esac
		done <"$RESULTS_FILE"
	} >"$KDIST_OUT/results.tap"

	{
		echo "==== kdist selftests: summary ===="
		while IFS=$'\t' read -r verdict name detail; do
			printf '%-5s %s (%s)\n' "$verdict" "$name" "$detail"
		done <"$RESULTS_FILE"
		if [[ -s "$SKIPS_FILE" ]]; then
			echo "skipped:"
			while IFS=$'\t' read -r name detail why; do
				printf '  %s: %s: %s\n' "$name" "$detail" "$why"
			done <"$SKIPS_FILE"
		fi
		echo "$N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
	} | tee "$KDIST_OUT/summary.txt"

	[[ $N_FAIL -eq 0 ]]
}

run_cmd() {
	if [[ -n "$MODULE_ERROR" ]]; then
		log "not running command: $MODULE_ERROR"
		return 1
	fi
	(cd "$KDIST_REPO" && bash -c "$KDIST_CMD" </dev/null 2>&1)
}

run_shell() {
	local tty=/dev/ttyS0
	[[ -z "$MODULE_ERROR" ]] || log "WARNING: $MODULE_ERROR (continuing)"
	log "interactive shell; 'exit' or Ctrl-D powers off (Ctrl-A x kills the VM)"
	log "repo: $KDIST_REPO   results: $KDIST_OUT (writable)   scratch: /tmp"
	export TERM="${KDIST_TERM:-vt100}"
	export PS1='\[\e[1m\]kdist-vm\[\e[0m\]:\w# '
	if [[ -n "${KDIST_ROWS:-}" && -n "${KDIST_COLS:-}" ]]; then
		stty rows "$KDIST_ROWS" cols "$KDIST_COLS" <"$tty"
	fi
	# setsid -c makes the serial port the controlling terminal, so job
	# control and Ctrl-C work (/dev/console cannot be a controlling tty).
	(cd "$KDIST_REPO" && setsid -w -c bash --norc -i <>"$tty" >&0 2>&0)
}

main() {
	setup_guest
	load_module

	local rc
	case "$KDIST_MODE" in
	tests) run_tests; rc=$? ;;
	cmd) run_cmd; rc=$? ;;
	shell) run_shell; rc=$? ;;
	*) log "unknown mode '$KDIST_MODE'"; rc=2 ;;
	esac

	"${DMESG_CMD[@]}" >"$KDIST_OUT/dmesg.txt" 2>/dev/null
	echo "$rc" >"$STATUS_FILE"
	sync
	return "$rc"
}

main
