package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/snapshot"
	"github.com/accessctl/accessctl/internal/snapshot/compile"
)

func init() {
	register("snapshot", "compile the manifest for one host into a pull-mode snapshot file", runSnapshot)
}

func runSnapshot(c *cli, args []string) int {
	var o checkOptions
	fs := c.newFlags("snapshot", "[-f PATH]... [-i FILE] --host NAME --out FILE [--sign-key FILE] [--max-age D]",
		"Compiles the manifest for one host into the JSON snapshot that 'accessctl authorized-keys'\n"+
			"(or accessctl-keys) reads as sshd's AuthorizedKeysCommand: the users desired on the host,\n"+
			"their state and their authorized_keys lines. No password or hash is written. The manifest\n"+
			"is validated and checked against the policies first; exit 1 when invalid or denied.\n"+
			"See docs/pull-mode.md.")
	fs.Var(&o.files, "f", "manifest `PATH`: a file or a directory of *.yaml files (repeatable; default access.yaml)")
	fs.StringVar(&o.inventory, "i", "", "inventory `FILE` whose hosts replace the manifest's")
	fs.Var(&o.policyDirs, "policy", "extra policy `DIR` of *.rego files (repeatable)")
	host := fs.String("host", "", "the host `NAME` (as in the manifest) to compile for (required)")
	out := fs.String("out", "", "snapshot `FILE` to write, atomically, mode 0644 (required)")
	signKey := fs.String("sign-key", "", "unencrypted OpenSSH ed25519 private key `FILE` to sign the snapshot with")
	maxAge := fs.Duration("max-age", 0, "the snapshot expires this `DURATION` after it is made (notAfter in the signed header;\nthe reader then refuses every key); 0: no expiry")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		c.errorf("snapshot takes no arguments (got %q); pass manifests with -f", fs.Arg(0))
		return exitUsage
	}
	if *host == "" || *out == "" {
		c.errorf("snapshot needs --host NAME and --out FILE")
		return exitUsage
	}
	if *maxAge < 0 {
		c.errorf("--max-age %s: want a positive duration (or 0 for no expiry)", *maxAge)
		return exitUsage
	}
	var signer *snapshot.Signer
	if *signKey != "" {
		data, err := os.ReadFile(*signKey)
		if err != nil {
			c.errorf("read --sign-key: %v", err)
			return exitUsage
		}
		if signer, err = snapshot.ParseSigningKey(data); err != nil {
			c.errorf("--sign-key %s: %v", *signKey, err)
			return exitUsage
		}
	}

	res, code := c.loadAndCheck(context.Background(), &o)
	if code != exitOK {
		return code
	}
	if res.denied || len(res.findings) > 0 {
		if err := c.render(c.stderr, "text", res.findings, res.m.Files); err != nil {
			c.errorf("write report: %v", err)
		}
	}
	if res.denied {
		c.errorf("no snapshot written: the manifest is invalid or a policy denies it")
		return exitInvalid
	}
	digest, err := compile.SourceDigest(res.m.Files)
	if err != nil {
		c.errorf("digest the manifest: %v", err)
		return exitUsage
	}
	now := time.Now()
	snap, err := compile.Build(res.m, *host, now, digest)
	if errors.Is(err, compile.ErrUnknownHost) {
		c.errorf("host %q is not in the manifest's hosts (or the -i inventory)", *host)
		return exitInvalid
	} else if err != nil {
		c.errorf("compile snapshot for %s: %v", *host, err)
		return exitInvalid
	}
	if *maxAge > 0 {
		snap.NotAfter = now.Add(*maxAge)
	}
	data, err := snapshot.Encode(snap, signer)
	if err != nil {
		c.errorf("encode snapshot for %s: %v", *host, err)
		return exitInvalid
	}
	if err := writeFileAtomic(*out, data, 0o644); err != nil {
		c.errorf("write snapshot: %v", err)
		return exitUsage
	}
	signed := "unsigned"
	if signer != nil {
		signed = "signed by " + ssh.FingerprintSHA256(signer.PublicKey())
	}
	if !snap.NotAfter.IsZero() {
		signed += ", valid until " + snap.NotAfter.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(c.stdout, "%s: snapshot of %s: %d users, %s\n", *out, *host, len(snap.Users), signed)
	return exitOK
}

// writeFileAtomic replaces path with data: a temp file in the same directory, fsync, chmod,
// rename, so a reader (sshd at a login) sees the old file or the new one, never a part.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
