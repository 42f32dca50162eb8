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
