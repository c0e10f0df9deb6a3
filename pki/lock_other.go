//go:build !unix

package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// lockDir takes an exclusive lock on dir by creating dir/.lock exclusively,
// retrying for up to a minute. A lock file left by a crashed process must be
// removed by hand; the error says so.
func lockDir(dir string) (unlock func(), err error) {
	p := lockPath(dir)
	deadline := time.Now().Add(time.Minute)
	for {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(p) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock ca dir: %w", err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock ca dir: %s still exists after a minute; remove it if no sshplay is running", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
