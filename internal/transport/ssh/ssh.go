package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/accessctl/accessctl/internal/transport"
)

// DefaultConnectTimeout is the CLI's --connect-timeout default.
const DefaultConnectTimeout = 10 * time.Second

// Config says how to reach one host. The zero value of every optional field is the safe default.
type Config struct {
	// Name is the host's name in messages (the manifest name); default Addr.
	Name string
	// Addr is the host name or IP address to connect to.
	Addr string
	// Port defaults to 22.
	Port int
	// User is the login user.
	User string

	// KnownHostsFiles are read together; a file that does not exist counts as empty.
	KnownHostsFiles []string
	// HostKeyAlias, when set, is looked up in known_hosts instead of Addr (as OpenSSH's option).
	HostKeyAlias string
	// InsecureIgnoreHostKey accepts any host key. Only the --insecure-skip-host-key-check flag
	// sets it.
	InsecureIgnoreHostKey bool

	// IdentityFiles are OpenSSH private key files, tried first, in order. A passphrase-protected
	// file is used through the agent when UseAgent is set (its .pub file identifies it).
	IdentityFiles []string
	// Signers are keys held in memory (tests, callers with their own key store), tried next.
	Signers []xssh.Signer
	// UseAgent adds the keys of the ssh-agent at AgentSocket (default $SSH_AUTH_SOCK), tried last.
	UseAgent bool
	// AgentSocket overrides $SSH_AUTH_SOCK.
	AgentSocket string
	// IdentitiesOnly limits agent keys to those of IdentityFiles (OpenSSH's IdentitiesOnly).
	IdentitiesOnly bool

	// ConnectTimeout bounds TCP connect, handshake and login of each hop; default
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration

	// ProxyJump are the hops to go through, in order: the first is dialled directly, each next
	// one (and finally this host) through the previous. Each hop has its own keys and known_hosts;
	// hops' own ProxyJump fields are ignored.
	ProxyJump []Config
}

func (c Config) port() int {
	if c.Port == 0 {
		return 22
	}
	return c.Port
}

// HostPort is "Addr:Port".
func (c Config) HostPort() string { return net.JoinHostPort(c.Addr, strconv.Itoa(c.port())) }

func (c Config) name() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Addr
}

func (c Config) timeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return DefaultConnectTimeout
}

// Conn is a logged-in SSH connection to one host. It implements transport.Conn.
type Conn struct {
	name    string
	user    string
	client  *xssh.Client
	hops    []*xssh.Client // jump hosts, outermost first; closed after client
	auth    *auth
	hostKey xssh.PublicKey
}

var _ transport.Conn = (*Conn)(nil)

// Dial connects to the host (through cfg.ProxyJump), verifies its host key and logs in.
// Errors: *HostKeyError when the host key is unknown, changed or revoked; otherwise an error
// naming the host and the step that failed (connect, handshake, login).
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.Addr == "" {
		return nil, fmt.Errorf("ssh %s: no address", cfg.name())
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("ssh %s: no login user", cfg.name())
	}
	hops := append(append([]Config(nil), cfg.ProxyJump...), cfg)
	c := &Conn{name: cfg.name(), user: cfg.User}
	var prev *xssh.Client
	for i, hop := range hops {
		a, err := newAuth(hop)
		if err != nil {
			c.closeAll()
			return nil, fmt.Errorf("ssh %s: %w", hop.name(), err)
		}
		client, hostKey, err := dialHop(ctx, prev, hop, a)
		if err != nil {
			a.close()
			c.closeAll()
			if i < len(hops)-1 {
				return nil, fmt.Errorf("ssh %s: through jump host: %w", cfg.name(), err)
			}
			return nil, err
		}
		if i < len(hops)-1 {
			a.close()
			c.hops = append(c.hops, client)
		} else {
			c.client, c.auth, c.hostKey = client, a, hostKey
		}
		prev = client
	}
	return c, nil
}

// dialHop connects to hop, directly (prev nil) or through prev, and logs in.
func dialHop(ctx context.Context, prev *xssh.Client, hop Config, a *auth) (*xssh.Client, xssh.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, hop.timeout())
	defer cancel()
	hk, err := newHostKeyCheck(hop)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh %s: %w", hop.name(), err)
	}
	client, err := handshake(ctx, prev, hop, a, hk)
	if err != nil && hk.algorithms != nil && strings.Contains(err.Error(), "no common algorithm for host key") {
		// The host no longer has a key of any type known_hosts lists: ask again for any type,
		// so that the answer is a HostKeyError naming the new key rather than a protocol error.
		hk.algorithms = nil
		client, err = handshake(ctx, prev, hop, a, hk)
	}
	if err != nil {
		return nil, nil, err
	}
	return client, hk.seen, nil
}

