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

	# home_of USER: home, USER's home from the by-name lookup ("" if none).
	home_of() {
		home=
		case $homes$nl in
		*"$nl$1:"*)
			home=${homes#*"$nl$1:"}
			home=${home%%"$nl"*}
			;;
		esac
	}
	# expand_path PATTERN USER UID HOME: ep, the AuthorizedKeysFile PATTERN with %% %u %U %h
	# expanded, relative to HOME; fails on any other token (sshd refuses those too).
	expand_path() {
		ep=
		er=$1
		while :; do
			case $er in
			*%*)
				ep=$ep${er%%"%"*}
				er=${er#*"%"}
				case $er in
				h*) ep=$ep$4 ;;
				u*) ep=$ep$2 ;;
				U*) ep=$ep$3 ;;
				%*) ep=$ep% ;;
				*) return 1 ;;
				esac
				er=${er#?}
				;;
			*)
				ep=$ep$er
				break
				;;
			esac
		done
		case $ep in
		/*) ;;
		*) ep=$4/$ep ;;
		esac
	}
	# ssh_server: the SSH server this session came through (sshd or dropbear), found by walking
	# up the process tree with shell built-ins.
	ssh_server() {
		sp=$$
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -r "/proc/$sp/stat" ] || break
			read -r sl <"/proc/$sp/stat" || break
			sc=${sl#*\(}
			sc=${sc%\)*}
			case $sc in
			sshd*) echo sshd && return ;;
			dropbear*) echo dropbear && return ;;
			esac
			sl=${sl##*\) }
			sp=${sl#* }
			sp=${sp%% *}
			case $sp in
			'' | 0 | 1 | *[!0-9]*) break ;;
			esac
		done
		echo unknown
	}
	# scan_config PASSWD USER...: one awk over /etc/group, the sshd files and sudoers. It prints
	# "match" when a Match block other than "Match all" exists, "addr A"/"host H" for an address
	# and a host name inside each Match Address/Host pattern, "includedir" when /etc/sudoers
	# includes /etc/sudoers.d, and "sudo USER" for each user that sudoers names outside
	# accessctl's drop-in (directly, through a %group, ALL or a User_Alias): sudo -l is asked
	# about those; any other user's sudo is accessctl's drop-in alone.
	scan_config() {
		sc_pw=$1
		shift
		sc_users=$*
		set --
		for f in /etc/group /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf /etc/sudoers /etc/sudoers.d/*; do
			[ -f "$f" ] && [ -r "$f" ] && set -- "$@" "$f"
		done
		awk -v users="$sc_users" -v pw="$sc_pw" '
		BEGIN {
			n = split(users, U, " "); for (i = 1; i <= n; i++) want[U[i]] = 1
			m = split(pw, P, "\n"); for (i = 1; i <= m; i++) { split(P[i], f, ":"); pgid[f[1]] = f[4] }
		}
		FILENAME == "/etc/group" {
			split($0, f, ":"); gname[f[3]] = f[1]
			k = split(f[4], mm, ","); for (j = 1; j <= k; j++) member[f[1] "," mm[j]] = 1
			next
		}
		FILENAME ~ /^\/etc\/ssh\// {
			if (tolower($1) != "match") next
			if (NF == 2 && tolower($2) == "all") next
			print "match"
			for (i = 2; i < NF; i++) {
				c = tolower($i)
				if (c != "address" && c != "host") continue
				k = split($(i + 1), L, ",")
				for (j = 1; j <= k; j++) {
					p = L[j]
					if (p ~ /^!/) continue
					sub(/\/[0-9]+$/, "", p)
					gsub(/\*/, "1", p); gsub(/\?/, "1", p)
					if (c == "address" && p ~ /^[0-9a-fA-F:.]+$/) print "addr " p
					if (c == "host" && p ~ /^[A-Za-z0-9.-]+$/) print "host " p
				}
			}
			next
		}
		FILENAME == "/etc/sudoers" && $1 ~ /^[@#]includedir$/ && $2 ~ /^\/etc\/sudoers\.d\/?$/ { print "includedir"; next }
		{
			sub(/^[ \t]+/, "")
			if ($0 == "" || $0 ~ /^#/ || $1 ~ /^@/ || $1 ~ /^Defaults/) next
			if ($1 ~ /_Alias$/ && $1 != "User_Alias") next
			if (FILENAME == "/etc/sudoers.d/accessctl") next
			if ($1 == "User_Alias") { all = 1; next }
			k = split($1, L, ",")
			for (j = 1; j <= k; j++) {
				t = L[j]
				if (t == "ALL" || t ~ /^%[:#]/) all = 1
				else if (t ~ /^%/) grp[substr(t, 2)] = 1
				else usr[t] = 1
			}
		}
		END {
			for (u in want) {
				hit = all || usr[u]
				for (g in grp) if (member[g "," u] || gname[pgid[u]] == g) hit = 1
				if (hit) print "sudo " u
			}
		}' "$@"
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
	uids=
	pw=
	nl='
'
	if [ $# -gt 0 ]; then
		getent shadow "$@" | section shadow -
		# Looked up by name through NSS: directory accounts (SSSD, LDAP, systemd-userdb) answer
		# here even when `getent passwd` does not list them.
		pw=$(getent passwd "$@")
		printf '%s\n' "$pw" | section byname -
		while IFS=: read -r name _ uid _ _ home _; do
			homes=$homes$nl$name:$home
			uids=$uids$nl$name:$uid
		done <<EOF
$pw
EOF
	fi
	# Which of the users /etc/passwd itself holds (useradd and usermod work only on those), what
	# each home is, which account tools exist, and the SSH server: all with shell built-ins.
	{
		while IFS=: read -r name _; do
			case " $* " in
			*" $name "*) echo "local $name" ;;
			esac
		done </etc/passwd
		for u in "$@"; do
			home_of "$u"
			if [ -z "$home" ]; then
				k=none
			elif [ -L "$home" ]; then
				k=symlink
			elif [ -d "$home" ]; then
				k=dir
			elif [ -e "$home" ]; then
				k=other
			else
				k=absent
			fi
			echo "home $u $k"
		done
		for t in useradd usermod userdel groupadd chpasswd setpriv visudo sudo sshd dropbear; do
			printf 'tool %s ' "$t"
			command -v "$t" || echo
		done
		printf 'server '
		ssh_server
	} | section facts_x -

	# The effective sshd configuration: globally, and per managed user and connection when a
	# Match block (other than "Match all") can change it; scan_config says which connections to
	# ask sshd about and which users' sudo to ask sudo about.
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	mkdir -p /run/sshd 2>/dev/null
	out=$("$sshd" -T 2>&1)
	rc=$?
	printf '%s' "$out" | section sshd_t - rc=$rc
	plan=$(scan_config "$pw" "$@")
	printf '%s\n' "$plan" | section scan -
	conn=
	case $nl$plan$nl in
	*"${nl}match$nl"*)
		if [ -x "$sshd" ] && [ $# -gt 0 ]; then
			addrs=
			hosts=
			while read -r k v; do
				case $k in
				addr) addrs="$addrs $v" ;;
				host) hosts="$hosts $v" ;;
				esac
			done <<EOF
$plan
EOF
			# 198.51.100.7 (TEST-NET-2) stands for a client no Match Address names.
			conn=$(
				for u in "$@"; do
					for a in 198.51.100.7 $addrs; do
						for h in "$a" $hosts; do
							echo "=conn $u $a $h"
							"$sshd" -T -C "user=$u,host=$h,addr=$a" 2>&1
							echo "=rc $?"
						done
					done
				done | awk '/^=/ || $1 ~ /^(passwordauthentication|kbdinteractiveauthentication|pubkeyauthentication|permitrootlogin|authorizedkeysfile|authorizedkeyscommand|authorizedkeyscommanduser|allowusers|denyusers|allowgroups|denygroups|authenticationmethods|usepam)$/ || !/^[a-z0-9]+ /'
			)
			printf '%s\n' "$conn" | section sshd_conn -
		fi
		;;
	esac
	sudo_l=
	while read -r k v; do
		case $k in
		sudo) sudo_l="$sudo_l $v" ;;
		esac
	done <<EOF
$plan
EOF
	if [ -n "$sudo_l" ] && command -v sudo >/dev/null 2>&1; then
		for u in $sudo_l; do
			echo "=user $u"
			sudo -l -U "$u" 2>&1
			echo "=rc $?"
		done | section sudo_l -
	fi
	# Every file sshd may read keys from: AuthorizedKeysFile of every connection asked about
	# (tokens expanded by expand_path), and ~/.ssh/authorized_keys (dropbear's only file).
	# One awk for these and sshd's pid file.
	akf=
	pidfile=
	derived=$(printf '%s\n%s\n' "$out" "$conn" | awk '
		$1 == "authorizedkeysfile" { for (i = 2; i <= NF; i++) if (!seen[$i]++) print "akf " $i }
		$1 == "pidfile" && !pf++ { print "pidfile " $2 }')
	while read -r k v; do
		case $k in
		akf) akf="$akf $v" ;;
		pidfile) pidfile=$v ;;
		esac
	done <<EOF
