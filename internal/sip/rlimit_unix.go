//go:build linux || darwin

package sip

import "syscall"

// RaiseFileLimit raises the process's soft limit of open files
// (RLIMIT_NOFILE) to its hard limit, so that connections, RTP sockets and
// recordings can use all the process may open. It returns the soft limit
// before and after; on error the limit is unchanged (old == new).
func RaiseFileLimit() (old, new uint64, err error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, 0, err
	}
	old = uint64(l.Cur)
	if l.Cur >= l.Max {
		return old, old, nil
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return old, old, err
	}
	return old, uint64(l.Max), nil
}
