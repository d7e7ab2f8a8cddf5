package nomad

import "io/fs"

// File is one rendered file of the bundle: a path relative to the bundle directory, its mode and content.
type File struct {
	Path string
	Mode fs.FileMode
	Data []byte
}