$derived
EOF
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
		home_of "$u"
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
		# The other files sshd reads keys from for this user: "akeys USER path=P", symlinks
		# never followed, paths with unusual characters skipped.
		[ -n "$home" ] || continue
		uid=${uids#*"$nl$u:"}
		uid=${uid%%"$nl"*}
		for p in $akf; do
			[ "$p" != none ] || continue
			expand_path "$p" "$u" "$uid" "$home" || continue
			[ "$ep" != "$f" ] || continue
			case $ep in
			*[!A-Za-z0-9_./@%+=:,-]*) continue ;;
			esac
			if [ -L "$home/.ssh" ] && [ "${ep#"$home/.ssh/"}" != "$ep" ]; then
				continue
			fi
			if [ -f "$ep" ] && [ ! -L "$ep" ] && batch_ok; then
				echo "@@begin akeys $u path=$ep kind=file ref=$nf"
				echo "@@end"
				set -- "$@" "$ep" /proc/self/environ
				nf=$((nf + 1))
			else
				file_section akeys "$u path=$ep" "$ep"
			fi
		done
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
	[ -n "$pidfile" ] || pidfile=/run/sshd.pid
	file_section pidfile "$pidfile" "$pidfile"
	printf 'systemd=%s\nuid=%s\n' "$systemd" "$(id -u)" | section facts -
	echo "@@done"
}
main "$@" </dev/null
