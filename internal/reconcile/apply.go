package reconcile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/transport"
)

// Redial opens a new connection to the same host, as the same login.
type Redial func(ctx context.Context) (transport.Conn, error)

// Outcome is how applying one host ended.
type Outcome string

// Outcomes.
const (
	Applied    Outcome = "applied"
	Unchanged  Outcome = "unchanged"
	RolledBack Outcome = "rolled back"
	// Failed: the host may be partly changed; the error says what remains.
	Failed Outcome = "failed"
)

// Result is the end of applying one host.
type Result struct {
	Host    string
	Outcome Outcome
	Err     error
}

// NewRunID names one apply run; the host keeps its backups under this name until commit.
func NewRunID(now time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])
}

// ApplyOptions are what applying a host needs beyond its plan.
type ApplyOptions struct {
	// Login and LoginKeys: accessctl's own way in (the lockout guard is judged again from the
	// ops, here, before anything runs).
	Login     string
	LoginKeys []string
	// Now is the time recorded as the last apply.
	Now time.Time
	// LookupEnv reads password environment variables (Windows passwords are read at apply).
	LookupEnv func(string) (string, bool)
	// Waits bound the host side: the apply lock, and the wait for confirmation.
	Waits Waits
	// RunID names the run on the host (NewRunID when empty).
	RunID string
}

// Blocked lists the reasons of hp's blocked changes.
func Blocked(hp *HostPlan) []string {
	var out []string
	for _, c := range hp.Changes {
		if c.Blocked != "" {
			out = append(out, c.Resource+" "+c.Name+": "+c.Blocked)
		}
	}
	return out
}

