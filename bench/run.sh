#!/bin/sh
# Every benchmark behind BENCHMARKS.md, in one command. Not run by CI: it needs root, the lab of
# real OpenSSH hosts (internal/lab), Ansible, and about 30 minutes of a 2-core machine.
#
#   bench/run.sh [compare|scale|load|profile|check|all]     (default: all)
#
# Results are printed as Markdown tables; raw figures are appended as JSON lines to
# $BENCH_OUT (default bench-results.jsonl in the current directory). Each figure carries the
# load average read just before it: the machine may be shared, so compare like with like.
set -eu
cd "$(dirname "$0")/.."
what=${1:-all}
out=${BENCH_OUT:-$PWD/bench-results.jsonl}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v ansible-playbook >/dev/null || { echo "ansible-playbook missing: apt-get install -y ansible" >&2; exit 1; }
echo "building accessctl ..." >&2
go build -o "$work/accessctl" ./cmd/accessctl
fleet() { go run ./bench/fleet -bin "$work/accessctl" -json "$out" "$@"; }

case $what in compare | all)
	# issue 3 item 7: accessctl vs Ansible, same work, fresh hosts each; goal >= 20x for both.
	fleet -mode compare -hosts 20 -users 10
	;;
esac
case $what in profile | all)
	# where a first apply's time goes (per-host phases, the scripts traced line by line)
	fleet -mode profile -hosts 20 -users 10 -cpuprofile "$work/plan.pprof"
	go tool pprof -top -nodecount 25 "$work/plan.pprof" 2>/dev/null | head -35
	;;
esac
case $what in scale | all)
	# issue 3 item 7 (200 x 50 under 5 s) and issue 5 item 6: the curve, time and peak RSS
	fleet -mode scale -sizes 10,50,100,200,250 -users 50 -repeat 3
	;;
esac
case $what in load | all)
	# issue 6 item 6: ten apply/plan rounds at --parallel 64, looking for growth
	fleet -mode load -hosts 200 -users 10 -parallel 64 -rounds 10 -inproc-rounds 10
	;;
esac
case $what in check | all)
	# the check benchmark (10,000 users, 20,000 key pairs, 2,000 hosts; goal < 1 s, < 500 MB)
	go test -run '^$' -bench CheckFleet -benchmem -count 3 ./cmd/accessctl
	go run ./bench/checkgen -users 10000 -hosts 2000 -out "$work/fleet.yaml"
	BENCH_PW=Correct-Horse-Battery-9-Staple /usr/bin/time -v "$work/accessctl" check -f "$work/fleet.yaml" --format json \
		2>"$work/time.txt" >/dev/null || true
	grep -E 'Elapsed|Maximum resident|Exit status' "$work/time.txt"
	;;
esac
