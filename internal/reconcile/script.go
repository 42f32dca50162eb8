package reconcile

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
)

//go:embed apply_linux.sh
var applyPrelude string

var runIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// q quotes a value for the remote shell.
func q(s string) string { return hoststate.ShellQuote(s) }

// heredoc feeds data to a command as base64 through a quoted here-document; base64 never
// contains the delimiter, and nothing in it is expanded.
func heredoc(b *strings.Builder, line, data string) {
	b.WriteString("\t" + line + "\n")
	enc := base64.StdEncoding.EncodeToString([]byte(data))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\nACCESSCTL_DATA\n")
}

// LinuxApplyScript is the one script that applies hp on its host, run as
// `sh -s -- apply|rollback|commit`. runID names the host-side backup directory; now is recorded
// as the time of the last apply.
func LinuxApplyScript(hp *HostPlan, runID string, now time.Time) (string, error) {
	ops := hp.ops
	if ops == nil {
		return "", fmt.Errorf("nothing to apply on %s", hp.Name)
	}
	if !runIDRE.MatchString(runID) {
		return "", fmt.Errorf("invalid run id %q", runID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# host: %s\nRUN=%s\n", strings.ReplaceAll(hp.Name, "\n", " "), q(runID))
	pidfile := "/run/sshd.pid"
	if ops.Sshd != nil && ops.Sshd.PIDFile != "" {
		pidfile = ops.Sshd.PIDFile
	}
	fmt.Fprintf(&b, "PIDFILE=%s\n", q(pidfile))
	b.WriteString(applyPrelude)
	if ops.Pull != nil {
		b.WriteString(pullPrelude)
	}
	b.WriteString("\ndo_apply() {\n\tstart\n")

	accounts := len(ops.Groups) > 0 || len(ops.Passwords) > 0
	for _, u := range ops.Users {
		if u.Create || u.Delete || len(u.Opts) > 0 || len(u.AddGroups) > 0 || u.Lock || u.Unlock {
			accounts = true
		}
	}
	if accounts {
		b.WriteString("\tbackup_accounts\n")
	}
	for _, g := range ops.Groups {
		fmt.Fprintf(&b, "\tgetent group %s >/dev/null || groupadd -- %s || fail %s\n", q(g), q(g), q("groupadd "+g))
	}
	for _, u := range ops.Users {
		switch {
		case u.Create:
			// A new user gets its groups from useradd itself: one process less.
			opts := u.Opts
			if len(u.AddGroups) > 0 {
				opts = append(opts[:len(opts):len(opts)], "-G", strings.Join(u.AddGroups, ","))
			}
			fmt.Fprintf(&b, "\tadd_user %s%s\n", q(u.Name), quotedOpts(opts))
		case len(u.Opts) > 0:
			fmt.Fprintf(&b, "\tusermod%s -- %s || fail %s\n", quotedOpts(u.Opts), q(u.Name), q("usermod "+u.Name))
		}
		if len(u.AddGroups) > 0 && !u.Create {
			fmt.Fprintf(&b, "\tusermod -aG %s -- %s || fail %s\n", q(strings.Join(u.AddGroups, ",")), q(u.Name), q("add "+u.Name+" to groups"))
		}
	}
	if len(ops.Passwords) > 0 {
		heredoc(&b, "base64 -d <<'ACCESSCTL_DATA' | chpasswd -e || fail 'chpasswd -e'", strings.Join(ops.Passwords, "\n")+"\n")
	}
	for _, u := range ops.Users {
		switch {
		case u.Lock:
			fmt.Fprintf(&b, "\tusermod -L -- %s && usermod -e 1970-01-02 -- %s || fail %s\n", q(u.Name), q(u.Name), q("lock "+u.Name))
		case u.Unlock:
			fmt.Fprintf(&b, "\tusermod -e '' -- %s && usermod -U -- %s || fail %s\n", q(u.Name), q(u.Name), q("unlock "+u.Name))
		}
	}
	var keyUsers []string
	for _, u := range ops.Users {
		if u.Keys != nil {
			keyUsers = append(keyUsers, q(u.Name))
		}
	}
	if len(keyUsers) > 0 {
		fmt.Fprintf(&b, "\tkeys_begin %s\n", strings.Join(keyUsers, " "))
		for _, u := range ops.Users {
			if u.Keys != nil {
				heredoc(&b, "keys "+q(u.Name)+" <<'ACCESSCTL_DATA'", *u.Keys)
			}
		}
		b.WriteString("\tkeys_end\n")
	}
	switch {
	case ops.Sudoers != nil:
		heredoc(&b, "put "+q(hoststate.SudoersPath)+" 440 root:root check_sudoers <<'ACCESSCTL_DATA'", *ops.Sudoers)
	case ops.SudoersDelete:
		fmt.Fprintf(&b, "\tbackup %s\n\trm -f -- %s || fail %s\n", q(hoststate.SudoersPath), q(hoststate.SudoersPath), q("remove "+hoststate.SudoersPath))
	}
	for _, u := range ops.Users {
		if u.Delete {
			rh := "0"
			if u.RemoveHome {
				rh = "1"
			}
			fmt.Fprintf(&b, "\tremove_user %s %s\n", q(u.Name), rh)
		}
	}
	writePullOps(&b, ops.Pull)
	if s := ops.Sshd; s != nil {
		if s.DropIn {
			path := hoststate.SshdDropInDir + "/" + hoststate.SshdDropIn
			heredoc(&b, "put "+q(path)+" 644 root:root <<'ACCESSCTL_DATA'", s.Content)
		} else {
			fmt.Fprintf(&b, "\t[ \"$(sha256sum <%s | cut -d' ' -f1)\" = %s ] || fail %s\n",
				q(hoststate.SshdConfigPath), q(s.MainSHA256), q(hoststate.SshdConfigPath+" changed since it was read"))
			heredoc(&b, "put "+q(hoststate.SshdConfigPath)+" keep root:root <<'ACCESSCTL_DATA'", s.Content)
		}
		b.WriteString("\tmkdir -p /run/sshd\n")
		b.WriteString("\tout=$(\"$SSHD\" -t 2>&1) || fail \"sshd -t rejected the configuration: $out\"\n")
		keys := make([]string, 0, len(s.Expect))
		for k := range s.Expect {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\tv=$(sshd_value %s)\n\t[ \"$v\" = %s ] || { say \"sshd-mismatch %s $v\"; fail %s; }\n",
				q(k), q(s.Expect[k]), k, q("sshd -T does not show "+k+" "+s.Expect[k]))
		}
		b.WriteString("\t: >\"$BK/reloaded\"\n\treload_sshd || fail 'reload sshd'\n")
	}
	b.WriteString("\tmkdir -p /var/lib/accessctl || fail 'create /var/lib/accessctl'\n")
	heredoc(&b, "put "+q(hoststate.StatePath)+" 600 root:root <<'ACCESSCTL_DATA'", recordJSON(ops.Record, now))
	b.WriteString("\tsay ok\n}\n\n")
	b.WriteString(`main() {
	case ${1:-} in
	apply) do_apply ;;
	rollback) rollback ;;
	commit)
		rm -rf -- "$BK"
		# Backups left by runs killed mid-apply hold copies of /etc/shadow and describe a state
		# nobody will restore once a later apply has committed. Remove them, but only while
		# holding the apply lock, so the backup of an apply that is running is never touched.
		if command -v flock >/dev/null 2>&1 && [ ! -L /run/accessctl-apply.lock ] &&
			exec 9>/run/accessctl-apply.lock && flock -n 9; then
			for d in "${BK%/*}"/*; do
				if [ -d "$d" ] && [ ! -L "$d" ]; then
					rm -rf -- "$d" && say "note removed the backup of an interrupted run: $d"
				fi
			done
		fi
		rmdir -- "${BK%/*}" 2>/dev/null
		say committed
		;;
	*)
		echo "usage: sh -s -- apply|rollback|commit" >&2
		exit 2
		;;
	esac
}
main "$@" </dev/null
`)
	return b.String(), nil
}

func quotedOpts(opts []string) string {
	var b strings.Builder
	for i, o := range opts {
		b.WriteString(" ")
		if i%2 == 0 {
			b.WriteString(o) // a flag chosen by this package
		} else {
			b.WriteString(q(o))
		}
	}
	return b.String()
}

func recordJSON(r hoststate.Record, now time.Time) string {
	r.FormatVersion = "1"
	r.LastApplied = now.UTC().Format(time.RFC3339)
	sort.Strings(r.Created)
	if r.Created == nil {
		r.Created = []string{}
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b) + "\n"
}
