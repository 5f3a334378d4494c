// Package layers holds no code: its test checks that callrec's packages
// import only what their place on the data path allows (sip/media →
// runtime → pipeline → report → notify/web; nothing imports app), so a
// dependency in the wrong direction fails the build's tests instead of
// growing unnoticed.
package layers
