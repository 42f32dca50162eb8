// Package lab starts real OpenSSH hosts on this machine for tests.
//
// It is test infrastructure, not a stage of accessctl: nothing in the product imports it. Tests of
// the transport, host-state, reconcile and CLI packages use it to work against real sshd, sudo,
// visudo and useradd instead of fakes (STYLE.md habit 7).
//
// Each lab host is a Linux mount namespace (`unshare -m --propagation private`) in which private
// directories are mounted over /etc, /home, /root, /run, /var/lib and /var/log, running its own
// `/usr/sbin/sshd -D -e` that listens on its own loopback address 127.0.X.N port 22. So on one
// machine, every host has its own users, sudoers, sshd configuration, host key and accessctl state,
// and a login through sshd (and whatever it runs: useradd, visudo, sshd -T, a SIGHUP to the pid in
// /run/sshd.pid) changes that host only. The rest of the file system (/usr, /tmp, /var/log) is
// shared.
//
// What a host starts with:
//   - /etc: a copy of this machine's /etc, minus its human accounts (uid 1000-59999, so every
//     machine gives the same lab), with Debian 12's default sshd_config (or a variant), an ed25519
//     host key of its own (no RSA/ECDSA keys), ListenAddress and HostKey appended to sshd_config.
//     The lab copies /etc once; each host's /etc is an overlay on that copy, so 250 hosts cost
//     250 small directories (where overlayfs is refused, e.g. on an overlayfs root, every host
//     gets a full copy instead: slower, same behaviour);
//   - the admin user AdminUser (uid 1000, group sudo, NOPASSWD sudo in /etc/sudoers.d/labadmin)
//     whose authorized_keys holds the lab's key (IdentityFile);
//   - /root from /etc/skel (this machine's /root is not copied: it may hold gigabytes), an empty
//     /home apart from the lab users, and an empty /run and /var/lib (sshd, sudo, visudo and
//     useradd need nothing there; /run/sshd is created before sshd starts).
//
// The zoo (zoo.go): variants set up like real hosts where what sshd and sudo decide differs from
// the files accessctl writes (HOSTS.md §11): keys in authorized_keys2 or under /etc, Match
// blocks, AllowUsers/AllowGroups, sudoers without @includedir, group sudo, a systemd-userdb
// directory account, a missing or symlinked home, no account tools, dropbear instead of OpenSSH
// (it needs dropbear-bin), and sudo that wants a password on a host whose name does not resolve.
//
// Invariants: every process the lab starts is killed by pid (Stop, Close), together with every
// other process left in that host's mount namespace (sessions); sshd also dies with the test
// process (Pdeathsig). Addresses are reserved with flock on files in os.TempDir(), so test
// packages running in parallel never share one. The lab needs root, openssh-server, openssh-client,
// sudo and util-linux (unshare, nsenter); Require fails the test, loudly, when one is missing.
package lab
