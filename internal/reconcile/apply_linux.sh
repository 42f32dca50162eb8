# accessctl apply script (Linux), generated for one host from the plan's operations. It is saved
# as $RUNDIR/$RUN.sh (root's, 0700 directory) and run as root: sh $RUNDIR/$RUN.sh MODE
# Every value from the plan below is single-quoted or base64-encoded.
#
# The host finishes or rolls back on its own, whatever happens to the controller:
#   launch   (the controller's session) starts `apply` detached (setsid, HUP and PIPE ignored,
#            output to the journal $RUNDIR/$RUN.log) and relays the journal, with a heartbeat
#            line every second, until the run ends. If the session dies (the controller was
#            killed, the connection dropped), the relay dies of SIGPIPE at its next write, and
#            apply, which watches it, rolls back by itself once its changes are made.
#   apply    takes the host's apply lock (waiting up to $LOCK_WAIT s), restores what runs killed
#            mid-way left (their backups), checks the host is still as planned (generation),
#            backs up each file before it is changed, changes, verifies; on any failure restores
#            all. Then it awaits confirmation for $CONFIRM_WAIT s: `confirm` commits (drops the
#            backups), `abort`, a vanished controller, or the time running out roll back.
#   confirm  (run over a FRESH connection: it proves the way in works) commits; relays the end.
#   abort    (accessctl could not get back in) rolls back; relays the end.
# The outcome of each run is kept in $RUNDIR/$RUN.outcome until the next run reports it.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
umask 077
RUNDIR=/var/lib/accessctl/run
LOCK=/run/accessctl-apply.lock
FAULT=/var/lib/accessctl-test/fault
BK=/var/lib/accessctl/backup/$RUN
nl='
'
# The backup list of this run: $BK/paths (read by a later rollback), and, for this process, the
# same paths between newlines in BK_LIST and their number in BK_N.
BK_LIST=$nl
BK_N=0
# Temporary authorized_keys files not renamed yet (one per line), removed by fail.
KEYS_TMP=

say() { echo "@@$*"; }

fail() {
	say "fail $(oneline "$*")"
	drop_tmp
	rollback
	finish "rolled back: $*"
}

# oneline TEXT: TEXT on one line (a failing step's whole stderr, bounded to its last 2000
# characters, where the cause usually is: sudo warns first and says what failed last).
oneline() {
	printf '%s' "$1" | tr '\n\r' '  ' | tail -c 2000
}

# need PROGRAM WHAT: fail, naming the program, when it is not installed.
need() {
	command -v "$1" >/dev/null 2>&1 || fail "$2: $1 is not installed on this host"
}

# try LABEL COMMAND...: run COMMAND; on failure fail with LABEL and all of its output, or name
# the program when it is missing.
try() {
	try_l=$1
	shift
	need "$1" "$try_l"
	try_o=$("$@" 2>&1) || fail "$try_l: ${try_o:-exit status $?}"
}

# finish OUTCOME: record how this run ended, tell the relay, end. The relay that reads the end
# forgets the run; when the controller went away, the outcome stays for the next run to report.
finish() {
	printf '%s\n' "$1" >"$RUNDIR/$RUN.outcome.tmp" && mv -f -- "$RUNDIR/$RUN.outcome.tmp" "$RUNDIR/$RUN.outcome"
	say "exit $1"
	if [ "${RUN#recover-}" = "$RUN" ] && [ -n "${LAUNCHER:-}" ] && ! kill -0 "$LAUNCHER" 2>/dev/null &&
		[ ! -f "$RUNDIR/$RUN.confirm" ] && [ ! -f "$RUNDIR/$RUN.abort" ]; then
		rm -f -- "$RUNDIR/$RUN.sh" "$RUNDIR/$RUN.log" "$RUNDIR/$RUN.pid"
	fi
	exit 0
}

# step N WHAT: journal the step. The test lab (only there: $FAULT exists) interrupts the run at
# a step: "N controller" kills the controller's session, "N host" kills this process.
step() {
	say "step $1 $2"
	[ -f "$FAULT" ] || return 0
	read -r f_step f_mode <"$FAULT" || return 0
	[ "$f_step" = "$1" ] || return 0
	rm -f -- "$FAULT"
	case $f_mode in
	controller) kill -9 "$(cat -- "$RUNDIR/$RUN.relay" 2>/dev/null)" "$LAUNCHER" 2>/dev/null ;;
	host) kill -9 $$ ;;
	esac
}