// ApplyHost applies one host's plan over conn. live is the host's state read right before
// (the plan's own read, or a fresh read that matched the plan's fingerprint). The lockout guard
// is judged from the ops first; a host with a blocked change is not started.
//
// Linux: the generated script runs detached on the host (it finishes or rolls back on its own
// if this process or the connection dies), makes the changes as one transaction and awaits
// confirmation; accessctl then logs in over a fresh connection and confirms through it (proving
// the way in: login and sudo), or, when it cannot, tells the host to roll back.
func ApplyHost(ctx context.Context, hp *HostPlan, live *hoststate.State, conn transport.Conn, redial Redial, o ApplyOptions) Result {
	res := Result{Host: hp.Name}
	switch {
	case hp.Status != StatusOK:
		res.Outcome, res.Err = Failed, fmt.Errorf("not read: %s", hp.Error)
		return res
	case len(hp.Changes) == 0:
		res.Outcome = Unchanged
		return res
	case hp.Apply == nil:
		res.Outcome, res.Err = Failed, fmt.Errorf("the plan holds no apply data for %s", hp.Name)
		return res
	case live == nil:
		res.Outcome, res.Err = Failed, fmt.Errorf("no live state for %s", hp.Name)
		return res
	}
	if b := Blocked(hp); len(b) > 0 {
		res.Outcome, res.Err = Failed, fmt.Errorf("not started: blocked: %s", strings.Join(b, "; "))
		return res
	}
	var g Guard
	if live.Windows != nil {
		g = WindowsGuard(hp.Changes, windowsLogin(live.Windows), live.Windows.Group(hoststate.SIDAdministrators).HasMember(live.Windows.Login.SID), o.LoginKeys)
	} else if live.Linux != nil {
		g = LinuxGuard(hp.Changes, live.Linux.Sudoers, o.Login, o.LoginKeys)
	}
	if g.Any() {
		res.Outcome, res.Err = Failed, fmt.Errorf("refused: the plan would lock accessctl's login %s out (lockout)", g.Login)
		return res
	}
	if live.Windows != nil {
		return ApplyWindowsHost(ctx, hp, live.Windows, conn, redial, o)
	}
	runID := o.RunID
	if runID == "" {
		runID = NewRunID(o.Now)
	}
	script, err := LinuxApplyScript(hp, runID, o.Now, o.Waits)
	if err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	priv := transport.Privileged{Conn: conn, Root: hp.Apply.Root}
	// The launch session stays open while the run goes on: it is the host's sign that this
	// process is alive. Its output is watched for the run awaiting confirmation.
	w := newAwaitWatch()
	type ended struct {
		code int
		err  error
	}
	launch := make(chan ended, 1)
	go func() {
		code, err := priv.Stream(ctx, launchCommand(runID), script, w)
		launch <- ended{code, err}
	}()
	select {
	case <-w.awaited:
	case e := <-launch:
		msgs := parseApplyOutput(w.String())
		switch {
		case msgs.await:
		case e.err != nil:
			res.Outcome, res.Err = Failed, fmt.Errorf("apply: %w; the host finishes or rolls back run %s on its own (the next run reports which)", e.err, runID)
			return res
		default:
			res.Outcome, res.Err = failure(hp, msgs, e.code)
			return res
		}
	}
	// The launch session ends once the run has (it relays the end too).
	defer func() {
		select {
		case <-launch:
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
	}()

	// Prove the way in still works, over a connection made after the change, and confirm
	// through it.
	fresh, err := redialRetry(ctx, redial)
	if err == nil {
		defer fresh.Close()
		out, code, cerr := transport.Privileged{Conn: fresh, Root: hp.Apply.Root}.Run(ctx, tellCommand(runID, "confirm"), "")
		end := parseApplyOutput(out)
		switch {
		case cerr == nil && end.exit == "applied":
			res.Outcome = Applied
			return res
		case cerr == nil && end.exit != "":
			res.Outcome, res.Err = failure(hp, end, code)
			return res
		case cerr == nil && strings.Contains(out, "sudo"):
			err = fmt.Errorf("sudo -n over a fresh connection failed: %s", strings.TrimSpace(out))
		case cerr != nil:
			err = fmt.Errorf("confirm over a fresh connection: %w", cerr)
		default:
			err = fmt.Errorf("confirm over a fresh connection: exit status %d: %s", code, lastLine(out))
		}
	}
	// No way in over a fresh connection: the host rolls back (told over the first connection,
	// or by itself when no confirmation comes).
	out, _, rerr := priv.Run(ctx, tellCommand(runID, "abort"), "")
	end := parseApplyOutput(out)
	if rerr != nil || !strings.HasPrefix(end.exit, "rolled back") {
		res.Outcome = Failed
		res.Err = fmt.Errorf("after the change accessctl could not log in again (%v); the host rolls back on its own within %ds (run %s)", err, o.Waits.confirmSeconds(), runID)
		return res
	}
	res.Outcome = RolledBack
	res.Err = fmt.Errorf("after the change accessctl could not log in again (%v); restored", err)
	return res
}

// awaitWatch collects a run's relayed output and signals once the run awaits confirmation.
type awaitWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	awaited chan struct{}
	seen    bool
}

func newAwaitWatch() *awaitWatch { return &awaitWatch{awaited: make(chan struct{})} }

func (w *awaitWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.seen {
		b := w.buf.Bytes()
		if bytes.HasPrefix(b, []byte("@@await\n")) || bytes.Contains(b, []byte("\n@@await\n")) {
			w.seen = true
			close(w.awaited)
		}
	}
	return len(p), nil
}

