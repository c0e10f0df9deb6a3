// Package deps pins the modules the tree will import while packages are being
// written in parallel. Remove once every import below is used for real.
package deps

import (
	_ "al.essio.dev/pkg/shellescape"
	_ "github.com/gliderlabs/ssh"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/kevinburke/ssh_config"
	_ "github.com/nikolalohinski/gonja/v2"
	_ "github.com/pkg/sftp"
	_ "github.com/pmezard/go-difflib/difflib"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/crypto/ssh/knownhosts"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
	_ "gopkg.in/yaml.v3"
)
