#!/usr/bin/env bash
# The device's command line: --help describes every option and its default;
# each bad value or missing option is named in a one-line error, exit 2.
#   test_cli.sh BINARY
set -uo pipefail
bin=$1
# shellcheck source=examples/vhost-user/test_cli_lib.sh
source "$(dirname "$0")/../vhost-user/test_cli_lib.sh"
cli_help --socket --uds-path --guest-cid --vm --verbose --help
expect "--help gives --guest-cid's default" grep -q -E -- '--guest-cid N .*\(default 3\)' <<<"$help"
expect "--help gives --verbose's default" grep -q -E -- '--verbose.*\(default: off\)' <<<"$help"

rejected 2 --socket /tmp/s --uds-path /tmp/u --guest-cid 2 -- "bad guest CID '2': a number from 3 to 4294967294"
rejected 2 --socket /tmp/s --uds-path /tmp/u --guest-cid 4294967295 -- "bad guest CID '4294967295'"
rejected 2 --socket /tmp/s --uds-path /tmp/u --guest-cid abc -- "bad guest CID 'abc'"
rejected 2 --vm guest-cid=x,socket=/tmp/s,uds-path=/tmp/u -- "bad guest CID 'x'"
rejected 2 --vm color=blue -- "--vm: unknown key 'color' (socket, uds-path, guest-cid)"
rejected 2 --vm socket -- "--vm: 'socket' is not KEY=VALUE"
rejected 2 --frobnicate -- "unknown option '--frobnicate'"
rejected 2 --socket -- "--socket needs a value"
rejected 2 --uds-path /tmp/u -- "--socket PATH is required"
rejected 2 --socket /tmp/s -- "--uds-path PATH is required"
# The manual page (installed by the Debian package) names every option too.
cli_man_page "$(dirname "$0")/virtq-vsock-vhost-user.1" socket uds-path guest-cid vm verbose help
cli_finish
