package quality

import "time"

// ntpEpochOffset is the seconds from the NTP epoch (1900) to the Unix epoch.
const ntpEpochOffset = 2208988800

// ntpTime is t as a 64-bit NTP timestamp: seconds since 1900 in the high 32
// bits, the fraction in the low 32.
func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// ntpShort is the middle 32 bits of t's NTP timestamp (16.16 fixed point),
// the form of RTCP's LSR and DLSR.
func ntpShort(t time.Time) uint32 {
	return uint32(ntpTime(t) >> 16)
}

// durationShort is d in 1/65536 s, the unit of DLSR; negative durations are
// zero, durations past 65536 s the largest value.
func durationShort(d time.Duration) uint32 {
	const most = 1<<16*time.Second - 1
	switch {
	case d <= 0:
		return 0
	case d > most:
		d = most
	}
	return uint32(uint64(d) << 16 / uint64(time.Second))
}

// shortMS converts 1/65536 s units to milliseconds.
func shortMS(units uint32) float64 {
	return float64(units) * 1000 / 65536
}
