package reconcile

// Op is one typed operation that apply performs. A Change carries the Ops that make it; apply,
// the lockout guard and the plan file read only Ops, never Before/After/Reason (which are for
// people). Kind names the operation; only the fields that kind documents are set.
//
// Kinds are namespaced by target: "linux.*" (reconcile's Linux script writer), "windows.*"
// (the Windows change-set builder), "cloud.*" (a key-pair registry).
type Op struct {
	Kind string `json:"kind"`

	// User is the account the op is about (linux.*, windows.*).
	User string `json:"user,omitempty"`
	// Group is a group name (linux.groupadd, linux.addgroups) or SID (windows.*Member).
	Group string `json:"group,omitempty"`
	// Groups are supplementary groups (linux.useradd, linux.addgroups).
	Groups []string `json:"groups,omitempty"`
	// Args are useradd/usermod options and their values in pairs ("-s", "/bin/bash").
	Args []string `json:"args,omitempty"`
	// Hash is a crypt(3) hash (linux.password). Never a plaintext.
	Hash string `json:"hash,omitempty"`
	// Path is the file an op writes or removes.
	Path string `json:"path,omitempty"`
	// Content is a whole file's new content (keys, sudoers, sshd settings, state record).
	Content *string `json:"content,omitempty"`
	// RemoveHome: linux.userdel removes the home too.
	RemoveHome bool `json:"removeHome,omitempty"`
	// Sshd is the sshd settings op (linux.sshd).
	Sshd *SshdOp `json:"sshd,omitempty"`
	// Windows is one change of the Windows change set (windows.*).
	Windows *WindowsOp `json:"windows,omitempty"`
	// Cloud is a key-pair registry operation (cloud.*).
	Cloud *CloudOp `json:"cloud,omitempty"`
	// Pull is the pull-mode installation (linux.pull).
	Pull *PullOp `json:"pull,omitempty"`
}

// Linux operation kinds (written into the apply script by script.go, in a fixed phase order
// whatever the order of the changes).
const (
	OpGroupAdd      = "linux.groupadd"   // Group: groupadd GROUP (when missing)
	OpUserAdd       = "linux.useradd"    // User, Args, Groups: useradd -m
	OpUserMod       = "linux.usermod"    // User, Args: usermod
	OpAddGroups     = "linux.addgroups"  // User, Groups: usermod -aG (folded into useradd for a new user)
	OpDelGroups     = "linux.delgroups"  // User, Groups: gpasswd -d USER GROUP for each
	OpPassword      = "linux.password"   // User, Hash: chpasswd -e
	OpLock          = "linux.lock"       // User: password lock + account expiry
	OpUnlock        = "linux.unlock"     // User: the reverse
	OpKeys          = "linux.keys"       // User, Content: ~USER/.ssh/authorized_keys, written whole
	OpSudoers       = "linux.sudoers"    // Path, Content: the sudoers drop-in, checked by visudo
	OpSudoersRemove = "linux.sudoers.rm" // Path: the drop-in removed
	OpUserDel       = "linux.userdel"    // User, RemoveHome
	OpPull          = "linux.pull"       // Pull: pull-mode installation
	OpSshd          = "linux.sshd"       // Sshd: accessctl's sshd settings, sshd -t, reload, verify
)

// Windows operation kinds: one per winapply.Op* change of the APPLY script.
const (
	OpWindows = "windows.change" // Windows: one change of the Windows change set
)

// Cloud operation kinds (cloud_op.go).
const (
	OpCloudImport = "cloud.import"
	OpCloudBind   = "cloud.bind"
	OpCloudUnbind = "cloud.unbind"
	OpCloudDelete = "cloud.delete"
)