# bk_add PATH: append PATH, saved as entry $BK_N, to the backup list.
bk_add() {
	printf '%s\n' "$1" >>"$BK/paths" || fail "backup list"
	BK_LIST=$BK_LIST$1$nl
	BK_N=$((BK_N + 1))
}

# backup PATH: remember PATH as it is now (once per run). Entry N of $BK/paths is saved as
# $BK/N, or marked $BK/N.absent when nothing was there (rollback then removes what was made).
backup() {
	case $BK_LIST in
	*"$nl$1$nl"*) return 0 ;;
	esac
	if [ -e "$1" ] || [ -L "$1" ]; then
		cp -a -- "$1" "$BK/$BK_N" || fail "back up $1"
	else
		: >"$BK/$BK_N.absent" || fail "back up $1"
	fi
	bk_add "$1"
}

# drop_tmp: remove the temporary files of KEYS_TMP (on failure, before the rollback).
drop_tmp() {
	[ -n "$KEYS_TMP" ] || return 0
	set --
	while IFS= read -r dt; do
		[ -n "$dt" ] && set -- "$@" "$dt"
	done <<EOF
$KEYS_TMP
EOF
	KEYS_TMP=
	rm -f -- "$@"
}

rollback() {
	[ -f "$BK/paths" ] || return 0
	ok=1
	n=$(wc -l <"$BK/paths")
	n=$((n + 0))
	while [ "$n" -gt 0 ]; do
		n=$((n - 1))
		p=$(sed -n "$((n + 1))p" "$BK/paths")
		case $p in
		/?*) ;;
		*) continue ;;
		esac
		if [ -f "$BK/$n.absent" ]; then
			rm -rf -- "$p" || ok=0
		elif [ -d "$BK/$n" ] && [ ! -L "$BK/$n" ]; then
			rm -rf -- "$p" && mv -- "$BK/$n" "$p" || ok=0
		elif [ -f "$p" ] && [ ! -L "$p" ] && cmp -s -- "$BK/$n" "$p" &&
			[ "$(stat -c '%a %u %g' -- "$BK/$n")" = "$(stat -c '%a %u %g' -- "$p")" ]; then
			: # never replaced (the run failed before): nothing to restore, nothing to write on a full disk
		else
			cp -a -- "$BK/$n" "$p.accessctl-restore" && mv -f -- "$p.accessctl-restore" "$p" || {
				rm -f -- "$p.accessctl-restore"
				ok=0
			}
		fi
	done
	if [ -f "$BK/reloaded" ]; then
		reload_sshd || ok=0
	fi
	if [ "$ok" = 1 ]; then
		rm -rf -- "$BK"
		# Directories this run made for its backups go too, when nothing else is in them.
		rmdir -- "${BK%/*}" 2>/dev/null
		say "rolledback"
		return 0
	fi
	say "rollback-incomplete $BK"
	return 1
}

fsync_file() {
	sync -- "$1" 2>/dev/null || sync
}

# put PATH MODE OWNER [CHECK]: replace PATH atomically with the base64-decoded stdin: a temporary
# file in the same directory (mktemp: O_EXCL, never through a symlink), fsync, owner and mode,
# CHECK on it, rename. A symlink at PATH is refused, not followed. MODE "keep" keeps the mode.
put() {
	if [ -L "$1" ]; then
		fail "$1 is a symlink; refusing to write through it"
	fi
	if [ -e "$1" ] && [ ! -f "$1" ]; then
		fail "$1 is not a regular file"
	fi
	mode=$2
	if [ "$mode" = keep ]; then
		mode=$(stat -c %a -- "$1" 2>/dev/null) || mode=644
	fi
	backup "$1"
	t=$(mktemp -- "${1%/*}/.accessctl.XXXXXX") || fail "create a temporary file beside $1"
	if ! err=$(base64 -d 2>&1 >"$t"); then
		rm -f -- "$t"
		fail "write $1: ${err#base64: }"
	fi
	if ! chown -- "$3" "$t" || ! chmod -- "$mode" "$t"; then
		rm -f -- "$t"
		fail "set owner and mode of $1"
	fi
	if [ -n "${4:-}" ] && ! out=$("$4" "$t" 2>&1); then
		rm -f -- "$t"
		fail "$1 rejected by $4: $out"
	fi
	fsync_file "$t"
	if ! mv -f -- "$t" "$1"; then
		rm -f -- "$t"
		fail "rename into $1"
	fi
}

