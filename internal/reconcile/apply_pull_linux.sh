
# Pull mode (pull.go, docs/pull-mode.md); added to the script only when a host gets pull mode.

# pull_dir DIR: create accessctl's directory, root:root 0755 (rollback removes it again).
pull_dir() {
	if [ -L "$1" ]; then
		fail "$1 is a symlink; refusing to write through it"
	fi
	if [ ! -e "$1" ]; then
		backup "$1"
		mkdir -m 755 -- "$1" || fail "create $1"
	fi
	[ -d "$1" ] || fail "$1 is not a directory"
	chown root:root -- "$1" && chmod 755 -- "$1" || fail "owner and mode of $1"
}

# pull_probe COMMAND...: run the plug-in on the new snapshot as sshd will, as nobody with an
# empty environment, for a user no snapshot names. It must answer (exit 0): an unreadable,
# unverifiable or expired snapshot, a binary that does not run here, or a file nobody cannot read
# fails the run, which is then rolled back.
pull_probe() {
	g=$(id -g nobody 2>/dev/null) || fail "no user nobody to run $1 as"
	if command -v setpriv >/dev/null 2>&1; then
		out=$(setpriv --reuid=nobody --regid="$g" --clear-groups env -i "$@" accessctl-probe 2>&1 >/dev/null) ||
			fail "$1 refused the new snapshot (run as nobody): $out"
	else
		out=$(env -i "$@" accessctl-probe 2>&1 >/dev/null) || fail "$1 refused the new snapshot: $out"
	fi
}

# pull_remove_keys USER: remove the authorized_keys file accessctl wrote for USER in push mode.
pull_remove_keys() {
	h=$(getent passwd "$1" | cut -d: -f6)
	case $h in
	/?*) ;;
	*) fail "no home directory for $1" ;;
	esac
	f=$h/.ssh/authorized_keys
	if [ -L "$h/.ssh" ] || [ -L "$f" ]; then
		fail "$f is a symlink; refusing to remove through it"
	fi
	[ -f "$f" ] || return 0
	head -n 1 -- "$f" | grep -qxF '# managed by accessctl' || fail "$f is no longer accessctl's; left in place"
	backup "$f"
	rm -f -- "$f" || fail "remove $f"
}
