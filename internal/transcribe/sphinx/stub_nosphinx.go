//go:build nosphinx

package sphinx

const buildReason = "build tag nosphinx"