check_sudoers() {
	visudo -cqf "$1"
}

# safe_dir LABEL DIR USER UID [owner]: fail unless DIR is owned by USER (uid UID) or root and
# (unless "owner") not writable by group or others. The owner and mode come from KEYS_ST (one
# stat for all the users in keys_begin), or from stat for a path not in it.
safe_dir() {
	case $KEYS_ST in
	*"$nl$2:"*)
		sd_st=${KEYS_ST#*"$nl$2:"}
		sd_st=${sd_st%%"$nl"*}
		;;
	*) sd_st=$(stat -c '%u:%a:%U' -- "$2") || fail "stat $2" ;;
	esac
	sd_owner=${sd_st%%:*}
	sd_mode=${sd_st#*:}
	sd_name=${sd_mode#*:}
	sd_mode=${sd_mode%%:*}
	case $sd_owner in
	'' | *[!0-9]*) fail "stat $2" ;;
	esac
	case $sd_mode in
	'' | *[!0-7]*) fail "stat $2" ;;
	esac
	if [ "$sd_owner" != "$4" ] && [ "$sd_owner" != 0 ]; then
		fail "$1 of $3 is owned by $sd_name, not by $3 or root; refusing to write in it"
	fi
	if [ "${5:-}" != owner ] && [ $((0$sd_mode & 022)) != 0 ]; then
		fail "$1 of $3 is writable by group or others (mode $sd_mode); refusing to write in it"
	fi
}

