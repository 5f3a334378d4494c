// Package pipeline is callrec's post-call processing: a table of stages
// (transcribe → analyze → render → notify, in the order package calls
// gives) and one Runner that takes a call through them. The job queue
// (package queue) runs one stage per durable job on a server; `callrec
// process` runs them in a row on a file. Both give the Runner a Job: the
// call, where its outputs are read and written (Objects), and how its
// recording is loaded.
//
// Each stage is idempotent: a stage whose output already exists (an
// attempt that finished before a crash) is not done again, and the notify
// stage's notifier sends at most once per call. Bad input (a WAV that is
// empty, truncated, mono, not 8/16 kHz; a malformed transcript) is an
// InputError: no retry can fix it.
package pipeline
