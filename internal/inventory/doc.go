// Package inventory is the stage between the manifest and the transports: it selects the hosts a
// run works on (--limit, --shard), works out how to reach each one (address, port, login, keys,
// known_hosts, jump hosts; ~/.ssh/config honoured), and runs a function over a fleet with bounded
// concurrency and a timeout per host.
//
// Precedence, for each host (most specific first):
//
//	address   manifest `address` > ssh_config HostName > the host's name
//	port      manifest `port` (when written) > ssh_config Port > 22 (ssh) / 5986 (winrm)
//	login     manifest `user` > ssh_config User > Options.DefaultUser > the local user name
//	keys      --identity files > ssh_config IdentityFile > (none of both) ~/.ssh/id_{ed25519,ecdsa,rsa};
//	          ssh-agent keys after them (unless IdentityAgent none; filtered by IdentitiesOnly)
//	known     --known-hosts > ssh_config UserKnownHostsFile > ~/.ssh/known_hosts + /etc/ssh/ssh_known_hosts
//	jump      ssh_config ProxyJump (each hop resolved through ssh_config in turn)
//
// ssh_config is looked up by the manifest host name, as `ssh NAME` would: `Host web-*` blocks
// apply to host web-1 whatever its address. Only the user's file is read (~/.ssh/config, or
// Options.SSHConfigFile). HostKeyAlias, IdentitiesOnly and IdentityAgent are honoured too.
// StrictHostKeyChecking is never honoured (host keys are always checked unless the CLI's
// --insecure-skip-host-key-check); ProxyCommand is not supported and fails that host.
//
// Invariants: one host's problem (a bad ProxyJump, a ProxyCommand) is that host's error in
// Target.Err, never the others'; shard membership depends on nothing but the host's name and N.
package inventory