// handshake opens the TCP connection and runs the SSH handshake and login on it.
func handshake(ctx context.Context, prev *xssh.Client, hop Config, a *auth, hk *hostKeyCheck) (*xssh.Client, error) {
	addr := hop.HostPort()
	var (
		nc  net.Conn
		err error
	)
	if prev == nil {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = prev.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh %s: connect %s: %w", hop.name(), addr, timeoutErr(ctx, hop, err))
	}
	ccfg := &xssh.ClientConfig{
		User:              hop.User,
		Auth:              a.methods(),
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algorithms,
	}
	// The handshake has no context of its own: a deadline bounds it, and a cancelled ctx closes
	// the connection under it.
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := xssh.NewClientConn(nc, addr, ccfg)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, fmt.Errorf("ssh %s: handshake with %s: %w", hop.name(), addr, timeoutErr(ctx, hop, ctx.Err()))
	}
	nc.SetDeadline(time.Time{})
	if err != nil {
		nc.Close()
		var hke *HostKeyError
		if errors.As(err, &hke) {
			return nil, hke
		}
		if isTimeout(err) {
			err = timeoutErr(ctx, hop, err)
		}
		return nil, fmt.Errorf("ssh %s: login to %s as %s: %w", hop.name(), addr, hop.User, err)
	}
	return xssh.NewClient(sc, chans, reqs), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// timeoutErr names the connect timeout when it is what ended a step.
func timeoutErr(ctx context.Context, hop Config, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("no answer within the connect timeout (%s): %w", hop.timeout(), err)
	}
	return err
}

// Name is the host's name as given in Config.Name (or its address).
func (c *Conn) Name() string { return c.name }

// User is the login user.
func (c *Conn) User() string { return c.user }

// HostKey is the key the host presented (and that known_hosts vouched for, unless insecure).
func (c *Conn) HostKey() xssh.PublicKey { return c.hostKey }

// AuthKey is the public key the host accepted for the login: the guard against lockout checks
// that this key stays in the login user's authorized_keys.
func (c *Conn) AuthKey() xssh.PublicKey { return c.auth.used() }

// OfferedKeys are every public key this connection could log in with, in the order offered.
func (c *Conn) OfferedKeys() []xssh.PublicKey { return c.auth.offered() }

// Client is the underlying x/crypto client, for what Run does not cover (port forwarding).
func (c *Conn) Client() *xssh.Client { return c.client }

// Run runs cmd in a new session through the login user's shell. stdin (may be nil) is streamed
// and closed at its EOF. It returns the exit code (128+N when the command died of signal N); err
// is non-nil only when the command could not be started or its end not seen (connection lost,
// ctx ended: the session is then closed and the remote command sent SIGKILL).
func (c *Conn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	type opened struct {
		s   *xssh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := c.client.NewSession()
		ch <- opened{s, err}
	}()
	var sess *xssh.Session
	select {
	case o := <-ch:
		if o.err != nil {
			return -1, fmt.Errorf("run on %s: open session: %w", c.name, o.err)
		}
		sess = o.s
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
		return -1, fmt.Errorf("run on %s: %w", c.name, ctx.Err())
	}
	defer sess.Close()

	// After Run returns, nothing may write to the caller's buffers any more, even if the
	// session's copy goroutines are still draining a dead connection.
	out, errw := &gate{w: stdout}, &gate{w: stderr}
	defer out.shut()
	defer errw.shut()
	sess.Stdin = stdin
	sess.Stdout, sess.Stderr = out, errw
	if err := sess.Start(cmd); err != nil {
		return -1, fmt.Errorf("run on %s: %w", c.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(xssh.SIGKILL)
		sess.Close()
		return -1, fmt.Errorf("run on %s: %w", c.name, ctx.Err())
	}
	if err == nil {
		return 0, nil
	}
	var ee *xssh.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus(), nil
	}
	var em *xssh.ExitMissingError
	if errors.As(err, &em) {
		return -1, fmt.Errorf("run on %s: the command ended without an exit status (connection lost?)", c.name)
	}
	return -1, fmt.Errorf("run on %s: %w", c.name, err)
}

// Close closes the connection and the jump-host connections under it.
func (c *Conn) Close() error {
	var err error
	if c.client != nil {
		err = c.client.Close()
	}
	c.closeAll()
	if c.auth != nil {
		c.auth.close()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (c *Conn) closeAll() {
	for i := len(c.hops) - 1; i >= 0; i-- {
		c.hops[i].Close()
	}
	c.hops = nil
}

// gate forwards writes until shut, then drops them.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.w == nil {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
