package main

import (
	"context"
	"flag"
	"fmt"

	xssh "golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/inventory"
	"github.com/accessctl/accessctl/internal/transport"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
	winrmtr "github.com/accessctl/accessctl/internal/transport/winrm"
)

// winrmOptions are the WinRM flags of plan and apply. Credentials never come from flags or the
// manifest: ACCESSCTL_WINRM_USER[_<HOST>] and ACCESSCTL_WINRM_PASSWORD[_<HOST>] in the environment.
type winrmOptions struct {
	caFile   string
	insecure bool
	http     bool
	auth     string
}

func (o *winrmOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.caFile, "winrm-ca", "", "CA certificate `FILE` that signs the WinRM HTTPS listeners")
	fs.BoolVar(&o.insecure, "winrm-insecure-skip-verify", false, "accept any WinRM TLS certificate (INSECURE)")
	fs.BoolVar(&o.http, "winrm-http", false, "use WinRM over plain HTTP on 5985 (INSECURE: no encryption with this client)")
	fs.StringVar(&o.auth, "winrm-auth", winrmtr.AuthNTLM, "WinRM authentication: ntlm or basic")
}

// dialed is an open connection to a host plus what the lockout guard needs to know about it.
type dialed struct {
	conn  transport.Conn
	login string
	keys  []string // SHA256 fingerprints of the keys accessctl logs in with (ssh)
}

// dial opens the transport a target asks for: ssh (PowerShell over ssh for Windows) or WinRM.
func (c *cli) dial(ctx context.Context, o *winrmOptions, t inventory.Target) (*dialed, error) {
	if t.Err != nil {
		return nil, t.Err
	}
	switch {
	case t.Transport == "winrm":
		user, pass, err := winrmtr.Credentials(t.Name, c.lookupEnv)
		if err != nil {
			return nil, err
		}
		port := t.Port
		if o.http && port == winrmtr.DefaultHTTPSPort {
			port = winrmtr.DefaultHTTPPort
		}
		conn, err := winrmtr.Dial(ctx, winrmtr.Config{
			Name: t.Name, Addr: t.Address, Port: port, HTTP: o.http, CACertFile: o.caFile,
			InsecureSkipVerify: o.insecure, Auth: o.auth, User: user, Password: pass,
		})
		if err != nil {
			return nil, err
		}
		return &dialed{conn: conn, login: user}, nil
	case t.SSH != nil:
		conn, err := sshtr.Dial(ctx, *t.SSH)
		if err != nil {
			return nil, err
		}
		d := &dialed{conn: conn, login: t.User}
		if k := conn.AuthKey(); k != nil {
			d.keys = []string{xssh.FingerprintSHA256(k)}
		} else {
			for _, k := range conn.OfferedKeys() {
				d.keys = append(d.keys, xssh.FingerprintSHA256(k))
			}
		}
		if t.Host.OS == "windows" {
			d.conn = winrmtr.PowerShell(conn)
		}
		return d, nil
	}
	return nil, fmt.Errorf("transport %s is not supported", t.Transport)
}
