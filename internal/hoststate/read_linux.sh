# accessctl read script (Linux). Run as root: sh -s -- USER...
# It changes nothing on the host. Every value goes out base64-encoded between marker lines that
# start with "@@", which base64 never produces, so no file content can forge a section.
# Output:  @@accessctl-read 1
#          @@begin KIND [ARG] [key=value]...   then base64 lines   then @@end
#          @@done
# Everything runs inside main, whose stdin is /dev/null: this script itself arrives on stdin.
main() {
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export PATH LC_ALL=C
	echo "@@accessctl-read 1"
	# Leading +words ask for the extra sections of read_extra_linux.sh, which is then sent in
	# front of this script: +access, +usage, +sudo=U,V.
	ax_access= ax_usage= ax_sudo=
	while [ $# -gt 0 ]; do
		case $1 in
		+access) ax_access=1 ;;
		+usage) ax_usage=1 ;;
		+sudo=*) ax_sudo=${1#+sudo=} ;;
		*) break ;;
		esac
		shift
	done

	# section KIND [ARG] [k=v...]: body from stdin, base64.
	section() {
		echo "@@begin $*"
		base64
		echo "@@end"
	}
	# file_section KIND ARG PATH: a file's kind, never following a symlink, and a regular file's content.
	file_section() {
		if [ -L "$3" ]; then
			printf '%s' "$(readlink "$3")" | section "$1" "$2" kind=symlink
		elif [ -f "$3" ]; then
			section "$1" "$2" kind=file <"$3"
		elif [ -e "$3" ]; then
			section "$1" "$2" kind=other </dev/null
		else
			section "$1" "$2" kind=absent </dev/null
		fi
	}

	# Wait for an accessctl apply in progress (it holds the lock exclusively until it has
	# committed or rolled back), so no read sees a host between states.
	lock=/run/accessctl-apply.lock
	if command -v flock >/dev/null 2>&1 && [ -d /run ] && [ ! -L "$lock" ]; then
		exec 9>>"$lock"
		flock -s -w 150 9 || printf '@@begin busy - kind=absent\n@@end\n'
	fi
	# Backups of runs that died mid-way (no run holds the lock now): apply restores them first.
	for d in /var/lib/accessctl/backup/*; do
		[ -d "$d" ] && printf '%s\n' "${d##*/}"
	done | section interrupted -

	getent passwd | section passwd -
	getent group | section group -

	# The users: one getent for their shadow entries, one for their homes, and every regular
	# authorized_keys in one cat, so the work does not grow with a fork per user. Each user gets a
	# "keys" section in order: kind=nohome, absent, other, symlink(-dir) (with the link's target),
	# or file with ref=N: the file is the Nth part of the keyfiles section. Its parts are separated
	# by cat's own environment, "ACCESSCTL_SEP=<random nonce>\0", read from /proc/self/environ, so
	# no file's content can forge a separator. Without /proc each file gets its own section.
	nusers=$#
	homes=
	nl='
'
	if [ $# -gt 0 ]; then
		getent shadow "$@" | section shadow -
		pw=$(getent passwd "$@")
		while IFS=: read -r name _ _ _ _ home _; do
			homes=$homes$nl$name:$home
		done <<EOF
$pw
EOF
	fi
	cat=
	if [ -r /proc/self/environ ]; then
		for c in /bin/cat /usr/bin/cat; do
			if [ -x "$c" ]; then
				cat=$c
				break
			fi
		done
	fi
	nonce=
	nf=0
	# batch_ok: whether files can go into the keyfiles section (a nonce is made the first time).
	batch_ok() {
		[ -n "$cat" ] || return 1
		if [ -z "$nonce" ]; then
			for w in $(od -An -N16 -tx4 /dev/urandom 2>/dev/null); do
				nonce=$nonce$w
			done
			if [ "${#nonce}" -lt 32 ]; then
				cat=
				return 1
			fi
		fi
	}
	for u in "$@"; do
		home=
		case $homes$nl in
		*"$nl$u:"*)
			home=${homes#*"$nl$u:"}
			home=${home%%"$nl"*}
			;;
		esac
		f=$home/.ssh/authorized_keys
		if [ -z "$home" ]; then
			echo "@@begin keys $u kind=nohome"
			echo "@@end"
		elif [ -L "$home/.ssh" ]; then
			printf '%s' "$(readlink "$home/.ssh")" | section keys "$u" kind=symlink-dir
		elif [ -f "$f" ] && [ ! -L "$f" ] && batch_ok; then
			echo "@@begin keys $u kind=file ref=$nf"
			echo "@@end"
			set -- "$@" "$f" /proc/self/environ
			nf=$((nf + 1))
		else
			file_section keys "$u" "$f"
		fi
	done
	shift "$nusers"
	if [ "$nf" -gt 0 ]; then
		env -i "ACCESSCTL_SEP=$nonce" "$cat" -- "$@" | section keyfiles - sep="$nonce" n="$nf"
	fi

	file_section sudoers - /etc/sudoers.d/accessctl
	file_section sshd_config - /etc/ssh/sshd_config
	if [ -d /etc/ssh/sshd_config.d ]; then
		for f in /etc/ssh/sshd_config.d/*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			file_section sshd_dropin "${f##*/}" "$f"
		done
	fi

	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	mkdir -p /run/sshd 2>/dev/null
	out=$("$sshd" -T 2>&1)
	rc=$?
	printf '%s' "$out" | section sshd_t - rc=$rc
	file_section state - /var/lib/accessctl/state.json
	file_section generation - /var/lib/accessctl/generation

	# Pull mode (docs/pull-mode.md): the snapshot's first four lines (its header, not its users)
	# and digest, its verify key, and the owner, mode and type of the plug-in binary, of every
	# directory above it and of /etc/accessctl, with the binary's digest.
	snap=/etc/accessctl/snapshot.json
	if [ -f "$snap" ] && [ ! -L "$snap" ]; then
		sum=$(sha256sum <"$snap" | cut -d' ' -f1)
		head -c 8388608 "$snap" | sed -n '1,4p' | section pull_snapshot - kind=file sha256="$sum"
	else
		file_section pull_snapshot - "$snap"
	fi
	file_section pull_pub - /etc/accessctl/snapshot.pub
	kb=/usr/local/sbin/accessctl-keys
	{
		stat -c '%u:%a:%F:%n' -- "$kb" /usr/local/sbin /usr/local /usr / /etc/accessctl 2>/dev/null
		if [ -f "$kb" ] && [ ! -L "$kb" ]; then
			printf 'sha256:%s\n' "$(sha256sum <"$kb" | cut -d' ' -f1)"
		fi
	} | section pull_paths -

	systemd=0
	[ -d /run/systemd/system ] && systemd=1
	pidfile=$(printf '%s\n' "$out" | awk '$1 == "pidfile" { print $2; exit }')
	[ -n "$pidfile" ] || pidfile=/run/sshd.pid
	file_section pidfile "$pidfile" "$pidfile"
	printf 'systemd=%s\nuid=%s\n' "$systemd" "$(id -u)" | section facts -
	if [ -n "$ax_access$ax_usage$ax_sudo" ] && command -v extra_sections >/dev/null 2>&1; then
		extra_sections
	fi
	echo "@@done"
}
main "$@" </dev/null
