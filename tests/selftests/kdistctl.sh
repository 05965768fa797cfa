#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kdistctl.sh - end-to-end tests of tools/kdistctl against the loaded kdist
# module, the way an administrator uses it: in a fresh network namespace,
# as root and as an unprivileged user, in text and in JSON.
#
# Runs as root inside the test VM (tests/vm/run.sh loads the module first).
# Prints TAP, one line per test. Exit status: 0 all passed, 1 a test failed,
# 4 skipped (KSFT_SKIP: not root, module not loaded, a tool missing).
#
# KDISTCTL=PATH tests another binary (default: tools/kdistctl of this tree).

# The t_* functions are called through the TESTS table.
# shellcheck disable=SC2317

set -u

SELF_DIR="$(cd "$(dirname "$0")" && pwd)"
readonly SELF_DIR
# shellcheck source=kd_lib.sh
. "$SELF_DIR/kd_lib.sh"
KDISTCTL="${KDISTCTL:-$SELF_DIR/../../tools/kdistctl}"
readonly NS="kdctl-$$"
readonly NS2="kdctl2-$$"
readonly NOBODY_ID=65534
readonly UNPRIV=(setpriv --reuid="$NOBODY_ID" --regid="$NOBODY_ID" --clear-groups)

# Defaults and bounds from kmod/uapi/kdist.h.
readonly TICK_MS_DEFAULT=15000
readonly SESSION_TIMEOUT_MS_DEFAULT=120000
readonly HOST_NAME_MAX=64
readonly SECRET_MIN_LEN=16
readonly SECRET_MAX_LEN=64
readonly PORT_DEFAULT=4370

# Values the tests set.
readonly PORT=4370
readonly PORT_V6=4371
readonly PORT_ONLY=4372
readonly TICK_MS=1000
readonly SESSION_TIMEOUT_MS=30000
readonly UNASSIGNED_ADDR=192.0.2.1	# TEST-NET-1, never on an interface
# Peers: beta at a port where nothing listens (its link never comes up),
# zeta over IPv6 at the default port.
readonly PEER=beta
readonly PEER_ADDR=127.0.0.1
readonly PEER_PORT=4380
readonly PEER6=zeta
# The states a link to a peer that does not answer may be in.
readonly DOWN_STATES_RE='^(idle|connecting|down|unreachable)$'
# A node bound on /dev/kdist by a helper, for node show.
readonly NODE_NAME=echo.1

# The monitor is given MONITOR_TRIES * MONITOR_STEP seconds to report.
readonly MONITOR_TRIES=25
readonly MONITOR_STEP=0.2

readonly HEX64_RE='0x[0-9a-f]{16}'

TMP=""
MONITOR_PID=""
NODE_PID=""
SECRET=""
SECRET2=""
INCARNATION=""
LAST=""
RC=0

# ---- Infrastructure ------------------------------------------------------

cleanup() {
	if [[ -n "$MONITOR_PID" ]]; then
		kill "$MONITOR_PID" 2>/dev/null
		wait "$MONITOR_PID" 2>/dev/null
	fi
	node_stop
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	[[ -n "$TMP" ]] && rm -rf "$TMP"
}

# run NAME CMD...: runs CMD; its output goes to $TMP/NAME.out and .err, its
# exit status to $RC. Every output is kept: the secret leak test reads all.
run() {
	local name=$1
	shift
	LAST="$TMP/$name"
	"$@" >"$LAST.out" 2>"$LAST.err"
	RC=$?
}

kd() {
	"$KDISTCTL" -n "$NS" "$@"
}

# The binary, as nobody, inside $NS (setns itself would need privileges).
# An array, not a function, so that a background monitor is one process.
KD_UNPRIV=()

kd_unpriv() {
	"${KD_UNPRIV[@]}" "$@"
}

show_last() {
	echo "exit status $RC; stdout:" | diag
	diag <"$LAST.out"
	echo "stderr:" | diag
	diag <"$LAST.err"
}

expect_rc() {
	[[ $RC -eq $1 ]] && return 0
	echo "expected exit status $1" | diag
	show_last
	return 1
}

# file_matches FILE REGEX: a line of FILE matches the extended regular
# expression REGEX (as grep -E), in bash: every program started costs a
# good fraction of a second in the VM. With nocasematch set, case is
# ignored.
file_matches() {
	local line
	while IFS= read -r line || [[ -n "$line" ]]; do
		[[ $line =~ $2 ]] && return 0
	done <"$1"
	return 1
}

# count_matches FILE REGEX: how many lines of FILE match REGEX.
count_matches() {
	local line n=0
	while IFS= read -r line || [[ -n "$line" ]]; do
		[[ $line =~ $2 ]] && n=$((n + 1))
	done <"$1"
	echo "$n"
}

# expect_out REGEX / expect_err REGEX: a line of the last run matches
# (grep -E; case is ignored on stderr). expect_no_err: the last run
# printed nothing on stderr.
expect_out() {
	file_matches "$LAST.out" "$1" && return 0
	echo "expected stdout to match: $1" | diag
	show_last
	return 1
}

expect_err() {
	local rc
	shopt -s nocasematch
	file_matches "$LAST.err" "$1"
	rc=$?
	shopt -u nocasematch
	[[ $rc -eq 0 ]] && return 0
	echo "expected stderr to match: $1" | diag
	show_last
	return 1
}

