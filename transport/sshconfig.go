package transport

// sshconfig.go reads the user's ~/.ssh/config (and /etc/ssh/ssh_config) with
// kevinburke/ssh_config, once per file per process. It only reads; it never
// writes a config file.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kevinburke/ssh_config"
)

// sshConfig is the stack of config files consulted for one run, most
// specific first.
type sshConfig struct {
	files []*ssh_config.Config
}

// get returns the first value of key for alias, "" when no file sets it.
func (c *sshConfig) get(alias, key string) string {
	if c == nil {
		return ""
	}
	for _, f := range c.files {
		if v, err := f.Get(alias, key); err == nil && v != "" {
			return v
		}
	}
	return ""
}

// getAll returns every value of key for alias across all files, in order.
func (c *sshConfig) getAll(alias, key string) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, f := range c.files {
		if v, err := f.GetAll(alias, key); err == nil {
			out = append(out, v...)
		}
	}
	return out
}

type cachedConfig struct {
	mtime time.Time
	size  int64
	cfg   *ssh_config.Config
}

var sshConfigCache struct {
	mu    sync.Mutex
	files map[string]cachedConfig
}

// loadSSHConfig loads path ("" means ~/.ssh/config plus /etc/ssh/ssh_config;
// "none" means no config). A named file that does not exist is an error; the
// default files may be missing.
func loadSSHConfig(path string) (*sshConfig, error) {
	switch path {
	case "none":
		return &sshConfig{}, nil
	case "":
		var c sshConfig
		for _, p := range []string{filepath.Join(homeDir(), ".ssh", "config"), "/etc/ssh/ssh_config"} {
			f, err := parseConfigFile(p)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			c.files = append(c.files, f)
		}
		return &c, nil
	}
	f, err := parseConfigFile(expandPath(path, nil))
	if err != nil {
		return nil, err
	}
	return &sshConfig{files: []*ssh_config.Config{f}}, nil
}

func parseConfigFile(path string) (*ssh_config.Config, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	sshConfigCache.mu.Lock()
	defer sshConfigCache.mu.Unlock()
	if c, ok := sshConfigCache.files[path]; ok && c.mtime.Equal(st.ModTime()) && c.size == st.Size() {
		return c.cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := decodeSSHConfig(data)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", tildePath(path), err)
	}
	if sshConfigCache.files == nil {
		sshConfigCache.files = map[string]cachedConfig{}
	}
	sshConfigCache.files[path] = cachedConfig{mtime: st.ModTime(), size: st.Size(), cfg: cfg}
	return cfg, nil
}

// decodeSSHConfig parses config text; the parser panics on some malformed
// input, which is turned into an error here.
func decodeSSHConfig(data []byte) (cfg *ssh_config.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parse: %v", r)
		}
	}()
	return ssh_config.Decode(bytes.NewReader(data))
}

func joinHostPort(host string, port int) string {
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// splitHostPortLoose splits "host:port", "[v6]:port", "[v6]" or "host"; the
// port is "" when absent.
func splitHostPortLoose(s string) (string, string, error) {
	if strings.HasPrefix(s, "[") {
		if h, p, err := net.SplitHostPort(s); err == nil {
			return h, p, nil
		}
		return strings.Trim(s, "[]"), "", nil
	}
	if strings.Count(s, ":") == 1 {
		return net.SplitHostPort(s)
	}
	return s, "", nil
}
