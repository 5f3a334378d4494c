// Command loadgen is the benchmark's Go load generator, for what SIPp
// cannot do: SRTP (SIPp 3.6 has none).
//
//	loadgen call [flags]   place concurrent calls as the stranger
//	loadgen tone [flags]   write a 440 Hz tone as raw codec payload
//
// "call" places -calls concurrent calls to callrec's service number, started
// at -rate a second, each offering one codec (PCMU or G.722), as SRTP
// (RTP/SAVP with an SDES AES_CM_128_HMAC_SHA1_80 key) when -srtp is given.
// Once a call is answered it sends a 440 Hz tone paced at 20 ms for -hold,
// then hangs up. One goroutine sends every call's packets on a shared 20 ms
// tick, so the generator stays light next to the server it loads. It
// prints one summary line (successful=… failed=… and the RTP counts) on
// standard output, the reasons for failed calls on standard error, and
// exits 1 when a call failed.
//
// "tone" writes the tone SIPp's rtp_stream sends: raw payload bytes, no
// header, 160 bytes per 20 ms for both codecs.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: loadgen call|tone [flags] (-h for each)")
		return 2
	}
	switch args[0] {
	case "call":
		return runCalls(args[1:], stdout, stderr)
	case "tone":
		return runTone(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "loadgen: unknown command %q (want call or tone)\n", args[0])
		return 2
	}
}
