package reconcile

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/accessctl/accessctl/internal/names"
	"path"
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

// Waits bound the host side of an apply: how long it waits for the host's apply lock, and for
// the controller's confirmation after the changes are made (then it rolls back by itself).
type Waits struct {
	Lock    time.Duration
	Confirm time.Duration
}

// DefaultLockTimeout is apply's --lock-timeout default (SPEC §2).
const DefaultLockTimeout = 2 * time.Minute

// DefaultConfirmTimeout bounds the wait for the controller's fresh-connection confirmation.
const DefaultConfirmTimeout = 30 * time.Second

func (w Waits) lockSeconds() int {
	if w.Lock <= 0 {
		return int(DefaultLockTimeout / time.Second)
	}
	return int((w.Lock + time.Second - 1) / time.Second)
}

func (w Waits) confirmSeconds() int {
	if w.Confirm <= 0 {
		return int(DefaultConfirmTimeout / time.Second)
	}
	return int((w.Confirm + time.Second - 1) / time.Second)
}

// linuxSteps is a Linux host's ops sorted into the phases of the apply script. Changes list
// their ops in the order a reviewer reads them; the script runs them in this order instead
// (groups before the users in them, accounts before keys, sshd last). Ops shared by several
// changes (the sudoers file, sshd settings, pull mode) are run once.
type linuxSteps struct {
	groups    []string
	users     []string // order of first appearance
	add       map[string]*Op
	mod       map[string][]string
	addGroups map[string][]string
	delGroups map[string][]string
	passwords []string // user:hash for chpasswd -e
	lock      map[string]bool
	unlock    map[string]bool
	keys      map[string]string
	keyFiles  []Op // OpKeyFile
	keyFileRm []Op // OpKeyFileRemove
	sudoInc   bool
	sudoers   *string
	sudoersRm bool
	del       []Op
	pull      *PullOp
	sshd      *SshdOp
}

func stepsOf(changes []Change) (*linuxSteps, error) {
	st := &linuxSteps{add: map[string]*Op{}, mod: map[string][]string{}, addGroups: map[string][]string{}, delGroups: map[string][]string{},
		lock: map[string]bool{}, unlock: map[string]bool{}, keys: map[string]string{}}
	seenUser := map[string]bool{}
	seenGroup := map[string]bool{}
	user := func(u string) error {
		if !hoststate.ValidUserName(u) {
			return fmt.Errorf("invalid user name %q in the plan", u)
		}
		if !seenUser[u] {
			seenUser[u] = true
			st.users = append(st.users, u)
		}
		return nil
	}
	for _, op := range allOps(changes) {
		if op.User != "" {
			if err := user(op.User); err != nil {
				return nil, err
			}
		}
		switch op.Kind {
		case OpGroupAdd:
			if !names.Group(op.Group) {
				return nil, fmt.Errorf("invalid group name %q in the plan", op.Group)
			}
			if !seenGroup[op.Group] {
				seenGroup[op.Group] = true
				st.groups = append(st.groups, op.Group)
			}
		case OpUserAdd, OpUserMod:
			if err := checkUserArgs(op.Args); err != nil {
				return nil, fmt.Errorf("%s of %s in the plan: %w", op.Kind, op.User, err)
			}
		}
		switch op.Kind {
		case OpGroupAdd: // above
		case OpUserAdd:
			o := op
			st.add[op.User] = &o
		case OpUserMod:
			st.mod[op.User] = append(st.mod[op.User], op.Args...)
		case OpAddGroups:
			for _, g := range op.Groups {
				if !names.Group(g) {
					return nil, fmt.Errorf("invalid group name %q in the plan", g)
				}
			}
			st.addGroups[op.User] = append(st.addGroups[op.User], op.Groups...)
		case OpDelGroups:
			for _, g := range op.Groups {
				if !names.Group(g) {
					return nil, fmt.Errorf("invalid group name %q in the plan", g)
				}
			}
			st.delGroups[op.User] = append(st.delGroups[op.User], op.Groups...)
		case OpPassword:
			if op.Hash == "" || strings.ContainsAny(op.Hash, ":\n\r") {
				return nil, fmt.Errorf("invalid password hash for %s in the plan", op.User)
			}
			st.passwords = append(st.passwords, op.User+":"+op.Hash)
		case OpLock:
			st.lock[op.User] = true
		case OpUnlock:
			st.unlock[op.User] = true
		case OpKeys:
			if op.Content == nil {
				return nil, fmt.Errorf("keys of %s without content in the plan", op.User)
			}
			st.keys[op.User] = *op.Content
		case OpKeyFile, OpKeyFileRemove:
			if !safeKeyPath(op.Path) || (op.Kind == OpKeyFile && op.Content == nil) {
				return nil, fmt.Errorf("invalid %s op for %s in the plan", op.Kind, op.User)
			}
			if op.Kind == OpKeyFile {
				st.keyFiles = append(st.keyFiles, op)
			} else {
				st.keyFileRm = append(st.keyFileRm, op)
			}
		case OpSudoInclude:
			if op.Path != "/etc/sudoers" {
				return nil, fmt.Errorf("invalid sudoers op in the plan")
			}
			st.sudoInc = true
		case OpSudoers:
			if op.Content == nil || op.Path != hoststate.SudoersPath {
				return nil, fmt.Errorf("invalid sudoers op in the plan")
			}
			c := *op.Content
			st.sudoers = &c
		case OpSudoersRemove:
			if op.Path != hoststate.SudoersPath {
				return nil, fmt.Errorf("invalid sudoers op in the plan")
			}
			st.sudoersRm = true
		case OpUserDel:
			st.del = append(st.del, op)
		case OpPull:
			st.pull = op.Pull
		case OpSshd:
			if op.Sshd == nil {
				return nil, fmt.Errorf("sshd op without settings in the plan")
			}
			st.sshd = op.Sshd
		default:
			return nil, fmt.Errorf("operation %q cannot run on a Linux host", op.Kind)
		}
	}
	return st, nil
}

