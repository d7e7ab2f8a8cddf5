// Package syncbuf is a byte buffer that several writers (a process's two pipes) and a reader
// may use at once.
package syncbuf
