package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/password"
)

// newPasswdCmd is `callrec passwd`.
func newPasswdCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "read a password, print its hash for web.password_hash",
		Long: `Reads the owner's web password from the first line of standard input and
prints its argon2id hash, to put in web.password_hash. The password needs at
least 8 characters.`,
		Example: `  callrec passwd < password.txt
  printf '%s\n' 'correct horse battery' | callrec passwd`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: work(func(cmd *cobra.Command, _ []string) error {
			return cmdPasswd(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
}

// cmdPasswd reads a password from the first line of stdin and prints its
// hash.
func cmdPasswd(stdin io.Reader, stdout, stderr io.Writer) error {
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, "password (shown as you type; pipe it in to hide it): ")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return usageError{"the password must have at least 8 characters"}
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, hash)
	return nil
}