func (w *awaitWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// RunDir is where the apply script, its journal and its outcome live on a Linux host.
const RunDir = "/var/lib/accessctl/run"

// launchCommand saves the script from stdin (root's directory, mode 0700) and launches it.
func launchCommand(runID string) string {
	f := RunDir + "/" + runID + ".sh"
	return "sh -c " + q("umask 077 && mkdir -p "+RunDir+" && chmod 700 "+RunDir+" && cat >"+f+" && exec sh "+f+" launch")
}

// tellCommand confirms or aborts a run awaiting confirmation.
func tellCommand(runID, word string) string {
	f := RunDir + "/" + runID + ".sh"
	return "sh -c " + q("if [ -f "+f+" ]; then exec sh "+f+" "+word+"; else echo '@@exit rolled back: the run is gone (it ended on its own: no confirmation in time)'; fi")
}

func redialRetry(ctx context.Context, redial Redial) (transport.Conn, error) {
	if redial == nil {
		return nil, fmt.Errorf("no way to open a fresh connection")
	}
	// sshd re-executes itself on SIGHUP and does not listen for a moment: retry the dial for a
	// few seconds before concluding the way in is gone.
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		c, err := redial(ctx)
		if err == nil {
			return c, nil
		}
		if wait > 3*time.Second || ctx.Err() != nil {
			return nil, fmt.Errorf("fresh connection: %w", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("fresh connection: %w", err)
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

type applyMsgs struct {
	ok, rolledBack, await bool
	exit                  string // the run's outcome line: applied | rolled back: ... | not started: ...
	notes                 []string
	fails                 []string
	mismatch              map[string]string // keyword -> effective value after the change
	incomplete            string
}

func parseApplyOutput(out string) applyMsgs {
	m := applyMsgs{mismatch: map[string]string{}}
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "@@") {
			continue
		}
		word, rest, _ := strings.Cut(l[2:], " ")
		switch word {
		case "ok":
			m.ok = true
		case "await":
			m.await = true
		case "exit":
			m.exit = rest
		case "note":
			m.notes = append(m.notes, rest)
		case "rolledback":
			m.rolledBack = true
		case "fail":
			m.fails = append(m.fails, rest)
		case "sshd-mismatch":
			k, v, _ := strings.Cut(rest, " ")
			m.mismatch[k] = v
		case "rollback-incomplete":
			m.incomplete = rest
		}
	}
	return m
}

// failure turns the end of a run that did not apply into an outcome and an error that keeps
// the cause (every failure line, the sshd setting that still wins).
func failure(hp *HostPlan, m applyMsgs, code int) (Outcome, error) {
	switch {
	case m.incomplete != "":
		return Failed, fmt.Errorf("%s; the rollback was incomplete, backups are in %s", strings.Join(m.fails, "; "), m.incomplete)
	case strings.HasPrefix(m.exit, "not started"):
		return Failed, fmt.Errorf("%s", m.exit)
	}
	st, _ := stepsOf(hp.Changes)
	if len(m.mismatch) > 0 && st != nil && st.sshd != nil {
		var parts []string
		for k, v := range m.mismatch {
			parts = append(parts, fmt.Sprintf("sshd %s is still %s (wanted %s): %s", k, orNone(v), st.sshd.Expect[k], culprit(hp, st.sshd, k)))
		}
		sort.Strings(parts)
		return RolledBack, fmt.Errorf("%s; rolled back", strings.Join(parts, "; "))
	}
	if len(m.fails) > 0 {
		return RolledBack, fmt.Errorf("%s; rolled back", strings.Join(m.fails, "; "))
	}
	if m.exit != "" {
		return RolledBack, fmt.Errorf("%s", m.exit)
	}
	return Failed, fmt.Errorf("apply script exited with status %d without a result; the host finishes or rolls back on its own", code)
}

// culprit names what still decides keyword once accessctl's settings are in place.
func culprit(hp *HostPlan, s *SshdOp, keyword string) string {
	if hp.Live == nil || hp.Live.Linux == nil {
		return "see sshd -T on the host"
	}
	l := hp.Live.Linux
	var main *string
	dropIns := l.DropIns
	target := hoststate.SshdConfigPath
	if s.DropIn {
		target = hoststate.SshdDropInDir + "/" + hoststate.SshdDropIn
		dropIns = []hoststate.DropIn{{Name: hoststate.SshdDropIn, File: hoststate.File{Kind: hoststate.KindFile, Content: s.Content}}}
		for _, d := range l.DropIns {
			if d.Name != hoststate.SshdDropIn {
				dropIns = append(dropIns, d)
			}
		}
		sort.Slice(dropIns, func(i, j int) bool { return dropIns[i].Name < dropIns[j].Name })
	} else {
		main = &s.Content
	}
	top, matches := hoststate.Winner(l.SshdLayout(main, dropIns), keyword)
	if top != nil && top.File != target && top.Value != s.Expect[keyword] {
		return top.Where() + " wins"
	}
	if len(matches) > 0 {
		return "a Match block at " + matches[0].Where() + " may win"
	}
	return "no file read by accessctl sets it (an Include outside sshd_config.d?)"
}
