# SPDX-License-Identifier: GPL-2.0
# Shared by the shell selftests (sourced): the kselftest skip code, a
# whole-file skip, comment lines for TAP output, and random secrets.

readonly KSFT_SKIP=4

# Skips every test of the file, saying why.
skip_all() {
	echo "1..0 # SKIP $*"
	exit "$KSFT_SKIP"
}

# Copies stdin to stdout as TAP comment lines.
diag() {
	sed 's/^/# /'
}

# Prints N random hex characters.
make_secret() {
	od -An -vtx1 -N"$(( ($1 + 1) / 2 ))" /dev/urandom | tr -d ' \n' |
		cut -c1-"$1"
}
