package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/accessctl/accessctl/internal/reconcile"
	"github.com/accessctl/accessctl/internal/snapshot"
	"github.com/accessctl/accessctl/internal/snapshot/compile"
)

// pullFlags are plan's and apply's flags for hosts whose group says keys: pull. plan takes them
// too, so that it shows exactly what apply will do (docs/pull-mode.md).
type pullFlags struct {
	keysBinary string
	signKey    string
	maxAge     time.Duration
}

func (p *pullFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&p.keysBinary, "keys-binary", "", "accessctl-keys binary `FILE` to install at /usr/local/sbin/accessctl-keys\n(default: it must already be there, root-owned and not writable by others)")
	fs.StringVar(&p.signKey, "sign-key", "", "ed25519 private key `FILE` to sign snapshots with; its public half goes to\n/etc/accessctl/snapshot.pub and sshd's command gets --verify-key")
	fs.DurationVar(&p.maxAge, "snapshot-max-age", reconcile.DefaultSnapshotMaxAge, "snapshots expire this `DURATION` after they are written (refreshed when\nless than half is left); 0: no expiry")
}

// maxKeysBinary bounds --keys-binary: the plug-in is a few MB.
const maxKeysBinary = 64 << 20

// options reads the files the flags name. files are the manifest's, for the snapshot's digest.
func (p *pullFlags) options(files []string, now time.Time) (*reconcile.PullOptions, error) {
	if p.maxAge < 0 {
		return nil, fmt.Errorf("--snapshot-max-age %s: want a positive duration (or 0 for no expiry)", p.maxAge)
	}
	po := &reconcile.PullOptions{MaxAge: p.maxAge, Now: now}
	if p.keysBinary != "" {
		f, err := os.Open(p.keysBinary)
		if err != nil {
			return nil, fmt.Errorf("--keys-binary: %v", err)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxKeysBinary+1))
		f.Close()
		switch {
		case err != nil:
			return nil, fmt.Errorf("--keys-binary: %v", err)
		case len(data) > maxKeysBinary:
			return nil, fmt.Errorf("--keys-binary %s: more than %d bytes; is it accessctl-keys?", p.keysBinary, maxKeysBinary)
		case !bytes.HasPrefix(data, []byte("\x7fELF")):
			return nil, fmt.Errorf("--keys-binary %s: not an ELF executable (build it with CGO_ENABLED=0 GOOS=linux go build ./cmd/accessctl-keys)", p.keysBinary)
		}
		po.KeysBinary = data
	}
	if p.signKey != "" {
		data, err := os.ReadFile(p.signKey)
		if err != nil {
			return nil, fmt.Errorf("--sign-key: %v", err)
		}
		if po.Signer, err = snapshot.ParseSigningKey(data); err != nil {
			return nil, fmt.Errorf("--sign-key %s: %v", p.signKey, err)
		}
	}
	digest, err := compile.SourceDigest(files)
	if err != nil {
		return nil, fmt.Errorf("digest the manifest: %v", err)
	}
	po.ManifestDigest = digest
	return po, nil
}
