package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeyPair is one key pair a registry holds.
type KeyPair struct {
	Name string `json:"name"`
	// PublicKey is the OpenSSH public key line the registry returns ("" when it returned none).
	PublicKey string `json:"publicKey,omitempty"`
	// Fingerprint is the registry's own fingerprint string (its format varies by provider; see
	// HOSTS.md §10): shown to people, never compared (keys are compared by PublicKey).
	Fingerprint string `json:"fingerprint,omitempty"`
	// ImportedByAccessctl: the key pair carries accessctl's marker (an ECS tag, a KPS
	// description), so accessctl may delete it once the manifest no longer names it.
	ImportedByAccessctl bool `json:"importedByAccessctl"`
}

// Binding is an instance the registry knows and the key pair bound to it ("" when none).
type Binding struct {
	Instance string `json:"instance"`
	Keypair  string `json:"keypair"`
	// OS is "linux", "windows" or "" when the registry does not say.
	OS string `json:"os,omitempty"`
}

// State is what a registry holds now, read in one List.
type State struct {
	KeyPairs []KeyPair `json:"keypairs"`
	Bindings []Binding `json:"bindings"`
	// InstancesUnknown: the registry could not list its instances (an endpoint that serves
	// only the key-pair API); Bindings are then accessctl's own record of what it bound, and
	// an instance missing from them is not known to be missing.
	InstancesUnknown bool `json:"instancesUnknown,omitempty"`
}

// KeyPair returns the key pair named name, or nil.
func (s *State) KeyPair(name string) *KeyPair {
	for i := range s.KeyPairs {
		if s.KeyPairs[i].Name == name {
			return &s.KeyPairs[i]
		}
	}
	return nil
}

// Instance returns the binding record of an instance, or nil when the registry does not know it.
func (s *State) Instance(id string) *Binding {
	for i := range s.Bindings {
		if s.Bindings[i].Instance == id {
			return &s.Bindings[i]
		}
	}
	return nil
}

// BoundTo lists the instances a key pair is bound to.
func (s *State) BoundTo(keypair string) []string {
	var out []string
	for _, b := range s.Bindings {
		if b.Keypair == keypair {
			out = append(out, b.Instance)
		}
	}
	return out
}

// Registry is one cloud key-pair registry. List makes no change; the others each make one.
type Registry interface {
	// List reads every key pair (all pages, with public keys) and every instance's binding.
	List(ctx context.Context) (*State, error)
	// Import imports a public key as key pair name, marked as imported by accessctl.
	Import(ctx context.Context, name, publicKey string) error
	// Bind binds keypair to instance (replacing the instance's current key pair).
	Bind(ctx context.Context, keypair, instance string) error
	// Unbind removes keypair from instance.
	Unbind(ctx context.Context, keypair, instance string) error
	// Delete deletes key pair name.
	Delete(ctx context.Context, name string) error
}

// Marker is how accessctl marks what it imported: an ECS tag MarkerKey=MarkerValue, a KPS
// description that starts with MarkerDescription (KPS has no tags on key pairs).
const (
	MarkerKey         = "managed-by"
	MarkerValue       = "accessctl"
	MarkerDescription = "managed-by=accessctl"
)

// Config is what a provider needs to reach one registry. Credentials are not in it.
type Config struct {
	Name     string
	Region   string
	Endpoint string
	Project  string
	// Retry bounds retries of throttled calls; zero value: DefaultRetry.
	Retry Backoff
}

// Backoff is a bounded exponential backoff.
type Backoff struct {
	Attempts int
	First    time.Duration
	Max      time.Duration
}

// DefaultRetry retries a throttled call up to 6 times, waiting 0.5s, 1s, 2s, ... at most 8s.
var DefaultRetry = Backoff{Attempts: 6, First: 500 * time.Millisecond, Max: 8 * time.Second}

func (b Backoff) orDefault() Backoff {
	if b.Attempts <= 0 {
		return DefaultRetry
	}
	return b
}

// Retry calls f until it succeeds, fails with an error retryable does not accept, the attempts
// run out, or ctx ends.
func Retry(ctx context.Context, b Backoff, retryable func(error) bool, f func() error) error {
	b = b.orDefault()
	wait := b.First
	var err error
	for i := 0; i < b.Attempts; i++ {
		if err = f(); err == nil || !retryable(err) {
			return err
		}
		if i == b.Attempts-1 {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		if wait *= 2; wait > b.Max {
			wait = b.Max
		}
	}
	return fmt.Errorf("still throttled after %d attempts: %w", b.Attempts, err)
}

// Poll calls check until it reports done, fails, or the attempts of b run out (then it says so).
func Poll(ctx context.Context, b Backoff, what string, check func() (bool, error)) error {
	b = b.orDefault()
	wait := b.First
	for i := 0; i < b.Attempts; i++ {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(wait):
		}
		if wait *= 2; wait > b.Max {
			wait = b.Max
		}
	}
	return fmt.Errorf("%s: not finished after %d checks; look at the registry before running again", what, b.Attempts)
}

// ScrubError replaces every non-empty secret in err's text with "***": provider errors echo
// requests and responses, and a credential must never reach an output or a log.
func ScrubError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "***")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}

// NoteError is returned by a call that did what it was asked but not all of accessctl's
// bookkeeping around it (a KPS description not updated): the change counts as made, and the
// note is reported with it.
type NoteError struct{ Note string }

func (e *NoteError) Error() string { return e.Note }

// Instance is an instance a registry's region runs, as an inventory entry.
type Instance struct {
	ID        string
	Name      string
	OS        string // "linux" | "windows" | ""
	PrivateIP string
	PublicIP  string
}

// Discoverer lists the instances that carry a tag (the inventory source of clouds[].discover).
type Discoverer interface {
	Discover(ctx context.Context, tagKey, tagValue string) ([]Instance, error)
}
