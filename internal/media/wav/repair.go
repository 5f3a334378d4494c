package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Repair makes the recording at path, left behind by a process that died
// before Writer.Close, a valid WAV file: it checks the canonical 44-byte
// header Writer writes, takes the amount of audio from the file's length,
// truncates a trailing partial frame and rewrites the RIFF and data sizes.
// A file that is already consistent is not modified. Repair treats
// everything after the header as audio, so it is meant for files written by
// Writer, not for WAV files from other tools.
func Repair(path string) (Info, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return Info{}, fmt.Errorf("repair recording: %w", err)
	}
	info, err := repair(f)
	if cerr := f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return Info{}, fmt.Errorf("repair recording %s: %w", path, err)
	}
	return info, nil
}

func repair(f *os.File) (Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	size := fi.Size()
	if size < HeaderSize {
		return Info{}, fmt.Errorf("file is %d bytes, too short for the %d-byte WAV header", size, HeaderSize)
	}
	var hdr [HeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return Info{}, fmt.Errorf("read header: %w", err)
	}
	format, err := parseCanonical(hdr[:])
	if err != nil {
		return Info{}, err
	}
	frame := int64(format.FrameSize())
	data := size - HeaderSize
	data -= data % frame
	if data > maxDataSize {
		return Info{}, fmt.Errorf("%d bytes of audio: %w", data, ErrTooLong)
	}
	riffSize := binary.LittleEndian.Uint32(hdr[4:8])
	dataSize := binary.LittleEndian.Uint32(hdr[40:44])
	if HeaderSize+data == size && int64(dataSize) == data && int64(riffSize) == data+HeaderSize-8 {
		return newInfo(format, data), nil
	}
	if HeaderSize+data != size {
		if err := f.Truncate(HeaderSize + data); err != nil {
			return Info{}, fmt.Errorf("drop partial frame: %w", err)
		}
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(data+HeaderSize-8))
	if _, err := f.WriteAt(b[:], 4); err != nil {
		return Info{}, fmt.Errorf("write RIFF size: %w", err)
	}
	binary.LittleEndian.PutUint32(b[:], uint32(data))
	if _, err := f.WriteAt(b[:], HeaderSize-4); err != nil {
		return Info{}, fmt.Errorf("write data size: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Info{}, err
	}
	return newInfo(format, data), nil
}

// parseCanonical validates a canonical 44-byte header (RIFF, a 16-byte fmt
// chunk, then the data chunk header) and returns its format.
func parseCanonical(h []byte) (Format, error) {
	switch {
	case string(h[0:4]) != "RIFF":
		return Format{}, errors.New("not a WAV file: missing RIFF header")
	case string(h[8:12]) != "WAVE":
		return Format{}, fmt.Errorf("not a WAV file: RIFF form type %q, want \"WAVE\"", h[8:12])
	case string(h[12:16]) != "fmt " || binary.LittleEndian.Uint32(h[16:20]) != 16:
		return Format{}, errors.New("not a recording header: want a 16-byte fmt chunk at offset 12")
	case string(h[36:40]) != "data":
		return Format{}, errors.New("not a recording header: want the data chunk at offset 36")
	}
	return parseFmt(h[20:36])
}
