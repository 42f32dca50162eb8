package reconcile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
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

// ApplyHost applies one host's plan over conn as a single transaction: the generated script backs
// up, changes, verifies sshd and restores everything on any failure. Then a fresh connection
// must log in and run a privileged no-op; if it cannot, the host is rolled back over conn.
func ApplyHost(ctx context.Context, hp *HostPlan, conn transport.Conn, redial Redial, now time.Time) Result {
	res := Result{Host: hp.Name}
	if hp.Status != StatusOK {
		res.Outcome, res.Err = Failed, fmt.Errorf("not read: %s", hp.Error)
		return res
	}
	if hp.win != nil {
		return ApplyWindowsHost(ctx, hp.win, conn, redial, now)
	}
	if hp.ops == nil || len(hp.Changes) == 0 {
		res.Outcome = Unchanged
		return res
	}
	runID := NewRunID(now)
	script, err := LinuxApplyScript(hp, runID, now)
	if err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	sudo := "sudo -n "
	if hp.ops.Root {
		sudo = ""
	}
	out, code, err := runScript(ctx, conn, sudo+"sh -s -- apply", script)
	msgs := parseApplyOutput(out)
	if err != nil {
		// The connection broke mid-run: the script may or may not have rolled back.
		res.Outcome, res.Err = Failed, fmt.Errorf("apply: %w; backups, if any, are in /var/lib/accessctl/backup/%s", err, runID)
		return res
	}
	if code != 0 || !msgs.ok {
		res.Err = applyError(hp, msgs, code)
		res.Outcome = RolledBack
		if msgs.incomplete != "" {
			res.Outcome = Failed
			res.Err = fmt.Errorf("%w; the rollback was incomplete, backups are in %s", res.Err, msgs.incomplete)
		}
		return res
	}

	// Prove the way in still works, over a connection made after the change.
	if err := checkWayIn(ctx, redial, sudo); err != nil {
		rbOut, rbCode, rbErr := runScript(ctx, conn, sudo+"sh -s -- rollback", script)
		rb := parseApplyOutput(rbOut)
		if rbErr != nil || rbCode != 0 || !rb.rolledBack {
			res.Outcome = Failed
			res.Err = fmt.Errorf("after the change accessctl could not log in again (%v) and the rollback failed; backups are in /var/lib/accessctl/backup/%s", err, runID)
			return res
		}
		res.Outcome = RolledBack
		res.Err = fmt.Errorf("after the change accessctl could not log in again (%v); restored", err)
		return res
	}
	// A failed commit only leaves the backups behind; the host is applied all the same.
	_, _, _ = runScript(ctx, conn, sudo+"sh -s -- commit", script)
	res.Outcome = Applied
	return res
}

func checkWayIn(ctx context.Context, redial Redial, sudo string) error {
	if redial == nil {
		return nil
	}
	// sshd re-executes itself on SIGHUP and does not listen for a moment: retry the dial for a
	// few seconds before concluding the way in is gone.
	var c transport.Conn
	var err error
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		if c, err = redial(ctx); err == nil {
			break
		}
		if wait > 3*time.Second || ctx.Err() != nil {
			return fmt.Errorf("fresh connection: %w", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("fresh connection: %w", err)
		}
	}
	defer c.Close()
	var stderr bytes.Buffer
	cmd := "true"
	if sudo != "" {
		cmd = "sudo -n true"
	}
	code, err := c.Run(ctx, cmd, nil, &bytes.Buffer{}, &stderr)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if code != 0 {
		return fmt.Errorf("%s exited with status %d: %s", cmd, code, firstLine(strings.TrimSpace(stderr.String())))
	}
	return nil
}

func runScript(ctx context.Context, c transport.Conn, cmd, script string) (string, int, error) {
	var stdout, stderr bytes.Buffer
	code, err := c.Run(ctx, cmd, strings.NewReader(script), &stdout, &stderr)
	return stdout.String() + "\n" + stderr.String(), code, err
}

type applyMsgs struct {
	ok, rolledBack bool
	fails          []string
	mismatch       map[string]string // keyword -> effective value after the change
	incomplete     string
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

func applyError(hp *HostPlan, m applyMsgs, code int) error {
	if len(m.mismatch) > 0 && hp.ops != nil && hp.ops.Sshd != nil {
		var parts []string
		for k, v := range m.mismatch {
			parts = append(parts, fmt.Sprintf("sshd %s is still %s (wanted %s): %s", k, orNone(v), hp.ops.Sshd.Expect[k], culprit(hp, k)))
		}
		return fmt.Errorf("%s; rolled back", strings.Join(parts, "; "))
	}
	if len(m.fails) > 0 {
		return fmt.Errorf("%s; rolled back", m.fails[0])
	}
	return fmt.Errorf("apply script exited with status %d; rolled back", code)
}

// culprit names what still decides keyword once accessctl's settings are in place.
func culprit(hp *HostPlan, keyword string) string {
	l := hp.Live.Linux
	s := hp.ops.Sshd
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