expect_no_out() {
	[[ ! -s "$LAST.out" ]] && return 0
	echo "expected no output on stdout" | diag
	show_last
	return 1
}

expect_no_err() {
	[[ ! -s "$LAST.err" ]] && return 0
	echo "expected no output on stderr" | diag
	show_last
	return 1
}

# json_check FILE PYTHON: runs PYTHON with d = the JSON object in FILE.
json_check() {
	local out
	if ! out=$(python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
HEX64 = re.compile(r"^0x[0-9a-f]{16}$")
def is_int(v): return isinstance(v, int) and not isinstance(v, bool)
'"$2" "$1" 2>&1); then
		echo "JSON check failed:" | diag
		diag <<<"$out"
		echo "JSON:" | diag
		diag <"$1"
		return 1
	fi
}

# show_field LABEL: the value of "LABEL: value" in the last `host show`.
show_field() {
	sed -n "s/^ *$1: //p" "$LAST.out"
}

# monitor_catch NAME NEWNAME CMD...: starts the monitor CMD (a command,
# not a function: it must be the background process itself) in the
# background, then renames the host to NEWNAME until the monitor has
# reported it (the monitor may not have subscribed yet at the first
# rename) or the time is up, then stops the monitor. Output: $TMP/NAME.*.
monitor_catch() {
	local name=$1 newname=$2 i
	shift 2
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	MONITOR_PID=$!
	for ((i = 0; i < MONITOR_TRIES; i++)); do
		sleep "$MONITOR_STEP"
		kd host set name "$newname" >/dev/null 2>&1
		file_matches "$TMP/$name.out" "$newname" && break
	done
	kill "$MONITOR_PID" 2>/dev/null
	{ wait "$MONITOR_PID"; } 2>/dev/null
	MONITOR_PID=""
	LAST="$TMP/$name"
	RC=0
}

# ---- Tests ---------------------------------------------------------------
# Each t_NAME function is one TAP line; it returns 0 (pass), 1 (fail) or
# SKIP_RC with SKIP_WHY set.

readonly SKIP_RC=77
SKIP_WHY=""

t_help() {
	local word
	run help "$KDISTCTL" --help &&
	expect_rc 0 && expect_no_err || return 1
	for word in "host show" "host set" monitor "name NAME" "listen ADDR:PORT" \
		"port PORT" secret-file clear-secret "tick MS" "session-timeout MS" \
		"peer add HOST ADDR\[:PORT\]" "peer del HOST" "link show \[HOST\]" \
		"node show" "$PORT_DEFAULT" \
		--json --netns --version Examples "Exit status"; do
		expect_out "$word" || return 1
	done
	run help_cmd "$KDISTCTL" help && expect_rc 0 && expect_out "host set" &&
	run host_set_help "$KDISTCTL" host set help && expect_rc 0 &&
	expect_out "secret-file FILE" &&
	run peer_add_help "$KDISTCTL" peer add help && expect_rc 0 &&
	expect_out "peer add HOST ADDR" && expect_out "$PORT_DEFAULT" &&
	run version "$KDISTCTL" --version && expect_rc 0 &&
	expect_out '^kdistctl [0-9]'
}

t_usage_errors() {
	local -a args
	local line
	while IFS= read -r line; do
		read -ra args <<<"$line"
		run usage "$KDISTCTL" -n "$NS" "${args[@]}"
		if ! { expect_rc 2 && expect_err 'usage:|--help' &&
			expect_no_out; }; then
			echo "(for: kdistctl $line)" | diag
			return 1
		fi
	done <<-EOF
		host set bogus
		host set
		host set tick
		host set tick abc
		host set tick -5
		host set session-timeout 1.5
		host set port 65536
		host set listen 1.2.3.4:99999
		host set listen not-an-address
		host set name a name b
		host set listen 1.2.3.4:1 port 2
		host set secret-file /dev/null clear-secret
		host show extra
		host frob
		bogus
		-Z host show
		monitor extra
		peer
		peer frob
		peer add
		peer add beta
		peer add beta 1.2.3.4:4370 extra
		peer add beta not-an-address
		peer add beta 1.2.3.4:0
		peer add beta 1.2.3.4:65536
		peer add beta 1.2.3.4:
		peer add beta none
		peer add beta [::1
		peer add beta [::1]:0
		peer del
		peer del beta extra
		link show beta extra
		link frob
		node show extra
		node frob
	EOF
	run usage_set "$KDISTCTL" host set bogus &&
	expect_err '^usage: kdistctl .*host set' && expect_err 'bogus' &&
	run usage_peer "$KDISTCTL" peer add beta 10.0.0.1:99999 &&
	expect_err 'invalid peer address' && expect_err '10\.0\.0\.1:99999' &&
	expect_err '^usage: kdistctl .*peer add HOST ADDR'
}

t_show_defaults() {
	run show_defaults kd host show &&
	expect_rc 0 && expect_no_err &&
	expect_out '^host: [A-Za-z0-9._-]+$' &&
	expect_out "^  incarnation: $HEX64_RE\$" &&
	expect_out '^  listen: ' &&
	expect_out '^  secret: no$' &&
	expect_out "^  tick: $TICK_MS_DEFAULT ms\$" &&
	expect_out "^  session-timeout: $SESSION_TIMEOUT_MS_DEFAULT ms\$" &&
	expect_out '^  auth-failures: 0$' &&
	expect_out '^  dropped-unread: 0$' &&
	INCARNATION=$(show_field incarnation)
}

t_json_defaults() {
	run json_defaults kd -j host show &&
	expect_rc 0 && expect_no_err &&
	json_check "$LAST.out" "
assert set(d) == {'name', 'incarnation', 'listen_addr', 'listen_port',
                  'secret_set', 'tick_ms', 'session_timeout_ms',
                  'auth_failures', 'dropped_unread'}, sorted(d)
assert isinstance(d['name'], str) and d['name'], d['name']
assert HEX64.match(d['incarnation']), d['incarnation']
assert d['incarnation'] == '$INCARNATION', 'differs from text output'
assert isinstance(d['listen_addr'], str), d['listen_addr']
assert is_int(d['listen_port']), d['listen_port']
assert d['secret_set'] is False, d['secret_set']
assert d['tick_ms'] == $TICK_MS_DEFAULT, d['tick_ms']
assert d['session_timeout_ms'] == $SESSION_TIMEOUT_MS_DEFAULT
assert is_int(d['auth_failures']) and d['auth_failures'] == 0
assert is_int(d['dropped_unread']) and d['dropped_unread'] == 0
"
}

t_netns_incarnations() {
	run show_ns2 "$KDISTCTL" -n "$NS2" host show &&
	expect_rc 0 && expect_out "^  incarnation: $HEX64_RE\$" || return 1
	[[ "$(show_field incarnation)" != "$INCARNATION" ]] && return 0
	echo "both namespaces have incarnation $INCARNATION" | diag
	return 1
}

t_set() {
	run set kd host set name alpha listen "0.0.0.0:$PORT" tick "$TICK_MS" \
		session-timeout "$SESSION_TIMEOUT_MS" secret-file "$TMP/secret.key" &&
	expect_rc 0 && expect_no_out && expect_no_err
}

t_show_after_set() {
	run show_set kd host show &&
	expect_rc 0 && expect_no_err &&
	expect_out '^host: alpha$' &&
	expect_out "^  incarnation: $INCARNATION\$" &&
	expect_out "^  listen: 0\\.0\\.0\\.0:$PORT\$" &&
	expect_out '^  secret: yes$' &&
	expect_out "^  tick: $TICK_MS ms\$" &&
	expect_out "^  session-timeout: $SESSION_TIMEOUT_MS ms\$"
}

t_json_after_set() {
	run json_set kd -j host show &&
	expect_rc 0 && expect_no_err &&
	json_check "$LAST.out" "
assert set(d) == {'name', 'incarnation', 'listen_addr', 'listen_port',
                  'secret_set', 'tick_ms', 'session_timeout_ms',
                  'auth_failures', 'dropped_unread'}, sorted(d)
assert d['name'] == 'alpha', d['name']
assert d['incarnation'] == '$INCARNATION', d['incarnation']
assert d['listen_addr'] == '0.0.0.0', d['listen_addr']
assert is_int(d['listen_port']) and d['listen_port'] == $PORT
assert d['secret_set'] is True, d['secret_set']
assert is_int(d['tick_ms']) and d['tick_ms'] == $TICK_MS
assert is_int(d['session_timeout_ms'])
assert d['session_timeout_ms'] == $SESSION_TIMEOUT_MS
"
}

t_listening() {
	if ! command -v ss >/dev/null; then
		SKIP_WHY="ss not installed"
		return "$SKIP_RC"
	fi
	run ss ip netns exec "$NS" ss -Htln "sport = :$PORT" &&
	expect_rc 0 && expect_out "LISTEN.*:$PORT"
}

t_other_netns_untouched() {
	run show_ns2_after "$KDISTCTL" -n "$NS2" host show &&
	expect_rc 0 && expect_out '^  secret: no$' &&
	expect_out "^  tick: $TICK_MS_DEFAULT ms\$" || return 1
	file_matches "$LAST.out" '^host: alpha$' || return 0
	echo "the other namespace's host was renamed too" | diag
	return 1
}

t_secret_stdin() {
	run secret_stdin kd host set secret-file - <"$TMP/secret2.key" &&
	expect_rc 0 && expect_no_out && expect_no_err &&
	run show_secret kd host show && expect_out '^  secret: yes$'
}

t_clear_secret() {
	run clear kd host set clear-secret &&
	expect_rc 0 && expect_no_err &&
	run show_clear kd host show && expect_out '^  secret: no$' &&
	run json_clear kd -j host show &&
	json_check "$LAST.out" "assert d['secret_set'] is False" &&
	run reset_secret kd host set secret-file "$TMP/secret.key" &&
	expect_rc 0
}

t_secret_length() {
	run short kd host set secret-file "$TMP/short.key" &&
	expect_rc 1 && expect_err 'short' && expect_err "$SECRET_MIN_LEN" &&
	run long kd host set secret-file "$TMP/long.key" &&
	expect_rc 1 && expect_err 'long' && expect_err "$SECRET_MAX_LEN" &&
	run missing kd host set secret-file "$TMP/nonexistent.key" &&
	expect_rc 1 && expect_err 'nonexistent' &&
	run show_secret_len kd host show && expect_out '^  secret: yes$'
}

t_tick_out_of_range() {
	run tick5 kd host set tick 5 &&
	expect_rc 1 && expect_no_out &&
	expect_err '^kdistctl: host set: .*range' && expect_err 'tick' &&
	run show_tick kd host show && expect_out "^  tick: $TICK_MS ms\$"
}

t_all_or_nothing() {
	run atomic kd host set name beta tick 5 &&
	expect_rc 1 && expect_err 'range' &&
	run show_atomic kd host show && expect_out '^host: alpha$'
}

t_session_timeout_vs_tick() {
	run session kd host set session-timeout $((TICK_MS + TICK_MS / 2)) &&
	expect_rc 1 && expect_err '^kdistctl: host set: [^:]+: .+' &&
	run show_session kd host show &&
	expect_out "^  session-timeout: $SESSION_TIMEOUT_MS ms\$"
}

t_bad_names() {
	local long
	long=$(printf 'n%.0s' $(seq "$HOST_NAME_MAX"))
	run bad_name kd host set name 'bad name!' &&
	expect_rc 1 && expect_err '^kdistctl: host set: .*name' &&
	run long_name kd host set name "$long" &&
	expect_rc 1 && expect_err 'name' &&
	run show_names kd host show && expect_out '^host: alpha$'
}

t_bind_failure() {
	run bind kd host set listen "$UNASSIGNED_ADDR:$PORT" &&
	expect_rc 1 && expect_err 'assign|bind' &&
	run show_bind kd host show && expect_out "^  listen: 0\\.0\\.0\\.0:$PORT\$"
}

t_listen_forms() {
	run l4 kd host set listen "127.0.0.1:$PORT" && expect_rc 0 &&
	run show_l4 kd host show && expect_out "^  listen: 127\\.0\\.0\\.1:$PORT\$" &&
	run none kd host set listen none && expect_rc 0 &&
	run show_none kd host show && expect_out '^  listen: none$' &&
	run json_none kd -j host show &&
	json_check "$LAST.out" "assert d['listen_port'] == 0, d" &&
	run port kd host set port "$PORT_ONLY" && expect_rc 0 &&
	run show_port kd host show &&
	expect_out "^  listen: 127\\.0\\.0\\.1:$PORT_ONLY\$" &&
	run addr kd host set listen 0.0.0.0 && expect_rc 0 &&
	run show_addr kd host show &&
	expect_out "^  listen: 0\\.0\\.0\\.0:$PORT_ONLY\$"
}

t_listen_ipv6() {
	if [[ ! -e /proc/net/if_inet6 ]]; then
		SKIP_WHY="no IPv6 in this kernel"
		return "$SKIP_RC"
	fi
	run l6 kd host set listen "[::1]:$PORT_V6" && expect_rc 0 &&
	run show_l6 kd host show && expect_out "^  listen: \\[::1\\]:$PORT_V6\$" &&
	run json_l6 kd -j host show &&
	json_check "$LAST.out" "
assert d['listen_addr'] == '::1', d['listen_addr']
assert d['listen_port'] == $PORT_V6, d['listen_port']
" &&
	run back kd host set listen "0.0.0.0:$PORT" && expect_rc 0
}

t_monitor_json() {
	monitor_catch monitor_json gamma "$KDISTCTL" -n "$NS" -j monitor
	json_check_lines "$LAST.out" gamma "
assert set(d) >= {'event', 'host', 'incarnation', 'reason'}, sorted(d)
assert d['event'] == 'host-changed', d['event']
assert d['host'] == 'gamma', d['host']
assert d['incarnation'] == '$INCARNATION', d['incarnation']
assert d['reason'] == 'admin', d['reason']
for k in ('tick_ms', 'session_timeout_ms', 'listen_port'):
    assert k not in d or is_int(d[k]), (k, d[k])
assert 'secret_set' not in d or isinstance(d['secret_set'], bool)
"
}

# json_check_lines FILE NAME PYTHON: every line of FILE is a JSON object;
# PYTHON checks d = the first one that mentions NAME.
json_check_lines() {
	local out
	if [[ ! -s "$1" ]]; then
		echo "the monitor printed nothing; stderr:" | diag
		diag <"${1%.out}.err"
		return 1
	fi
	if ! out=$(python3 -c '
import json, sys
first = None
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        sys.exit("not JSON: " + line)
    assert isinstance(d, dict), line
    if first is None and "\"%s\"" % sys.argv[2] in line:
        first = line
if first is None:
    sys.exit("no event for %s" % sys.argv[2])
open(sys.argv[1] + ".first", "w").write(first)
' "$1" "$2" 2>&1); then
		diag <<<"$out"
		diag <"$1"
		return 1
	fi
	json_check "$1.first" "$3"
}

t_monitor_text() {
	monitor_catch monitor_text delta "$KDISTCTL" -n "$NS" monitor &&
	expect_out "^host-changed host delta incarnation $INCARNATION( |\$)" &&
	expect_out ' reason admin$'
}

t_unpriv_set() {
	run unpriv_set kd_unpriv host set tick 2000 &&
	expect_rc 1 && expect_no_out &&
	expect_err 'not permitted|permission' && expect_err 'CAP_NET_ADMIN' &&
	run show_unpriv_set kd host show && expect_out "^  tick: $TICK_MS ms\$"
}

t_unpriv_show() {
	run unpriv_show kd_unpriv host show &&
	expect_rc 0 && expect_no_err && expect_out '^host: delta$' &&
	run unpriv_json kd_unpriv -j host show && expect_rc 0 &&
	json_check "$LAST.out" "assert d['name'] == 'delta', d"
}

t_unpriv_monitor() {
	monitor_catch monitor_unpriv epsilon "${KD_UNPRIV[@]}" -j monitor
	json_check_lines "$LAST.out" epsilon "
assert d['event'] == 'host-changed' and d['host'] == 'epsilon', d
"
}

t_netns_errors() {
	run no_ns "$KDISTCTL" -n "kdctl-none-$$" host show &&
	expect_rc 1 && expect_err 'network namespace' && expect_no_out &&
	run ns_path "$KDISTCTL" -n "/run/netns/$NS" host show &&
	expect_rc 0 && expect_out '^host: epsilon$'
}

# ---- Peers, links and nodes ----------------------------------------------
# python3 is slow to start in the VM: the simple JSON checks are done in
# bash on this tool's compact output, the thorough ones in python3.

# expect_empty_array: the last run printed the empty JSON array.
expect_empty_array() {
	[[ "$(<"$LAST.out")" == "[]" ]] && return 0
	echo "expected [] on stdout" | diag
	show_last
	return 1
}

# expect_peers NAME...: the last `-j link show` lists these peers, in order.
expect_peers() {
	local text rest re='"peer":"([^"]*)"' got=()
	text=$(<"$LAST.out")
	rest=$text
	while [[ $rest =~ $re ]]; do
		got+=("${BASH_REMATCH[1]}")
		rest=${rest#*"${BASH_REMATCH[0]}"}
	done
	[[ $text == "["*"]" && "${got[*]}" == "$*" ]] && return 0
	echo "expected the peers: $*" | diag
	show_last
	return 1
}

t_empty_dumps() {
	run link_empty kd link show && expect_rc 0 && expect_no_out &&
	expect_no_err &&
	run link_empty_json kd -j link show && expect_rc 0 && expect_no_err &&
	expect_empty_array &&
	run node_empty kd node show && expect_rc 0 && expect_no_out &&
	expect_no_err &&
	run node_empty_json kd -j node show && expect_rc 0 && expect_no_err &&
	expect_empty_array
}

t_peer_add() {
	run peer_add kd peer add "$PEER" "$PEER_ADDR:$PEER_PORT" &&
	expect_rc 0 && expect_no_out && expect_no_err
}

t_peer_add_errors() {
	local self long
	run self_name kd host show && self=$(show_field host) &&
	long=$(printf 'p%.0s' $(seq "$HOST_NAME_MAX")) &&
	run peer_dup kd peer add "$PEER" "$PEER_ADDR:$((PEER_PORT + 1))" &&
	expect_rc 1 && expect_no_out &&
	expect_err '^kdistctl: peer add: File exists' && expect_err 'exists' &&
	run peer_self kd peer add "$self" "$PEER_ADDR:$PEER_PORT" &&
	expect_rc 1 && expect_no_out &&
	expect_err '^kdistctl: peer add: Invalid argument' &&
	expect_err 'own peer' &&
	run peer_bad_name kd peer add 'bad name!' "$PEER_ADDR:$PEER_PORT" &&
	expect_rc 1 && expect_err '^kdistctl: peer add: .*name' &&
	run peer_long_name kd peer add "$long" "$PEER_ADDR:$PEER_PORT" &&
	expect_rc 1 && expect_err 'name too long' &&
	run peer_bad_addr kd peer add gamma 300.1.2.3:4370 &&
	expect_rc 2 && expect_err 'invalid peer address' &&
	run peer_list kd -j link show && expect_rc 0 && expect_peers "$PEER" &&
	expect_out "\"port\":$PEER_PORT,"
}

t_peer_add_ipv6() {
	if [[ ! -e /proc/net/if_inet6 ]]; then
		SKIP_WHY="no IPv6 in this kernel"
		return "$SKIP_RC"
	fi
	run peer6 kd peer add "$PEER6" '[::1]' &&
	expect_rc 0 && expect_no_out && expect_no_err &&
	run link6 kd link show "$PEER6" && expect_rc 0 &&
	expect_out "^peer: $PEER6\$" &&
	expect_out "^  address: \\[::1\\]:$PORT_DEFAULT\$"
}

# The checks of one link that has never been up, in JSON.
readonly LINK_JSON_CHECK="
STATS = {'tx_seq', 'rx_seq', 'acked', 'retransmits', 'reconnects',
         'tx_bytes', 'rx_bytes', 'queued_bytes', 'queued_frames',
         'last_rx_ms', 'dups', 'drop_session', 'drop_no_node', 'drop_stale',
         'proto_errors', 'ticks_tx', 'ticks_rx', 'tx_msgs', 'rx_msgs',
         'flow_holds', 'flow_held', 'auth_failures'}
def check_link(l, peer, addr, port):
    assert set(l) == {'peer', 'addr', 'port', 'incarnation', 'state',
                      'protocol', 'stats'}, sorted(l)
    assert l['protocol'] == 0, l['protocol']
    assert l['peer'] == peer and l['addr'] == addr, l
    assert is_int(l['port']) and l['port'] == port, l
    assert re.match('$DOWN_STATES_RE', l['state']), l['state']
    assert l['incarnation'] == '0x%016x' % 0, l['incarnation']
    assert set(l['stats']) == STATS, sorted(set(l['stats']) ^ STATS)
    for k, v in l['stats'].items():
        assert is_int(v) and v >= 0, (k, v)
    for k in ('tx_seq', 'rx_seq', 'acked', 'tx_msgs', 'rx_msgs',
              'ticks_rx', 'rx_bytes', 'queued_frames'):
        assert l['stats'][k] == 0, (k, l['stats'][k])
"

t_link_show_json() {
	run link_json kd -j link show && expect_rc 0 && expect_no_err &&
	json_check "$LAST.out" "$LINK_JSON_CHECK
assert isinstance(d, list) and 1 <= len(d) <= 2, d
check_link(d[0], '$PEER', '$PEER_ADDR', $PEER_PORT)
if len(d) == 2:
    check_link(d[1], '$PEER6', '::1', $PORT_DEFAULT)
"
}

t_link_show_text() {
	local n
	run link_text kd link show && expect_rc 0 && expect_no_err &&
	expect_out "^peer: $PEER\$" &&
	expect_out "^  state: (idle|connecting|down|unreachable)\$" &&
	expect_out '^  incarnation: 0x0{16}$' &&
	expect_out "^  address: ${PEER_ADDR//./\\.}:$PEER_PORT\$" &&
	expect_out '^  sequence: tx 0, rx 0, acked 0$' &&
	expect_out '^  retransmits: [0-9]+$' &&
	expect_out '^  reconnects: [0-9]+$' &&
	expect_out '^  transfer: [0-9]+ bytes sent, 0 bytes received$' &&
	expect_out '^  messages: 0 sent, 0 delivered$' &&
	expect_out '^  queued: [0-9]+ bytes, 0 frames$' &&
	expect_out '^  last rx: not connected$' &&
	expect_out '^  ticks: [0-9]+ sent, 0 received$' &&
	expect_out '^  duplicates: 0$' &&
	expect_out '^  dropped: [0-9]+ \(session ended\), [0-9]+ \(no such node\), [0-9]+ \(stale creation\)$' &&
	expect_out '^  protocol errors: 0$' || return 1
	# Peers are separated by one empty line.
	n=$(count_matches "$LAST.out" '^peer: ')
	[[ $(count_matches "$LAST.out" '^$') -eq $((n - 1)) ]] && return 0
	echo "expected $((n - 1)) empty lines between $n peers" | diag
	show_last
	return 1
}

t_link_show_host() {
	run link_one kd link show "$PEER" && expect_rc 0 && expect_no_err &&
	expect_out "^peer: $PEER\$" || return 1
	if [[ $(count_matches "$LAST.out" '^peer: ') -ne 1 ]]; then
		echo "link show $PEER shows other peers" | diag
		show_last
		return 1
	fi
	run link_one_json kd -j link show "$PEER" && expect_rc 0 &&
	expect_peers "$PEER" &&
	run link_none kd link show nope && expect_rc 1 && expect_no_out &&
	expect_err '^kdistctl: link show: no such peer "nope"$' &&
	run link_none_json kd -j link show nope && expect_rc 1 && expect_no_out &&
	expect_err 'no such peer'
}

t_peer_unpriv() {
	run unpriv_peer_add kd_unpriv peer add gamma "$PEER_ADDR:$PEER_PORT" &&
	expect_rc 1 && expect_err 'not permitted' && expect_err 'CAP_NET_ADMIN' &&
	run unpriv_peer_del kd_unpriv peer del "$PEER" &&
	expect_rc 1 && expect_err 'not permitted' &&
	run unpriv_link kd_unpriv link show "$PEER" && expect_rc 0 &&
	expect_out "^peer: $PEER\$" &&
	run unpriv_node kd_unpriv -j node show && expect_rc 0 &&
	expect_empty_array
}

t_peer_del() {
	run peer_del kd peer del "$PEER" &&
	expect_rc 0 && expect_no_out && expect_no_err &&
	run link_gone kd link show "$PEER" && expect_rc 1 &&
	expect_err 'no such peer' &&
	run peer_del_again kd peer del "$PEER" && expect_rc 1 && expect_no_out &&
	expect_err '^kdistctl: peer del: No such file or directory' &&
	expect_err 'no such peer' &&
	run peer_del_unknown kd peer del nope && expect_rc 1 &&
	expect_err 'no such peer' &&
	run link_after_del kd -j link show && expect_rc 0 || return 1
	if [[ -e /proc/net/if_inet6 ]]; then
		expect_peers "$PEER6"
	else
		expect_empty_array
	fi
}

# node_start: binds $NODE_NAME in $NS from a helper that stays until
# node_stop; $TMP/node.info gets its "pid creation". Arguments, if any, are
# a command the helper runs under (unshare -pf: a pid namespace of its own).
node_start() {
	rm -f "$TMP/node.info"
	ip netns exec "$NS" "$@" python3 -c '
import fcntl, os, struct, sys, time
NAME_MAX = 64	# KDIST_NODE_NAME_MAX
# KDIST_IOC_BIND = _IOWR(0xd1, 1, struct kdist_bind)
fmt = "%dsQ" % NAME_MAX
bind = (3 << 30) | (struct.calcsize(fmt) << 16) | (0xd1 << 8) | 1
fd = os.open("/dev/kdist", os.O_RDWR)
buf = bytearray(struct.pack(fmt, sys.argv[1].encode(), 0))
fcntl.ioctl(fd, bind, buf, True)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d %d\n" % (os.getpid(), struct.unpack(fmt, buf)[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(3600)
' "$NODE_NAME" "$TMP/node.info" 2>"$TMP/node.err" &
	NODE_PID=$!
	local i
	for ((i = 0; i < MONITOR_TRIES; i++)); do
		[[ -s "$TMP/node.info" ]] && return 0
		kill -0 "$NODE_PID" 2>/dev/null || break
		sleep "$MONITOR_STEP"
	done
	echo "the node helper did not bind:" | diag
	diag <"$TMP/node.err"
	return 1
}

node_stop() {
	[[ -n "$NODE_PID" ]] || return 0
	kill "$NODE_PID" 2>/dev/null
	wait "$NODE_PID" 2>/dev/null
	NODE_PID=""
}

t_node_show() {
	local pid creation
	if [[ ! -c /dev/kdist ]]; then
		SKIP_WHY="no /dev/kdist"
		return "$SKIP_RC"
	fi
	node_start || return 1
	read -r pid creation <"$TMP/node.info"
	run node_json kd -j node show && expect_rc 0 && expect_no_err &&
	json_check "$LAST.out" "
assert isinstance(d, list) and len(d) == 1, d
n = d[0]
assert set(n) == {'name', 'creation', 'pid', 'queued', 'queued_bytes',
                  'stats'}, sorted(n)
assert n['name'] == '$NODE_NAME', n
assert n['creation'] == '$creation', (n['creation'], '$creation')
assert is_int(n['pid']) and n['pid'] == $pid, (n['pid'], $pid)
assert n['queued'] == 0 and n['queued_bytes'] == 0, n
assert set(n['stats']) == {'tx_msgs', 'rx_msgs', 'undeliverable',
                         'wake_spins', 'wake_spin_hits', 'events_lost'}, n
assert n['stats']['events_lost'] == 0, n
assert all(is_int(v) and v >= 0 for v in n['stats'].values()), n
assert n['stats']['undeliverable'] == 0, n
" &&
	run node_text kd node show && expect_rc 0 && expect_no_err &&
	expect_out '^NAME +CREATION +PID +QUEUED +QUEUED-BYTES +TX +RX +UNDELIVERABLE$' &&
	expect_out "^${NODE_NAME//./\\.} +$creation +$pid +0 +0 +[0-9]+ +[0-9]+ +0\$" || return 1
	[[ $(wc -l <"$LAST.out") -eq 2 ]] || { show_last; return 1; }
	node_stop
	run node_after kd -j node show && expect_rc 0 && expect_empty_array
}

# The owner's pid is shown as the asker's pid namespace sees it: the
# helper binds as pid 1 of a namespace of its own; kdistctl in the initial
# namespace sees its real pid, kdistctl inside it sees 1, and kdistctl in
# another new namespace, which cannot see it, gets 0.
t_node_pid_namespaces() {
	local inner creation outer
	if [[ ! -c /dev/kdist ]]; then
		SKIP_WHY="no /dev/kdist"
		return "$SKIP_RC"
	fi
	node_start unshare -pf --kill-child || return 1
	read -r inner creation <"$TMP/node.info"
	outer=$(cat "/proc/$NODE_PID/task/$NODE_PID/children" 2>/dev/null)
	outer=${outer%% *}
	if [[ "$inner" != 1 || -z "$outer" ]]; then
		echo "the helper is pid $inner inside, '$outer' outside" | diag
		[[ -n "$outer" ]] && kill -KILL "$outer" 2>/dev/null
		node_stop
		return 1
	fi
	local check="
assert len(d) == 1 and d[0]['creation'] == '$creation', d
assert d[0]['pid'] == PID, (d[0]['pid'], PID)
"
	run pid_outer kd -j node show && expect_rc 0 &&
	json_check "$LAST.out" "PID = $outer$check" &&
	run pid_inner nsenter -t "$outer" -p -- "$KDISTCTL" -n "$NS" -j node show &&
	expect_rc 0 && json_check "$LAST.out" "PID = 1$check" &&
	run pid_other unshare -pf -- "$KDISTCTL" -n "$NS" -j node show &&
	expect_rc 0 && json_check "$LAST.out" "PID = 0$check"
	local rc=$?
	# unshare -f ignores SIGTERM while it waits for its child: end the
	# child, pid 1 of its namespace, and unshare follows.
	kill -KILL "$outer" 2>/dev/null
	node_stop
	return $rc
}

t_secret_never_shown() {
	local leaks
	leaks=$(grep -rlF -e "$SECRET" -e "$SECRET2" "$TMP" --include='*.out' \
		--include='*.err' --include='*.first')
	if [[ -n "$leaks" ]]; then
		echo "the secret was printed in: $leaks" | diag
		return 1
	fi
	if dmesg 2>/dev/null | grep -qF -e "$SECRET" -e "$SECRET2"; then
		echo "the secret is in the kernel log" | diag
		return 1
	fi
}

readonly TESTS=(
	"t_help|--help, help, COMMAND help and --version work"
	"t_usage_errors|malformed command lines exit 2 with a usage message"
	"t_show_defaults|host show in a new namespace shows the defaults"
	"t_json_defaults|-j host show gives every key, with the right types"
	"t_netns_incarnations|each namespace has its own incarnation"
	"t_set|host set name, listen, tick, session-timeout, secret-file"
	"t_show_after_set|host show reflects host set"
	"t_json_after_set|-j host show reflects host set"
	"t_listening|the host listens on the port it was given"
	"t_other_netns_untouched|host set changes nothing in another namespace"
	"t_secret_stdin|secret-file - reads the secret from standard input"
	"t_clear_secret|clear-secret forgets the secret"
	"t_secret_length|a secret of the wrong length is refused (exit 1)"
	"t_tick_out_of_range|tick 5 fails with the kernel's range message"
	"t_all_or_nothing|a refused host set changes nothing"
	"t_session_timeout_vs_tick|session-timeout under two ticks is refused"
	"t_bad_names|invalid host names are refused"
	"t_bind_failure|an address not on the host is refused, nothing changes"
	"t_listen_forms|listen ADDR:PORT, listen none, port, listen ADDR"
	"t_listen_ipv6|listen [::1]:PORT, shown as [::1]:PORT"
	"t_monitor_json|-j monitor reports host-changed as a JSON line"
	"t_monitor_text|monitor reports host-changed as a text line"
	"t_unpriv_set|host set as nobody fails with a permission message"
	"t_unpriv_show|host show as nobody works"
	"t_unpriv_monitor|monitor as nobody receives events"
	"t_netns_errors|-n with a missing namespace fails; -n PATH works"
	"t_empty_dumps|link show and node show with nothing: no text, JSON []"
	"t_peer_add|peer add HOST ADDR:PORT"
	"t_peer_add_errors|peer add: duplicate (EEXIST), own name, bad names and addresses"
	"t_peer_add_ipv6|peer add HOST [::1] takes the default port"
	"t_link_show_json|-j link show: every key and counter of a link never up"
	"t_link_show_text|link show: every line of a link never up"
	"t_link_show_host|link show HOST shows that peer; an unknown one fails"
	"t_peer_unpriv|peer add/del as nobody fail; link and node show work"
	"t_peer_del|peer del forgets the peer; an unknown peer fails"
	"t_node_show|node show lists a bound node, as a table and in JSON"
	"t_node_pid_namespaces|node show gives the owner's pid as the asker's pid namespace sees it"
	"t_secret_never_shown|the secret appears in no output"
)

# ---- Setup ---------------------------------------------------------------

# make_secret BYTES: BYTES random hexadecimal characters.
setup() {
	[[ $EUID -eq 0 ]] || skip_all "must run as root"
	local tool
	for tool in ip python3 setpriv; do
		command -v "$tool" >/dev/null || skip_all "$tool not installed"
	done
	[[ -x "$KDISTCTL" ]] || skip_all "$KDISTCTL not built (make -C tools)"
	KDISTCTL=$(cd "$(dirname "$KDISTCTL")" && pwd)/$(basename "$KDISTCTL")

	TMP=$(mktemp -d "${TMPDIR:-/tmp}/kdistctl-test.XXXXXX") ||
		skip_all "cannot make a temporary directory"
	trap cleanup EXIT
	if ! ip netns add "$NS" || ! ip netns add "$NS2"; then
		skip_all "cannot create network namespaces"
	fi
	ip -n "$NS" link set lo up

	if "$KDISTCTL" -n "$NS" host show 2>&1 | grep -q 'not loaded'; then
		skip_all "the kdist module is not loaded"
	fi

	# A copy nobody can run, wherever the tree is.
	mkdir "$TMP/bin" && cp "$KDISTCTL" "$TMP/bin/kdistctl" &&
		chmod 0755 "$TMP" "$TMP/bin" "$TMP/bin/kdistctl"
	KD_UNPRIV=(ip netns exec "$NS" "${UNPRIV[@]}" "$TMP/bin/kdistctl")

	SECRET=$(make_secret 32)
	SECRET2=$(make_secret "$SECRET_MAX_LEN")
	(
		umask 077
		printf '%s\n' "$SECRET" >"$TMP/secret.key"
		printf '%s' "$SECRET2" >"$TMP/secret2.key"
		make_secret $((SECRET_MIN_LEN - 1)) >"$TMP/short.key"
		make_secret $((SECRET_MAX_LEN + 1)) >"$TMP/long.key"
	)
}

main() {
	local entry fn desc n=0 failed=0 rc
	setup
	echo "TAP version 13"
	echo "1..${#TESTS[@]}"
	for entry in "${TESTS[@]}"; do
		fn=${entry%%|*}
		desc=${entry#*|}
		n=$((n + 1))
		SKIP_WHY=""
		"$fn"
		rc=$?
		if [[ $rc -eq 0 ]]; then
			echo "ok $n - $desc"
		elif [[ $rc -eq $SKIP_RC ]]; then
			echo "ok $n - $desc # SKIP $SKIP_WHY"
		else
			echo "not ok $n - $desc"
			failed=$((failed + 1))
		fi
	done
	if [[ $failed -ne 0 ]]; then
		echo "# $failed of $n tests failed"
		exit 1
	fi
	exit 0
}

main "$@"
