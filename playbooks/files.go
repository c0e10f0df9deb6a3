package playbooks

// Files a playbook names by a relative path: vars_files (readFile) and the
// src of copy and template (findFile: KIND/ first, then the playbook's own
// folder). An embedded playbook's files come from its FS and, for modules
// that need a path, are copied to a private temporary directory, which
// CleanupEmbedded removes.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// readFile reads a file relative to the playbook (from the embedded FS for
// an embedded playbook).
func (pb *Playbook) readFile(name string) ([]byte, error) {
	if pb.FS != nil && !filepath.IsAbs(name) {
		return fs.ReadFile(pb.FS, filepath.ToSlash(filepath.Join(pb.Dir, name)))
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(pb.Dir, name)
	}
	return os.ReadFile(name)
}

// findFile resolves a relative src as Ansible does: the playbook's KIND/
// folder, then the playbook's own folder. For an embedded playbook the file
// is copied out of the embedded FS into a private temporary file.
func (r *runner) findFile(pb *Playbook, kind, name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	cands := []string{filepath.Join(kind, name), name}
	for _, c := range cands {
		if pb.FS != nil {
			p := filepath.ToSlash(filepath.Join(pb.Dir, c))
			data, err := fsReadFile(pb.FS, p)
			if err != nil {
				continue
			}
			return embeddedTemp(p, data)
		}
		p := filepath.Join(pb.Dir, c)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("could not find %q in %s/%s or %s", name, pb.Dir, kind, pb.Dir)
}

func fsReadFile(fsys fs.FS, p string) ([]byte, error) { return fs.ReadFile(fsys, p) }

var (
	tempMu  sync.Mutex
	tempDir string
	temps   = map[string]string{}
)

// embeddedTemp writes an embedded file to a private temporary directory
// (mode 0700, one per process) so that modules can read it by path.
func embeddedTemp(name string, data []byte) (string, error) {
	tempMu.Lock()
	defer tempMu.Unlock()
	if p, ok := temps[name]; ok {
		return p, nil
	}
	if tempDir == "" {
		d, err := os.MkdirTemp("", "sshplay-embedded-")
		if err != nil {
			return "", err
		}
		tempDir = d
	}
	p := filepath.Join(tempDir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", err
	}
	temps[name] = p
	return p, nil
}

// CleanupEmbedded removes the temporary copies of embedded files.
func CleanupEmbedded() {
	tempMu.Lock()
	defer tempMu.Unlock()
	if tempDir != "" {
		os.RemoveAll(tempDir)
		tempDir = ""
		temps = map[string]string{}
	}
}