# user_of USER: u_uid, u_gid and u_home of USER, from the passwd entries keys_begin read.
user_of() {
	case $KEYS_PW in
	*"$nl$1:"*)
		u_pw=${KEYS_PW#*"$nl$1:"}
		u_pw=${u_pw%%"$nl"*}
		;;
	*) u_pw= ;;
	esac
	# u_pw is x:UID:GID:GECOS:HOME:SHELL
	u_pw=${u_pw#*:}
	u_uid=${u_pw%%:*}
	u_pw=${u_pw#*:}
	u_gid=${u_pw%%:*}
	u_pw=${u_pw#*:}
	u_pw=${u_pw#*:}
	u_home=${u_pw%%:*}
}

# The authorized_keys of several users are written in three steps, with a constant number of
# processes for all of them but one mktemp, base64, chown and mv per user:
#   keys_begin USER...   one getent and one stat for all; the checks of every home and ~/.ssh
#                        (as sshd's StrictModes); the missing ~/.ssh made (mkdir), all 0700
#   keys USER <DATA      per user, AS THE USER (setpriv): a temporary file in ~/.ssh (mktemp:
#                        O_EXCL, mode 0600) with the base64-decoded stdin
#   keys_end             one sync (fsync of every file), then each file renamed over
#                        authorized_keys, as its user
# Each file is fsynced before its rename, and each rename is atomic. A symlink is refused, not
# followed. On any failure the temporary files go and the run is rolled back.
keys_begin() {
	KEYS_PW=$nl$(getent passwd "$@")$nl
	KEYS_USERS=
	KEYS_PENDING=
	for u in "$@"; do
		case $u in
		'' | *[!a-z0-9_-]*) fail "invalid user name $u" ;;
		esac
		KEYS_USERS="$KEYS_USERS $u"
	done
	set --
	for u in $KEYS_USERS; do
		user_of "$u"
		h=$u_home
		case $h in
		/?*) ;;
		*) fail "no home directory for $u" ;;
		esac
		if [ -L "$h" ] || [ ! -d "$h" ]; then
			fail "home $h of $u is missing or a symlink"
		fi
		set -- "$@" "$h"
		if [ -d "$h/.ssh" ] && [ ! -L "$h/.ssh" ]; then
			set -- "$@" "$h/.ssh"
		fi
	done
	KEYS_ST=$nl$(stat -c '%n:%u:%a:%U' -- "$@" 2>/dev/null)$nl
	# Whoever else owns or may write the home (or owns ~/.ssh) could swap in a symlink while
	# root writes there: refuse, as sshd's StrictModes does. (A too-open ~/.ssh is fixed below.)
	set --
	for u in $KEYS_USERS; do
		user_of "$u"
		h=$u_home
		safe_dir "home $h" "$h" "$u" "$u_uid"
		if [ -d "$h/.ssh" ] && [ ! -L "$h/.ssh" ]; then
			safe_dir "$h/.ssh" "$h/.ssh" "$u" "$u_uid" owner
		fi
		if [ -L "$h/.ssh" ]; then
			fail "$h/.ssh is a symlink; refusing to write through it"
		fi
		if [ ! -e "$h/.ssh" ]; then
			backup "$h/.ssh"
			set -- "$@" "$h/.ssh"
		fi
	done
	if [ $# -gt 0 ] && ! mkdir -m 700 -- "$@"; then
		for d in "$@"; do
			[ -d "$d" ] || fail "create $d"
		done
		fail "create $1"
	fi
	command -v setpriv >/dev/null 2>&1 || fail "setpriv (util-linux) is needed to write authorized_keys as their users"
	for u in $KEYS_USERS; do
		user_of "$u"
		if [ -L "$u_home/.ssh" ] || [ ! -d "$u_home/.ssh" ]; then
			fail "$u_home/.ssh is not a directory"
		fi
		# -h: never through a symlink swapped in since the check. The mode is set as the user,
		# who can change nothing but their own files.
		chown -h -- "$u_uid:$u_gid" "$u_home/.ssh" || fail "owner of $u_home/.ssh"
		as_user "$u_uid" "$u_gid" chmod 700 -- "$u_home/.ssh" || fail "mode of $u_home/.ssh"
	done
	KEYS_ST=
}

# as_user UID GID COMMAND...: run COMMAND with only that user's rights. Everything accessctl does
# inside a home (the user's own domain) runs this way, so a symlink the user swaps in can only
# ever point accessctl at files the user could change anyway.
as_user() {
	as_uid=$1 as_gid=$2
	shift 2
	setpriv --reuid="$as_uid" --regid="$as_gid" --clear-groups -- "$@"
}

# keys USER: USER's new authorized_keys (base64 on stdin) into a temporary file (keys_begin first).
keys() {
	case "$KEYS_USERS " in
	*" $1 "*) ;;
	*) fail "no home directory for $1" ;;
	esac
	user_of "$1"
	f=$u_home/.ssh/authorized_keys
	if [ -L "$f" ]; then
		fail "$f is a symlink; refusing to write through it"
	fi
	if [ -e "$f" ] && [ ! -f "$f" ]; then
		fail "$f is not a regular file"
	fi
	backup "$f"
	# As the user: mktemp (O_EXCL, mode 0600) in ~/.ssh, then the decoded keys into it.
	if ! out=$(as_user "$u_uid" "$u_gid" sh -c 'umask 077
		t=$(mktemp -- "$1/.accessctl.XXXXXX") || exit 1
		printf "%s\n" "$t"
		base64 -d >"$t"' sh "$u_home/.ssh" 2>&1); then
		t=${out%%"$nl"*}
		case $t in "$u_home/.ssh/.accessctl."*) KEYS_TMP=$KEYS_TMP$t$nl ;; esac
		err=${out#*"$nl"}
		fail "write $f: ${err#base64: }"
	fi
	t=${out%%"$nl"*}
	KEYS_TMP=$KEYS_TMP$t$nl
	KEYS_PENDING=$KEYS_PENDING$u_uid:$u_gid:$t$nl
}

# keys_end: owner and mode of every ~/.ssh and new file, fsync, then the renames.
keys_end() {
	[ -n "$KEYS_PENDING" ] || return 0
	set --
	while IFS=: read -r u g t; do
		[ -n "$t" ] && set -- "$@" "$t"
	done <<EOF
$KEYS_PENDING
EOF
	sync -- "$@" 2>/dev/null || sync
	while IFS=: read -r u g t; do
		[ -n "$t" ] || continue
		as_user "$u" "$g" mv -f -- "$t" "${t%/*}/authorized_keys" || fail "rename into ${t%/*}/authorized_keys"
	done <<EOF
$KEYS_PENDING
EOF
	KEYS_TMP=
	KEYS_PENDING=
}

