#!/bin/sh
# Times sshd's view of pull mode: one AuthorizedKeysCommand call, process start included, for
# snapshots of 100 and 100,000 users, signed, looked up with --verify-key. Not run by CI.
#
#   bench/authkeys/run.sh [CALLS]        (default 200 calls per case; uses hyperfine if installed)
#
# Prints a table; docs/pull-mode.md records the figures.
set -eu
cd "$(dirname "$0")/../.."
CALLS=${1:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building accessctl-keys and accessctl (CGO_ENABLED=0, -trimpath) ..." >&2
CGO_ENABLED=0 go build -trimpath -o "$work/accessctl-keys" ./cmd/accessctl-keys
CGO_ENABLED=0 go build -trimpath -o "$work/accessctl" ./cmd/accessctl
ssh-keygen -q -t ed25519 -N '' -C bench-signer -f "$work/sign"
for n in 100 100000; do
	go run ./bench/authkeys/gen -users "$n" -sign-key "$work/sign" -out "$work/snap-$n.json"
done
# A user in the middle of the file, so the lookup is not helped by being first.
user_100=u000051
user_100000=u050001

# ms_per_call SNAP USER CMD...: mean wall time of CALLS runs of CMD, in ms (loop + date +%s%N).
ms_per_call() {
	snap=$1 user=$2
	shift 2
	"$@" --snapshot "$snap" --verify-key "$work/sign.pub" "$user" >/dev/null # warm the page cache
	start=$(date +%s%N)
	i=0
	while [ "$i" -lt "$CALLS" ]; do
		"$@" --snapshot "$snap" --verify-key "$work/sign.pub" "$user" >/dev/null 2>&1
		i=$((i + 1))
	done
	end=$(date +%s%N)
	echo "$start $end $CALLS" | awk '{printf "%.2f", ($2 - $1) / 1e6 / $3}'
}

baseline_ms() {
	start=$(date +%s%N)
	i=0
	while [ "$i" -lt "$CALLS" ]; do
		/bin/true
		i=$((i + 1))
	done
	end=$(date +%s%N)
	echo "$start $end $CALLS" | awk '{printf "%.2f", ($2 - $1) / 1e6 / $3}'
}

printf '\n%-28s %10s %12s %14s\n' "binary" "users" "file bytes" "ms per call"
printf '%-28s %10s %12s %14s\n' "/bin/true (fork+exec floor)" "-" "-" "$(baseline_ms)"
for bin in accessctl-keys accessctl; do
	for n in 100 100000; do
		eval user=\$user_$n
		size=$(wc -c <"$work/snap-$n.json")
		if [ "$bin" = accessctl ]; then
			ms=$(ms_per_call "$work/snap-$n.json" "$user" "$work/accessctl" authorized-keys)
			label="accessctl authorized-keys"
		else
			label=accessctl-keys
			ms=$(ms_per_call "$work/snap-$n.json" "$user" "$work/accessctl-keys")
		fi
		printf '%-28s %10s %12s %14s\n' "$label" "$n" "$size" "$ms"
	done
done

if command -v hyperfine >/dev/null 2>&1; then
	echo
	echo "hyperfine (mean ± σ, process start included):"
	hyperfine -N --warmup 20 --runs "$CALLS" --style basic \
		-n "accessctl-keys, 100 users" "$work/accessctl-keys --snapshot $work/snap-100.json --verify-key $work/sign.pub $user_100" \
		-n "accessctl-keys, 100000 users" "$work/accessctl-keys --snapshot $work/snap-100000.json --verify-key $work/sign.pub $user_100000" \
		-n "accessctl authorized-keys, 100000 users" "$work/accessctl authorized-keys --snapshot $work/snap-100000.json --verify-key $work/sign.pub $user_100000" \
		2>&1 | grep -E '^(Benchmark|  Time|  Range)'
else
	echo
	echo "(hyperfine not installed: apt-get install -y hyperfine for mean ± σ)"
fi
echo
echo "Go benchmarks of the lookup alone (no process start):"
go test -run '^$' -bench 'Lookup' -benchmem ./internal/snapshot | grep -E '^Benchmark'
