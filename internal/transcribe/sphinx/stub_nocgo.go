//go:build !nosphinx && !cgo

package sphinx

const buildReason = "cgo disabled: build with CGO_ENABLED=1 and Debian's libpocketsphinx-dev installed"
