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
			printf '@@begin %s %s kind=other\n@@end\n' "$1" "$2"
		else
			# No body: no base64 process either (most key files asked about are absent).
			printf '@@begin %s %s kind=absent\n@@end\n' "$1" "$2"
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
	# scan_config PASSWD SSHD_T USER...: one awk (exec'd: one process in all) over /etc/group, the
	# sshd files, sudoers and the output of sshd -T (from the environment, as PASSWD: no
	# escapes processed, no here-document process). It prints "match" when a Match block other than "Match all"
	# exists, "addr A"/"host H" for an address and a host name inside each Match Address/Host
	# pattern, "akf P" for each AuthorizedKeysFile path, "pidfile P", "includedir" when
	# /etc/sudoers includes /etc/sudoers.d, and per user what sudoers grants outside accessctl's
	# drop-in: "sudolevel USER true|nopasswd FILE:LINE" when only rules of the plain forms
	# "NAME ALL=(ALL[:ALL]) [NOPASSWD: ]ALL" (NAME a user or %group) name the user, "sudo USER"
	# when anything else might (aliases, other forms, Defaults for users, includes): sudo -l is
	# asked about those.
	scan_config() {
		SC_PW=$1
		SC_T=$2
		shift 2
		SC_USERS=$*
		export SC_PW SC_T SC_USERS
		set --
		for f in /etc/group /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf /etc/sudoers /etc/sudoers.d/*; do
			[ -f "$f" ] && [ -r "$f" ] && set -- "$@" "$f"
		done
		exec awk '
		function rank(l) { return l == "nopasswd" ? 2 : (l == "true" ? 1 : 0) }
		BEGIN {
			n = split(ENVIRON["SC_USERS"], U, " "); for (i = 1; i <= n; i++) want[U[i]] = 1
			m = split(ENVIRON["SC_PW"], P, "\n"); for (i = 1; i <= m; i++) { split(P[i], f, ":"); pgid[f[1]] = f[4] }
			m = split(ENVIRON["SC_T"], P, "\n")
			for (i = 1; i <= m; i++) {
				k = split(P[i], f, " ")
				if (f[1] == "authorizedkeysfile") for (j = 2; j <= k; j++) if (!seen[f[j]]++) print "akf " f[j]
				if (f[1] == "pidfile" && !pf++) print "pidfile " f[2]
			}
		}
		FILENAME == "/etc/group" {
			split($0, f, ":"); gname[f[3]] = f[1]; known[f[1]] = 1
			k = split(f[4], mm, ","); for (j = 1; j <= k; j++) member[f[1] "," mm[j]] = 1
			next
		}
		FILENAME ~ /^\/etc\/ssh\// {
			if (FNR == 1) inmatch = 0
			# An AuthorizedKeysFile inside a Match block: its files are read for every user, as
			# a user may enter the block through a group the plan adds.
			if (inmatch && tolower($1) == "authorizedkeysfile") {
				for (j = 2; j <= NF && $j !~ /^#/; j++) if (!seen[$j]++) print "akf " $j
				next
			}
			if (tolower($1) != "match") next
			inmatch = !(NF == 2 && tolower($2) == "all")
			if (!inmatch) next
			print "match"
			for (i = 2; i < NF; i++) {
				c = tolower($i)
				if (c == "localport" || c == "localaddress") {
					k = split($(i + 1), L, ",")
					for (j = 1; j <= k; j++) {
						p = L[j]
						if (p ~ /^!/) continue
						sub(/\/[0-9]+$/, "", p); gsub(/\*/, "1", p); gsub(/\?/, "1", p)
						if (c == "localport" && p ~ /^[0-9]+$/) print "lport " p
						if (c == "localaddress" && p ~ /^[0-9a-fA-F:.]+$/) print "laddr " p
					}
					continue
				}
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
		FILENAME == "/etc/sudoers" && $1 ~ /^[@#]includedir$/ && $2 ~ /^\/etc\/sudoers\.d\/?$/ { inc = 1; print "includedir"; next }
		{
			sub(/^[ \t]+/, "")
			if ($0 == "" || ($0 ~ /^#/ && $0 !~ /^#include/)) next
			if (FILENAME ~ /^\/etc\/sudoers\.d\// && (!inc || FILENAME ~ /\/[^\/]*[.~][^\/]*$/)) next
			if (FILENAME == "/etc/sudoers.d/accessctl") next
			if ($0 ~ /\\$/ || $1 ~ /^[@#]include/) { all = 1; next }
			if ($1 == "Defaults") {
				if ($0 ~ /authenticate/) all = 1
				# The last global "Defaults !authenticate" (not undone): no rule asks a password.
				if ($0 ~ /!authenticate/) noauth = FILENAME ":" FNR
				else if ($0 ~ /authenticate/) noauth = ""
				next
			}
			if ($1 ~ /^Defaults:/) {
				# Defaults:LIST [!]authenticate for users or %groups: sudo -l -U shows it only
				# for a user some rule names, so it is read here too (last one wins).
				if ($0 ~ /authenticate/) {
					k = split(substr($1, 10), L, ",")
					for (j = 1; j <= k; j++) {
						t = L[j]
						if ($0 ~ /!authenticate/) unoauth[t] = FILENAME ":" FNR
						else delete unoauth[t]
					}
				}
				all = 1
				next
			}
			if ($1 ~ /^Defaults/) { all = 1; next }
			if ($1 ~ /_Alias$/) { if ($1 == "User_Alias") all = 1; next }
			lvl = ""
			if ($2 ~ /^ALL=\(ALL(:ALL)?\)$/) {
				if (NF == 3 && $3 == "ALL") lvl = "true"
				if ((NF == 4 && $3 == "NOPASSWD:" && $4 == "ALL") || (NF == 3 && $3 == "NOPASSWD:ALL")) lvl = "nopasswd"
			}
			k = split($1, L, ",")
			for (j = 1; j <= k; j++) {
				t = L[j]
				if (t == "ALL" || t ~ /^%[:#]/ || t ~ /^[+#!]/) { all = 1; continue }
				if (t ~ /^%/) {
					g = substr(t, 2)
					if (lvl == "") gcx[g] = 1
					else if (rank(lvl) > rank(glv[g])) { glv[g] = lvl; gat[g] = FILENAME ":" FNR }
				} else if (lvl == "") ucx[t] = 1
				else if (rank(lvl) > rank(ulv[t])) { ulv[t] = lvl; uat[t] = FILENAME ":" FNR }
			}
		}
		END {
			# A %group that /etc/group does not hold comes from a directory (NSS): its members
			# are unknown here, so sudo -l judges everyone.
			for (g in glv) if (!known[g]) all = 1
			for (g in gcx) if (!known[g]) all = 1
			if (noauth != "") print "sudonoauth " noauth
			# What each plain %group rule grants: a user the plan adds to the group gets it.
			for (g in glv) print "sudogroup " g " " glv[g] " " gat[g]
			for (u in want) {
				na = unoauth[u]
				for (t in unoauth) if (t ~ /^%/ && (member[substr(t, 2) "," u] || gname[pgid[u]] == substr(t, 2))) na = unoauth[t]
				if (na != "") print "sudonoauthuser " u " " na
				cx = all || ucx[u]; lv = ulv[u]; at = uat[u]
				for (g in gcx) if (member[g "," u] || gname[pgid[u]] == g) cx = 1
				for (g in glv) if ((member[g "," u] || gname[pgid[u]] == g) && rank(glv[g]) > rank(lv)) { lv = glv[g]; at = gat[g] }
				if (cx) print "sudo " u
				else if (lv != "") print "sudolevel " u " " lv " " at
			}
		}' "$@" </dev/null
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
		while IFS=: read -r name _ uid _ _ home _; do
			homes=$homes$nl$name:$home
			uids=$uids$nl$name:$uid
		done <<EOF
$pw
EOF
	fi

	# The effective sshd configuration: globally (sshd -T), and per managed user and connection
	# when a Match block (other than "Match all") can change it. scan_config (one awk) reads the
	# configuration, sudoers and /etc/group, and says which connections to ask sshd about and
	# what each user's sudo is (or that sudo -l must say it).
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	mkdir -p /run/sshd 2>/dev/null
	out=$("$sshd" -T 2>&1)
	rc=$?
	case $rc:$out in
	0:*) ;;
	*"connection test specification"*)
		# A Match LocalPort/LocalAddress block: sshd -T wants every criterion; these match no
		# Match block that names a user, address, port or local address.
		out=$("$sshd" -T -C user=accessctl-none,host=198.51.100.7,addr=198.51.100.7,laddr=198.51.100.8,lport=1 2>&1)
		rc=$?
		;;
	esac
	printf '%s' "$out" | section sshd_t - rc=$rc
	plan=$(scan_config "$pw" "$out" "$@")
	# Which of the users /etc/passwd itself holds (useradd and usermod work only on those), each
	# one looked up by name, what each home is, which account tools exist, the SSH server, and
	# scan_config's findings: all with shell built-ins, in one section, sent without base64 (and
	# without a process): every line starts with a keyword of its own, never with "@@".
	echo "@@begin facts_x - enc=raw"
	{
		while IFS=: read -r name _; do
			case " $* " in
			*" $name "*) echo "local $name" ;;
			esac
		done </etc/passwd
		while IFS= read -r l; do
			[ -n "$l" ] && echo "byname $l"
		done <<EOF
$pw
EOF
		dirs=
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
			if [ "$k" = dir ]; then
				dirs=$dirs$nl$home
				[ ! -d "$home/.ssh" ] || [ -L "$home/.ssh" ] || dirs=$dirs$nl$home/.ssh
				[ ! -f "$home/.ssh/authorized_keys" ] || [ -L "$home/.ssh/authorized_keys" ] || dirs=$dirs$nl$home/.ssh/authorized_keys
			fi
		done
		# Owner and mode of those homes, ~/.ssh and ~/.ssh/authorized_keys (one stat): sshd's
		# StrictModes ignores keys below a home that another user owns or that group or others
		# may write (and apply refuses to write there); sshd reads authorized_keys as the user.
		if [ -n "$dirs" ] && command -v stat >/dev/null 2>&1; then
			homes_stat() { stat -c 'homest %u %a %n' -- "$@" 2>/dev/null; }
			oifs=$IFS
			IFS=$nl
			set -f
			homes_stat $dirs
			set +f
			IFS=$oifs
		fi
		for t in useradd usermod userdel groupadd gpasswd chpasswd setpriv visudo sudo sshd dropbear; do
			printf 'tool %s ' "$t"
			command -v "$t" || echo
		done
		printf 'server '
		ssh_server
		# /etc/shells: dropbear refuses a user whose shell is not listed.
		if [ -r /etc/shells ]; then
			while read -r l _; do
				case $l in
				/*) echo "shell $l" ;;
				esac
			done </etc/shells
		fi
		printf '%s\n' "$plan"
	}
	echo "@@end"

	akf=
	pidfile=
	addrs=
	hosts=
	sudo_l=
	locals=
	match=0
	while read -r k v; do
		case $k in
		match) match=1 ;;
		addr) addrs="$addrs $v" ;;
		host) hosts="$hosts $v" ;;
		lport) locals="$locals lport=$v" ;;
		laddr) locals="$locals laddr=$v" ;;
		sudo) sudo_l="$sudo_l $v" ;;
		akf) akf="$akf $v" ;;
		pidfile) pidfile=$v ;;
		esac
	done <<EOF
$plan
EOF
	if [ "$match" = 1 ] && [ -x "$sshd" ] && [ $# -gt 0 ]; then
		# 198.51.100.7 (TEST-NET-2) stands for a client no Match Address names.
		# With Match LocalPort/LocalAddress, sshd -T -C needs both local criteria: 198.51.100.8
		# port 1 stands for a listener no such block names.
		ext=
		[ -z "$locals" ] || ext=laddr=198.51.100.8,lport=1
		conn=$(
			for u in "$@"; do
				for a in 198.51.100.7 $addrs; do
					for h in "$a" $hosts; do
						echo "=conn $u $a $h $ext"
						"$sshd" -T -C "user=$u,host=$h,addr=$a${ext:+,$ext}" 2>&1
						echo "=rc $?"
					done
				done
				# Match LocalPort/LocalAddress: the same user from the default client, there.
				for x in $locals; do
					case $x in
					lport=*) x=laddr=198.51.100.8,$x ;;
					*) x=lport=1,$x ;;
					esac
					echo "=conn $u 198.51.100.7 198.51.100.7 $x"
					"$sshd" -T -C "user=$u,host=198.51.100.7,addr=198.51.100.7,$x" 2>&1
					echo "=rc $?"
				done
			done | awk '/^=/ || $1 ~ /^(passwordauthentication|kbdinteractiveauthentication|pubkeyauthentication|permitrootlogin|authorizedkeysfile|authorizedkeyscommand|authorizedkeyscommanduser|allowusers|denyusers|allowgroups|denygroups|authenticationmethods|usepam)$/ || !/^[a-z0-9]+ /'
		)
		printf '%s\n' "$conn" | section sshd_conn -
		# The key files of every connection too.
		for v in $(printf '%s\n' "$conn" | awk '$1 == "authorizedkeysfile" { for (i = 2; i <= NF; i++) print $i }'); do
			case " $akf " in
			*" $v "*) ;;
			*) akf="$akf $v" ;;
			esac
		done
	fi
	if [ -n "$sudo_l" ] && command -v sudo >/dev/null 2>&1; then
		for u in $sudo_l; do
			echo "=user $u"
			sudo -l -U "$u" 2>&1
			echo "=rc $?"
		done | section sudo_l -
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
	if [ -n "$ax_access$ax_usage$ax_sudo" ] && command -v extra_sections >/dev/null 2>&1; then
		extra_sections
	fi
	echo "@@done"
}
main "$@" </dev/null