# home_base: HOME_BASE, the base directory of new homes (HOME of useradd -D), asked once.
home_base() {
	[ -z "${HOME_BASE:-}" ] || return 0
	hb=$(useradd -D 2>/dev/null)
	while IFS= read -r l; do
		case $l in
		HOME=?*)
			HOME_BASE=${l#HOME=}
			break
			;;
		esac
	done <<EOF
$hb
EOF
	HOME_BASE=${HOME_BASE:-/home}
}

# add_user USER USERADD-OPTION...: useradd -m; a home it makes is removed again by rollback.
add_user() {
	u=$1
	shift
	home_base
	h=$HOME_BASE/$u
	pre=0
	orphan=
	if [ -e "$h" ] || [ -L "$h" ]; then
		pre=1
		if [ -d "$h" ] && [ ! -L "$h" ]; then
			orphan=$(stat -c %u -- "$h") && ! getent passwd "$orphan" >/dev/null || orphan=
		fi
	fi
	need useradd "create $u"
	out=$(useradd -m "$@" -- "$u" 2>&1) || fail "useradd $u: $out"
	# A home kept from an earlier account of this name (whose uid has no account now) goes back
	# to the new account, or sshd refuses its keys: only files of that uid, symlinks not followed.
	if [ -n "$orphan" ] && [ "$orphan" != "$(id -u -- "$u")" ]; then
		chown -R -h --from="$orphan" -- "$u:$(id -g -- "$u")" "$h" || fail "give $h back to $u"
	fi
	if [ "$pre" = 0 ] && [ -d "$h" ]; then
		: >"$BK/$BK_N.absent" || fail "backup list"
		bk_add "$h"
	fi
}

# remove_user USER REMOVEHOME: userdel keeps the home; a home to remove is moved into the backup
# (so rollback can put it back) and goes when the run is committed.
remove_user() {
	if [ "$2" = 1 ]; then
		h=$(getent passwd "$1" | cut -d: -f6)
		case $h in
		/?*)
			if [ -d "$h" ] && [ ! -L "$h" ]; then
				mv -- "$h" "$BK/$BK_N" || fail "move away the home of $1"
				bk_add "$h"
			fi
			;;
		esac
	fi
	try "userdel $1" userdel -- "$1"
}

# ensure_dir DIR: make DIR (root's, 0755) when missing; rollback removes what this run made.
ensure_dir() {
	[ -d "$1" ] && [ ! -L "$1" ] && return 0
	[ -e "$1" ] || [ -L "$1" ] && fail "$1 is not a directory"
	backup "$1"
	mkdir -p -m 755 -- "$1" || fail "create $1"
}

