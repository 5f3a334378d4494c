package sphinx

// Debian's pocketsphinx-en-us package installs the US English model here.
const (
	// DefaultModelDir is the acoustic model directory (mdef, means, …).
	DefaultModelDir = "/usr/share/pocketsphinx/model/en-us/en-us"
	// DefaultDict is the pronunciation dictionary.
	DefaultDict = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
	// DefaultLM is the trigram language model.
	DefaultLM = "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"
	// DefaultWorkers is the number of decoders, hence of segments decoded
	// at once (the two channels of a call proceed in parallel).
	DefaultWorkers = 2
)

// Config configures the sphinx engine. The zero value uses Debian's en-us
// model with DefaultWorkers decoders.
type Config struct {
	// ModelDir is the acoustic model directory; DefaultModelDir when empty.
	ModelDir string
	// Dict is the pronunciation dictionary; DefaultDict when empty.
	Dict string
	// LM is the n-gram language model (ARPA, DMP or binary); DefaultLM
	// when empty.
	LM string
	// Workers is the number of decoders run in parallel; DefaultWorkers
	// when zero or negative.
	Workers int
}
