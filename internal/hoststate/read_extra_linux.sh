# accessctl read script, extra sections (docs/access.md): sent in front of read_linux.sh only
# when a command asks for them, with leading arguments that read_linux.sh's main parses:
#   +access     facts for every account that may log in: login.defs UID range, shadow status (never
#               a hash), every AuthorizedKeysFile path, `sudo -l -U`
#   +sudo=U,V   `sudo -l -U` for these users only (plan: effective sudo of the manifest's users)
#   +usage      sshd's accepted-login records: journald, /var/log/auth.log*, /var/log/secure*
# main calls extra_sections after its own sections, so $out (sshd -T), section, batch_ok, $cat and
# $nonce are defined. Section kinds start with "ax_" or "usage_"; ParseLinux keeps them out of the
# host's fingerprint, so a plan made with --usage still matches an apply made without.
extra_sections() {
	if [ -n "$ax_access" ]; then
		ax_access_sections
	elif [ -n "$ax_sudo" ]; then
		# The list was checked by the controller: user names, comma-separated. A user that
		# accessctl's own drop-in names is judged by the plan from that file: no sudo run.
		ax_dropin=
		if [ -f /etc/sudoers.d/accessctl ] && [ ! -L /etc/sudoers.d/accessctl ]; then
			ax_dropin=$nl$(cat /etc/sudoers.d/accessctl)$nl
		fi
		oldifs=$IFS
		IFS=,
		# shellcheck disable=SC2086
		set -- $ax_sudo
		IFS=$oldifs
		# Only users that exist (main read their passwd entries into $homes): a user the plan
		# will create has no sudo yet, and a fresh fleet costs no sudo process at all.
		ax_want=
		for u in "$@"; do
			case $ax_dropin in
			*"$nl$u "*) continue ;;
			esac
			case $homes$nl in
			*"$nl$u:"*) ax_want="$ax_want $u" ;;
			esac
		done
		# shellcheck disable=SC2086
		ax_sudo_all $ax_want
	fi
	if [ -n "$ax_usage" ]; then
		usage_sections
	fi
}

