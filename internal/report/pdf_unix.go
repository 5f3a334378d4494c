//go:build unix

package report

import (
	"os/exec"
	"syscall"
)

// killGroup starts cmd in its own process group and makes cancelling its
// context kill the whole group: soffice is a launcher whose soffice.bin
// child would otherwise outlive it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
