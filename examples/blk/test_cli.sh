#!/usr/bin/env bash
# The blk device's command line: --help describes every option and its
# default; each bad value or missing option is named in a one-line error,
# exit 2; an image that cannot be used is a one-line error, exit 1.
#   test_cli.sh BINARY
set -uo pipefail
bin=$1
# shellcheck source=examples/vhost-user/test_cli_lib.sh
source "$(dirname "$0")/../vhost-user/test_cli_lib.sh"
cli_help --socket --image --read-only --num-queues --seg-max --size-max --serial --verbose --help
expect "--help gives --num-queues' default" grep -q -E -- '--num-queues N .*\(default 1\)' <<<"$help"
expect "--help gives --seg-max's default" grep -q -E -- '--seg-max N .*\(default 126\)' <<<"$help"
expect "--help gives --size-max's default" grep -q -E -- '\(default 1048576\)' <<<"$help"
expect "--help gives --serial's default" grep -q -E -- '\(default virtq-blk\)' <<<"$help"
expect "--help gives --read-only's default" grep -q -E -- '\(default: read-write\)' <<<"$help"

rejected 2 --socket /tmp/s --image /tmp/i --num-queues 0 -- "bad --num-queues '0': a number from 1 to 8"
rejected 2 --socket /tmp/s --image /tmp/i --num-queues 9 -- "bad --num-queues '9'"
rejected 2 --socket /tmp/s --image /tmp/i --seg-max 1025 -- "bad --seg-max '1025': a number from 1 to 1024"
rejected 2 --socket /tmp/s --image /tmp/i --seg-max x -- "bad --seg-max 'x'"
rejected 2 --socket /tmp/s --image /tmp/i --size-max 511 -- "bad --size-max '511': a number from 512 to 4294967295"
rejected 2 --socket /tmp/s --image /tmp/i --serial 123456789012345678901 -- "--serial '123456789012345678901': at most 20 bytes"
rejected 2 --frobnicate -- "unknown option '--frobnicate'"
rejected 2 --socket -- "--socket needs a value"
rejected 2 --image /tmp/i -- "--socket PATH is required"
rejected 2 --socket /tmp/s -- "--image PATH is required"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rejected 1 --socket "$tmp/s" --image "$tmp/missing" -- "$tmp/missing: No such file or directory"
: >"$tmp/empty"
rejected 1 --socket "$tmp/s" --image "$tmp/empty" -- "not a regular file or block device of at least 512 bytes"
# The manual page (installed by the Debian package) names every option too.
cli_man_page "$(dirname "$0")/virtq-blk-vhost-user.1" \
	socket image read-only num-queues seg-max size-max serial verbose help
cli_finish