# ax_sudo_all USER...: what sudo says each USER may run, one "@@sudo NAME BASE64" line per user in
# one section. The sudo processes run side by side (each costs about as much as a fork of sudo
# and a parse of sudoers); every line is written whole by one printf, shorter than PIPE_BUF.
ax_sudo_all() {
	[ $# -gt 0 ] && command -v sudo >/dev/null 2>&1 || return 0
	{
		n=0
		for u in "$@"; do
			(
				o=$(sudo -n -l -U "$u" 2>&1 | head -c 3000 | base64 | tr -d '\n')
				printf '@@sudo %s %s\n' "$u" "$o"
			) &
			# At most 8 at a time: a host with many users is not flooded.
			n=$((n + 1))
			if [ "$n" -ge 8 ]; then
				wait
				n=0
			fi
		done
		wait
	} | section ax_sudo -
}

ax_access_sections() {
	# shellcheck disable=SC2046
	set -- $(awk '$1 == "UID_MIN" { lo = $2 } $1 == "UID_MAX" { hi = $2 } END { print lo + 0, hi + 0 }' /etc/login.defs 2>/dev/null)
	umin=${1:-0} umax=${2:-0}
	[ "$umin" -gt 0 ] 2>/dev/null || umin=
	[ "$umax" -gt 0 ] 2>/dev/null || umax=
	printf 'uid_min=%s\nuid_max=%s\n' "$umin" "$umax" | section ax_logindefs -
	# Candidates: root, the login.defs UID range, and any account whose shell is not a
	# nologin/false; as user:uid:home lines.
	cands=$(getent passwd | awk -F: -v lo="${umin:-1000}" -v hi="${umax:-60000}" '
		$3 == 0 || ($3 >= lo+0 && $3 <= hi+0) || ($7 != "" && $7 !~ /(nologin|false)$/) { print $1 ":" $3 ":" $6 }')
	names=$(printf '%s\n' "$cands" | cut -d: -f1)
	# Shadow status, never the hash: usable, locked (!...), empty, none (* or too short).
	# shellcheck disable=SC2086
	shadow=$(getent shadow $names 2>/dev/null | awk -F: '{
		s = "usable"
		if ($2 == "") s = "empty"; else if ($2 ~ /^!/) s = "locked"; else if ($2 ~ /^\*/ || length($2) < 4) s = "none"
		print $1 ":" s ":" $8 }')
	printf '%s\n' "$shadow" | section ax_shadow -
	ax_sudo_for=$(printf '%s\n' "$cands" | awk -F: -v lo="${umin:-1000}" -v hi="${umax:-60000}" '$2 >= lo+0 && $2 <= hi+0 { print $1 }')
	ax_sudo_for=$ax_sudo_for$nl$(printf '%s\n' "$shadow" | awk -F: '$2 == "usable" || $2 == "empty" { print $1 }')
	# AuthorizedKeysFile as sshd -T states it (tokens %h %u %U %%; relative to home).
	akf=$(printf '%s\n' "$out" | awk 'tolower($1) == "authorizedkeysfile" { $1 = ""; print; exit }')
	[ -n "$akf" ] || akf=".ssh/authorized_keys .ssh/authorized_keys2"
	list=$(printf '%s\n' "$cands" | awk -F: -v pats="$akf" '
		$1 != "" { n = split(pats, p, " ")
		for (i = 1; i <= n; i++) {
			s = p[i]; r = ""
			while ((j = index(s, "%")) > 0) {
				c = substr(s, j + 1, 1); r = r substr(s, 1, j - 1)
				if (c == "h") r = r $3; else if (c == "u") r = r $1; else if (c == "U") r = r $2; else if (c == "%") r = r "%"; else r = r "%" c
				s = substr(s, j + 2)
			}
			r = r s
			if (substr(r, 1, 1) != "/") r = $3 "/" r
			print $1 "\t" r
		} }')
	# One index line per path (user, path, kind, part of the batch), the regular files in one
	# cat with the read script's unforgeable separators.
	ax_index=
	nf=0
	set --
	while IFS='	' read -r u p; do
		[ -n "$u" ] || continue
		if [ -f "$p" ]; then
			case "$nl$ax_sudo_for$nl" in
			*"$nl$u$nl"*) ;;
			*) ax_sudo_for=$ax_sudo_for$nl$u ;;
			esac
		fi
		if [ -f "$p" ] && batch_ok; then
			ax_index=$ax_index$u'	'$p'	file	'$nf$nl
			set -- "$@" "$p" /proc/self/environ
			nf=$((nf + 1))
		elif [ -f "$p" ]; then
			{
				printf '%s\t%s\n' "$u" "$p"
				cat -- "$p"
			} | section ax_keyfile -
		elif [ -e "$p" ]; then
			ax_index=$ax_index$u'	'$p'	other	-'$nl
		fi
	done <<EOF
$list
EOF
	printf '%s' "$ax_index" | section ax_keyindex -
	if [ "$nf" -gt 0 ]; then
		env -i "ACCESSCTL_SEP=$nonce" "$cat" -- "$@" | section ax_keyfiles - sep="$nonce" n="$nf"
	fi
	# sudo -l costs a process each: only for accounts in the UID range and those with a key
	# file or a usable password (the others cannot log in to use it), and of those only for the
	# ones sudoers could grant something: named as a word, or one of their groups as %group.
	# Anything this scan cannot judge (User_Alias, ALL/#uid/%#gid/%:/+netgroup user specs, an
	# include other than /etc/sudoers.d, sudoers from sss/ldap in nsswitch.conf) sends every
	# candidate to sudo -l.
	ax_sudo_for=$(
		{
			echo "@@cands"
			printf '%s\n' "$ax_sudo_for"
			echo "@@passwd"
			getent passwd
			echo "@@group"
			getent group
			echo "@@nss"
			cat /etc/nsswitch.conf
			echo "@@sudoers"
			cat /etc/sudoers /etc/sudoers.d/*
		} 2>/dev/null | awk -F: '
		/^@@(cands|passwd|group|nss|sudoers)$/ { sec = substr($0, 3); next }
		sec == "cands" && $0 != "" { c[++nc] = $0; next }
		sec == "passwd" { pg[$1] = $4; next }
		sec == "group" { gn[$3] = $1; n = split($4, m, ","); for (i = 1; i <= n; i++) gs[m[i]] = gs[m[i]] " " $1; next }
		sec == "nss" { if ($0 ~ /^[ \t]*sudoers[ \t]*:/ && $0 ~ /(sss|ldap)/) all = 1; next }
		sec == "sudoers" {
			l = $0
			if (l ~ /^[ \t]*[@#]include(dir)?[ \t]/) { if (l !~ /^[ \t]*[@#]includedir[ \t]+\/etc\/sudoers\.d[ \t]*$/) all = 1; next }
			if (l ~ /^[ \t]*#/ || l ~ /^[ \t]*Defaults/) next
			if (l ~ /User_Alias/ || l ~ /^[ \t]*(ALL|#[0-9]|%#|%:|\+)/) all = 1
			s[++ns] = l
		}
		function word(t, w,    re) {
			re = w; gsub(/[][\\.^$*+?(){}|]/, "\\\\&", re)
			return t ~ ("(^|[^A-Za-z0-9_.-])" re "([^A-Za-z0-9_.-]|$)")
		}
		END {
			for (i = 1; i <= nc; i++) {
				u = c[i]; hit = all
				g = gn[pg[u]] gs[u]
				ng = split(g, gl, " ")
				for (j = 1; j <= ns && !hit; j++) {
					if (word(s[j], u)) hit = 1
					for (k = 1; k <= ng && !hit; k++) if (gl[k] != "" && word(s[j], "%" gl[k])) hit = 1
				}
				if (hit) print u
			}
		}')
	# shellcheck disable=SC2086
	ax_sudo_all $ax_sudo_for
}

# usage_sections: the newest accepted-login record per user, method and key from each source,
# and the oldest record each source reaches (docs/access.md, "Bounds"). Bounded: 64 MiB of log
# files on disk, newest first (a plain file that does not fit is read from its end, a gzipped one
# is left out), and 10 seconds per source where timeout(1) exists.
usage_sections() {
	command -v awk >/dev/null 2>&1 || return 0
	tmo=
	command -v timeout >/dev/null 2>&1 && tmo="timeout 10"
	meta=$(date +'tz=%z now=%s')
	# The reducer keeps, per user, method and fingerprint, the newest "Accepted" line: the first
	# one seen when rev=1 (newest first), else the last. With first=1 it also prints the first
	# whole line read ("@first ..."): how far back the source reaches.
	reduce='
		first && !done && !(NR == 1 && skip) { print "@first " $0; done = 1 }
		index($0, "Accepted ") {
			s = substr($0, index($0, "Accepted ") + 9); n = split(s, f, " ")
			k = f[1] " " f[3]
			for (i = 4; i <= n; i++) if (f[i] ~ /^SHA256:/) { k = k " " f[i]; break }
			if (rev) { if (!(k in seen)) { seen[k] = 1; print } } else { last[k] = $0 }
		}
		END { if (!rev) for (k in last) print last[k] }'
	if command -v journalctl >/dev/null 2>&1 && { [ -d /run/log/journal ] || [ -d /var/log/journal ]; }; then
		{
			echo "$meta"
			printf '@first %s\n' "$($tmo journalctl -q --no-pager -o short-iso 2>/dev/null | head -n 1)"
			$tmo journalctl -q --no-pager -r -o short-iso _COMM=sshd _COMM=sshd-session 2>/dev/null |
				head -c 67108864 | awk -v rev=1 "$reduce"
		} | section usage_journal -
	fi
	budget=67108864
	for f in $(ls -1t /var/log/auth.log* /var/log/secure* 2>/dev/null); do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		# shellcheck disable=SC2046
		set -- $(stat -c '%Y %s' -- "$f")
		mtime=$1 size=$2
		case $f in
		*.gz) [ "$size" -le "$budget" ] || break ;;
		esac
		{
			printf '%s\n' "$f"
			case $f in
			*.gz)
				echo "$meta mtime=$mtime truncated=0"
				$tmo gzip -dc -- "$f" 2>/dev/null | awk -v rev=0 -v first=1 "$reduce"
				;;
			*)
				if [ "$size" -gt "$budget" ]; then
					echo "$meta mtime=$mtime truncated=1"
					tail -c "$budget" -- "$f" | awk -v rev=0 -v first=1 -v skip=1 "$reduce"
				else
					echo "$meta mtime=$mtime truncated=0"
					awk -v rev=0 -v first=1 "$reduce" "$f"
				fi
				;;
			esac
		} | section usage_file -
		budget=$((budget - size))
		[ "$budget" -gt 0 ] || break
	done
}