# rm_keyfile USER PATH: remove a file sshd reads USER's keys from (backed up first). Inside the
# user's home it is removed as the user, so a symlink swapped in can only point at their files.
rm_keyfile() {
	rk_pw=$(getent passwd "$1") || fail "remove $2: no account $1"
	IFS=: read -r _ _ rk_uid rk_gid _ rk_home _ <<EOF
$rk_pw
EOF
	[ -e "$2" ] || [ -L "$2" ] || return 0
	backup "$2"
	case $2 in
	"$rk_home"/*)
		need setpriv "remove $2"
		out=$(as_user "$rk_uid" "$rk_gid" rm -f -- "$2" 2>&1) || fail "remove $2: $out"
		;;
	*) out=$(rm -f -- "$2" 2>&1) || fail "remove $2: $out" ;;
	esac
}

# sudo_include: add `@includedir /etc/sudoers.d` to /etc/sudoers (visudo checks the new file,
# then the whole tree), so accessctl's drop-in counts.
sudo_include() {
	grep -Eq '^[[:space:]]*[@#]includedir[[:space:]]+/etc/sudoers\.d/?[[:space:]]*$' /etc/sudoers && return 0
	need visudo "add @includedir to /etc/sudoers"
	[ -f /etc/sudoers ] && [ ! -L /etc/sudoers ] || fail "/etc/sudoers is not a regular file"
	backup /etc/sudoers
	t=$(mktemp -- /etc/.accessctl.XXXXXX) || fail "create a temporary file beside /etc/sudoers"
	if ! { cat /etc/sudoers && printf '\n# added by accessctl: its rules are in /etc/sudoers.d\n@includedir /etc/sudoers.d\n'; } >"$t" ||
		! chown root:root "$t" || ! chmod 440 "$t"; then
		rm -f -- "$t"
		fail "write /etc/sudoers"
	fi
	if ! out=$(visudo -cqf "$t" 2>&1); then
		rm -f -- "$t"
		fail "/etc/sudoers with @includedir rejected by visudo: $out"
	fi
	fsync_file "$t"
	mv -f -- "$t" /etc/sudoers || fail "rename into /etc/sudoers"
	out=$(visudo -cq 2>&1) || fail "visudo -c rejected the sudoers files: $out"
}

# check_sudo USER LEVEL: sudo -l -U USER must grant every command (without a password for
# LEVEL nopasswd), whatever the sudoers layout.
check_sudo() {
	command -v sudo >/dev/null 2>&1 || fail "sudo is not installed on this host"
	cs_out=$(sudo -l -U "$1" 2>&1)
	case $2 in
	nopasswd) cs_re='^[[:space:]]+\((ALL|root)[^)]*\) (.* )?NOPASSWD: (.* )?ALL$' ;;
	*) cs_re='^[[:space:]]+\((ALL|root)[^)]*\) (.* )?ALL$' ;;
	esac
	printf '%s\n' "$cs_out" | grep -Eq "$cs_re" || fail "sudo -l -U $1 does not grant ALL ($2) after the change: $cs_out"
}

# sshd_conn_check SPEC KEYWORD VALUE...: sshd -T -C SPEC (user=,host=,addr=) must show each
# KEYWORD VALUE: a Match block must not change a managed setting for that connection.
sshd_conn_check() {
	scc_spec=$1
	shift
	scc_out=$("$SSHD" -T -C "$scc_spec" 2>&1) || fail "sshd -T -C $scc_spec: $scc_out"
	while [ $# -ge 2 ]; do
		scc_v=$(printf '%s\n' "$scc_out" | awk -v k="$1" '$1 == k { v = substr($0, length($1) + 2); if (v == "without-password") v = "prohibit-password"; print v; exit }')
		if [ "$scc_v" != "$2" ]; then
			say "sshd-mismatch $1 $scc_v"
			fail "sshd -T -C $scc_spec shows $1 $scc_v, not $2"
		fi
		shift 2
	done
}

# sshd_value KEYWORD: the effective value from sshd -T (all of it: AuthorizedKeysCommand has
# arguments), without-password spelled prohibit-password.
sshd_value() {
	# With a Match LocalPort/LocalAddress block plain sshd -T refuses: every criterion, matching
	# no such block (as the read script does).
	sv_out=$("$SSHD" -T 2>/dev/null) ||
		sv_out=$("$SSHD" -T -C user=accessctl-none,host=198.51.100.7,addr=198.51.100.7,laddr=198.51.100.8,lport=1 2>/dev/null)
	printf '%s\n' "$sv_out" | awk -v k="$1" '$1 == k { v = substr($0, length($1) + 2); if (v == "without-password") v = "prohibit-password"; print v; exit }'
}

reload_sshd() {
	if [ -d /run/systemd/system ]; then
		systemctl reload ssh 2>/dev/null || systemctl reload sshd
	elif [ -f "$PIDFILE" ]; then
		kill -HUP "$(cat -- "$PIDFILE")"
	else
		say "note sshd is not running (no $PIDFILE); nothing to reload"
	fi
}

backup_accounts() {
	for f in /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/subuid /etc/subgid; do
		if [ -e "$f" ]; then
			backup "$f"
		fi
	done
}

start() {
	trap '' HUP PIPE
	SSHD=$(command -v sshd || echo /usr/sbin/sshd)
	take_lock
	recover_leftovers
	if [ "$(cat /var/lib/accessctl/generation 2>/dev/null)" != "$GENERATION" ]; then
		finish "not started: another accessctl run changed this host since it was read; plan again"
	fi
	if [ -e "$BK" ]; then
		finish "not started: backup directory $BK exists already"
	fi
	mkdir -p -- "$BK" && : >"$BK/paths" || finish "not started: cannot create $BK"
}

# apply_run: the detached run.
apply_run() {
	trap '' HUP PIPE
	echo $$ >"$RUNDIR/$RUN.pid"
	# Start once the relay runs (its pid is the sign of the controller's session).
	i=0
	while [ ! -s "$RUNDIR/$RUN.relay" ] && [ "$i" -lt 50 ]; do
		i=$((i + 1))
		sleep 0.1 2>/dev/null || sleep 1
	done
	do_apply
	await_confirm
}

# pid_of_run: the pid of this run's apply process ("" before it wrote it).
pid_of_run() {
	cat -- "$RUNDIR/$RUN.pid" 2>/dev/null
}

# take_lock: one apply at a time per host; wait for the lock (a run awaiting confirmation, or
# rolling back after its controller vanished, ends within its confirmation wait).
take_lock() {
	if command -v flock >/dev/null 2>&1 && [ -d /run ] && [ ! -L "$LOCK" ]; then
		exec 9>"$LOCK"
		flock -w "$LOCK_WAIT" 9 || finish "not started: another accessctl apply held the host's lock for ${LOCK_WAIT}s"
	fi
}

# recover_run: only restore what interrupted runs left (before a host is planned for apply).
recover_run() {
	trap '' HUP PIPE
	take_lock
	recover_leftovers
	forget_run
	say "exit recovered"
}

# recover_leftovers: a run whose process died mid-way (the host crashed, it was killed) left its
# backups; no run holds them (this one has the lock). Restore each, so the host is as it was
# before that run, and drop the temporary files its steps left. Then forget ended runs.
recover_leftovers() {
	for d in "${BK%/*}"/*; do
		[ -d "$d" ] && [ ! -L "$d" ] || continue
		r=${d##*/}
		if [ -f "$d/paths" ]; then
			while IFS= read -r p; do
				case $p in
				/?*) rm -f -- "${p%/*}"/.accessctl.?????? "$p.accessctl-restore" ;;
				esac
			done <"$d/paths"
		fi
		if (BK=$d && rollback >/dev/null); then
			[ -d "$d" ] && rm -rf -- "$d"
			say "note restored the host from run $r, interrupted mid-way"
			printf 'rolled back: interrupted mid-way, restored by run %s\n' "$RUN" >"$RUNDIR/$r.outcome"
		else
			say "note could not fully restore run $r; its backups stay in $d"
		fi
	done
	# shadow's lock files whose process is gone (a useradd killed mid-way).
	for l in /etc/passwd.lock /etc/shadow.lock /etc/group.lock /etc/gshadow.lock /etc/subuid.lock /etc/subgid.lock; do
		[ -f "$l" ] || continue
		pid=$(head -c 32 -- "$l" 2>/dev/null | tr -cd 0-9)
		if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
			rm -f -- "$l" && say "note removed the stale lock file $l"
		fi
	done
	for o in "$RUNDIR"/*.outcome; do
		[ -f "$o" ] || continue
		r=${o##*/}
		r=${r%.outcome}
		[ "$r" = "$RUN" ] && continue
		say "note run $r ended: $(head -n 1 -- "$o")"
		rm -f -- "$RUNDIR/$r".*
	done
	for f in "$RUNDIR"/*.sh; do
		[ -f "$f" ] || continue
		r=${f##*/}
		r=${r%.sh}
		[ "$r" = "$RUN" ] || rm -f -- "$RUNDIR/$r".*
	done
}