// userArgs are the useradd/usermod options a plan may carry (the values are quoted).
var userArgs = map[string]bool{"-u": true, "-s": true, "-c": true}

func checkUserArgs(args []string) error {
	if len(args)%2 != 0 {
		return fmt.Errorf("options not in pairs")
	}
	for i := 0; i < len(args); i += 2 {
		if !userArgs[args[i]] {
			return fmt.Errorf("option %q is not one accessctl uses", args[i])
		}
		if strings.ContainsAny(args[i+1], "\n\r\x00:") {
			return fmt.Errorf("option %s: invalid value", args[i])
		}
	}
	return nil
}

// accounts reports whether the steps change the account databases (so they are backed up).
func (st *linuxSteps) accounts() bool {
	return len(st.groups) > 0 || len(st.passwords) > 0 || len(st.add) > 0 || len(st.mod) > 0 ||
		len(st.addGroups) > 0 || len(st.delGroups) > 0 || len(st.lock) > 0 || len(st.unlock) > 0 || len(st.del) > 0
}

// LinuxApplyScript is the one script that applies hp's ops on its host, run as
// `sh -s -- apply|rollback|commit`. runID names the host-side backup directory; now is recorded
// as the time of the last apply.
func LinuxApplyScript(hp *HostPlan, runID string, now time.Time, w Waits) (string, error) {
	if hp.Apply == nil || len(hp.Changes) == 0 {
		return "", fmt.Errorf("nothing to apply on %s", hp.Name)
	}
	st, err := stepsOf(hp.Changes)
	if err != nil {
		return "", err
	}
	if !runIDRE.MatchString(runID) {
		return "", fmt.Errorf("invalid run id %q", runID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# host: %s\nRUN=%s\n", strings.ReplaceAll(hp.Name, "\n", " "), q(runID))
	pidfile := "/run/sshd.pid"
	if st.sshd != nil && st.sshd.PIDFile != "" {
		pidfile = st.sshd.PIDFile
	}
	fmt.Fprintf(&b, "PIDFILE=%s\nGENERATION=%s\nLOCK_WAIT=%d\nCONFIRM_WAIT=%d\n", q(pidfile), q(hp.Apply.Generation),
		w.lockSeconds(), w.confirmSeconds())
	b.WriteString(applyPrelude)
	if st.pull != nil {
		b.WriteString(pullPrelude)
	}
	b.WriteString("\ndo_apply() {\n\tstart\n")
	// Every step is journaled (and, in the test lab only, a point where a run can be interrupted).
	n := 0
	step := func(what string) {
		n++
		fmt.Fprintf(&b, "\tstep %d %s\n", n, q(what))
	}
	if st.accounts() {
		step("back up the account databases")
		b.WriteString("\tbackup_accounts\n")
	}
	for _, g := range st.groups {
		step("groupadd " + g)
		fmt.Fprintf(&b, "\tgetent group %s >/dev/null || try %s groupadd -- %s\n", q(g), q("groupadd "+g), q(g))
	}
	for _, u := range st.users {
		if add := st.add[u]; add != nil {
			step("useradd " + u)
			// A new user gets its groups from useradd itself: one process less.
			opts := add.Args
			if gs := st.addGroups[u]; len(gs) > 0 {
				opts = append(opts[:len(opts):len(opts)], "-G", strings.Join(gs, ","))
			}
			fmt.Fprintf(&b, "\tadd_user %s%s\n", q(u), quotedOpts(opts))
			continue
		}
		if args := st.mod[u]; len(args) > 0 {
			step("usermod " + u)
			fmt.Fprintf(&b, "\ttry %s usermod%s -- %s\n", q("usermod "+u), quotedOpts(args), q(u))
		}
		if gs := st.addGroups[u]; len(gs) > 0 {
			step("groups of " + u)
			fmt.Fprintf(&b, "\ttry %s usermod -aG %s -- %s\n", q("add "+u+" to groups"), q(strings.Join(gs, ",")), q(u))
		}
		for _, g := range st.delGroups[u] {
			step("leave group " + g + ": " + u)
			fmt.Fprintf(&b, "\tgpasswd -d %s %s >/dev/null || fail %s\n", q(u), q(g), q("remove "+u+" from "+g))
		}
	}
	if len(st.passwords) > 0 {
		step("passwords")
		b.WriteString("\tneed chpasswd 'set passwords'\n")
		heredoc(&b, "out=$(base64 -d <<'ACCESSCTL_DATA' | chpasswd -e 2>&1", strings.Join(st.passwords, "\n")+"\n")
		b.WriteString("\t) || fail \"chpasswd -e: $out\"\n")
	}
	for _, u := range st.users {
		switch {
		case st.lock[u]:
			step("lock " + u)
			fmt.Fprintf(&b, "\ttry %s usermod -L -- %s\n\ttry %s usermod -e 1970-01-02 -- %s\n", q("lock "+u), q(u), q("lock "+u), q(u))
		case st.unlock[u]:
			step("unlock " + u)
			fmt.Fprintf(&b, "\ttry %s usermod -e '' -- %s\n\ttry %s usermod -U -- %s\n", q("unlock "+u), q(u), q("unlock "+u), q(u))
		}
	}
	var keyUsers []string
	for _, u := range st.users {
		if _, ok := st.keys[u]; ok {
			keyUsers = append(keyUsers, q(u))
		}
	}
	if len(keyUsers) > 0 {
		step("prepare ~/.ssh")
		fmt.Fprintf(&b, "\tkeys_begin %s\n", strings.Join(keyUsers, " "))
		for _, u := range st.users {
			if k, ok := st.keys[u]; ok {
				step("authorized_keys of " + u)
				heredoc(&b, "keys "+q(u)+" <<'ACCESSCTL_DATA'", k)
			}
		}
		step("rename the authorized_keys files into place")
		b.WriteString("\tkeys_end\n")
	}
	for _, op := range st.keyFiles {
		step("keys of " + op.User + " in " + op.Path)
		fmt.Fprintf(&b, "\tensure_dir %s\n", q(path.Dir(op.Path)))
		heredoc(&b, "put "+q(op.Path)+" 644 root:root <<'ACCESSCTL_DATA'", *op.Content)
	}
	for _, op := range st.keyFileRm {
		step("remove " + op.Path)
		fmt.Fprintf(&b, "\trm_keyfile %s %s\n", q(op.User), q(op.Path))
	}
	switch {
	case st.sudoers != nil:
		step("sudoers drop-in")
		heredoc(&b, "put "+q(hoststate.SudoersPath)+" 440 root:root check_sudoers <<'ACCESSCTL_DATA'", *st.sudoers)
	case st.sudoersRm:
		step("remove the sudoers drop-in")
		fmt.Fprintf(&b, "\tbackup %s\n\trm -f -- %s || fail %s\n", q(hoststate.SudoersPath), q(hoststate.SudoersPath), q("remove "+hoststate.SudoersPath))
	}
	if st.sudoInc {
		step("@includedir in /etc/sudoers")
		b.WriteString("\tsudo_include\n")
	}
	if st.sudoers != nil {
		// What sudo itself now grants (whatever the sudoers layout), not what the file says.
		levels, order := sudoLevels(hoststate.File{Kind: hoststate.KindFile, Content: *st.sudoers})
		if len(order) > 0 {
			step("sudo -l of the users with sudo")
		}
		for _, u := range order {
			if hoststate.ValidUserName(u) {
				fmt.Fprintf(&b, "\tcheck_sudo %s %s\n", q(u), q(levels[u]))
			}
		}
	}
	for _, d := range st.del {
		step("userdel " + d.User)
		rh := "0"
		if d.RemoveHome {
			rh = "1"
		}
		fmt.Fprintf(&b, "\tremove_user %s %s\n", q(d.User), rh)
	}
	if st.pull != nil {
		step("pull mode")
	}
	writePullOps(&b, st.pull)
	if s := st.sshd; s != nil {
		step("sshd settings")
		writeSshdOps(&b, s)
	}
	step("state record")
	b.WriteString("\tmkdir -p /var/lib/accessctl || fail 'create /var/lib/accessctl'\n")
	rec := hoststate.Record{}
	if hp.Apply.Record != nil {
		rec = *hp.Apply.Record
	}
	heredoc(&b, "put "+q(hoststate.StatePath)+" 600 root:root <<'ACCESSCTL_DATA'", recordJSON(rec, now))
	step("changes made and verified; await confirmation")
	b.WriteString("\tsay ok\n}\n\n")
	b.WriteString(`main() {
	case ${1:-} in
	launch) launch ;;
	apply) apply_run ;;
	recover) recover_run ;;
	confirm | abort) tell "$1" ;;
	*)
		echo "usage: sh $0 launch|apply|confirm|abort" >&2
		exit 2
		;;
	esac
}
main "$@" </dev/null
`)
	return b.String(), nil
}

// LinuxRecoverScript restores what runs killed mid-way left on a Linux host (their backups,
// temporary files, stale account-database locks), under the host's apply lock. It changes
// nothing else. Run as: sh -s -- recover.
func LinuxRecoverScript(runID string, w Waits) (string, error) {
	if !runIDRE.MatchString(runID) {
		return "", fmt.Errorf("invalid run id %q", runID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\nRUN=%s\nPIDFILE=/run/sshd.pid\nGENERATION=\nLOCK_WAIT=%d\nCONFIRM_WAIT=%d\n", q(runID), w.lockSeconds(), w.confirmSeconds())
	b.WriteString(applyPrelude)
	b.WriteString("main() {\n\tcase ${1:-} in\n\trecover) mkdir -p \"$RUNDIR\" && recover_run ;;\n\tesac\n}\nmain \"$@\" </dev/null\n")
	return b.String(), nil
}

func writeSshdOps(b *strings.Builder, s *SshdOp) {
	for k, v := range s.Expect {
		if _, ok := sshdKeywords[k]; !ok || !safeSshdArg(v) {
			s = nil
			_ = v
			break
		}
	}
	if s == nil {
		b.WriteString("\tfail 'invalid sshd settings in the plan'\n")
		return
	}
	if s.DropIn {
		path := hoststate.SshdDropInDir + "/" + hoststate.SshdDropIn
		heredoc(b, "put "+q(path)+" 644 root:root <<'ACCESSCTL_DATA'", s.Content)
	} else {
		fmt.Fprintf(b, "\t[ \"$(sha256sum <%s | cut -d' ' -f1)\" = %s ] || fail %s\n",
			q(hoststate.SshdConfigPath), q(s.MainSHA256), q(hoststate.SshdConfigPath+" changed since it was read"))
		heredoc(b, "put "+q(hoststate.SshdConfigPath)+" keep root:root <<'ACCESSCTL_DATA'", s.Content)
	}
	b.WriteString("\tmkdir -p /run/sshd\n")
	b.WriteString("\tout=$(\"$SSHD\" -t 2>&1) || fail \"sshd -t rejected the configuration: $out\"\n")
	keys := make([]string, 0, len(s.Expect))
	for k := range s.Expect {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "\tv=$(sshd_value %s)\n\t[ \"$v\" = %s ] || { say \"sshd-mismatch %s $v\"; fail %s; }\n",
			q(k), q(s.Expect[k]), k, q("sshd -T does not show "+k+" "+s.Expect[k]))
	}
	// Per connection, where Match blocks could change them (HOSTS.md §11).
	for _, c := range s.Conns {
		if !hoststate.ValidUserName(c.User) || !safeConnValue(c.Addr) || !safeConnValue(c.Host) || !safeLocal(c.Local) {
			continue
		}
		spec := "user=" + c.User + ",host=" + c.Host + ",addr=" + c.Addr
		if c.Local != "" {
			spec += "," + c.Local
		}
		fmt.Fprintf(b, "\tsshd_conn_check %s", q(spec))
		for _, k := range keys {
			fmt.Fprintf(b, " %s %s", q(k), q(s.Expect[k]))
		}
		b.WriteString("\n")
	}
	b.WriteString("\t: >\"$BK/reloaded\"\n\treload_sshd || fail 'reload sshd'\n")
}

// safeSshdArg: an sshd value accessctl writes is one line without quotes or backslashes.
func safeSshdArg(v string) bool {
	return v != "" && !strings.ContainsAny(v, "\n\r\"\\")
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
