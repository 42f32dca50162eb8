package manifest

import "fmt"

// Pos is a place in a manifest file, 1-based as editors count.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Manifest is the merged, validated content of one or more manifest files.
// JSON tags equal the YAML field names, so the policy input keeps the user's vocabulary.
type Manifest struct {
	APIVersion string      `json:"apiVersion"`
	Keypairs   []Keypair   `json:"keypairs"`
	Users      []User      `json:"users"`
	HostGroups []HostGroup `json:"hostGroups"`
	Hosts      []Host      `json:"hosts"`
	Policy     Policy      `json:"policy"`
	// Clouds are the cloud key-pair registries (SPEC §2c); omitted from the policy input when none.
	Clouds []Cloud `json:"clouds,omitempty"`

	// Files are the manifest files read, in merge order.
	Files []string `json:"-"`
	// Dir is the directory relative paths (password files) resolve against.
	Dir string `json:"-"`
	// Positions maps a policy path ("users[1].password", "hosts[0]") to where it is written.
	Positions map[string]Pos `json:"-"`
	// PrivateKeyPaths are the paths of scalars that hold private key material (never their text).
	PrivateKeyPaths []string `json:"-"`
}

// Keypair is a named public key, as cloud consoles name key pairs.
type Keypair struct {
	Name      string `json:"name"`
	PublicKey string `json:"publicKey"`
	// Clouds names the registries (clouds[].name) that must hold this key pair.
	Clouds []string `json:"clouds,omitempty"`
}

// Cloud providers (clouds[].provider).
const (
	ProviderAlibaba = "alibaba" // Alibaba Cloud ECS key pairs, API 2014-05-26
	ProviderHuawei  = "huawei"  // Huawei Cloud KPS v3
)

// Cloud is a cloud key-pair registry. Credentials are never part of it: they come from the
// provider's standard environment variables and credential files.
type Cloud struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Region   string `json:"region"`
	// Endpoint overrides the provider's endpoint (https://, or http:// to a loopback address).
	Endpoint string `json:"endpoint,omitempty"`
	// Project is the Huawei project id (optional: else from the credentials and region).
	Project string `json:"project,omitempty"`
	// Discover adds the registry's instances with a tag to the inventory (optional).
	Discover *CloudDiscover `json:"discover,omitempty"`
}

// CloudDiscover says which instances of a registry are hosts, and how they are reached.
type CloudDiscover struct {
	// Tag is KEY=VALUE: instances carrying that tag become hosts.
	Tag    string   `json:"tag"`
	Groups []string `json:"groups"`
	User   string   `json:"user,omitempty"`
	// Address is "private" (default) or "public": which of the instance's IP addresses to use.
	Address string `json:"address"`
	// Port is the SSH (or WinRM) port; 0: the default of the host's transport.
	Port int `json:"port,omitempty"`
}

// HostCloud binds a host's cloud instance to a key pair in a registry.
type HostCloud struct {
	Registry string `json:"registry"`
	Instance string `json:"instance"`
	Keypair  string `json:"keypair"`
}

// Sudo levels. Windows: anything but SudoNone means Administrators.
const (
	SudoNone     = "false"
	SudoPassword = "true"
	SudoNoPasswd = "nopasswd"
)

// User states.
const (
	StatePresent = "present"
	StateLocked  = "locked"
	StateAbsent  = "absent"
)

// User is a local account wanted on the hosts whose groups list it.
type User struct {
	Name       string    `json:"name"`
	FullName   string    `json:"fullName,omitempty"`
	UID        *int      `json:"uid,omitempty"`
	Shell      string    `json:"shell,omitempty"`
	Groups     []string  `json:"groups"`
	Sudo       string    `json:"sudo"` // SudoNone | SudoPassword | SudoNoPasswd
	RDP        bool      `json:"rdp"`
	State      string    `json:"state"` // StatePresent | StateLocked | StateAbsent
	RemoveHome bool      `json:"removeHome"`
	Keypairs   []Binding `json:"keypairs"`
	Password   *Password `json:"password,omitempty"`
}

// Binding puts a key pair in a user's authorized_keys, optionally restricted.
type Binding struct {
	Keypair string   `json:"keypair"`
	From    []string `json:"from,omitempty"`
	Expires string   `json:"expires,omitempty"` // YYYY-MM-DD, "" when unset
}

// Password says where a user's password comes from; exactly one field is set.
// The plaintext is never stored in the model: it is read on demand by Secret.
type Password struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
	Hash string `json:"hash,omitempty"`
}

// Source is "env", "file" or "hash".
func (p *Password) Source() string {
	switch {
	case p.Env != "":
		return "env"
	case p.File != "":
		return "file"
	default:
		return "hash"
	}
}

// HostGroup says who may log in to a set of hosts and how sshd authenticates.
type HostGroup struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Sshd  *Sshd    `json:"sshd,omitempty"`
	// Keys is "push" (default: authorized_keys files) or "pull" (AuthorizedKeysCommand).
	Keys string `json:"keys,omitempty"`
}

// Sshd holds the managed sshd keywords; nil means unmanaged.
type Sshd struct {
	PasswordAuthentication       *bool   `json:"passwordAuthentication,omitempty"`
	PubkeyAuthentication         *bool   `json:"pubkeyAuthentication,omitempty"`
	KbdInteractiveAuthentication *bool   `json:"kbdInteractiveAuthentication,omitempty"`
	PermitRootLogin              *string `json:"permitRootLogin,omitempty"`
}

// Host is one inventory entry.
type Host struct {
	Name      string   `json:"name"`
	Address   string   `json:"address"`   // as written; empty: ssh_config HostName, else Name
	Port      int      `json:"port"`      // defaulted: 22 ssh, 5986 winrm
	OS        string   `json:"os"`        // linux | windows
	Transport string   `json:"transport"` // defaulted: ssh for linux, winrm for windows
	User      string   `json:"user,omitempty"`
	Groups    []string `json:"groups"`
	// Cloud is the host's instance in a registry and the key pair bound to it (optional).
	Cloud *HostCloud `json:"cloud,omitempty"`
}

// Policy carries settings for the rules and reviewed exceptions.
type Policy struct {
	Settings   map[string]any `json:"settings"`
	Exceptions []Exception    `json:"exceptions"`
}

// Exception waives one rule for one scope until it expires.
type Exception struct {
	Rule      string `json:"rule"`
	HostGroup string `json:"hostGroup,omitempty"`
	Host      string `json:"host,omitempty"`
	User      string `json:"user,omitempty"`
	Keypair   string `json:"keypair,omitempty"`
	Reason    string `json:"reason"`
	Expires   string `json:"expires"` // YYYY-MM-DD
}

// Diagnostic is one problem found in a manifest.
type Diagnostic struct {
	Pos     Pos
	Path    string // policy path, may be ""
	Message string
}

func (d Diagnostic) String() string {
	return d.Pos.String() + ": " + d.Message
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}