# await_confirm: the changes are made and verified; commit when the controller confirms over a
# fresh connection, else roll back.
await_confirm() {
	say "await"
	i=0
	while :; do
		if [ -f "$RUNDIR/$RUN.confirm" ]; then
			commit
			finish applied
		fi
		if [ -f "$RUNDIR/$RUN.abort" ]; then
			undo "accessctl could not log in again after the change"
		fi
		# The relay lives as long as the controller's session: gone, nobody will confirm.
		if ! kill -0 "$LAUNCHER" 2>/dev/null; then
			undo "the controller went away before confirming"
		fi
		i=$((i + 1))
		if [ "$i" -gt $((CONFIRM_WAIT * 5)) ]; then
			undo "no confirmation within ${CONFIRM_WAIT}s"
		fi
		# A heartbeat through the relay each second: a relay whose controller is gone dies of it.
		[ $((i % 5)) = 0 ] && say hb
		sleep 0.2 2>/dev/null || sleep 1
	done
}

undo() {
	say "fail $1"
	rollback
	finish "rolled back: $1"
}

commit() {
	rm -rf -- "$BK"
	rmdir -- "${BK%/*}" 2>/dev/null
	printf '%s\n' "$RUN" >/var/lib/accessctl/generation.tmp && mv -f -- /var/lib/accessctl/generation.tmp /var/lib/accessctl/generation
	sync
	say committed
}

