package snapshot

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"github.com/accessctl/accessctl/internal/names"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Exit codes of AuthorizedKeys. sshd discards the output of any non-zero exit.
const (
	ExitOK       = 0 // the user's lines were printed (possibly none)
	ExitFailed   = 1 // no usable snapshot, or a bad user name: nothing printed
	ExitUsageErr = 4 // unknown flag or wrong number of arguments
)

const msgPrefix = "accessctl-keys: "

// maxVerifyKeySize bounds the --verify-key file: one public key line.
const maxVerifyKeySize = 16 << 10

// AuthorizedKeys is the whole of `accessctl-keys [--snapshot FILE] [--verify-key FILE] USER`
// and of `accessctl authorized-keys`: it prints USER's authorized_keys lines from the snapshot
// as at now, and returns the exit code. Messages go to stderr, prefixed "accessctl-keys:".
func AuthorizedKeys(args []string, stdout, stderr io.Writer, now time.Time) int {
	fl := flag.NewFlagSet("accessctl-keys", flag.ContinueOnError)
	fl.SetOutput(stderr)
	path := fl.String("snapshot", DefaultPath, "snapshot `FILE` written by 'accessctl snapshot'")
	verifyPath := fl.String("verify-key", "", "ed25519 public key `FILE` (.pub) the snapshot must be signed with")
	fl.Usage = func() {
		w := fl.Output()
		fmt.Fprintf(w, "Usage: accessctl-keys [--snapshot FILE] [--verify-key FILE] USER\n"+
			"       accessctl authorized-keys [--snapshot FILE] [--verify-key FILE] USER\n\n"+
			"Prints USER's authorized_keys lines from an accessctl snapshot, for sshd's\n"+
			"AuthorizedKeysCommand (pass %%u as USER). Prints nothing for a user that is absent,\n"+
			"locked or not desired on the host, nor a key past its binding's expiry. When the\n"+
			"snapshot is missing, unreadable, malformed, past its notAfter or (with --verify-key)\n"+
			"not validly signed,\n"+
			"prints nothing and exits 1. Exit 4: usage error.\n\nFlags:\n")
		fl.VisitAll(func(f *flag.Flag) {
			ph, usage := flag.UnquoteUsage(f)
			if f.DefValue != "" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "  --%-22s %s\n", f.Name+" "+ph, usage)
		})
		fmt.Fprintf(w, "  %-24s %s\n", "-h, --help", "show this help")
	}
	// The flag package prints its own error and the usage; --help goes to stdout, once.
	fl.SetOutput(io.Discard)
	err := fl.Parse(args)
	fl.SetOutput(stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fl.SetOutput(stdout)
			fl.Usage()
			return ExitOK
		}
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			msg = "unknown flag -" + name
			if len(name) > 1 {
				msg = "unknown flag --" + name
			}
		}
		fmt.Fprintf(stderr, "%serror: %s\n", msgPrefix, msg)
		fmt.Fprintf(stderr, "%shint: see 'accessctl-keys --help'\n", msgPrefix)
		return ExitUsageErr
	}
	if fl.NArg() != 1 {
		fmt.Fprintf(stderr, "%serror: want exactly one USER argument, got %d\n", msgPrefix, fl.NArg())
		fl.Usage()
		return ExitUsageErr
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, msgPrefix+"error: "+format+"\n", a...)
		return ExitFailed
	}
	user := fl.Arg(0)
	if !ValidUserName(user) {
		return fail("invalid user name %q (want %s)", printable(user), names.UserPattern)
	}

	var vk ssh.PublicKey
	if *verifyPath != "" {
		data, err := readSmall(*verifyPath, maxVerifyKeySize)
		if err != nil {
			return fail("verify key %s: %v", *verifyPath, err)
		}
		if vk, err = ParseVerifyKey(data); err != nil {
			return fail("verify key %s: %v", *verifyPath, err)
		}
	}
	r, err := Open(*path, vk)
	if err != nil {
		return fail("snapshot %s: %v", *path, trimPathErr(err))
	}
	defer r.Close()
	if r.Expired(now) {
		na, _ := r.NotAfter()
		return fail("snapshot %s expired at %s (notAfter); refusing every key until a fresh one is installed", *path, na.Format(time.RFC3339))
	}
	u, err := r.Lookup(user)
	if err != nil {
		return fail("snapshot %s: %v", *path, err)
	}
	switch {
	case u == nil:
		fmt.Fprintf(stderr, "%s%s is not desired on %s: no keys\n", msgPrefix, user, r.Host())
	case u.State != StatePresent:
		fmt.Fprintf(stderr, "%s%s is %s on %s: no keys\n", msgPrefix, user, u.State, r.Host())
	}
	lines := u.AuthorizedLines(now)
	if u != nil && u.State == StatePresent && len(lines) < len(u.Keys) {
		fmt.Fprintf(stderr, "%s%s: %d of %d keys past their expiry, left out\n", msgPrefix, user, len(u.Keys)-len(lines), len(u.Keys))
	}
	// One write, so a reader of stdout never sees half an answer.
	var out bytes.Buffer
	for _, l := range lines {
		out.WriteString(l)
		out.WriteByte('\n')
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		return fail("write: %v", err)
	}
	return ExitOK
}

func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, trimPathErr(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, trimPathErr(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return data, nil
}

// trimPathErr drops the "open PATH:" of a *fs.PathError, whose path the caller already names.
func trimPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return s
}
