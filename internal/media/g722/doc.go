// Package g722 implements the ITU-T G.722 wideband speech codec in its
// 64 kbit/s mode (mode 1): 16 kHz linear PCM split by a 24-tap quadrature
// mirror filter into two 8 kHz sub-bands, the lower band coded with 6-bit
// ADPCM and the higher band with 2-bit ADPCM, one byte per pair of input
// samples (the higher band's code in the top two bits).
//
// It is written here, from the fixed-point algorithm in the Recommendation,
// because no pure-Go G.722 module is available to the project and the codec
// must not need cgo. Encoder and decoder are bit-exact with FFmpeg's G.722
// codec (its encoder without trellis search) on the reference vectors in
// testdata, which FFmpeg made; the tests need only those files.
//
// An Encoder or a Decoder holds the ADPCM and filter state of one stream: use
// one per direction of a call, from one goroutine at a time. Both append to a
// caller-provided slice and allocate nothing when it has room.
package g722