# relay LOG MODE: print the journal's new lines until the run ends (or its process dies without
# a word). In launch mode a heartbeat line goes out every second: writing is what notices a
# controller that went away.
relay() {
	n=0
	idle=0
	while :; do
		if [ ! -f "$1" ]; then
			say "exit unknown: the journal of run $RUN is gone"
			return 1
		fi
		new=$(sed -n "$((n + 1)),\$p" -- "$1")
		if [ -n "$new" ]; then
			printf '%s\n' "$new"
			n=$((n + $(printf '%s\n' "$new" | wc -l)))
			case "$nl$new$nl" in
			*"$nl@@exit "*)
				# Whoever confirmed or aborted the run forgets it, once it has relayed the end.
				if [ "${2:-}" != launch ] || { [ ! -f "$RUNDIR/$RUN.confirm" ] && [ ! -f "$RUNDIR/$RUN.abort" ]; }; then
					forget_run
				fi
				return 0
				;;
			esac
			idle=0
		elif p=$(pid_of_run) && [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then
			sleep 0.2 2>/dev/null || sleep 1
			[ -n "$(sed -n "$((n + 1)),\$p" -- "$1")" ] && continue
			say "fail the apply process on the host died mid-way; the next apply restores the host"
			return 1
		elif [ "${2:-}" = launch ]; then
			idle=$((idle + 1))
			if [ "$idle" -ge 10 ]; then
				idle=0
				say hb
			fi
		fi
		sleep 0.1 2>/dev/null || sleep 1
	done
}

launch() {
	log=$RUNDIR/$RUN.log
	: >"$log" || { say "exit not started: cannot write $log"; exit 1; }
	LAUNCHER=$$
	export LAUNCHER
	# The run is this process's child, in a session of its own: while this process waits for the
	# relay it reaps the run as soon as it ends, so `tail --pid` here and in `tell` sees the end at
	# once (a run left to init stays a zombie for as long as init takes to reap it: in some
	# containers seconds, or for ever). When this process goes (the controller went away), the run
	# carries on and init inherits it.
	if command -v setsid >/dev/null 2>&1; then
		setsid sh "$0" apply </dev/null >>"$log" 2>&1 &
	else
		sh "$0" apply </dev/null >>"$log" 2>&1 &
	fi
	i=0
	while [ ! -s "$RUNDIR/$RUN.pid" ] && [ "$i" -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1 2>/dev/null || sleep 1
	done
	# GNU tail follows the journal without polling (inotify) and ends when the run does. It dies
	# of SIGPIPE when the controller has gone; this process then ends too, which the run sees.
	if p=$(pid_of_run) && [ -n "$p" ] && tail --version 2>/dev/null | grep -q GNU; then
		tail -n +1 -f --pid="$p" -s 0.2 -- "$log" &
		echo $! >"$RUNDIR/$RUN.relay"
		wait $! || exit 1
		# The run has ended and its end was relayed: forget it, unless a confirm or abort relays it.
		if ! kill -0 "$p" 2>/dev/null && [ ! -f "$RUNDIR/$RUN.confirm" ] && [ ! -f "$RUNDIR/$RUN.abort" ]; then
			forget_run
		fi
		exit 0
	fi
	echo $$ >"$RUNDIR/$RUN.relay"
	relay "$log" launch
}

# tell WORD: confirm or abort the run, relay its end, and forget it.
tell() {
	: >"$RUNDIR/$RUN.$1" || { say "fail cannot write $RUNDIR/$RUN.$1"; exit 1; }
	if p=$(pid_of_run) && [ -n "$p" ] && [ -f "$RUNDIR/$RUN.log" ] && tail --version 2>/dev/null | grep -q GNU; then
		tail -n +1 -f --pid="$p" -s 0.2 -- "$RUNDIR/$RUN.log"
		forget_run
		return 0
	fi
	relay "$RUNDIR/$RUN.log" "$1"
}

# forget_run: the controller has the run's outcome: drop its files, and accessctl's directories
# when nothing else is in them (a host where every run rolled back is left as it was).
forget_run() {
	rm -f -- "$RUNDIR/$RUN".*
	rmdir -- "$RUNDIR" 2>/dev/null && rmdir -- "${RUNDIR%/*}" 2>/dev/null
	return 0
}
